//! Storing an image: blobs into the blob store, each layer unpacked once
//! (concurrently: every layer unpacks alone into its own directory), then
//! one transaction records the image.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use tracing::debug;

use crate::blobs::{self, Imported};
use crate::db;
use crate::digest::{chain_ids, Digest};
use crate::error::{Result, StoreError};
use crate::images::{self, ImageRecord, NewImage};
use crate::layers::{self, Ensured, LayerSpec};
use crate::layout::Store;
use crate::oci::{self, ImageParts};

/// At most this many layers unpack at once.
const MAX_PARALLEL_UNPACKS: usize = 4;

/// ImportOci: store the image `ref_name` (or `manifest_digest`) of the
/// layout in `dir` under `names` (default: the ref name).
pub fn import_oci(
    store: &Store,
    dir: &Path,
    ref_name: &str,
    manifest_digest: &str,
    names: &[String],
) -> Result<ImageRecord> {
    let started = Instant::now();
    let names: Vec<String> = if names.is_empty() && !ref_name.is_empty() {
        vec![ref_name.to_string()]
    } else {
        names.to_vec()
    };
    for n in &names {
        images::validate_name(n)?;
    }
    let parts = oci::read_image_from_layout(dir, ref_name, manifest_digest)?;
    let label = names
        .first()
        .cloned()
        .unwrap_or_else(|| parts.manifest_digest.to_string());
    debug!(image = %label, manifest = %parts.manifest_digest, layers = parts.layers.len(), elapsed_ms = ms(started), "read manifest and config");

    let _barrier = store.barrier()?;
    store.ensure_dirs()?;
    // Create or check the index once before the workers use it.
    drop(db::open(store)?);
    let blob_started = Instant::now();
    let mut unverified = HashSet::new();
    for (digest, size) in [
        (&parts.config_digest, parts.config_bytes.len() as u64),
        (&parts.manifest_digest, parts.manifest_bytes.len() as u64),
    ] {
        blobs::import_file(store, &oci::blob_in_layout(dir, digest), digest, Some(size))
            .map_err(|e| e.context(&label))?;
    }
    for (digest, size, _) in &parts.layers {
        let how = blobs::import_file(
            store,
            &oci::blob_in_layout(dir, digest),
            digest,
            Some(*size),
        )
        .map_err(|e| e.context(&label))?;
        if how == Imported::Linked {
            unverified.insert(digest.clone());
        }
    }
    debug!(image = %label, elapsed_ms = ms(blob_started), "blobs in the store");
    let rec = store_image(store, &parts, &unverified, &names, &label)?;
    debug!(image = %label, id = %rec.short_id(), elapsed_ms = ms(started), "imported image");
    Ok(rec)
}

/// Unpack the layers of `parts` (whose blobs are in the store) and record
/// the image. The caller holds the GC barrier shared.
pub fn store_image(
    store: &Store,
    parts: &ImageParts,
    unverified: &HashSet<Digest>,
    names: &[String],
    label: &str,
) -> Result<ImageRecord> {
    let chain = chain_ids(&parts.diff_ids);
    let n = parts.layers.len();
    let specs: Vec<LayerSpec> = parts
        .layers
        .iter()
        .enumerate()
        .map(|(i, (blob, _, _))| LayerSpec {
            chain_id: chain[i].clone(),
            parent: if i == 0 {
                None
            } else {
                Some(chain[i - 1].clone())
            },
            diff_id: parts.diff_ids[i].clone(),
            blob: blob.clone(),
            blob_unverified: unverified.contains(blob),
            what: format!("layer {}/{n} (blob {}) of {label}", i + 1, blob.short()),
        })
        .collect();
    let started = Instant::now();
    let ensured = ensure_all(store, &specs)?;
    let unpacked = ensured.iter().filter(|e| e.unpacked).count();
    debug!(
        image = label,
        unpacked,
        reused = n - unpacked,
        elapsed_ms = ms(started),
        "layers ready"
    );

    let mut blob_refs = vec![parts.config_digest.clone(), parts.manifest_digest.clone()];
    blob_refs.extend(parts.layers.iter().map(|(d, _, _)| d.clone()));
    let new = NewImage {
        id: parts.config_digest.hex().to_string(),
        manifest_digest: parts.manifest_digest.clone(),
        manifest_bytes: parts.manifest_bytes.clone(),
        manifest_media_type: parts.manifest_media_type.clone(),
        config_bytes: parts.config_bytes.clone(),
        created: parts.created.clone(),
        size: ensured.iter().map(|e| e.uncompressed_size).sum(),
        layers: chain,
        blobs: blob_refs,
        names: names.to_vec(),
    };
    let conn = db::open(store)?;
    images::register(&conn, &new)?;
    images::load(&conn, &new.id)?.ok_or_else(|| {
        StoreError::NotFound(format!(
            "image {} vanished right after it was recorded",
            new.id
        ))
    })
}

/// Ensure every layer, several at a time; the first failure (in layer
/// order) is returned and stops the rest from starting.
fn ensure_all(store: &Store, specs: &[LayerSpec]) -> Result<Vec<Ensured>> {
    // More workers than cores: small layers wait on the disk (syncfs), not the CPU.
    // A vfs layer is a copy of its parent: one after the other.
    let parallel = if store.driver.layers_copy_parents() {
        1
    } else {
        MAX_PARALLEL_UNPACKS
    };
    let workers = specs.len().min(parallel);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<Ensured>>>> =
        Mutex::new((0..specs.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                if failed.load(Ordering::Relaxed) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(spec) = specs.get(i) else { return };
                let r = layers::ensure(store, spec);
                if r.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                if let Ok(mut all) = results.lock() {
                    all[i] = Some(r);
                }
            });
        }
    });
    let all = results.into_inner().map_err(|_| {
        StoreError::io(
            "unpacking layers",
            std::io::Error::other("a worker panicked"),
        )
    })?;
    let mut out = Vec::with_capacity(all.len());
    let mut first_err = None;
    for r in all {
        match r {
            Some(Ok(e)) => out.push(e),
            Some(Err(e)) => {
                first_err.get_or_insert(e);
            }
            None => {}
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

pub fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e6).round() / 1e3
}
