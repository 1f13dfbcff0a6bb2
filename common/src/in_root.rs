//! Resolving paths inside a directory as if it were `/`: a container's
//! rootfs or a layer being unpacked is written by untrusted content, and a
//! symlink in it (`etc -> /etc`, `x -> ../../..`) must never lead outside.
//!
//! The kernel does it with openat2(RESOLVE_IN_ROOT) (Linux 5.6+). Older
//! kernels, and seccomp filters that hide openat2, get [`Resolver::Walk`]:
//! one component at a time with O_NOFOLLOW, symlinks read and resolved by
//! us, `..` popping a stack of descriptors that never goes above the root.
//! Both give the same answers; tests run each.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Symlinks followed in one resolution before giving up with ELOOP (the
/// kernel's limit).
const MAX_SYMLINKS: u32 = 40;

/// Set once openat2 is known to be missing, so later calls go straight to
/// the walk.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// How paths are resolved under the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolver {
    /// openat2(RESOLVE_IN_ROOT), falling back to `Walk` where the kernel
    /// lacks it.
    Auto,
    /// The userspace walk only (what `Auto` falls back to; tests use it
    /// to cover the fallback on any kernel).
    Walk,
}

impl Resolver {
    /// Open `rel` (relative; may be "" or ".") as a directory beneath
    /// `root`, resolving `..` and symlinks as if `root` were `/`.
    pub fn open_dir(self, root: BorrowedFd<'_>, rel: &Path) -> io::Result<OwnedFd> {
        let rel = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        if self == Resolver::Auto && !NO_OPENAT2.load(Ordering::Relaxed) {
            match openat2_in_root(root, rel) {
                Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                    NO_OPENAT2.store(true, Ordering::Relaxed);
                }
                r => return r,
            }
        }
        walk(root, rel)
    }

    /// `mkdir -p rel` beneath `root` (new directories 0755) and return the
    /// innermost directory. Symlinks on the way are followed as if `root`
    /// were `/`, so the directories they name are created inside the root,
    /// like `mkdir -p` in a chroot.
    pub fn mkdir_all(self, root: BorrowedFd<'_>, rel: &Path) -> io::Result<OwnedFd> {
        match self.open_dir(root, rel) {
            Ok(fd) => return Ok(fd),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(e),
        }
        let mut budget = MAX_SYMLINKS;
        let resolved = self.resolve_creating(root, rel, &mut budget)?;
        self.open_dir(root, &resolved)
    }

    /// Walk `rel` from the root, creating missing directories and resolving
    /// symlinks inside the root; returns the symlink-free path reached.
    fn resolve_creating(
        self,
        root: BorrowedFd<'_>,
        rel: &Path,
        budget: &mut u32,
    ) -> io::Result<PathBuf> {
        let mut cur = PathBuf::new();
        for comp in rel.components() {
            match comp {
                Component::Normal(name) => {
                    let dir = self.open_dir(root, &cur)?;
                    match lstat_at(dir.as_fd(), name)? {
                        None => {
                            match mkdirat(dir.as_fd(), name, 0o755) {
                                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                                    return Err(e)
                                }
                                _ => {}
                            }
                            cur.push(name);
                        }
                        Some(st) if is_dir(&st) => cur.push(name),
                        Some(st) if is_symlink(&st) => {
                            if *budget == 0 {
                                return Err(io::Error::from_raw_os_error(libc::ELOOP));
                            }
                            *budget -= 1;
                            let target = readlinkat(dir.as_fd(), name)?;
                            // `cur` has no symlinks, so `..` in the target
                            // can simply pop it (and stops at the root).
                            cur = self.resolve_creating(root, &cur.join(target), budget)?;
                        }
                        Some(_) => return Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
                    }
                }
                Component::ParentDir => {
                    cur.pop();
                }
                Component::RootDir => cur = PathBuf::new(),
                Component::CurDir | Component::Prefix(_) => {}
            }
        }
        Ok(cur)
    }
}

