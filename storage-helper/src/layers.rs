//! Unpacked layers, one directory per chain ID, shared by every image (and
//! container) whose layer chain includes it.
//!
//! A layer is unpacked into `overlay-layers/.tmp-*`, checked (compressed
//! digest, diff_id), synced, renamed into place, given its short link and
//! only then recorded in the index. A process killed at any point leaves at
//! most a temp directory (removed at the next start) or a directory without
//! a row (removed by garbage collection); never a visible half layer.

use std::os::fd::AsFd;
use std::path::Path;
use std::time::Instant;

use common::file_lock::FileLock;
use common::in_root;
use common::time::now_unix;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use tracing::debug;

use crate::blobs;
use crate::db;
use crate::digest::Digest;
use crate::driver::Driver;
use crate::error::{Result, StoreError};
use crate::fsutil;
use crate::layout::{random_name, unique_suffix, Store};
use crate::unpack;
use crate::vfs;

/// Length of the short link names used in overlay mount options.
pub const LINK_LEN: usize = 26;

#[derive(Debug, Clone, Serialize)]
pub struct LayerRecord {
    pub chain_id: String,
    pub diff_id: String,
    pub parent: Option<String>,
    pub link: String,
    pub blob_digest: String,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    pub created_unix: i64,
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LayerRecord> {
    Ok(LayerRecord {
        chain_id: r.get(0)?,
        diff_id: r.get(1)?,
        parent: r.get(2)?,
        link: r.get(3)?,
        blob_digest: r.get(4)?,
        compressed_size: r.get::<_, i64>(5)? as u64,
        uncompressed_size: r.get::<_, i64>(6)? as u64,
        created_unix: r.get(7)?,
    })
}

const COLUMNS: &str = "chain_id, diff_id, parent, link, blob_digest, compressed_size, uncompressed_size, created_unix";

pub fn get(conn: &Connection, chain_hex: &str) -> Result<Option<LayerRecord>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM layers WHERE chain_id = ?1"),
        [chain_hex],
        from_row,
    )
    .optional()
    .map_err(StoreError::db(format!("reading layer {chain_hex}")))
}

pub fn list(conn: &Connection) -> Result<Vec<LayerRecord>> {
    let mut st = conn
        .prepare(&format!("SELECT {COLUMNS} FROM layers ORDER BY chain_id"))
        .map_err(StoreError::db("listing layers"))?;
    let rows = st
        .query_map([], from_row)
        .map_err(StoreError::db("listing layers"))?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(StoreError::db("listing layers"))
}

/// Layers no image and no container refers to.
pub fn unreferenced(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn
        .prepare(
            "SELECT chain_id FROM layers WHERE chain_id NOT IN (SELECT chain_id FROM image_layers)
             AND chain_id NOT IN (SELECT chain_id FROM container_layers) ORDER BY chain_id",
        )
        .map_err(StoreError::db("finding unreferenced layers"))?;
    let rows = st
        .query_map([], |r| r.get(0))
        .map_err(StoreError::db("finding unreferenced layers"))?;
    rows.collect::<rusqlite::Result<Vec<String>>>()
        .map_err(StoreError::db("finding unreferenced layers"))
}

/// One layer an image needs.
#[derive(Debug, Clone)]
pub struct LayerSpec {
    pub chain_id: Digest,
    pub parent: Option<Digest>,
    pub diff_id: Digest,
    pub blob: Digest,
    /// The blob was hardlinked in and not hashed yet.
    pub blob_unverified: bool,
    /// "layer 2/3 sha256:... of IMAGE", for messages.
    pub what: String,
}

#[derive(Debug, Clone, Copy)]
pub struct Ensured {
    pub unpacked: bool,
    pub uncompressed_size: u64,
}

