//! Containers on a user's exploded root file system (Podman's `--rootfs`):
//! the container's directory holds a `rootfs` file naming the directory.
//! Plain, the directory is the container's root, used in place (its mounts
//! are only counted, as vfs roots are). With `overlay` (Podman's `:O`), an
//! overlay is mounted on it with the container's own upper and work dirs,
//! so the user's directory is never written. The store never removes it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};

const FILE: &str = "rootfs";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Rootfs {
    pub path: PathBuf,
    pub overlay: bool,
}

impl Rootfs {
    /// A request's rootfs, checked: an absolute directory; with an overlay,
    /// a path overlay's options can carry.
    pub fn checked(path: &str, overlay: bool) -> Result<Option<Rootfs>> {
        if path.is_empty() {
            return Ok(None);
        }
        let p = Path::new(path);
        if !p.is_absolute() || !p.is_dir() {
            return Err(StoreError::InvalidArgument(format!(
                "rootfs {path:?} is not an absolute path of a directory: give the directory of an exploded root file system"
            )));
        }
        if overlay && path.contains([':', ',']) {
            return Err(StoreError::InvalidArgument(format!(
                "rootfs {path:?}: an overlay's lower directory cannot contain ':' or ',': rename it or drop :O"
            )));
        }
        Ok(Some(Rootfs {
            path: p.to_path_buf(),
            overlay,
        }))
    }

    pub fn save(&self, container_dir: &Path) -> Result<()> {
        let text = serde_json::to_vec(self)
            .map_err(|e| StoreError::io("encoding the rootfs record", std::io::Error::other(e)))?;
        Ok(common::atomic_file::write_atomic(
            &container_dir.join(FILE),
            &text,
            common::atomic_file::Durability::Fsync,
        )?)
    }

    /// The record in a container's directory; None for image containers.
    pub fn load(container_dir: &Path) -> Result<Option<Rootfs>> {
        let f = container_dir.join(FILE);
        match std::fs::read(&f) {
            Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
                StoreError::path(
                    "reading",
                    &f,
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::path("reading", &f, e)),
        }
    }
}
