//! Where the store keeps what.
//!
//! ```text
//! <graphroot>/storage.db                 SQLite index (images, layers, containers)
//! <graphroot>/storage.lock               GC barrier: shared while adding, exclusive to collect
//! <graphroot>/blobs/sha256/<hex>         compressed blobs, configs, manifests (verbatim)
//! <graphroot>/overlay-layers/<chain>/diff   one unpacked layer per chain ID
//! <graphroot>/overlay-layers/l/<LINK>    26-character symlink -> ../<chain>/diff
//! <graphroot>/overlay-layers/empty       empty lower dir for images without layers
//! <graphroot>/overlay-layers/.tmp-*      layers being unpacked (renamed into place when done)
//! <graphroot>/overlay-layers/.trash-*    layers being deleted
//! <graphroot>/overlay-containers/<id>/{diff,work,lock}   container layers
//! <graphroot>/locks/layer-<chain>        per-layer unpack lock
//! <graphroot>/tmp/                       scratch on the same filesystem
//! <runroot>/overlay-containers/<id>/merged       mount point
//! <runroot>/overlay-containers/<id>/mountcount   outstanding Mount calls
//! ```
//!
//! With the vfs driver (containers-storage's layout for it):
//!
//! ```text
//! <graphroot>/vfs/dir/<chain>            one layer: its parent's files plus its diff
//! <graphroot>/vfs/dir/<id>               a container's root (a copy of its top layer)
//! <graphroot>/vfs/dir/.tmp-*, .trash-*   being made, being deleted
//! <graphroot>/vfs-layers/, vfs-images/   containers-storage's metadata places (the index is storage.db)
//! <graphroot>/vfs-containers/<id>/lock   container records
//! <runroot>/vfs-containers/<id>/mountcount
//! ```
//!
//! As in containers-storage, the roots and every directory on the way to a
//! layer's or a container's files are 0700 (`common::private_dir`): what a
//! container puts in its upper directory (a setuid binary, a device node)
//! is out of reach of other host users. Only the `diff` directories keep
//! the image root's mode, as they are the container's `/`.

use std::path::PathBuf;

use common::file_lock::FileLock;
use common::private_dir;

use crate::driver::Driver;
use crate::error::{Result, StoreError};

#[derive(Debug, Clone)]
pub struct Store {
    pub graph_root: PathBuf,
    pub run_root: PathBuf,
    pub driver: Driver,
}

/// The most a directory on the way to mount points may be: private, plus
/// search for all (see [`Store::tighten`]).
pub const SEARCHABLE_DIR_MODE: u32 = 0o711;

impl Store {
    pub fn db_path(&self) -> PathBuf {
        self.graph_root.join("storage.db")
    }

    pub fn gc_lock_path(&self) -> PathBuf {
        self.graph_root.join("storage.lock")
    }

    pub fn blobs_dir(&self) -> PathBuf {
        self.graph_root.join("blobs").join("sha256")
    }

    /// One directory per unpacked layer, keyed by chain ID (with vfs,
    /// containers' roots too).
    pub fn layers_dir(&self) -> PathBuf {
        match self.driver {
            Driver::Overlay => self.graph_root.join("overlay-layers"),
            Driver::Vfs => self.graph_root.join("vfs").join("dir"),
        }
    }

    pub fn layer_dir(&self, chain_hex: &str) -> PathBuf {
        self.layers_dir().join(chain_hex)
    }

    /// The root of a layer's files inside its directory `dir` (a layer's
    /// final place or its temp directory).
    pub fn root_in(&self, dir: &std::path::Path) -> PathBuf {
        match self.driver {
            Driver::Overlay => dir.join("diff"),
            Driver::Vfs => dir.to_path_buf(),
        }
    }

    /// The root of a layer's files.
    pub fn layer_root(&self, chain_hex: &str) -> PathBuf {
        self.root_in(&self.layer_dir(chain_hex))
    }