/// Make sure the layer is unpacked and recorded. The caller holds the GC
/// barrier shared, so nothing deletes the layer before the caller's image
/// or container row refers to it.
pub fn ensure(store: &Store, spec: &LayerSpec) -> Result<Ensured> {
    let hex = spec.chain_id.hex();
    let _lock = FileLock::exclusive(&store.locks_dir().join(format!("layer-{hex}")))?;
    let conn = db::open(store)?;
    let existing = get(&conn, hex)?;
    let dir = store.layer_dir(hex);
    if let Some(rec) = &existing {
        if store.root_in(&dir).is_dir() {
            if spec.blob_unverified {
                if let Err(e) = blobs::verify_file(&blobs::path(store, &spec.blob), &spec.blob) {
                    forget_if_corrupt(store, &spec.blob);
                    return Err(e.context(&spec.what));
                }
            }
            debug!(layer = %spec.chain_id.short(), "layer already unpacked");
            return Ok(Ensured {
                unpacked: false,
                uncompressed_size: rec.uncompressed_size,
            });
        }
        tracing::warn!(
            layer = hex,
            "layer directory is missing although recorded; unpacking it again"
        );
    } else if dir.exists() {
        // Left by a process killed between rename and commit.
        if let Some(t) = trash(store, &dir)? {
            let _ = fsutil::remove_tree(&t);
        }
    }
    let started = Instant::now();
    let tmp = store
        .layers_dir()
        .join(format!(".tmp-{}-{}", &hex[..12], unique_suffix()));
    let result = unpack_checked(store, spec, &tmp);
    let unpacked = match result {
        Ok(u) => u,
        Err(e) => {
            let _ = fsutil::remove_tree(&tmp);
            if matches!(e, StoreError::DataLoss(_)) {
                forget_if_corrupt(store, &spec.blob);
            }
            return Err(e);
        }
    };
    std::fs::rename(&tmp, &dir).map_err(|e| {
        let _ = fsutil::remove_tree(&tmp);
        StoreError::path("renaming the unpacked layer into place at", &dir, e)
    })?;
    let link = match &existing {
        Some(rec) => rec.link.clone(),
        None => random_name(LINK_LEN)?,
    };
    if store.driver == Driver::Overlay {
        // The short name overlay mount options use for this layer.
        let link_path = store.links_dir().join(&link);
        let _ = std::fs::remove_file(&link_path);
        std::os::unix::fs::symlink(format!("../{hex}/diff"), &link_path)
            .map_err(|e| StoreError::path("creating layer link", &link_path, e))?;
        std::fs::write(dir.join("link"), &link)
            .map_err(|e| StoreError::path("writing", &dir.join("link"), e))?;
    }
    if existing.is_none() {
        // A layer row lost to a power cut only costs a re-unpack (a
        // directory without a row is garbage), so it need not wait for the
        // disk; the image row that refers to it is committed with FULL sync.
        conn.execute_batch("PRAGMA synchronous = NORMAL")
            .map_err(StoreError::db("setting synchronous"))?;
        let tx = db::immediate(&conn)?;
        tx.execute(
            &format!("INSERT INTO layers ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
            params![
                hex,
                spec.diff_id.as_str(),
                spec.parent.as_ref().map(|p| p.hex().to_string()),
                link,
                spec.blob.as_str(),
                unpacked.compressed_size as i64,
                unpacked.uncompressed_size as i64,
                now_unix()
            ],
        )
        .map_err(StoreError::db(format!("recording layer {hex}")))?;
        tx.commit()
            .map_err(StoreError::db(format!("recording layer {hex}")))?;
    }
    debug!(
        layer = %spec.chain_id.short(),
        what = %spec.what,
        compression = unpacked.compression.name(),
        compressed_bytes = unpacked.compressed_size,
        uncompressed_bytes = unpacked.uncompressed_size,
        entries = unpacked.entries,
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
        "unpacked layer"
    );
    Ok(Ensured {
        unpacked: true,
        uncompressed_size: unpacked.uncompressed_size,
    })
}

fn unpack_checked(store: &Store, spec: &LayerSpec, tmp: &Path) -> Result<unpack::Unpacked> {
    let diff = store.root_in(tmp);
    match (store.driver, &spec.parent) {
        // A vfs layer starts as a full copy of its parent.
        (Driver::Vfs, Some(parent)) => {
            let from = store.layer_root(parent.hex());
            vfs::copy_tree(&from, tmp).map_err(|e| {
                StoreError::path(
                    &format!("{}: copying its parent layer", spec.what),
                    &from,
                    e,
                )
            })?;
        }
        (Driver::Vfs, None) => {
            std::fs::create_dir(tmp).map_err(|e| StoreError::path("creating", tmp, e))?;
        }
        (Driver::Overlay, _) => {
            // The layer's directory 0700; `diff` is the layer's root, whose
            // mode the tar's `./` entry sets (0755 when it has none).
            common::private_dir::create(tmp)?;
            std::fs::create_dir(&diff).map_err(|e| StoreError::path("creating", &diff, e))?;
        }
    }
    let blob = blobs::path(store, &spec.blob);
    let u = unpack::unpack_blob(&blob, &diff, &spec.what, store.driver.whiteouts())?;
    if u.compressed_digest != spec.blob {
        return Err(StoreError::DataLoss(format!(
            "{}: blob has digest {}, expected {}: it is corrupt, pull the image again",
            spec.what, u.compressed_digest, spec.blob
        )));
    }
    if u.diff_id != spec.diff_id {
        return Err(StoreError::DataLoss(format!(
            "{}: uncompressed content has digest {}, but the image config lists diff_id {}: the image is corrupt or was built wrong, pull or rebuild it",
            spec.what, u.diff_id, spec.diff_id
        )));
    }
    let synced = Instant::now();
    let fd = in_root::open_dir(tmp).map_err(|e| StoreError::path("opening", tmp, e))?;
    fsutil::syncfs(fd.as_fd()).map_err(|e| StoreError::path("syncing", tmp, e))?;
    debug!(layer = %spec.chain_id.short(), sync_ms = synced.elapsed().as_secs_f64() * 1e3, "layer synced to disk");
    Ok(u)
}

/// A blob whose bytes do not match its name must not stay in the store,
/// where the next import would take it as verified.
fn forget_if_corrupt(store: &Store, blob: &Digest) {
    if blobs::verify_file(&blobs::path(store, blob), blob).is_err() {
        debug!(blob = %blob, "removing a corrupt blob from the store");
        let _ = blobs::remove(store, blob);
    }
}

/// Move a directory out of sight (to be deleted by [`empty_trash`]);
/// returns where it went (None when it was already gone).
pub fn trash(store: &Store, dir: &Path) -> Result<Option<std::path::PathBuf>> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| store.layers_dir());
    let to = parent.join(format!(
        ".trash-{}-{}",
        name.chars().take(12).collect::<String>(),
        unique_suffix()
    ));
    match std::fs::rename(dir, &to) {
        Ok(()) => Ok(Some(to)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::path("moving to trash", dir, e)),
    }
}

