//! Thin, safe wrappers over the *at(2) calls layer code needs: paths are
//! always resolved under a root directory descriptor (openat2
//! RESOLVE_IN_ROOT: `..` and absolute symlinks cannot leave the root), and
//! the last component is never followed.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

fn cstr(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Open a directory by absolute or relative path (following symlinks).
pub fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    let c = cstr(path.as_os_str())?;
    // SAFETY: valid C string; the result is a new descriptor we own.
    let fd = check(unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    })?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Open `rel` (relative, may be "" or ".") as a directory beneath `root`,
/// resolving symlinks as if `root` were `/`.
pub fn open_dir_in_root(root: BorrowedFd<'_>, rel: &Path) -> io::Result<OwnedFd> {
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    let c = cstr(rel.as_os_str())?;
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: openat2 with a zeroed, filled open_how of the right size.
    let r = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ENOSYS) {
            return open_dir_nofollow_walk(root, rel);
        }
        return Err(e);
    }
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// Fallback for kernels without openat2: walk component by component and
/// refuse any symlink on the way (stricter, never escapes).
fn open_dir_nofollow_walk(root: BorrowedFd<'_>, rel: &Path) -> io::Result<OwnedFd> {
    let mut cur = dup(root)?;
    for comp in rel.components() {
        match comp {
            std::path::Component::Normal(name) => {
                let c = cstr(name)?;
                let fd = check(unsafe {
                    libc::openat(
                        cur.as_raw_fd(),
                        c.as_ptr(),
                        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                    )
                })?;
                cur = unsafe { OwnedFd::from_raw_fd(fd) };
            }
            std::path::Component::CurDir => {}
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "path leaves the root",
                ))
            }
        }
    }
    Ok(cur)
}

pub fn dup(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    fd.try_clone_to_owned()
}

/// `mkdir -p rel` beneath `root` (new directories 0755 root-owned) and
/// return the innermost directory. Symlinks on the way are followed as if
/// `root` were `/` (the directories they point to are created inside the
/// root), like `mkdir -p` in a chroot.
pub fn mkdir_all_in_root(root: BorrowedFd<'_>, rel: &Path) -> io::Result<OwnedFd> {
    match open_dir_in_root(root, rel) {
        Ok(fd) => return Ok(fd),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        Err(e) => return Err(e),
    }
    let mut budget = 40;
    let resolved = resolve_creating(root, rel, &mut budget)?;
    open_dir_in_root(root, &resolved)
}

/// Walk `rel` from the root, creating missing directories and resolving
/// symlinks inside the root; returns the symlink-free path reached.
fn resolve_creating(root: BorrowedFd<'_>, rel: &Path, budget: &mut u32) -> io::Result<PathBuf> {
    let mut cur = PathBuf::new();
    for comp in rel.components() {
        match comp {
            std::path::Component::Normal(name) => {
                let dir = open_dir_in_root(root, &cur)?;
                match lstat_at(dir.as_fd_b(), name)? {
                    None => {
                        match mkdirat(dir.as_fd_b(), name, 0o755) {
                            Ok(()) => {}
                            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                            Err(e) => return Err(e),
                        }
                        cur.push(name);
                    }
                    Some(st) if is_dir(&st) => cur.push(name),
                    Some(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK => {
                        if *budget == 0 {
                            return Err(io::Error::from_raw_os_error(libc::ELOOP));
                        }
                        *budget -= 1;
                        let target = readlinkat(dir.as_fd_b(), name)?;
                        // `cur` has no symlinks, so `..` in the target can
                        // simply pop it (and stops at the root).
                        cur = resolve_creating(root, &cur.join(target), budget)?;
                    }
                    Some(_) => return Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
                }
            }
            std::path::Component::ParentDir => {
                cur.pop();
            }
            std::path::Component::RootDir => cur = PathBuf::new(),
            std::path::Component::CurDir | std::path::Component::Prefix(_) => {}
        }
    }
    Ok(cur)
}

pub fn readlinkat(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<PathBuf> {
    let c = cstr(name)?;
    let mut buf = vec![0u8; 4096];
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            c.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(PathBuf::from(std::ffi::OsString::from_vec(buf)))
}

/// Small convenience so `OwnedFd` borrows read well.
pub trait AsFdB {
    fn as_fd_b(&self) -> BorrowedFd<'_>;
}
impl AsFdB for OwnedFd {
    fn as_fd_b(&self) -> BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(self)
    }
}

pub fn mkdirat(dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> io::Result<()> {
    let c = cstr(name)?;
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode as libc::mode_t) }).map(drop)
}

/// lstat of `name` in `dir`; None when it does not exist.
pub fn lstat_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Option<libc::stat>> {
    let c = cstr(name)?;
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    match check(unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            c.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    }) {
        Ok(_) => Ok(Some(st)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn is_dir(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

/// Remove `name` in `dir`, recursively when it is a directory.
pub fn remove_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    let c = cstr(name)?;
    match check(unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) }) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EISDIR) | Some(libc::EPERM)) => {
            let sub = open_child_dir(dir, name)?;
            clear_dir(sub.as_fd_b())?;
            check(unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), libc::AT_REMOVEDIR) })
                .map(drop)
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

fn open_child_dir(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    let c = cstr(name)?;
    let fd = check(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    })?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_stays_in_the_root() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        std::fs::create_dir_all(root.join("real")).unwrap();
        std::os::unix::fs::symlink("/", root.join("escape")).unwrap();
        std::os::unix::fs::symlink("../../..", root.join("up")).unwrap();
        let rfd = open_dir(&root).unwrap();
        // "escape/real" resolves to root/real, never to /real.
        let made = mkdir_all_in_root(rfd.as_fd_b(), Path::new("escape/real/x")).unwrap();
        drop(made);
        assert!(root.join("real/x").is_dir());
        let made = mkdir_all_in_root(rfd.as_fd_b(), Path::new("up/y")).unwrap();
        drop(made);
        assert!(root.join("y").is_dir());
        assert!(!d.path().join("y").exists());
        // A symlink to a missing absolute dir creates it inside the root.
        std::os::unix::fs::symlink("/opt/app", root.join("app")).unwrap();
        drop(mkdir_all_in_root(rfd.as_fd_b(), Path::new("app/bin")).unwrap());
        assert!(root.join("opt/app/bin").is_dir());
        assert!(!Path::new("/opt/app/bin").exists());
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        assert!(mkdir_all_in_root(rfd.as_fd_b(), Path::new("loop/x")).is_err());
    }
}
