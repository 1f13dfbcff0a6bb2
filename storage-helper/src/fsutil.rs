//! Thin, safe wrappers over the *at(2) calls layer code needs, on a
//! directory reached through `common::in_root` (so `..` and symlinks never
//! leave the layer), and never following the last component.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use common::in_root::{check, cstr};

/// Remove `name` in `dir`, recursively when it is a directory.
pub fn remove_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    use nix::unistd::{unlinkat, UnlinkatFlags};
    let c = cstr(name)?;
    let fd = Some(dir.as_raw_fd());
    match unlinkat(fd, c.as_c_str(), UnlinkatFlags::NoRemoveDir).map_err(io::Error::from) {
        Ok(()) => Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EISDIR) | Some(libc::EPERM)) => {
            let sub = common::in_root::open_child_dir(dir, name)?;
            clear_dir(sub.as_fd())?;
            unlinkat(fd, c.as_c_str(), UnlinkatFlags::RemoveDir).map_err(io::Error::from)
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Remove everything inside `dir`.
pub fn clear_dir(dir: BorrowedFd<'_>) -> io::Result<()> {
    let path = format!("/proc/self/fd/{}", dir.as_raw_fd());
    let names: Vec<std::ffi::OsString> = std::fs::read_dir(&path)?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    for n in names {
        remove_at(dir, &n)?;
    }
    Ok(())
}

pub fn mknodat(dir: BorrowedFd<'_>, name: &OsStr, mode: u32, dev: libc::dev_t) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: `c` is a NUL-terminated string that outlives the call and `dir` is
    // an open descriptor borrowed for its duration; the result is checked.
    check(unsafe { libc::mknodat(dir.as_raw_fd(), c.as_ptr(), mode as libc::mode_t, dev) })
        .map(drop)
}

pub fn symlinkat(target: &OsStr, dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    let t = cstr(target)?;
    let c = cstr(name)?;
    nix::unistd::symlinkat(t.as_c_str(), Some(dir.as_raw_fd()), c.as_c_str())
        .map_err(io::Error::from)
}

pub fn linkat(
    odir: BorrowedFd<'_>,
    oname: &OsStr,
    ndir: BorrowedFd<'_>,
    nname: &OsStr,
) -> io::Result<()> {
    let o = cstr(oname)?;
    let n = cstr(nname)?;
    nix::unistd::linkat(
        Some(odir.as_raw_fd()),
        o.as_c_str(),
        Some(ndir.as_raw_fd()),
        n.as_c_str(),
        nix::fcntl::AtFlags::empty(),
    )
    .map_err(io::Error::from)
}

pub fn chown_at(dir: BorrowedFd<'_>, name: &OsStr, uid: u32, gid: u32) -> io::Result<()> {
    use nix::unistd::{Gid, Uid};
    let c = cstr(name)?;
    nix::unistd::fchownat(
        Some(dir.as_raw_fd()),
        c.as_c_str(),
        Some(Uid::from_raw(uid)),
        Some(Gid::from_raw(gid)),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(io::Error::from)
}

pub fn chmod_at(dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: `c` is a NUL-terminated string that outlives the call and `dir` is
    // an open descriptor borrowed for its duration; the result is checked.
    check(unsafe { libc::fchmodat(dir.as_raw_fd(), c.as_ptr(), mode as libc::mode_t, 0) }).map(drop)
}

pub fn fchown(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    use nix::unistd::{Gid, Uid};
    nix::unistd::fchown(
        fd.as_raw_fd(),
        Some(Uid::from_raw(uid)),
        Some(Gid::from_raw(gid)),
    )
    .map_err(io::Error::from)
}

pub fn fchmod(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    // SAFETY: `fd` is an open descriptor borrowed for the duration of the call;
    // no memory is passed.
    check(unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) }).map(drop)
}

fn timespec(secs: i64, nsec: i64) -> libc::timespec {
    libc::timespec {
        tv_sec: secs as libc::time_t,
        tv_nsec: nsec as _,
    }
}

