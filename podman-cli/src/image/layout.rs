//! Reading and composing OCI image layouts the CLI stages for save: blobs
//! read back are verified against their digests, index.json is written
//! atomically.

use std::io::Read;
use std::path::{Path, PathBuf};

use common::atomic_file::{write_atomic, Durability};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Largest manifest or config read into memory.
pub const MAX_METADATA: u64 = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("blob {digest} in {}: digest mismatch, got {actual}", layout.display())]
    DigestMismatch {
        digest: String,
        layout: PathBuf,
        actual: String,
    },
    #[error("{what} in {}: {why}", layout.display())]
    Invalid {
        what: String,
        layout: PathBuf,
        why: String,
    },
}

pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// `blobs/sha256/<hex>` of `digest`, refusing anything but a sha256 digest.
pub fn blob_path(layout: &Path, digest: &str) -> Result<PathBuf, LayoutError> {
    if !crate::image::reference::valid_digest(digest) {
        return Err(LayoutError::Invalid {
            what: format!("digest {digest:?}"),
            layout: layout.to_path_buf(),
            why: "not sha256: and 64 hex digits".into(),
        });
    }
    Ok(layout.join("blobs/sha256").join(&digest["sha256:".len()..]))
}

/// A small blob (manifest, config) read whole and verified.
pub fn read_blob(layout: &Path, digest: &str) -> Result<Vec<u8>, LayoutError> {
    let path = blob_path(layout, digest)?;
    let f = std::fs::File::open(&path).map_err(|source| LayoutError::Io {
        what: "opening",
        path: path.clone(),
        source,
    })?;
    let mut bytes = Vec::new();
    f.take(MAX_METADATA + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| LayoutError::Io {
            what: "reading",
            path: path.clone(),
            source,
        })?;
    if bytes.len() as u64 > MAX_METADATA {
        return Err(LayoutError::Invalid {
            what: format!("blob {digest}"),
            layout: layout.to_path_buf(),
            why: format!("larger than {MAX_METADATA} bytes"),
        });
    }
    let actual = sha256_digest(&bytes);
    if actual != digest {
        return Err(LayoutError::DigestMismatch {
            digest: digest.to_string(),
            layout: layout.to_path_buf(),
            actual,
        });
    }
    Ok(bytes)
}

/// A manifest's config descriptor and layer descriptors (digest, media type).
pub struct ManifestParts {
    pub media_type: String,
    pub config_digest: String,
    pub layers: Vec<(String, String)>,
}

pub fn manifest_parts(layout: &Path, manifest: &[u8]) -> Result<ManifestParts, LayoutError> {
    let bad = |why: String| LayoutError::Invalid {
        what: "a manifest".into(),
        layout: layout.to_path_buf(),
        why,
    };
    let v: Value = serde_json::from_slice(manifest).map_err(|e| bad(format!("not JSON: {e}")))?;
    let config_digest = v["config"]["digest"]
        .as_str()
        .ok_or_else(|| bad("no config digest (is it an index?)".into()))?
        .to_string();
    let layers = v["layers"]
        .as_array()
        .ok_or_else(|| bad("no layers list".into()))?
        .iter()
        .map(|l| {
            Ok((
                l["digest"]
                    .as_str()
                    .ok_or_else(|| bad("a layer has no digest".into()))?
                    .to_string(),
                l["mediaType"].as_str().unwrap_or("").to_string(),
            ))
        })
        .collect::<Result<Vec<_>, LayoutError>>()?;
    Ok(ManifestParts {
        media_type: v["mediaType"].as_str().unwrap_or("").to_string(),
        config_digest,
        layers,
    })
}

/// One index.json entry to write.
pub struct IndexEntry {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    /// org.opencontainers.image.ref.name, if any.
    pub ref_name: Option<String>,
}

/// Replace index.json with exactly `entries` (temp + fsync + rename).
pub fn write_index(layout: &Path, entries: &[IndexEntry]) -> Result<(), LayoutError> {
    let manifests: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut d = json!({"mediaType": e.media_type, "digest": e.digest, "size": e.size});
            if let Some(r) = &e.ref_name {
                d["annotations"] = json!({ REF_NAME: r });
            }
            d
        })
        .collect();
    let bytes = serde_json::to_vec_pretty(
        &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}),
    )
    .map_err(|e| LayoutError::Invalid {
        what: "index.json".into(),
        layout: layout.to_path_buf(),
        why: e.to_string(),
    })?;
    let dest = layout.join("index.json");
    write_atomic(&dest, &bytes, Durability::Fsync).map_err(|e| LayoutError::Io {
        what: e.op,
        path: e.path,
        source: e.source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_verified() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("blobs/sha256")).unwrap();
        let digest = sha256_digest(b"{}");
        std::fs::write(blob_path(d.path(), &digest).unwrap(), b"{}").unwrap();
        assert_eq!(read_blob(d.path(), &digest).unwrap(), b"{}");
        std::fs::write(blob_path(d.path(), &digest).unwrap(), b"{ }").unwrap();
        assert!(matches!(
            read_blob(d.path(), &digest),
            Err(LayoutError::DigestMismatch { .. })
        ));
        assert!(blob_path(d.path(), "sha256:../../etc").is_err());
        write_index(
            d.path(),
            &[IndexEntry {
                media_type: "m".into(),
                digest: digest.clone(),
                size: 2,
                ref_name: Some("a:b".into()),
            }],
        )
        .unwrap();
        let v: Value =
            serde_json::from_slice(&std::fs::read(d.path().join("index.json")).unwrap()).unwrap();
        assert_eq!(v["manifests"][0]["annotations"][REF_NAME], "a:b");
    }
}
