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
    let c = cstr(name)?;
    match check(unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) }) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EISDIR) | Some(libc::EPERM)) => {
            let sub = common::in_root::open_child_dir(dir, name)?;
            clear_dir(sub.as_fd())?;
            check(unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), libc::AT_REMOVEDIR) })
                .map(drop)
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
    check(unsafe { libc::mknodat(dir.as_raw_fd(), c.as_ptr(), mode as libc::mode_t, dev) })
        .map(drop)
}

pub fn symlinkat(target: &OsStr, dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    let t = cstr(target)?;
    let c = cstr(name)?;
    check(unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), c.as_ptr()) }).map(drop)
}

pub fn linkat(
    odir: BorrowedFd<'_>,
    oname: &OsStr,
    ndir: BorrowedFd<'_>,
    nname: &OsStr,
) -> io::Result<()> {
    let o = cstr(oname)?;
    let n = cstr(nname)?;
    check(unsafe {
        libc::linkat(
            odir.as_raw_fd(),
            o.as_ptr(),
            ndir.as_raw_fd(),
            n.as_ptr(),
            0,
        )
    })
    .map(drop)
}

pub fn chown_at(dir: BorrowedFd<'_>, name: &OsStr, uid: u32, gid: u32) -> io::Result<()> {
    let c = cstr(name)?;
    check(unsafe {
        libc::fchownat(
            dir.as_raw_fd(),
            c.as_ptr(),
            uid,
            gid,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}

pub fn chmod_at(dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> io::Result<()> {
    let c = cstr(name)?;
    check(unsafe { libc::fchmodat(dir.as_raw_fd(), c.as_ptr(), mode as libc::mode_t, 0) }).map(drop)
}

pub fn fchown(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    check(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) }).map(drop)
}

pub fn fchmod(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
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
    check(unsafe { libc::futimens(fd.as_raw_fd(), ts.as_ptr()) }).map(drop)
}

pub fn fsetxattr(fd: BorrowedFd<'_>, key: &str, value: &[u8]) -> io::Result<()> {
    let k = cstr(OsStr::new(key))?;
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
    check(unsafe { libc::syncfs(fd.as_raw_fd()) }).map(drop)
}

/// Remove a directory tree, ignoring that it is already gone.
pub fn remove_tree(path: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}
