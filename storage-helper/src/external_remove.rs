//! Removing a container another containers/storage user (buildah) made in
//! this graph root, as containers/storage's own DeleteContainer does it:
//!
//! 1. its layer, container and image stores locked for writing, in its
//!    order (`overlay-layers/layers.lock`, `overlay-images/images.lock`,
//!    `overlay-containers/containers.lock`: exclusive fcntl locks);
//! 2. the container's layer refused while containers/storage counts a
//!    mount of it (`<runroot>/overlay-layers/mountpoints.json`, read under
//!    `mountpoints.lock`): it unmounts in the mounting process's
//!    namespace, which may not be ours;
//! 3. the layer flagged `incomplete` in layers.json first, so a process
//!    killed midway leaves a layer containers/storage deletes at its next
//!    load; then its overlay directory and short link, its tar-split and
//!    its data directory removed, and its entry dropped from layers.json;
//! 4. the container's directories (graph root and run root) removed, and
//!    its entry dropped from containers.json.
//!
//! Every write of a JSON file is preceded by a new last-writer token in
//! its lock file (RecordWrite: what its long-running users compare to
//! know they must reload) and is atomic (temp, fsync, rename), as its
//! AtomicWriteFile. Entries are edited as JSON values, so fields this code
//! does not know survive. Volatile layers and containers (kept in the run
//! root's volatile-*.json) are refused.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use common::atomic_file::{write_atomic, Durability};
use serde_json::Value;
use tracing::debug;

use crate::db;
use crate::digest::is_hex64;
use crate::driver::Driver;
use crate::error::{Result, StoreError};
use crate::external::{self, ExtContainer};
use crate::layout::{unique_suffix, Store};

/// A containers/storage lock file held for writing.
struct WriteLock {
    file: File,
    path: PathBuf,
}

impl WriteLock {
    fn take(path: PathBuf) -> Result<WriteLock> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StoreError::path("opening containers/storage's lock", &path, e))?;
        common::file_lock::fcntl_exclusive(&file)
            .map_err(|e| StoreError::path("locking containers/storage's file", &path, e))?;
        Ok(WriteLock { file, path })
    }

    /// containers/storage's RecordWrite: a new 64-byte last-writer token
    /// (time in ns, a counter, our pid, random bytes; little-endian) at
    /// the start of the lock file, before the data it guards is written.
    fn record_write(&self) -> Result<()> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut token = [0u8; 64];
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        token[0..8].copy_from_slice(&nanos.to_le_bytes());
        token[8..16].copy_from_slice(&(COUNTER.fetch_add(1, Ordering::Relaxed) + 1).to_le_bytes());
        token[16..20].copy_from_slice(&std::process::id().to_le_bytes());
        common::random::fill(&mut token[20..])
            .map_err(|e| StoreError::io("reading random bytes", e))?;
        self.file
            .write_all_at(&token, 0)
            .map_err(|e| StoreError::path("recording a write in", &self.path, e))
    }
}

fn read_array(p: &Path) -> Result<Vec<Value>> {
    let data = match std::fs::read(p) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::path("reading", p, e)),
    };
    serde_json::from_slice(&data).map_err(|e| {
        StoreError::FailedPrecondition(format!(
            "{}: not containers/storage's file: {e}",
            p.display()
        ))
    })
}

fn write_array(lock: &WriteLock, p: &Path, v: &[Value]) -> Result<()> {
    lock.record_write()?;
    let bytes = serde_json::to_vec(v)
        .map_err(|e| StoreError::io("serializing", std::io::Error::other(e)))?;
    Ok(write_atomic(p, &bytes, Durability::Fsync)?)
}

fn id_of(v: &Value) -> &str {
    v.get("id").and_then(Value::as_str).unwrap_or("")
}

/// Remove a path (directory or file) by moving it into our scratch space
/// first, so what is left after a kill is never half a layer in its
/// place (our start-up cleanup empties the scratch space).
fn remove_staged(store: &Store, p: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StoreError::path("checking", p, e)),
    };
    if !meta.is_dir() {
        return std::fs::remove_file(p).map_err(|e| StoreError::path("removing", p, e));
    }
    common::private_dir::create(&store.tmp_dir())?;
    let to = store
        .tmp_dir()
        .join(format!("cstorage-removed-{}", unique_suffix()));
    let from = match std::fs::rename(p, &to) {
        Ok(()) => to,
        // Another filesystem (a run root on tmpfs): removed in place.
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => p.to_path_buf(),
        Err(e) => return Err(StoreError::path("moving aside", p, e)),
    };
    crate::fsutil::remove_tree(&from).map_err(|e| StoreError::path("removing", &from, e))
}