    /// A container's root file system as stored: overlay's upper directory,
    /// or vfs's full copy.
    pub fn container_root(&self, id: &str) -> PathBuf {
        match self.driver {
            Driver::Overlay => self.container_dir(id).join("diff"),
            Driver::Vfs => self.layers_dir().join(id),
        }
    }

    /// Short symlinks to layer diffs, named in overlay mount options.
    pub fn links_dir(&self) -> PathBuf {
        self.layers_dir().join("l")
    }

    pub fn empty_layer_dir(&self) -> PathBuf {
        self.layers_dir().join("empty")
    }

    pub fn containers_dir(&self) -> PathBuf {
        self.graph_root
            .join(format!("{}-containers", self.driver.name()))
    }

    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.containers_dir().join(id)
    }

    pub fn container_run_dir(&self, id: &str) -> PathBuf {
        self.run_containers_dir().join(id)
    }

    /// Where a mounted container's root is seen: the overlay mount point,
    /// or vfs's copy itself.
    pub fn mountpoint(&self, id: &str) -> PathBuf {
        match self.driver {
            Driver::Overlay => self.container_run_dir(id).join("merged"),
            Driver::Vfs => self.container_root(id),
        }
    }

    pub fn locks_dir(&self) -> PathBuf {
        self.graph_root.join("locks")
    }

    /// Scratch space on the same filesystem as the layers (for probes and
    /// partial files), so renames into place are atomic.
    pub fn tmp_dir(&self) -> PathBuf {
        self.graph_root.join("tmp")
    }

    /// The GC barrier, shared: held by every process adding layers, blobs
    /// or containers until its records are committed.
    pub fn barrier(&self) -> Result<FileLock> {
        private_dir::create(&self.graph_root)?;
        Ok(FileLock::shared(&self.gc_lock_path())?)
    }

    /// The run root's directory of mount points.
    pub fn run_containers_dir(&self) -> PathBuf {
        self.run_root
            .join(format!("{}-containers", self.driver.name()))
    }

    /// Create the directories every operation expects, all 0700.
    pub fn ensure_dirs(&self) -> Result<()> {
        let mut dirs = vec![
            self.blobs_dir(),
            self.layers_dir(),
            self.containers_dir(),
            self.locks_dir(),
            self.tmp_dir(),
        ];
        match self.driver {
            Driver::Overlay => dirs.extend([self.links_dir(), self.empty_layer_dir()]),
            Driver::Vfs => dirs.extend([
                self.graph_root.join("vfs-layers"),
                self.graph_root.join("vfs-images"),
            ]),
        }
        for d in dirs {
            private_dir::create(&d)?;
        }
        Ok(())
    }

    /// Tighten to 0700 the directories that lead to layers, container
    /// layers and mount points when a store made before they were private
    /// left them open (a few stats on every open).
    pub fn tighten(&self) -> Result<()> {
        for d in [
            self.graph_root.clone(),
            self.layers_dir(),
            self.containers_dir(),
        ] {
            private_dir::tighten(&d, private_dir::DIR_MODE)?;
        }
        // Search (never read) for all may stay on the way to mount points:
        // podman grants it for containers in their own user namespace,
        // whose root must reach its root file system (as Podman's
        // makeAccessible).
        for d in [self.run_root.clone(), self.run_containers_dir()] {
            private_dir::tighten(&d, SEARCHABLE_DIR_MODE)?;
        }
        Ok(())
    }
}

/// A unique suffix for temp names: pid, time and a counter.
pub fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}-{nanos:x}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// `n` random characters from A-Z and 0-9 (for layer link names).
pub fn random_name(n: usize) -> Result<String> {
    common::random::string_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", n)
        .map_err(|e| StoreError::io("reading random bytes", e))
}

#[cfg(test)]
mod tests {
    #[test]
    fn link_names_are_26_safe_characters() {
        let n = super::random_name(26).unwrap();
        assert_eq!(n.len(), 26);
        assert!(n
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    }
}