impl Resolver {
    /// An `O_PATH` descriptor for `rel` beneath `root`, resolved as if
    /// `root` were `/` (symlinks in it followed, the last one too). Nothing
    /// is opened for reading: a FIFO or a device node found there is never
    /// opened, so it can neither block nor have side effects.
    pub fn open_path(self, root: BorrowedFd<'_>, rel: &Path) -> io::Result<OwnedFd> {
        if self == Resolver::Auto && !NO_OPENAT2.load(Ordering::Relaxed) {
            match openat2_flags(root, rel, libc::O_PATH | libc::O_CLOEXEC) {
                Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                    NO_OPENAT2.store(true, Ordering::Relaxed);
                }
                r => return r,
            }
        }
        let mut rel = rel.to_path_buf();
        let mut links = 0;
        loop {
            let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
                return walk(root, &rel);
            };
            let dir = walk(root, parent)?;
            match lstat_at(dir.as_fd(), name)? {
                Some(st) if is_symlink(&st) => {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(io::Error::from_raw_os_error(libc::ELOOP));
                    }
                    // Joined to the unresolved parent: `walk` resolves the
                    // `..` in it against the directories really traversed.
                    rel = parent.join(readlinkat(dir.as_fd(), name)?);
                }
                Some(_) => {
                    let c = cstr(name)?;
                    // SAFETY: `c` is NUL-terminated and `dir` is open; the
                    // result is a new descriptor or -1. O_NOFOLLOW: a
                    // symlink swapped in since the lstat is opened as
                    // itself, which callers then refuse by its type.
                    let fd = check(unsafe {
                        libc::openat(
                            dir.as_raw_fd(),
                            c.as_ptr(),
                            libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                        )
                    })?;
                    return Ok(owned(fd));
                }
                None => return Err(io::Error::from_raw_os_error(libc::ENOENT)),
            }
        }
    }

    /// The content of the regular file `rel` beneath `root` (resolved as
    /// [`Resolver::open_path`] does), at most `cap` bytes. Anything but a
    /// regular file is refused (`InvalidInput`, "not a regular file"), and
    /// so is a file larger than `cap` (`EFBIG`): untrusted content cannot
    /// make the reader block or exhaust its memory.
    pub fn read_regular(self, root: BorrowedFd<'_>, rel: &Path, cap: u64) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let path_fd = self.open_path(root, rel)?;
        let st = fstat(path_fd.as_fd())?;
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        if st.st_size as u64 > cap {
            return Err(io::Error::from_raw_os_error(libc::EFBIG));
        }
        // An O_PATH descriptor cannot be read: reopen the same inode
        // through its /proc link (no path is resolved again).
        let proc = PathBuf::from(format!("/proc/self/fd/{}", path_fd.as_raw_fd()));
        let file = std::fs::OpenOptions::new().read(true).open(proc)?;
        let mut bytes = Vec::with_capacity(st.st_size as usize);
        file.take(cap + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > cap {
            return Err(io::Error::from_raw_os_error(libc::EFBIG));
        }
        Ok(bytes)
    }
}

/// [`Resolver::read_regular`] with [`Resolver::Auto`]; `Ok(None)` when the
/// file (or a directory on its way) does not exist.
pub fn read_regular_in_root(root: &Path, rel: &Path, cap: u64) -> io::Result<Option<Vec<u8>>> {
    let root = open_dir(root)?;
    match Resolver::Auto.read_regular(root.as_fd(), rel, cap) {
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => Ok(None),
        r => r.map(Some),
    }
}

fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    // SAFETY: stat is plain data; fstat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is open and `st` is a live stat to fill.
    check(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    Ok(st)
}

/// [`Resolver::open_dir`] with [`Resolver::Auto`].
pub fn open_dir_in_root(root: BorrowedFd<'_>, rel: &Path) -> io::Result<OwnedFd> {
    Resolver::Auto.open_dir(root, rel)
}

/// [`Resolver::mkdir_all`] with [`Resolver::Auto`].
pub fn mkdir_all_in_root(root: BorrowedFd<'_>, rel: &Path) -> io::Result<OwnedFd> {
    Resolver::Auto.mkdir_all(root, rel)
}

/// Open a directory by an ordinary path (following symlinks): the root
/// itself.
pub fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    let c = cstr(path.as_os_str())?;
    // SAFETY: `c` is a valid NUL-terminated string; open returns a new
    // descriptor or -1.
    let fd = check(unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    })?;
    Ok(owned(fd))
}

fn openat2_in_root(root: BorrowedFd<'_>, rel: &Path) -> io::Result<OwnedFd> {
    openat2_flags(
        root,
        rel,
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
    )
}

