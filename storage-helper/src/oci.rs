//! OCI image layouts, manifests (OCI and Docker schema 2) and configs: just
//! what the store needs to read, verified against their digests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::blobs;
use crate::digest::Digest;
use crate::error::{Result, StoreError};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

impl Descriptor {
    pub fn ref_name(&self) -> Option<&str> {
        self.annotations
            .as_ref()
            .and_then(|a| a.get(REF_NAME))
            .map(String::as_str)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Index {
    #[serde(rename = "schemaVersion", default)]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    #[serde(rename = "schemaVersion", default)]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default)]
    pub media_type: Option<String>,
    pub config: Option<Descriptor>,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default)]
    pub manifests: Option<Vec<Descriptor>>,
}

/// A parsed image manifest with its verified config.
#[derive(Debug, Clone)]
pub struct ImageParts {
    pub manifest_bytes: Vec<u8>,
    pub manifest_digest: Digest,
    pub manifest_media_type: String,
    pub config_bytes: Vec<u8>,
    pub config_digest: Digest,
    pub layers: Vec<(Digest, u64, String)>,
    pub diff_ids: Vec<Digest>,
    pub created: String,
}

/// Go/OCI name of this machine's architecture.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

fn layout_blob(dir: &Path, digest: &Digest) -> PathBuf {
    dir.join("blobs").join("sha256").join(digest.hex())
}

/// Read `dir/index.json` (after checking `dir` is an OCI layout).
pub fn read_index(dir: &Path) -> Result<Index> {
    if !dir.join("oci-layout").is_file() {
        return Err(StoreError::InvalidArgument(format!("{} is not an OCI image layout (no oci-layout file): pass the directory image-fetcher pulled into", dir.display())));
    }
    let p = dir.join("index.json");
    let bytes = std::fs::read(&p).map_err(|e| StoreError::path("reading", &p, e))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        StoreError::InvalidArgument(format!("{} is not a valid image index: {e}", p.display()))
    })
}

/// Pick the manifest named `ref_name` (or with `manifest_digest`, or the
/// only one) from the layout in `dir`, resolve an index to this host's
/// platform, and read and verify manifest and config.
pub fn read_image_from_layout(
    dir: &Path,
    ref_name: &str,
    manifest_digest: &str,
) -> Result<ImageParts> {
    let index = read_index(dir)?;
    let names = || {
        index
            .manifests
            .iter()
            .filter_map(|d| d.ref_name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let chosen = if !ref_name.is_empty() {
        index.manifests.iter().find(|d| d.ref_name() == Some(ref_name)).ok_or_else(|| {
            StoreError::NotFound(format!("no image named {ref_name:?} in {} (it has: {}): check the ref name the fetcher wrote", dir.display(), names()))
        })?
    } else if !manifest_digest.is_empty() {
        index
            .manifests
            .iter()
            .find(|d| d.digest == manifest_digest)
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "no manifest {manifest_digest} in {}",
                    dir.display()
                ))
            })?
    } else {
        match index.manifests.as_slice() {
            [one] => one,
            [] => {
                return Err(StoreError::NotFound(format!(
                    "{} holds no image",
                    dir.display()
                )))
            }
            _ => {
                return Err(StoreError::InvalidArgument(format!(
                    "{} holds {} images ({}): say which with a ref name or manifest digest",
                    dir.display(),
                    index.manifests.len(),
                    names()
                )))
            }
        }
    };
    read_manifest(dir, chosen, 0)
}

fn read_manifest(dir: &Path, desc: &Descriptor, depth: u32) -> Result<ImageParts> {
    let digest = Digest::parse(&desc.digest)?;
    let bytes = blobs::read_verified(&layout_blob(dir, &digest), &digest, "manifest")?;
    if bytes.len() as u64 != desc.size && desc.size != 0 {
        return Err(StoreError::DataLoss(format!(
            "manifest {digest} has {} bytes, its descriptor says {}",
            bytes.len(),
            desc.size
        )));
    }
    let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
        StoreError::InvalidArgument(format!("manifest {digest} is not valid JSON: {e}"))
    })?;
    let media_type = m
        .media_type
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| desc.media_type.clone());
    if let Some(list) = &m.manifests {
        if depth > 0 {
            return Err(StoreError::InvalidArgument(format!(
                "index {digest} nests another index: unsupported"
            )));
        }
        let pick = list
            .iter()
            .find(|d| {
                d.platform
                    .as_ref()
                    .is_some_and(|p| p.os == "linux" && p.architecture == host_arch())
            })
            .ok_or_else(|| {
                StoreError::FailedPrecondition(format!(
                    "index {digest} has no image for linux/{}: pull with a platform that exists",
                    host_arch()
                ))
            })?;
        return read_manifest(dir, pick, depth + 1);
    }
    if m.schema_version != 2 {
        return Err(StoreError::FailedPrecondition(format!(
            "manifest {digest} has schemaVersion {} (Docker schema 1?): only OCI and Docker schema 2 images are supported",
            m.schema_version
        )));
    }
    let config = m
        .config
        .as_ref()
        .ok_or_else(|| StoreError::InvalidArgument(format!("manifest {digest} has no config")))?;
    let media_type = if media_type.is_empty() {
        if config.media_type.contains("docker") {
            DOCKER_MANIFEST.to_string()
        } else {
            OCI_MANIFEST.to_string()
        }
    } else {
        media_type
    };
    let config_digest = Digest::parse(&config.digest)?;
    let config_bytes = blobs::read_verified(
        &layout_blob(dir, &config_digest),
        &config_digest,
        "image config",
    )?;
    let layers = m
        .layers
        .iter()
        .map(|l| Ok((Digest::parse(&l.digest)?, l.size, l.media_type.clone())))
        .collect::<Result<Vec<_>>>()?;
    let (diff_ids, created) = parse_config(&config_bytes, &config_digest, layers.len())?;
    Ok(ImageParts {
        manifest_bytes: bytes,
        manifest_digest: digest,
        manifest_media_type: media_type,
        config_bytes,
        config_digest,
        layers,
        diff_ids,
        created,
    })
}

/// diff_ids and created of a config, checked against the layer count.
pub fn parse_config(
    bytes: &[u8],
    digest: &Digest,
    layer_count: usize,
) -> Result<(Vec<Digest>, String)> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        StoreError::InvalidArgument(format!("image config {digest} is not valid JSON: {e}"))
    })?;
    let ids = v["rootfs"]["diff_ids"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let diff_ids = ids
        .iter()
        .map(|d| Digest::parse(d.as_str().unwrap_or("")))
        .collect::<Result<Vec<_>>>()
        .map_err(|e| e.context(format!("image config {digest}")))?;
    if diff_ids.len() != layer_count {
        return Err(StoreError::InvalidArgument(format!(
            "image config {digest} lists {} diff_ids but the manifest has {layer_count} layers: the image is malformed",
            diff_ids.len()
        )));
    }
    Ok((diff_ids, v["created"].as_str().unwrap_or("").to_string()))
}

/// Layout blob path of `digest` in `dir`, for importers.
pub fn blob_in_layout(dir: &Path, digest: &Digest) -> PathBuf {
    layout_blob(dir, digest)
}