/// Set atime and mtime of `name` in `dir` without following it.
pub fn set_times_at(dir: BorrowedFd<'_>, name: &OsStr, secs: i64, nsec: i64) -> io::Result<()> {
    let c = cstr(name)?;
    let ts = [timespec(secs, nsec), timespec(secs, nsec)];
    // SAFETY: `c` is a NUL-terminated string that outlives the call and `dir` is
    // an open descriptor borrowed for its duration; the result is checked;
    // `ts` is the two-element timespec array utimensat reads.
    check(unsafe {
        libc::utimensat(
            dir.as_raw_fd(),
            c.as_ptr(),
            ts.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}

pub fn set_times_fd(fd: BorrowedFd<'_>, secs: i64, nsec: i64) -> io::Result<()> {
    let ts = [timespec(secs, nsec), timespec(secs, nsec)];
    // SAFETY: `fd` is an open borrowed descriptor and `ts` is the two-element
    // timespec array futimens reads.
    check(unsafe { libc::futimens(fd.as_raw_fd(), ts.as_ptr()) }).map(drop)
}

pub fn fsetxattr(fd: BorrowedFd<'_>, key: &str, value: &[u8]) -> io::Result<()> {
    let k = cstr(OsStr::new(key))?;
    // SAFETY: `fd` is an open borrowed descriptor, `k` is NUL-terminated, and
    // `value` is valid for `value.len()` bytes of reads.
    check(unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            k.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    })
    .map(drop)
}

/// Set an xattr on `name` in `dir` without following a symlink.
pub fn lsetxattr_at(dir: BorrowedFd<'_>, name: &OsStr, key: &str, value: &[u8]) -> io::Result<()> {
    let p = proc_path(dir, name)?;
    let k = cstr(OsStr::new(key))?;
    // SAFETY: `p` and `k` are NUL-terminated strings that outlive the call and
    // `value` is valid for `value.len()` bytes of reads.
    check(unsafe {
        libc::lsetxattr(
            p.as_ptr(),
            k.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    })
    .map(drop)
}

fn proc_path(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<CString> {
    let mut v = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
    v.extend_from_slice(name.as_bytes());
    CString::new(v)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// All xattrs of `path` (not following a symlink), as (name, value).
pub fn list_xattrs(path: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    let c = cstr(path.as_os_str())?;
    let mut names = vec![0u8; 4096];
    let n = loop {
        // SAFETY: `c` is NUL-terminated and the kernel writes at most `names.len()`
        // bytes into `names`, which we borrow exclusively.
        let r = unsafe { libc::llistxattr(c.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
        if r >= 0 {
            break r as usize;
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::ERANGE) => names.resize(names.len() * 4, 0),
            Some(libc::ENOTSUP) => return Ok(Vec::new()),
            _ => return Err(e),
        }
    };
    let mut out = Vec::new();
    for key in names[..n].split(|b| *b == 0).filter(|k| !k.is_empty()) {
        let key = String::from_utf8_lossy(key).into_owned();
        if let Some(v) = get_xattr(path, &key)? {
            out.push((key, v));
        }
    }
    Ok(out)
}

/// One xattr of `path` (not following a symlink); None when absent.
pub fn get_xattr(path: &Path, key: &str) -> io::Result<Option<Vec<u8>>> {
    let c = cstr(path.as_os_str())?;
    let k = cstr(OsStr::new(key))?;
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: `c` and `k` are NUL-terminated and the kernel writes at most
        // `buf.len()` bytes into `buf`, which we borrow exclusively.
        let r =
            unsafe { libc::lgetxattr(c.as_ptr(), k.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if r >= 0 {
            buf.truncate(r as usize);
            return Ok(Some(buf));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::ERANGE) => buf.resize(buf.len() * 8, 0),
            Some(libc::ENODATA) | Some(libc::ENOTSUP) => return Ok(None),
            _ => return Err(e),
        }
    }
}

/// syncfs(2) on the filesystem holding `fd`.
pub fn syncfs(fd: BorrowedFd<'_>) -> io::Result<()> {
    nix::unistd::syncfs(fd.as_raw_fd()).map_err(io::Error::from)
}

/// Remove a directory tree, ignoring that it is already gone.
pub fn remove_tree(path: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Set an xattr on `path` without following a symlink.
pub fn lsetxattr(path: &Path, key: &str, value: &[u8]) -> io::Result<()> {
    let p = cstr(path.as_os_str())?;
    let k = cstr(OsStr::new(key))?;
    // SAFETY: `p` and `k` are NUL-terminated strings that outlive the call and
    // `value` is valid for `value.len()` bytes of reads.
    check(unsafe {
        libc::lsetxattr(
            p.as_ptr(),
            k.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    })
    .map(drop)
}

/// Set atime and mtime of `path` without following a symlink.
pub fn set_times_path(path: &Path, atime: (i64, i64), mtime: (i64, i64)) -> io::Result<()> {
    let c = cstr(path.as_os_str())?;
    let ts = [timespec(atime.0, atime.1), timespec(mtime.0, mtime.1)];
    // SAFETY: `c` is a NUL-terminated string that outlives the call; `ts` is
    // the two-element timespec array utimensat reads.
    check(unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            ts.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}
