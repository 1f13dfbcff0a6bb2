//! Containers another containers/storage user (buildah) made in this graph
//! root, read from containers/storage's own files (`overlay-containers/
//! containers.json`, `overlay-layers/layers.json`, each layer's `lower`
//! file) under its read locks (fcntl, as its lockfile package takes them),
//! and never written. `mount` gives a read-only overlay of the container's
//! layers at a path of our own (containers/storage's mount count and its
//! `merged` directory are its users' to change, not ours); `diff` reads the
//! container's upper directory against its lower layers.

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::diff::Change;
use crate::error::{Result, StoreError};
use crate::layout::Store;

#[derive(Debug, Clone, Deserialize)]
pub struct ExtContainer {
    pub id: String,
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub image: String,
    #[serde(default)]
    pub layer: String,
    #[serde(default)]
    pub created: String,
}

/// containers/storage's overlay directory (layers and their `l/` links).
fn overlay_dir(store: &Store) -> PathBuf {
    store.graph_root.join("overlay")
}

/// containers/storage's lock file `lock`, held for reading (a shared
/// fcntl lock, as its lockfile package takes them: writers take it
/// exclusively) until the file is dropped. A POSIX lock goes when any
/// descriptor of the file in this process is closed: hold one at a time.
/// None when the file is missing (nobody has written there yet).
pub fn read_lock(lock: &Path) -> Result<Option<File>> {
    let f = match File::open(lock) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(StoreError::path(
                "opening containers/storage's lock",
                lock,
                e,
            ))
        }
    };
    common::file_lock::fcntl_shared(&f)
        .map_err(|e| StoreError::path("locking containers/storage's file", lock, e))?;
    Ok(Some(f))
}

/// Every container containers/storage records in this graph root.
pub fn list(store: &Store) -> Result<Vec<ExtContainer>> {
    Ok(list_locked(store)?.1)
}

/// [`list`], with containers/storage's read lock on its containers still
/// held (so none is made or removed until it is dropped).
pub fn list_locked(store: &Store) -> Result<(Option<File>, Vec<ExtContainer>)> {
    let dir = store.graph_root.join("overlay-containers");
    let json = dir.join("containers.json");
    let lock = read_lock(&dir.join("containers.lock"))?;
    let data = match std::fs::read(&json) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((lock, Vec::new())),
        Err(e) => return Err(StoreError::path("reading", &json, e)),
    };
    let list = serde_json::from_slice(&data).map_err(|e| {
        StoreError::FailedPrecondition(format!(
            "{}: not containers/storage's containers.json: {e}",
            json.display()
        ))
    })?;
    Ok((lock, list))
}

/// The container named `spec` (a name, its ID or a unique prefix of it).
pub fn find(store: &Store, spec: &str) -> Result<ExtContainer> {
    pick(&list(store)?, spec)
}

/// The container of `all` named `spec`.
pub fn pick(all: &[ExtContainer], spec: &str) -> Result<ExtContainer> {
    if let Some(c) = all
        .iter()
        .find(|c| c.id == spec || c.names.iter().any(|n| n == spec))
    {
        return Ok(c.clone());
    }
    let by_prefix: Vec<&ExtContainer> = all
        .iter()
        .filter(|c| !spec.is_empty() && c.id.starts_with(spec))
        .collect();
    match by_prefix.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(StoreError::NotFound(format!(
            "no container with name or ID {spec:?} found"
        ))),
        _ => Err(StoreError::InvalidArgument(format!(
            "more than one container's ID starts with {spec:?}: give more of it"
        ))),
    }
}

/// The layer's upper directory and its lower ones (top first), from the
/// layer's `lower` file (`l/LINK:l/LINK...`, relative to the overlay dir).
fn layer_dirs(store: &Store, layer: &str) -> Result<(PathBuf, Vec<PathBuf>)> {
    if layer.is_empty() || layer.contains('/') || layer.starts_with('.') {
        return Err(StoreError::FailedPrecondition(format!(
            "containers/storage names an invalid layer {layer:?}"
        )));
    }
    let base = overlay_dir(store);
    let dir = base.join(layer);
    let lower_file = dir.join("lower");
    let lowers = match std::fs::read_to_string(&lower_file) {
        Ok(s) => s
            .trim()
            .split(':')
            .filter(|l| !l.is_empty())
            .map(|l| {
                if l.starts_with("l/") && !l.contains("..") {
                    Ok(base.join(l))
                } else {
                    Err(StoreError::FailedPrecondition(format!(
                        "{}: unexpected entry {l:?}",
                        lower_file.display()
                    )))
                }
            })
            .collect::<Result<Vec<_>>>()?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(StoreError::path("reading", &lower_file, e)),
    };
    Ok((dir.join("diff"), lowers))
}

