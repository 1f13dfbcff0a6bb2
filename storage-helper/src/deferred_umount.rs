//! Taking a container's overlay down without waiting for its sync.
//!
//! The last reference to an overlay mount ends its superblock, and a
//! (non-volatile) overlay then syncs its upper file system: syncfs of the
//! whole disk under the graph root, other programs' dirty data included.
//! That is 5-200 ms on a busy machine, and it was most of `stop -t 0`.
//!
//! Nothing needs that sync at stop: what the container fsync'd is on disk
//! already (a non-volatile overlay passes fsync through), and what it did
//! not was never promised durable (the kernel writes it back within its
//! dirty expiry, as for any file). What must hold is only that the upper
//! directory is not mounted again, or removed, before the old superblock is
//! done with it. So the mount is detached from the tree here at once, and
//! a grandchild process holding the last reference to it (an `O_PATH`
//! descriptor) lets it go, paying the sync off the caller's path. The
//! grandchild also holds the container's storage lock (an inherited
//! descriptor of the same open file, so the flock stays held) until that
//! close has returned: the next mount or removal of this container waits
//! for the superblock to be gone. If the grandchild is killed, the kernel
//! still ends the superblock (with its sync) as the process exits.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::mount::{umount2, MntFlags};

use crate::error::{Result, StoreError};

/// Detach the mount at `target` now; its superblock ends (and syncs) in a
/// detached grandchild that keeps `lock` (the container's storage lock)
/// held until then. Falls back to a plain unmount when no process can be
/// forked. Not mounted is fine.
pub fn detach(target: &Path, id: &str, lock: &std::fs::File) -> Result<()> {
    let mnt = match nix::fcntl::open(
        target,
        nix::fcntl::OFlag::O_PATH
            | nix::fcntl::OFlag::O_DIRECTORY
            | nix::fcntl::OFlag::O_NOFOLLOW
            | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    ) {
        // SAFETY: open returned a new descriptor that nothing else owns.
        Ok(fd) => unsafe { OwnedFd::from_raw_fd(fd) },
        Err(nix::errno::Errno::ENOENT) => return Ok(()),
        Err(e) => {
            return Err(StoreError::path(
                &format!("container {id}: opening the mount point"),
                target,
                e.into(),
            ))
        }
    };
    let (go_r, go_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| StoreError::io(format!("container {id}: making a pipe"), e.into()))?;
    let keep = [mnt.as_raw_fd(), lock.as_raw_fd(), go_r.as_raw_fd()];
    let forked = fork_closer(keep);
    drop(go_r);
    if !forked {
        // Our descriptor must go first, or the mount stays busy.
        drop(mnt);
        drop(go_w);
        return crate::mount_table::umount(target, id, true);
    }
    // The mount is in use by our own descriptor: only a lazy unmount
    // detaches it (a container still using it is detached the same way,
    // as a forced unmount always did).
    let r = umount2(target, MntFlags::MNT_DETACH);
    // Ours is not the last reference (the grandchild holds one), so this
    // close is cheap; then the closed pipe tells the grandchild to let go.
    drop(mnt);
    drop(go_w);
    match r {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => Ok(()),
        Err(e) => Err(StoreError::path(
            &format!("container {id}: lazily unmounting"),
            target,
            e.into(),
        )),
    }
}

/// Fork a grandchild (a new session, reparented to init) that keeps only
/// the descriptors in `keep` = [mount, lock, pipe], waits until the pipe
/// is closed, closes the mount's descriptor (running the superblock's end)
/// and exits, releasing the lock. False when fork failed.
fn fork_closer(keep: [RawFd; 3]) -> bool {
    // SAFETY: both children make only async-signal-safe syscalls (fork,
    // setsid, close_range, read, close, _exit) on numbers they already
    // hold, with no allocation and no locks, as required after fork in a
    // threaded process.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return false;
    }
    if child == 0 {
        // SAFETY: see above.
        unsafe {
            if libc::fork() == 0 {
                libc::setsid();
                close_all_but(keep);
                let mut b = 0u8;
                // EOF (the caller closed its end, or died) or an error:
                // either way it is time to let go.
                while libc::read(keep[2], (&mut b as *mut u8).cast(), 1) > 0 {}
                libc::close(keep[0]);
                libc::_exit(0);
            }
            libc::_exit(0);
        }
    }
    let mut status = 0;
    // SAFETY: reaping our own child, which exits at once.
    unsafe { libc::waitpid(child, &mut status, 0) };
    true
}

/// Close every descriptor except the three in `keep` (stdio too: the
/// grandchild must not hold a pipe its caller's caller reads to EOF).
///
/// # Safety
/// Only after fork, in the child, which owns no Rust objects over these
/// descriptors.
unsafe fn close_all_but(mut keep: [RawFd; 3]) {
    keep.sort_unstable();
    let mut from: libc::c_uint = 0;
    for fd in keep {
        let fd = fd as libc::c_uint;
        if fd > from {
            libc::close_range(from, fd - 1, 0);
        }
        from = fd + 1;
    }
    libc::close_range(from, libc::c_uint::MAX, 0);
}