/// Delete a layer nobody refers to. The caller holds the GC barrier
/// exclusively.
pub fn delete(store: &Store, conn: &Connection, chain_hex: &str) -> Result<bool> {
    let tx = db::immediate(conn)?;
    let link: Option<String> = tx
        .query_row(
            "SELECT link FROM layers WHERE chain_id = ?1 AND chain_id NOT IN (SELECT chain_id FROM image_layers)
             AND chain_id NOT IN (SELECT chain_id FROM container_layers)",
            [chain_hex],
            |r| r.get(0),
        )
        .optional()
        .map_err(StoreError::db(format!("checking layer {chain_hex}")))?;
    let Some(link) = link else { return Ok(false) };
    tx.execute("DELETE FROM layers WHERE chain_id = ?1", [chain_hex])
        .map_err(StoreError::db(format!("deleting layer {chain_hex}")))?;
    tx.commit()
        .map_err(StoreError::db(format!("deleting layer {chain_hex}")))?;
    trash(store, &store.layer_dir(chain_hex))?;
    let _ = std::fs::remove_file(store.links_dir().join(link));
    let _ = std::fs::remove_file(store.locks_dir().join(format!("layer-{chain_hex}")));
    Ok(true)
}

/// Remove `.trash-*` directories (nobody uses them; safe without locks).
pub fn empty_trash(store: &Store) {
    for dir in [store.layers_dir(), store.containers_dir()] {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.filter_map(|e| e.ok()) {
            if e.file_name().to_string_lossy().starts_with(".trash-") {
                let started = Instant::now();
                // A trashed temp file (not a directory) is removed as a
                // file; another process emptying the trash at the same
                // time is not an error.
                let path = e.path();
                let removed = match std::fs::symlink_metadata(&path) {
                    Ok(m) if m.is_dir() => fsutil::remove_tree(&path),
                    Ok(_) => std::fs::remove_file(&path),
                    Err(err) => Err(err),
                };
                let removed = match removed {
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    other => other,
                };
                if let Err(err) = removed {
                    tracing::warn!(path = %e.path().display(), error = %err, "could not delete trash");
                } else {
                    debug!(path = %e.path().display(), elapsed_ms = started.elapsed().as_secs_f64() * 1e3, "deleted");
                }
            }
        }
    }
}
