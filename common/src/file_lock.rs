//! flock(2) locks: released when the holder closes the file or dies, so a
//! SIGKILLed process never leaves a lock behind. Locks are per object (a
//! container, a layer, a network's IPAM file), never one lock for a whole
//! command.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Instant;

use crate::fs_error::FsError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    Shared,
    Exclusive,
}

/// A held flock, released on drop.
#[derive(Debug)]
pub struct FileLock {
    file: File,
}

/// Waits longer than this are worth a debug line.
const SLOW_WAIT_MS: f64 = 50.0;

impl FileLock {
    /// Wait for a shared lock on `path` (created if missing; its directory
    /// must exist, so locking an object that was removed fails).
    pub fn shared(path: &Path) -> Result<FileLock, FsError> {
        lock_path(path, LockMode::Shared, true).map(|l| l.expect("a blocking lock"))
    }

    /// Wait for an exclusive lock on `path`.
    pub fn exclusive(path: &Path) -> Result<FileLock, FsError> {
        lock_path(path, LockMode::Exclusive, true).map(|l| l.expect("a blocking lock"))
    }

    /// An exclusive lock on `path` if nobody holds it, else `None`.
    pub fn try_exclusive(path: &Path) -> Result<Option<FileLock>, FsError> {
        lock_path(path, LockMode::Exclusive, false)
    }

    /// Lock a file (or directory) that is already open, waiting for it.
    pub fn on_file(file: File, mode: LockMode) -> std::io::Result<FileLock> {
        flock(&file, mode, true)?;
        Ok(FileLock { file })
    }

    /// Lock an open file if nobody holds it, else `None`.
    pub fn try_on_file(file: File, mode: LockMode) -> std::io::Result<Option<FileLock>> {
        Ok(flock(&file, mode, false)?.then_some(FileLock { file }))
    }

    /// The locked file (e.g. to hand a duplicate to a child that must keep
    /// the lock held while it runs).
    pub fn file(&self) -> &File {
        &self.file
    }
}

/// Wait for a lock on an open file that the caller keeps (and writes
/// through): released when that file is closed.
pub fn lock_open_file(file: &File, mode: LockMode) -> std::io::Result<()> {
    flock(file, mode, true).map(|_| ())
}

/// flock `file`; `Ok(false)` when `wait` is off and someone else holds it.
fn flock(file: &File, mode: LockMode, wait: bool) -> std::io::Result<bool> {
    let mut op = match mode {
        LockMode::Shared => libc::LOCK_SH,
        LockMode::Exclusive => libc::LOCK_EX,
    };
    if !wait {
        op |= libc::LOCK_NB;
    }
    loop {
        // SAFETY: flock only reads the descriptor number, which `file`
        // keeps open for the duration of the call.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) if !wait => return Ok(false),
            _ => return Err(e),
        }
    }
}

fn lock_path(path: &Path, mode: LockMode, wait: bool) -> Result<Option<FileLock>, FsError> {
    let started = Instant::now();
    loop {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(FsError::at("opening lock file", path))?;
        if !flock(&file, mode, wait).map_err(FsError::at("locking", path))? {
            return Ok(None);
        }
        // The last holder may have deleted the file (and someone recreated
        // it) while we waited: a lock on the dead inode guards nothing.
        let ours = file
            .metadata()
            .map_err(FsError::at("checking lock file", path))?;
        match std::fs::metadata(path) {
            Ok(now) if now.ino() == ours.ino() && now.dev() == ours.dev() => {
                let waited = started.elapsed().as_secs_f64() * 1e3;
                if waited > SLOW_WAIT_MS {
                    tracing::debug!(lock = %path.display(), waited_ms = waited, "lock acquired after waiting");
                }
                return Ok(Some(FileLock { file }));
            }
            _ => continue,
        }
    }
}

/// Wait for a shared POSIX record lock (fcntl F_SETLKW, F_RDLCK) over all
/// of `file`: the kind containers/storage's lockfile package takes, so
/// reading its files under this waits for its writers. Released when the
/// file is closed (any descriptor of it, as POSIX locks are).
pub fn fcntl_shared(file: &File) -> std::io::Result<()> {
    fcntl_wait(file, libc::F_RDLCK)
}

/// [`fcntl_shared`]'s exclusive kind (F_WRLCK; `file` open for writing),
/// as containers/storage's writers take it.
pub fn fcntl_exclusive(file: &File) -> std::io::Result<()> {
    fcntl_wait(file, libc::F_WRLCK)
}

fn fcntl_wait(file: &File, kind: libc::c_int) -> std::io::Result<()> {
    let fl = libc::flock {
        l_type: kind as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    loop {
        // SAFETY: `file` is open for the call and `fl` is a live flock
        // struct the kernel only reads for F_SETLKW.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLKW, &fl) } == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_excludes_and_shared_shares() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("l");
        let a = FileLock::shared(&p).unwrap();
        let b = FileLock::shared(&p).unwrap();
        assert!(FileLock::try_exclusive(&p).unwrap().is_none());
        drop(a);
        drop(b);
        let x = FileLock::try_exclusive(&p).unwrap();
        assert!(x.is_some());
        assert!(FileLock::try_exclusive(&p).unwrap().is_none());
        drop(x);
        assert!(FileLock::try_exclusive(&p).unwrap().is_some());
    }

    #[test]
    fn open_files_and_directories_lock_too() {
        let d = tempfile::tempdir().unwrap();
        let held = FileLock::on_file(File::open(d.path()).unwrap(), LockMode::Exclusive).unwrap();
        let again = FileLock::try_on_file(File::open(d.path()).unwrap(), LockMode::Shared).unwrap();
        assert!(again.is_none());
        drop(held);
        let again = FileLock::try_on_file(File::open(d.path()).unwrap(), LockMode::Shared).unwrap();
        assert!(again.is_some());
    }

    #[test]
    fn a_waiter_never_keeps_a_lock_on_a_deleted_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("l");
        let first = FileLock::exclusive(&p).unwrap();
        let p2 = p.clone();
        let waiter = std::thread::spawn(move || {
            let l = FileLock::exclusive(&p2).unwrap();
            l.file().metadata().unwrap().ino()
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::fs::remove_file(&p).unwrap();
        drop(first);
        let ino = waiter.join().unwrap();
        assert_eq!(ino, std::fs::metadata(&p).unwrap().ino());
    }

    #[test]
    fn a_missing_directory_is_not_created() {
        let d = tempfile::tempdir().unwrap();
        let e = FileLock::exclusive(&d.path().join("gone/lock")).unwrap_err();
        assert_eq!(e.op, "opening lock file");
        assert!(!d.path().join("gone").exists());
    }
}
