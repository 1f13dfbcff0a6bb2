//! A stopped container's file system for `podman cp`, without a mount
//! anyone else sees: an overlay made with the new mount API and never
//! attached (fsmount), reached through its descriptor, gone when that
//! closes.
//!
//! Why not Mount and Unmount: taking down a writable overlay syncs its
//! upper file system (syncfs of the whole disk, other programs' dirty data
//! too), which costs more than the copy. So:
//!
//! - to read, the view has no upper directory: the container's upper is
//!   the top lower layer (its whiteouts and opaque directories hide what
//!   they hide, as in the container), the overlay is read-only and its end
//!   syncs nothing;
//! - to write, the overlay is `volatile` (it never syncs; the files copied
//!   in are as durable as any write that is not fsynced, like a copy into
//!   a running container), under the container's lock for the view's
//!   life, so nobody mounts the same upper directory meanwhile. Overlay
//!   leaves a marker that refuses the next mount (`work/incompat`); it is
//!   removed when the view closes, and [`crate::mounts`] removes one left
//!   by a killed copy (ours in the run root tells the two cases apart).
//!
//! A container that is mounted already is written through that mount
//! (under the same lock, so it stays mounted); one in a user namespace
//! (idmapped layers), a vfs container and a kernel without the new mount
//! API's `lowerdir+` use the counted mount, as before.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use common::file_lock::FileLock;
use tracing::debug;

use crate::containers;
use crate::db;
use crate::error::{Result, StoreError};
use crate::layout::Store;
use crate::mount_table::is_mounted;
use crate::mounts::{self, COPY_VOLATILE_MARK};

enum Kind {
    /// Our own overlay, by its root's descriptor.
    Detached { _root: OwnedFd, writable: bool },
    /// A mount that exists anyway, kept by the lock.
    Existing,
    /// Mounted (counted) for the view, unmounted at its end.
    Counted,
}

struct View {
    id: String,
    kind: Kind,
    _lock: Option<FileLock>,
}

/// The open views of one service, by handle.
#[derive(Default)]
pub struct Views {
    next: AtomicU64,
    open: Mutex<HashMap<u64, View>>,
}

/// What OpenCopyView gives: a handle for CloseCopyView, and a path that
/// stands for the container's `/` (in this process and, as
/// `/proc/PID/fd/N`, in its parent).
pub struct Opened {
    pub handle: u64,
    pub root: PathBuf,
}

impl Views {
    pub fn open(&self, store: &Store, id: &str, writable: bool) -> Result<Opened> {
        let (view, root) = open_view(store, id, writable)?;
        let handle = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        self.open
            .lock()
            .map_err(|_| StoreError::io("copy views", std::io::Error::other("lock poisoned")))?
            .insert(handle, view);
        Ok(Opened { handle, root })
    }

    pub fn close(&self, store: &Store, handle: u64) -> Result<()> {
        let view = self
            .open
            .lock()
            .map_err(|_| StoreError::io("copy views", std::io::Error::other("lock poisoned")))?
            .remove(&handle)
            .ok_or_else(|| StoreError::NotFound(format!("copy view {handle}: not open")))?;
        close_view(store, view)
    }

    /// Close what is still open (the session ended without CloseCopyView).
    pub fn close_all(&self, store: &Store) {
        let all: Vec<View> = match self.open.lock() {
            Ok(mut m) => m.drain().map(|(_, v)| v).collect(),
            Err(_) => return,
        };
        for v in all {
            let id = v.id.clone();
            if let Err(e) = close_view(store, v) {
                tracing::warn!("container {id}: closing its copy view: {e}");
            }
        }
    }
}

fn open_view(store: &Store, id: &str, writable: bool) -> Result<(View, PathBuf)> {
    let lock = containers::lock(store, id)?;
    let conn = db::open(store)?;
    let rec = containers::load(store, &conn, id)?;
    let target = store.mountpoint(id);
    let counted = |lock: FileLock| -> Result<(View, PathBuf)> {
        drop(lock);
        let (path, _) = mounts::mount(store, id)?;
        let view = View {
            id: id.to_string(),
            kind: Kind::Counted,
            _lock: None,
        };
        Ok((view, path))
    };
    if !store.driver.mounts() || rec.idmap.is_some() {
        return counted(lock);
    }
    if writable && is_mounted(&target) {
        let view = View {
            id: id.to_string(),
            kind: Kind::Existing,
            _lock: Some(lock),
        };
        return Ok((view, target));
    }
    let mut lowers = containers::lower_dirs(store, &rec);
    if lowers.is_empty() {
        lowers.push(store.empty_layer_dir());
    }
    let dir = store.container_dir(id);
    let (upper, work) = (dir.join("diff"), dir.join("work"));
    let made = if writable {
        mounts::clear_copy_volatile(store, id)?;
        let mark = store.container_run_dir(id).join(COPY_VOLATILE_MARK);
        common::private_dir::create(&store.container_run_dir(id))?;
        std::fs::write(&mark, b"").map_err(|e| StoreError::path("writing", &mark, e))?;
        mounts::detached_overlay(&lowers, Some((&upper, &work)), &rec.mount_label, true)
    } else {
        lowers.insert(0, upper);
        mounts::detached_overlay(&lowers, None, &rec.mount_label, false)
    };
    let fd = match made {
        Ok(fd) => fd,
        Err(e) => {
            debug!(container = id, error = %e, "no detached overlay here: mounting it");
            if writable {
                mounts::remove_volatile_marks(store, id)?;
            }
            return counted(lock);
        }
    };
    let root = PathBuf::from(format!(
        "/proc/{}/fd/{}",
        std::process::id(),
        fd.as_raw_fd()
    ));
    debug!(container = id, writable, "copy view opened");
    let view = View {
        id: id.to_string(),
        kind: Kind::Detached {
            _root: fd,
            writable,
        },
        // Reading needs no lock once the overlay exists: a start meanwhile
        // mounts the same upper as its own, which this view then shows
        // as a running container's root is shown.
        _lock: writable.then_some(lock),
    };
    Ok((view, root))
}

fn close_view(store: &Store, view: View) -> Result<()> {
    let View { id, kind, _lock } = view;
    match kind {
        Kind::Detached { _root, writable } => {
            // The last descriptor of the overlay: closing it takes the
            // overlay down (a volatile one without syncing).
            drop(_root);
            if writable {
                mounts::remove_volatile_marks(store, &id)?;
            }
        }
        Kind::Existing => {}
        Kind::Counted => {
            mounts::unmount(store, &id, false)?;
        }
    }
    debug!(container = %id, "copy view closed");
    Ok(())
}
