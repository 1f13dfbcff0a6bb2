//! What is mounted: a container's mount count, kept in the run root (mounts
//! do not survive a reboot) and checked against /proc/self/mountinfo, so a
//! stale count after a reboot or a manual umount is corrected instead of
//! trusted; and taking an overlay down. Mounting is the mounts module's
//! job; container records read the count here and removal unmounts here,
//! so neither needs the other.

use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};
use common::atomic_file::{write_atomic, Durability};

use crate::layout::Store;

fn count_path(store: &Store, id: &str) -> PathBuf {
    store.container_run_dir(id).join("mountcount")
}

pub fn read_count(store: &Store, id: &str) -> u32 {
    std::fs::read_to_string(count_path(store, id))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Where container `id` is mounted, and whether that is a real mount (an
/// overlay) rather than a root used in place whose mounts are only counted
/// (a vfs root, a plain `--rootfs` directory).
pub fn target_of(
    store: &Store,
    id: &str,
    rootfs: Option<&crate::rootfs::Rootfs>,
) -> (PathBuf, bool) {
    match rootfs {
        Some(r) if !r.overlay => (r.path.clone(), false),
        Some(_) => (store.container_run_dir(id).join("merged"), true),
        None => (store.mountpoint(id), store.driver.mounts()),
    }
}

/// [`target_of`], reading the container's rootfs record.
pub fn target(store: &Store, id: &str) -> (PathBuf, bool) {
    let rootfs = crate::rootfs::Rootfs::load(&store.container_dir(id))
        .ok()
        .flatten();
    target_of(store, id, rootfs.as_ref())
}

/// The mount count, 0 when the mount point is not really mounted (a vfs
/// root is never mounted: its count is all there is).
pub fn current_count(store: &Store, id: &str) -> u32 {
    let n = read_count(store, id);
    let (at, mounts) = target(store, id);
    if n > 0 && mounts && !is_mounted(&at) {
        0
    } else {
        n
    }
}

/// The count lives in the run root, gone at reboot like the mount itself:
/// written atomically, not fsynced.
pub fn write_count(store: &Store, id: &str, n: u32) -> Result<()> {
    Ok(write_atomic(
        &count_path(store, id),
        n.to_string().as_bytes(),
        Durability::NoSync,
    )?)
}

/// Unmount whatever the count (the caller holds the container lock).
pub fn unmount_all(store: &Store, id: &str) -> Result<bool> {
    let (target, mounts) = target(store, id);
    if !mounts {
        let counted = read_count(store, id) > 0;
        if counted {
            write_count(store, id, 0)?;
        }
        return Ok(counted);
    }
    if !is_mounted(&target) {
        return Ok(false);
    }
    umount(&target, id, true)?;
    write_count(store, id, 0)?;
    Ok(true)
}

/// umount(2) `target`; a busy mount is detached lazily with `force`, else
/// refused. Not mounted (any more) is fine.
pub fn umount(target: &Path, id: &str, force: bool) -> Result<()> {
    use nix::mount::{umount2, MntFlags};
    match umount2(target, MntFlags::empty()) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => Ok(()),
        Err(nix::errno::Errno::EBUSY) if force => {
            umount2(target, MntFlags::MNT_DETACH).map_err(|e| {
                StoreError::path(
                    &format!("container {id}: lazily unmounting"),
                    target,
                    e.into(),
                )
            })
        }
        Err(nix::errno::Errno::EBUSY) => Err(StoreError::FailedPrecondition(format!(
            "container {id}: {} is busy (a process uses it): stop it, or unmount with force",
            target.display()
        ))),
        Err(e) => Err(StoreError::path(
            &format!("container {id}: unmounting"),
            target,
            e.into(),
        )),
    }
}

/// Whether `path` is a mount point in this mount namespace.
pub fn is_mounted(path: &Path) -> bool {
    let Ok(canon) = std::fs::canonicalize(path) else {
        return false;
    };
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = canon.to_string_lossy();
    info.lines()
        .any(|l| l.split(' ').nth(4).is_some_and(|mp| unescape(mp) == want))
}

/// Undo mountinfo's octal escapes (`\040` for space...).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(super::unescape("/a\\040b"), "/a b");
        assert_eq!(super::unescape("/plain"), "/plain");
    }

    #[test]
    fn the_root_is_mounted() {
        assert!(super::is_mounted(std::path::Path::new("/")));
        assert!(!super::is_mounted(std::path::Path::new("/proc/self")));
    }
}
