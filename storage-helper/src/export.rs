//! Getting things out of the store: images as an OCI layout with their
//! original bytes (save, push), a container's file system as a tar
//! (export).

use std::path::Path;

use common::atomic_file::{write_atomic, AtomicFile, Durability};
use serde::Serialize;
use tracing::debug;

use crate::blobs;
use crate::db;
use crate::digest::Digest;
use crate::error::{Result, StoreError};
use crate::images;
use crate::layout::Store;
use crate::mounts;
use crate::oci::{self, Descriptor, Index};
use crate::resolve;
use crate::tar_writer::{write_tree, TreeKind};

#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    pub image_id: String,
    pub manifest_digest: String,
    pub ref_name: String,
}

/// ExportOci.
pub fn export_oci(
    store: &Store,
    specs: &[String],
    dest: &Path,
    link: bool,
) -> Result<Vec<Exported>> {
    if specs.is_empty() {
        return Err(StoreError::InvalidArgument(
            "no images to export: name at least one".into(),
        ));
    }
    crate::cstorage_images::refresh(store);
    // Keep blobs from being collected while they are copied.
    let _barrier = store.barrier()?;
    let conn = db::open(store)?;
    let blobs_dir = dest.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs_dir).map_err(|e| StoreError::path("creating", &blobs_dir, e))?;
    if !dest.join("oci-layout").exists() {
        write_atomic(
            &dest.join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
            Durability::Fsync,
        )?;
    }
    let mut index = if dest.join("index.json").exists() {
        oci::read_index(dest)?
    } else {
        Index {
            schema_version: 2,
            media_type: Some(oci::OCI_INDEX.into()),
            manifests: Vec::new(),
        }
    };
    let mut out = Vec::new();
    for spec in specs {
        let r = resolve::resolve(&conn, spec)?;
        let img = &r.image;
        let (digest, manifest, media_type, needed) = servable_manifest(store, &conn, img)?;
        for d in &needed {
            blobs::export_to(store, d, &blobs_dir.join(d.hex()), link)
                .map_err(|e| e.context(format!("exporting image {}", img.label())))?;
        }
        let mpath = blobs_dir.join(digest.hex());
        if !mpath.exists() {
            write_atomic(&mpath, &manifest, Durability::Fsync)?;
        }
        let refs: Vec<String> = match &r.by_name {
            Some(n) => vec![n.clone()],
            None if img.names.is_empty() => vec![String::new()],
            None => img.names.clone(),
        };
        for name in refs {
            let mut desc = Descriptor {
                media_type: media_type.clone(),
                digest: digest.to_string(),
                size: manifest.len() as u64,
                annotations: None,
                platform: None,
            };
            if name.is_empty() {
                index
                    .manifests
                    .retain(|m| !(m.digest == desc.digest && m.ref_name().is_none()));
            } else {
                index
                    .manifests
                    .retain(|m| m.ref_name() != Some(name.as_str()));
                desc.annotations = Some(
                    [(oci::REF_NAME.to_string(), name.clone())]
                        .into_iter()
                        .collect(),
                );
            }
            index.manifests.push(desc);
            out.push(Exported {
                image_id: img.id.clone(),
                manifest_digest: digest.to_string(),
                ref_name: name,
            });
        }
    }
    let bytes = serde_json::to_vec_pretty(&index)
        .map_err(|e| StoreError::io("serializing index.json", std::io::Error::other(e)))?;
    write_atomic(&dest.join("index.json"), &bytes, Durability::Fsync)?;
    debug!(dest = %dest.display(), images = out.len(), "exported OCI layout");
    Ok(out)
}

/// The image's manifest whose blobs the store holds (its own digest first,
/// then the others it was stored under): an image adopted from
/// containers/storage keeps the manifest it was copied with as its digest,
/// but holds its layers as the uncompressed blobs of its other manifest.
/// (digest, bytes, media type, the blobs it names).
fn servable_manifest(
    store: &Store,
    conn: &rusqlite::Connection,
    img: &images::ImageRecord,
) -> Result<(Digest, Vec<u8>, String, Vec<Digest>)> {
    let mut first_err = None;
    let order =
        std::iter::once(&img.digest).chain(img.digests.iter().filter(|d| **d != img.digest));
    for d in order {
        match manifest_with_blobs(conn, img, d) {
            Ok(m) if m.3.iter().all(|b| blobs::path(store, b).exists()) => return Ok(m),
            Ok(m) => {
                first_err.get_or_insert(Ok(m));
            }
            Err(e) => {
                first_err.get_or_insert(Err(e));
            }
        }
    }
    // None complete: the first one, so the missing blob is named.
    first_err.unwrap_or_else(|| {
        Err(StoreError::NotFound(format!(
            "image {}: no manifest is recorded",
            img.label()
        )))
    })
}

fn manifest_with_blobs(
    conn: &rusqlite::Connection,
    img: &images::ImageRecord,
    digest: &str,
) -> Result<(Digest, Vec<u8>, String, Vec<Digest>)> {
    let (manifest, media_type) = images::manifest(conn, &img.id, digest)?.ok_or_else(|| {
        StoreError::NotFound(format!(
            "image {}: its manifest {digest} is missing from the index",
            img.label()
        ))
    })?;
    let digest = Digest::parse(digest)?;
    if Digest::of(&manifest) != digest {
        return Err(StoreError::DataLoss(format!(
            "image {}: stored manifest does not match {digest}",
            img.label()
        )));
    }
    let parsed: oci::Manifest = serde_json::from_slice(&manifest).map_err(|e| {
        StoreError::InvalidArgument(format!("image {}: manifest is not valid: {e}", img.label()))
    })?;
    let mut needed: Vec<Digest> = Vec::new();
    if let Some(c) = &parsed.config {
        needed.push(Digest::parse(&c.digest)?);
    }
    for l in &parsed.layers {
        needed.push(Digest::parse(&l.digest)?);
    }
    Ok((digest, manifest, media_type, needed))
}

/// ExportContainer: tar the container's merged file system into `dest`.
pub fn export_container(store: &Store, id: &str, dest: &Path) -> Result<u64> {
    let (mountpoint, _) = mounts::mount(store, id)?;
    let written = write_tar_atomically(&mountpoint, dest);
    let unmounted = mounts::unmount(store, id, false);
    let size = written?;
    unmounted?;
    Ok(size)
}

/// Tar `root` into a temp file next to `dest`, sync, rename into place.
fn write_tar_atomically(root: &Path, dest: &Path) -> Result<u64> {
    let mut out = AtomicFile::create(dest, Durability::Fsync)?;
    let tmp = out.temp_path().to_path_buf();
    let w = write_tree(
        root,
        TreeKind::Rootfs,
        std::io::BufWriter::with_capacity(256 * 1024, out.file()),
    )?;
    w.into_inner()
        .map_err(|e| StoreError::path("writing", &tmp, e.into_error()))?;
    let size = out.file().metadata().map(|m| m.len()).unwrap_or(0);
    out.commit()?;
    Ok(size)
}
