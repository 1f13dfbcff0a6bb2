//! Garbage collection and start-up cleanup.
//!
//! Collection runs only with the GC barrier held exclusively and never
//! waits for it: while any process is importing or creating (they hold it
//! shared), collection is deferred, so it can never delete a layer or blob
//! an unfinished import is about to reference.

use std::collections::HashSet;
use std::time::Instant;

use common::file_lock::FileLock;
use serde::Serialize;
use tracing::debug;

use crate::blobs;
use crate::db;
use crate::digest::is_hex64;
use crate::driver::Driver;
use crate::error::{Result, StoreError};
use crate::fsutil;
use crate::layers;
use crate::layout::Store;

#[derive(Debug, Clone, Default, Serialize)]
pub struct GcReport {
    pub layers_removed: Vec<String>,
    pub blobs_removed: u32,
    pub containers_cleaned: u32,
    pub deferred: bool,
}

/// Delete unreferenced layers and blobs and whatever killed processes left.
pub fn collect(store: &Store) -> Result<GcReport> {
    if !store.db_path().exists() {
        return Ok(GcReport::default());
    }
    let started = Instant::now();
    let Some(lock) = FileLock::try_exclusive(&store.gc_lock_path())? else {
        debug!("another process is adding to the store; garbage collection deferred");
        return Ok(GcReport {
            deferred: true,
            ..Default::default()
        });
    };
    let mut report = GcReport::default();
    remove_temp(store);
    let conn = db::open(store)?;
    for chain in layers::unreferenced(&conn)? {
        if layers::delete(store, &conn, &chain)? {
            report.layers_removed.push(chain);
        }
    }
    let containers: HashSet<String> = {
        let mut st = conn
            .prepare("SELECT id FROM containers")
            .map_err(StoreError::db("listing containers"))?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(StoreError::db("listing containers"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(StoreError::db("listing containers"))?
    };
    // Directories without rows: a process died between rename and commit.
    let known: HashSet<String> = layers::list(&conn)?
        .into_iter()
        .map(|l| l.chain_id)
        .collect();
    for name in dir_names(&store.layers_dir()) {
        // vfs keeps containers' roots beside the layers.
        let a_root = store.driver == Driver::Vfs && containers.contains(&name);
        if is_hex64(&name) && !known.contains(&name) && !a_root {
            layers::trash(store, &store.layer_dir(&name))?;
        }
    }
    if store.driver == Driver::Overlay {
        let links: HashSet<String> = layers::list(&conn)?.into_iter().map(|l| l.link).collect();
        for name in dir_names(&store.links_dir()) {
            if !links.contains(&name) {
                let _ = std::fs::remove_file(store.links_dir().join(&name));
            }
        }
    }
    // containers/storage keeps its containers (buildah's) in the same
    // directory, recorded in its containers.json: never ours to collect.
    // Unreadable, nothing there is collected this time.
    // Its read lock is held over the sweep, so a container it makes
    // meanwhile is not taken for garbage.
    let (_cs_lock, foreign) = match crate::external::list_locked(store) {
        Ok((lock, list)) => (
            lock,
            Some(list.into_iter().map(|c| c.id).collect::<HashSet<_>>()),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read containers/storage's containers; container directories are not collected");
            (None, None)
        }
    };
    for name in dir_names(&store.containers_dir()) {
        if !name.starts_with('.')
            && foreign.as_ref().is_some_and(|f| !f.contains(&name))
            && !containers.contains(&name)
            && store.container_dir(&name).is_dir()
        {
            layers::trash(store, &store.container_dir(&name))?;
            if store.driver == Driver::Vfs {
                layers::trash(store, &store.container_root(&name))?;
            }
            report.containers_cleaned += 1;
        }
    }
    let referenced: HashSet<String> = {
        let mut st = conn
            .prepare("SELECT DISTINCT digest FROM image_blobs")
            .map_err(StoreError::db("listing blob references"))?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(StoreError::db("listing blob references"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(StoreError::db("listing blob references"))?
    };
    for d in blobs::list(store)? {
        if !referenced.contains(d.as_str()) {
            blobs::remove(store, &d)?;
            report.blobs_removed += 1;
        }
    }
    for name in dir_names(&store.locks_dir()) {
        if let Some(hex) = name.strip_prefix("layer-") {
            if !known.contains(hex) || report.layers_removed.iter().any(|l| l == hex) {
                let _ = std::fs::remove_file(store.locks_dir().join(&name));
            }
        }
    }
    drop(lock);
    layers::empty_trash(store);
    debug!(
        layers = report.layers_removed.len(),
        blobs = report.blobs_removed,
        containers = report.containers_cleaned,
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
        "garbage collected"
    );
    Ok(report)
}

/// Cheap start-up check: when a killed process left temp or trash
/// directories, remove them (temp ones only when nobody is importing).
pub fn startup_cleanup(store: &Store) {
    if !store.db_path().exists() {
        return;
    }
    let mut has_tmp = false;
    let mut has_trash = false;
    for dir in [store.layers_dir(), store.containers_dir()] {
        for name in dir_names(&dir) {
            has_tmp |= name.starts_with(".tmp-");
            has_trash |= name.starts_with(".trash-");
        }
    }
    has_tmp |= dir_names(&store.tmp_dir())
        .iter()
        .any(|n| !n.starts_with("overlay-probe-"));
    if has_tmp {
        match FileLock::try_exclusive(&store.gc_lock_path()) {
            Ok(Some(_lock)) => {
                remove_temp(store);
                has_trash = true;
            }
            Ok(None) => {
                debug!("temp directories present but another process is working; leaving them")
            }
            Err(e) => tracing::warn!(error = %e, "could not check the store lock"),
        }
    }
    if has_trash {
        layers::empty_trash(store);
    }
}

/// Move `.tmp-*` layer and container directories to the trash and delete
/// scratch files. Only with the GC barrier held exclusively.
fn remove_temp(store: &Store) {
    for dir in [store.layers_dir(), store.containers_dir()] {
        for name in dir_names(&dir) {
            if name.starts_with(".tmp-") {
                debug!(path = %dir.join(&name).display(), "removing what a killed process left");
                if let Err(e) = layers::trash(store, &dir.join(&name)) {
                    tracing::warn!(error = %e, "could not remove a temp directory");
                }
            }
        }
    }
    for name in dir_names(&store.tmp_dir()) {
        if name.starts_with("overlay-probe-") {
            continue;
        }
        let p = store.tmp_dir().join(&name);
        let _ = if p.is_dir() {
            fsutil::remove_tree(&p)
        } else {
            std::fs::remove_file(&p)
        };
    }
}

fn dir_names(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}