fn run_dir(store: &Store, id: &str) -> PathBuf {
    store.run_root.join("external-containers").join(id)
}

fn mountpoint(store: &Store, id: &str) -> PathBuf {
    run_dir(store, id).join("merged")
}

fn read_count(store: &Store, id: &str) -> u32 {
    let n = std::fs::read_to_string(run_dir(store, id).join("mountcount"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    if n > 0 && !crate::mount_table::is_mounted(&mountpoint(store, id)) {
        0
    } else {
        n
    }
}

fn write_count(store: &Store, id: &str, n: u32) -> Result<()> {
    Ok(common::atomic_file::write_atomic(
        &run_dir(store, id).join("mountcount"),
        n.to_string().as_bytes(),
        common::atomic_file::Durability::NoSync,
    )?)
}

fn lock(store: &Store, id: &str) -> Result<common::file_lock::FileLock> {
    common::private_dir::create(&run_dir(store, id))?;
    Ok(common::file_lock::FileLock::exclusive(
        &run_dir(store, id).join("lock"),
    )?)
}

/// The container's mount point and its count, for listings.
pub fn mounted(store: &Store, id: &str) -> (PathBuf, u32) {
    (mountpoint(store, id), read_count(store, id))
}

/// Mount the container's layers read-only at our own path (counted).
pub fn mount(store: &Store, spec: &str) -> Result<(String, PathBuf, u32)> {
    let c = find(store, spec)?;
    let _lock = lock(store, &c.id)?;
    let target = mountpoint(store, &c.id);
    let mut count = read_count(store, &c.id);
    if count == 0 {
        let (upper, lowers) = layer_dirs(store, &c.layer)?;
        common::private_dir::create(&target)?;
        let (fstype, source, flags, data) = if lowers.is_empty() {
            // One layer only: its directory itself, read-only.
            (None, upper.clone(), libc::MS_BIND | libc::MS_RDONLY, None)
        } else {
            let mut dirs = vec![upper.display().to_string()];
            dirs.extend(lowers.iter().map(|l| l.display().to_string()));
            (
                Some("overlay"),
                PathBuf::from("overlay"),
                libc::MS_RDONLY,
                Some(format!("lowerdir={}", dirs.join(":"))),
            )
        };
        nix::mount::mount(
            Some(&source),
            &target,
            fstype,
            nix::mount::MsFlags::from_bits_truncate(flags),
            data.as_deref(),
        )
        .map_err(|e| {
            StoreError::path(
                "mounting the containers/storage container",
                &target,
                std::io::Error::from_raw_os_error(e as i32),
            )
        })?;
    }
    count += 1;
    write_count(store, &c.id, count)?;
    Ok((c.id, target, count))
}

/// Undo one mount (all with `force`): (ID, whether it was mounted, the
/// count left). One not mounted succeeds with nothing done.
pub fn unmount(store: &Store, spec: &str, force: bool) -> Result<(String, bool, u32)> {
    let c = find(store, spec)?;
    let _lock = lock(store, &c.id)?;
    let count = read_count(store, &c.id);
    if count == 0 {
        return Ok((c.id, false, 0));
    }
    let left = if force { 0 } else { count - 1 };
    if left == 0 {
        let target = mountpoint(store, &c.id);
        nix::mount::umount2(&target, nix::mount::MntFlags::empty()).map_err(|e| {
            StoreError::path(
                "unmounting",
                &target,
                std::io::Error::from_raw_os_error(e as i32),
            )
        })?;
        let _ = std::fs::remove_dir(&target);
    }
    write_count(store, &c.id, left)?;
    Ok((c.id, true, left))
}

/// What the container changed against its image's layers.
pub fn diff(store: &Store, spec: &str) -> Result<Vec<Change>> {
    let c = find(store, spec)?;
    let (upper, lowers) = layer_dirs(store, &c.layer)?;
    crate::diff::overlay_changes(&upper, &lowers)
}

/// containers/storage's RFC 3339 creation time in Unix seconds (0 if
/// unreadable).
pub fn created_unix(c: &ExtContainer) -> i64 {
    let s = c.created.as_str();
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<i64>().ok());
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(sec)) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ) else {
        return 0;
    };
    let days = common::time::days_from_civil(y, mo as u32, d as u32);
    days * 86_400 + h * 3600 + mi * 60 + sec
}