fn openat2_flags(root: BorrowedFd<'_>, rel: &Path, flags: libc::c_int) -> io::Result<OwnedFd> {
    let c = cstr(rel.as_os_str())?;
    // SAFETY: open_how is plain data; all-zero is its "no options" value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: the path is NUL-terminated and `how` is a live open_how of
    // the size we pass; the result is a new descriptor or -1.
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
        return Err(io::Error::last_os_error());
    }
    Ok(owned(r as RawFd))
}

/// The fallback: RESOLVE_IN_ROOT in userspace. Only single components
/// are handed to the kernel, with O_NOFOLLOW, so the kernel never follows
/// a symlink or a `..` for us.
fn walk(root: BorrowedFd<'_>, rel: &Path) -> io::Result<OwnedFd> {
    // Directories below the root on the way to the current one.
    let mut stack: Vec<OwnedFd> = Vec::new();
    // What is left to resolve, last component first.
    let mut todo: Vec<OsString> = Vec::new();
    push_components(&mut todo, &mut stack, rel);
    let mut links = 0;
    while let Some(name) = todo.pop() {
        if name == ".." {
            stack.pop();
            continue;
        }
        let cur = stack.last().map(|f| f.as_fd()).unwrap_or(root);
        match open_child_dir(cur, &name) {
            Ok(fd) => stack.push(fd),
            Err(e) => match lstat_at(cur, &name)? {
                Some(st) if is_symlink(&st) => {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(io::Error::from_raw_os_error(libc::ELOOP));
                    }
                    let target = readlinkat(cur, &name)?;
                    push_components(&mut todo, &mut stack, &target);
                }
                _ => return Err(e),
            },
        }
    }
    match stack.pop() {
        Some(fd) => Ok(fd),
        None => root.try_clone_to_owned(),
    }
}

/// Queue the components of `path` (in front of what is queued); an
/// absolute path starts again from the root.
fn push_components(todo: &mut Vec<OsString>, stack: &mut Vec<OwnedFd>, path: &Path) {
    let mut comps = Vec::new();
    for c in path.components() {
        match c {
            Component::RootDir => {
                stack.clear();
                comps.clear();
            }
            Component::Normal(n) => comps.push(n.to_os_string()),
            Component::ParentDir => comps.push(OsString::from("..")),
            Component::CurDir | Component::Prefix(_) => {}
        }
    }
    todo.extend(comps.into_iter().rev());
}

/// Open the directory `name` directly in `dir`, refusing a symlink.
pub fn open_child_dir(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    let c = cstr(name)?;
    // SAFETY: `c` is NUL-terminated and `dir` is an open descriptor; the
    // result is a new descriptor or -1.
    let fd = check(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    })?;
    Ok(owned(fd))
}

/// An O_PATH handle of `name` directly in `dir`, never following it, and
/// what it is (a symlink is opened as itself: the caller decides).
pub fn open_child_path(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<(OwnedFd, libc::stat)> {
    let c = cstr(name)?;
    // SAFETY: `c` is NUL-terminated and `dir` is an open descriptor; the
    // result is a new descriptor or -1.
    let fd = check(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    })?;
    let fd = owned(fd);
    let st = fstat(fd.as_fd())?;
    Ok((fd, st))
}

/// The target of the symlink `name` in `dir`.
pub fn readlinkat(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<PathBuf> {
    let c = cstr(name)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: readlinkat writes at most `buf.len()` bytes into `buf`.
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
    Ok(PathBuf::from(OsString::from_vec(buf)))
}

pub fn mkdirat(dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: `c` is NUL-terminated and `dir` is an open descriptor.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode as libc::mode_t) }).map(drop)
}

/// lstat of `name` in `dir`; `None` when it does not exist.
pub fn lstat_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Option<libc::stat>> {
    let c = cstr(name)?;
    // SAFETY: stat is plain data; fstatat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is NUL-terminated and `st` is a live stat to fill.
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

pub fn is_symlink(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFLNK
}

fn owned(fd: RawFd) -> OwnedFd {
    // SAFETY: only called with a descriptor a syscall just returned to us,
    // which nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// `s` as a C string for a syscall; a NUL byte inside is an error.
pub fn cstr(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// A libc return value: negative means the error is in errno.
pub fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

#[cfg(test)]
#[path = "in_root_tests.rs"]
mod tests;
