//! `podman image mount`: an image's layers as a read-only overlay (no upper
//! directory), counted as container mounts are: each MountImage needs an
//! UnmountImage, the last one really unmounts. The mount point and count
//! live in the run root (`<driver>-images/<ID>/`); a vfs image's top layer
//! is a full copy of its file system and is used in place (only counted).
//! Removing an image takes its mount down first, as containers-storage
//! does when it deletes a mounted layer.

use std::path::PathBuf;

use common::atomic_file::{write_atomic, Durability};
use common::file_lock::FileLock;
use common::private_dir;

use crate::db;
use crate::error::{Result, StoreError};
use crate::images::ImageRecord;
use crate::layers;
use crate::layout::Store;
use crate::mount_table::{is_mounted, umount};
use crate::resolve;

fn run_dir(store: &Store, id: &str) -> PathBuf {
    store
        .run_root
        .join(format!("{}-images", store.driver.name()))
        .join(id)
}

fn count_path(store: &Store, id: &str) -> PathBuf {
    run_dir(store, id).join("mountcount")
}

/// Where image `id` is seen when mounted.
fn mountpoint(store: &Store, img: &ImageRecord) -> PathBuf {
    if store.driver.mounts() {
        run_dir(store, &img.id).join("merged")
    } else {
        match img.layers.last() {
            Some(top) => store.layer_root(top),
            None => store.empty_layer_dir(),
        }
    }
}

fn read_count(store: &Store, id: &str) -> u32 {
    std::fs::read_to_string(count_path(store, id))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

fn write_count(store: &Store, id: &str, n: u32) -> Result<()> {
    Ok(write_atomic(
        &count_path(store, id),
        n.to_string().as_bytes(),
        Durability::NoSync,
    )?)
}

/// The count, 0 when an overlay that should be there is not (a reboot or
/// a manual umount).
fn current_count(store: &Store, img: &ImageRecord) -> u32 {
    let n = read_count(store, &img.id);
    if n > 0 && store.driver.mounts() && !is_mounted(&mountpoint(store, img)) {
        0
    } else {
        n
    }
}

fn lock(store: &Store, id: &str) -> Result<FileLock> {
    let dir = run_dir(store, id);
    private_dir::create(&dir)?;
    Ok(FileLock::exclusive(&dir.join("lock"))?)
}

/// Mount image `spec` (or count one more mount): its ID, mount point and
/// new count.
pub fn mount(store: &Store, spec: &str) -> Result<(String, PathBuf, u32)> {
    crate::cstorage_images::refresh(store);
    let conn = db::open(store)?;
    let img = resolve::resolve(&conn, spec)?.image;
    let _lock = lock(store, &img.id)?;
    let target = mountpoint(store, &img);
    let mut count = current_count(store, &img);
    if count == 0 && store.driver.mounts() && !is_mounted(&target) {
        private_dir::create(&target)?;
        let mut lowers = img
            .layers
            .iter()
            .rev()
            .map(|c| {
                layers::get(&conn, c)?
                    .map(|l| format!("l/{}", l.link))
                    .ok_or_else(|| {
                        StoreError::NotFound(format!(
                            "image {}: its layer {c} is missing from the store",
                            img.short_id()
                        ))
                    })
            })
            .collect::<Result<Vec<String>>>()?;
        // Without an upper directory overlay wants two lower ones.
        while lowers.len() < 2 {
            lowers.push("empty".into());
        }
        if lowers.len() > crate::mounts::MAX_LAYERS {
            return Err(StoreError::FailedPrecondition(format!(
                "image {}: {} layers; overlay stacks at most {}: squash the image",
                img.short_id(),
                lowers.len(),
                crate::mounts::MAX_LAYERS
            )));
        }
        let opts = format!("lowerdir={}", lowers.join(":"));
        crate::mounts::mount_relative(&store.layers_dir(), &opts, &target).map_err(|e| {
            StoreError::io(
                format!(
                    "image {}: mounting its layers at {} (options {opts})",
                    img.short_id(),
                    target.display()
                ),
                e,
            )
        })?;
    }
    count += 1;
    write_count(store, &img.id, count)?;
    Ok((img.id, target, count))
}

/// Undo one mount of image `spec` (all of them with `force`): its ID,
/// whether it was mounted before this call, and the count left.
pub fn unmount(store: &Store, spec: &str, force: bool) -> Result<(String, bool, u32)> {
    let conn = db::open(store)?;
    let img = resolve::resolve(&conn, spec)?.image;
    let _lock = lock(store, &img.id)?;
    let count = current_count(store, &img);
    if count == 0 {
        if read_count(store, &img.id) != 0 {
            write_count(store, &img.id, 0)?;
        }
        return Ok((img.id, false, 0));
    }
    let left = if force { 0 } else { count - 1 };
    if left == 0 && store.driver.mounts() {
        umount(&mountpoint(store, &img), &img.id, force)?;
    }
    write_count(store, &img.id, left)?;
    Ok((img.id, true, left))
}

/// Every mounted image: (ID, mount point), by ID.
pub fn list(store: &Store) -> Result<Vec<(String, PathBuf)>> {
    let dir = store
        .run_root
        .join(format!("{}-images", store.driver.name()));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let conn = db::open(store)?;
    let mut out = Vec::new();
    for e in entries.flatten() {
        let id = e.file_name().to_string_lossy().into_owned();
        let Some(img) = crate::images::load(&conn, &id)? else {
            continue;
        };
        if current_count(store, &img) > 0 {
            out.push((img.id.clone(), mountpoint(store, &img)));
        }
    }
    out.sort();
    Ok(out)
}

/// Take image `id`'s mount down whatever its count (before the image is
/// removed).
pub fn unmount_all(store: &Store, id: &str) -> Result<()> {
    let dir = run_dir(store, id);
    if !dir.exists() {
        return Ok(());
    }
    let _lock = lock(store, id)?;
    let target = dir.join("merged");
    if store.driver.mounts() && is_mounted(&target) {
        umount(&target, id, true)?;
    }
    std::fs::remove_dir_all(&dir)
        .map_err(|e| StoreError::path("removing the mount directory", &dir, e))
}
