//! flock(2) locks on files: released when the holder closes them or dies,
//! so a SIGKILLed process never leaves a lock behind.
//!
//! * the store's GC barrier (`storage.lock`): every process that adds
//!   layers, blobs or containers holds it shared until its change is
//!   committed; garbage collection takes it exclusive without waiting and
//!   skips when it is busy, so removal never deletes what an import is about
//!   to reference;
//! * one lock per layer being unpacked, so two imports sharing a layer
//!   unpack it once;
//! * one lock per container, for mount counts and removal.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Instant;

use tracing::debug;

use crate::error::{Result, StoreError};

#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Shared,
    Exclusive,
}

impl FileLock {
    /// Wait for a shared lock.
    pub fn shared(path: &Path) -> Result<FileLock> {
        lock(path, Mode::Shared, true).map(|l| l.expect("blocking lock"))
    }

    /// Wait for an exclusive lock.
    pub fn exclusive(path: &Path) -> Result<FileLock> {
        lock(path, Mode::Exclusive, true).map(|l| l.expect("blocking lock"))
    }

    /// An exclusive lock if nobody holds the file locked, else None.
    pub fn try_exclusive(path: &Path) -> Result<Option<FileLock>> {
        lock(path, Mode::Exclusive, false)
    }
}

fn lock(path: &Path, mode: Mode, wait: bool) -> Result<Option<FileLock>> {
    let started = Instant::now();
    loop {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| StoreError::path("opening lock file", path, e))?;
        let mut op = if mode == Mode::Shared {
            libc::LOCK_SH
        } else {
            libc::LOCK_EX
        };
        if !wait {
            op |= libc::LOCK_NB;
        }
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), op) } != 0 {
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EWOULDBLOCK) if !wait => return Ok(None),
                _ => return Err(StoreError::path("locking", path, e)),
            }
        }
        // The file may have been deleted (and maybe recreated) by its last
        // holder while we waited: then our lock is on a dead inode; retry.
        let ours = file
            .metadata()
            .map_err(|e| StoreError::path("checking lock file", path, e))?;
        match std::fs::metadata(path) {
            Ok(now) if now.ino() == ours.ino() && now.dev() == ours.dev() => {
                let waited = started.elapsed().as_secs_f64() * 1e3;
                if waited > 50.0 {
                    debug!(lock = %path.display(), waited_ms = waited, "lock acquired after waiting");
                }
                return Ok(Some(FileLock { _file: file }));
            }
            _ => continue,
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
        let _b = FileLock::shared(&p).unwrap();
        assert!(FileLock::try_exclusive(&p).unwrap().is_none());
        drop(a);
        drop(_b);
        let x = FileLock::try_exclusive(&p).unwrap();
        assert!(x.is_some());
        assert!(FileLock::try_exclusive(&p).unwrap().is_none());
    }
}
