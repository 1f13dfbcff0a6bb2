//! What a container changed: its upper directory read against the image's
//! layers (Podman's `diff`: A added, C changed, D deleted).

use std::os::unix::fs::FileTypeExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::containers::{self, ContainerRecord};
use crate::db;
use crate::error::{Result, StoreError};
use crate::fsutil;
use crate::layout::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
pub enum ChangeKind {
    #[serde(rename = "C")]
    Modified,
    #[serde(rename = "A")]
    Added,
    #[serde(rename = "D")]
    Deleted,
}

impl ChangeKind {
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Modified => 'C',
            ChangeKind::Added => 'A',
            ChangeKind::Deleted => 'D',
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
}

pub fn container_diff(store: &Store, id: &str) -> Result<Vec<Change>> {
    let conn = db::open(store)?;
    let rec = containers::load(store, &conn, id)?;
    changes(store, &rec)
}

/// What an image's top layer changed against the layers below it (Podman's
/// `diff IMAGE`); an image of one layer adds everything it holds.
pub fn image_diff(store: &Store, spec: &str) -> Result<Vec<Change>> {
    crate::cstorage_images::refresh(store);
    let conn = db::open(store)?;
    let img = crate::resolve::resolve(&conn, spec)?.image;
    let Some((top, below)) = img.layers.split_last() else {
        return Ok(Vec::new());
    };
    let top_root = store.layer_root(top);
    if store.driver == crate::driver::Driver::Vfs {
        let parent = below.last().map(|p| store.layer_root(p));
        return crate::vfs::changes(parent.as_deref(), &top_root)
            .map_err(|e| StoreError::path("comparing with its parent layer", &top_root, e));
    }
    let lowers: Vec<PathBuf> = below.iter().rev().map(|c| store.layer_root(c)).collect();
    let mut out = Vec::new();
    walk(&top_root, Path::new(""), &lowers, &mut out)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// One side of [`tree_diff`].
pub enum Tree {
    /// A container's ID.
    Container(String),
    /// An image's name or ID.
    Image(String),
}

/// The whole file system of `to` against that of `from` (`podman diff A
/// B`): both are mounted (counted, as `mount` and `image mount` count)
/// for the walk and given back after it, whatever it found.
pub fn tree_diff(store: &Store, from: &Tree, to: &Tree) -> Result<Vec<Change>> {
    let mount = |t: &Tree| -> Result<PathBuf> {
        match t {
            Tree::Container(id) => crate::mounts::mount(store, id).map(|(p, _)| p),
            Tree::Image(spec) => crate::image_mounts::mount(store, spec).map(|(_, p, _)| p),
        }
    };
    let unmount = |t: &Tree| {
        let r = match t {
            Tree::Container(id) => crate::mounts::unmount(store, id, false).map(|_| ()),
            Tree::Image(spec) => crate::image_mounts::unmount(store, spec, false).map(|_| ()),
        };
        if let Err(e) = r {
            tracing::warn!(error = %e, "giving back a mount taken for a diff");
        }
    };
    let from_root = mount(from)?;
    let to_root = match mount(to) {
        Ok(p) => p,
        Err(e) => {
            unmount(from);
            return Err(e);
        }
    };
    let r = crate::vfs::changes(Some(&from_root), &to_root)
        .map_err(|e| StoreError::path("comparing two file systems", &to_root, e));
    unmount(to);
    unmount(from);
    r
}

pub fn changes(store: &Store, rec: &ContainerRecord) -> Result<Vec<Change>> {
    if store.driver == crate::driver::Driver::Vfs {
        // The container's full copy against its image's top layer.
        let root = containers::upper(rec);
        let parent = rec.layers.last().map(|top| store.layer_root(top));
        return crate::vfs::changes(parent.as_deref(), root)
            .map_err(|e| StoreError::path("comparing with its image", root, e));
    }
    let lowers = containers::lower_dirs(store, rec);
    let mut out = Vec::new();
    walk(containers::upper(rec), Path::new(""), &lowers, &mut out)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// An overlay upper directory's changes against its lower directories (top
/// first), sorted by path.
pub fn overlay_changes(upper: &Path, lowers: &[PathBuf]) -> Result<Vec<Change>> {
    let mut out = Vec::new();
    walk(upper, Path::new(""), lowers, &mut out)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn walk(upper: &Path, rel: &Path, lowers: &[PathBuf], out: &mut Vec<Change>) -> Result<()> {
    let dir = upper.join(rel);
    let rd = std::fs::read_dir(&dir).map_err(|e| StoreError::path("reading", &dir, e))?;
    let mut names: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
    names.sort();
    for name in names {
        let r = rel.join(&name);
        let p = upper.join(&r);
        let meta = std::fs::symlink_metadata(&p).map_err(|e| StoreError::path("reading", &p, e))?;
        let shown = format!("/{}", r.display());
        if meta.file_type().is_char_device() && meta.rdev() == 0 {
            if in_lower(lowers, &r) {
                out.push(Change {
                    path: shown,
                    kind: ChangeKind::Deleted,
                });
            }
            continue;
        }
        let existed = in_lower(lowers, &r);
        out.push(Change {
            path: shown.clone(),
            kind: if existed {
                ChangeKind::Modified
            } else {
                ChangeKind::Added
            },
        });
        if meta.is_dir() {
            let opaque = fsutil::get_xattr(&p, "trusted.overlay.opaque")
                .ok()
                .flatten()
                .is_some_and(|v| v == b"y");
            if opaque && existed {
                // Everything the image had below is gone unless re-added.
                for lower_name in lower_children(lowers, &r) {
                    if std::fs::symlink_metadata(p.join(&lower_name)).is_err() {
                        out.push(Change {
                            path: format!("{shown}/{}", lower_name.to_string_lossy()),
                            kind: ChangeKind::Deleted,
                        });
                    }
                }
            }
            walk(upper, &r, lowers, out)?;
        }
    }
    Ok(())
}

/// Whether `rel` exists in the merged view of `lowers` (top first).
fn in_lower(lowers: &[PathBuf], rel: &Path) -> bool {
    for layer in lowers {
        // A whiteout or opaque dir on the way hides everything below.
        let mut hidden = false;
        let mut acc = PathBuf::new();
        let comps: Vec<_> = rel.components().collect();
        for (i, c) in comps.iter().enumerate() {
            acc.push(c);
            let p = layer.join(&acc);
            match std::fs::symlink_metadata(&p) {
                Ok(m) if m.file_type().is_char_device() && m.rdev() == 0 => return false,
                Ok(m) => {
                    if i + 1 == comps.len() {
                        return true;
                    }
                    if !m.is_dir() {
                        hidden = true;
                        break;
                    }
                    if fsutil::get_xattr(&p, "trusted.overlay.opaque")
                        .ok()
                        .flatten()
                        .is_some_and(|v| v == b"y")
                    {
                        // Present in this layer's opaque dir or nowhere.
                        let rest = layer.join(rel);
                        return std::fs::symlink_metadata(&rest)
                            .is_ok_and(|m| !(m.file_type().is_char_device() && m.rdev() == 0));
                    }
                }
                Err(_) => break,
            }
        }
        if hidden {
            return false;
        }
    }
    false
}

/// Names under `rel` in the merged view of `lowers`.
fn lower_children(lowers: &[PathBuf], rel: &Path) -> Vec<std::ffi::OsString> {
    let mut names = std::collections::BTreeSet::new();
    for layer in lowers {
        if let Ok(rd) = std::fs::read_dir(layer.join(rel)) {
            for e in rd.filter_map(|e| e.ok()) {
                if in_lower(lowers, &rel.join(e.file_name())) {
                    names.insert(e.file_name());
                }
            }
        }
    }
    names.into_iter().collect()
}
