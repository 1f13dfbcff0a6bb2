//! Multi-platform images: OCI image indexes and Docker manifest lists.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;

use crate::layer::sha256_digest;
use crate::oci_image::{Image, ManifestFormat};
use crate::oci_layout::{add_to_index_json, write_blob};

/// A multi-platform image: an OCI image index or a Docker manifest list.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageIndex {
    /// The exact index bytes.
    pub bytes: Vec<u8>,
    /// `sha256:` digest of [`ImageIndex::bytes`].
    pub digest: String,
    /// [`OCI_INDEX`](crate::oci_image::OCI_INDEX) or
    /// [`DOCKER_MANIFEST_LIST`](crate::oci_image::DOCKER_MANIFEST_LIST).
    pub media_type: String,
    /// The images it lists, in order.
    pub images: Vec<Image>,
}

impl ImageIndex {
    /// An OCI image index over `images`, each with its platform.
    pub fn oci(images: Vec<Image>) -> Result<ImageIndex> {
        ImageIndex::new(ManifestFormat::Oci, images)
    }

    /// A Docker manifest list over `images` (normally Docker schema 2 images).
    pub fn docker_manifest_list(images: Vec<Image>) -> Result<ImageIndex> {
        ImageIndex::new(ManifestFormat::DockerSchema2, images)
    }

    /// An index of the given family over `images`.
    pub fn new(format: ManifestFormat, images: Vec<Image>) -> Result<ImageIndex> {
        let index = json!({
            "schemaVersion": 2,
            "mediaType": format.index_type(),
            "manifests": images.iter().map(Image::descriptor).collect::<Vec<_>>(),
        });
        let bytes = serde_json::to_vec(&index).context("serialize image index")?;
        Ok(ImageIndex {
            digest: sha256_digest(&bytes),
            bytes,
            media_type: format.index_type().to_string(),
            images,
        })
    }

    /// Write every image and the index into an OCI layout in `dir`, the
    /// index tagged `tag` in `index.json`.
    pub fn write_oci_layout(&self, dir: &Path, tag: &str) -> Result<()> {
        for image in &self.images {
            for (digest, bytes) in image.blobs() {
                write_blob(dir, digest, bytes)?;
            }
            write_blob(dir, &image.manifest_digest, &image.manifest_bytes)?;
        }
        write_blob(dir, &self.digest, &self.bytes)?;
        let descriptor = json!({
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.bytes.len(),
        });
        add_to_index_json(dir, descriptor, tag)
    }
}
