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
        let (manifest, media_type) =
            images::manifest(&conn, &img.id, &img.digest)?.ok_or_else(|| {
                StoreError::NotFound(format!(
                    "image {}: its manifest {} is missing from the index",
                    img.label(),
                    img.digest
                ))
            })?;
        let digest = Digest::parse(&img.digest)?;
        if Digest::of(&manifest) != digest {
            return Err(StoreError::DataLoss(format!(
                "image {}: stored manifest does not match {digest}",
                img.label()
            )));
        }
        let parsed: oci::Manifest = serde_json::from_slice(&manifest).map_err(|e| {
            StoreError::InvalidArgument(format!(
                "image {}: manifest is not valid: {e}",
                img.label()
            ))
        })?;
        let mut needed: Vec<Digest> = Vec::new();
        if let Some(c) = &parsed.config {
            needed.push(Digest::parse(&c.digest)?);
        }
        for l in &parsed.layers {
            needed.push(Digest::parse(&l.digest)?);
        }
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