/// Remove the containers/storage container `spec` (a name, its ID or a
/// unique prefix); returns its ID. `force` first takes down our own
/// read-only mounts of it (`podman mount`).
pub fn remove(store: &Store, spec: &str, force: bool) -> Result<String> {
    if store.driver != Driver::Overlay {
        return Err(StoreError::FailedPrecondition(
            "removing containers/storage's containers is only done with the overlay driver".into(),
        ));
    }
    let found = external::find(store, spec)?;
    // Our mounts first: unmounting reads containers/storage's containers
    // under its read lock, which must not be opened while its write lock
    // is held (a POSIX lock goes with any descriptor of the file closed).
    let (mp, count) = external::mounted(store, &found.id);
    if count > 0 {
        if !force {
            return Err(StoreError::FailedPrecondition(format!(
                "container {} is mounted at {} and cannot be removed without using force",
                found.id,
                mp.display()
            )));
        }
        external::unmount(store, &found.id, true)?;
    }
    let graph = &store.graph_root;
    let layers_dir = graph.join("overlay-layers");
    let containers_dir = graph.join("overlay-containers");
    let layers_lock = WriteLock::take(layers_dir.join("layers.lock"))?;
    let _images_lock = WriteLock::take(graph.join("overlay-images").join("images.lock"))?;
    let containers_lock = WriteLock::take(containers_dir.join("containers.lock"))?;

    let containers_json = containers_dir.join("containers.json");
    let mut containers = read_array(&containers_json)?;
    let Some(pos) = containers.iter().position(|c| id_of(c) == found.id) else {
        return Err(StoreError::NotFound(format!(
            "no container with ID or name {spec:?} found: it was removed meanwhile"
        )));
    };
    let c: ExtContainer = serde_json::from_value(containers[pos].clone()).map_err(|e| {
        StoreError::FailedPrecondition(format!("{}: {e}", containers_json.display()))
    })?;
    if !is_hex64(&c.id) || !(c.layer.is_empty() || is_hex64(&c.layer)) {
        return Err(StoreError::FailedPrecondition(format!(
            "containers/storage records container {:?} with layer {:?}: not IDs it makes",
            c.id, c.layer
        )));
    }
    let conn = db::open(store)?;
    let ours = |table: &str, col: &str, id: &str| -> Result<bool> {
        conn.query_row(
            &format!("SELECT 1 FROM {table} WHERE {col} = ?1"),
            [id],
            |_| Ok(()),
        )
        .map(|_| true)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(false),
            e => Err(StoreError::db("checking our records")(e)),
        })
    };
    if ours("containers", "id", &c.id)? {
        return Err(StoreError::FailedPrecondition(format!(
            "container {} is ours as well as containers/storage's: remove it with podman rm",
            c.id
        )));
    }

    let layers_json = layers_dir.join("layers.json");
    let mut layers = read_array(&layers_json)?;
    if let Some(lpos) = layers.iter().position(|l| id_of(l) == c.layer) {
        let _mounts_lock = WriteLock::take(
            store
                .run_root
                .join("overlay-layers")
                .join("mountpoints.lock"),
        )?;
        let mounts = read_array(
            &store
                .run_root
                .join("overlay-layers")
                .join("mountpoints.json"),
        )?;
        if mounts
            .iter()
            .any(|m| id_of(m) == c.layer && m.get("count").and_then(Value::as_i64).unwrap_or(0) > 0)
        {
            return Err(StoreError::FailedPrecondition(format!(
                "container {} is mounted by a containers/storage user: unmount it there first (buildah umount {})",
                c.id,
                c.names.first().unwrap_or(&c.id)
            )));
        }
        if let Some(obj) = layers[lpos].as_object_mut() {
            let flags = obj
                .entry("flags")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(f) = flags.as_object_mut() {
                f.insert("incomplete".into(), Value::Bool(true));
            }
        }
        write_array(&layers_lock, &layers_json, &layers)?;
        let overlay = graph.join("overlay");
        let layer_dir = overlay.join(&c.layer);
        if let Ok(link) = std::fs::read_to_string(layer_dir.join("link")) {
            let link = link.trim();
            if !link.is_empty() && link.bytes().all(|b| b.is_ascii_alphanumeric()) {
                remove_staged(store, &overlay.join("l").join(link))?;
            }
        }
        remove_staged(store, &layer_dir)?;
        remove_staged(store, &layers_dir.join(format!("{}.tar-split.gz", c.layer)))?;
        // Its data directory shares a name space with our layers' (both
        // under overlay-layers/): never one of ours.
        if !ours("layers", "chain_id", &c.layer)? {
            remove_staged(store, &layers_dir.join(&c.layer))?;
        }
        layers.remove(lpos);
        write_array(&layers_lock, &layers_json, &layers)?;
    } else if !c.layer.is_empty()
        && read_array(&layers_dir.join("volatile-layers.json"))?
            .iter()
            .any(|l| id_of(l) == c.layer)
    {
        return Err(StoreError::FailedPrecondition(format!(
            "container {}'s layer is volatile (kept in the run root): remove it with the tool that made it",
            c.id
        )));
    }
    remove_staged(store, &containers_dir.join(&c.id))?;
    remove_staged(
        store,
        &store.run_root.join("overlay-containers").join(&c.id),
    )?;
    containers.remove(pos);
    write_array(&containers_lock, &containers_json, &containers)?;
    debug!(container = %c.id, layer = %c.layer, "removed a containers/storage container");
    Ok(c.id)
}
