//! OCI image layouts on disk: `oci-layout`, `index.json` and
//! `blobs/sha256/<hex>`, as read by `skopeo`/`podman` with `oci:DIR:TAG`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::layer::{digest_hex, sha256_digest};
use crate::oci_image::{OCI_INDEX, REF_NAME_ANNOTATION};

/// Write `bytes` as `dir/blobs/sha256/<hex>` (and the `oci-layout` marker).
/// The bytes are not checked against `digest`, so tests can plant corrupt
/// blobs on purpose.
pub fn write_blob(dir: &Path, digest: &str, bytes: &[u8]) -> Result<()> {
    let blobs = dir.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs).with_context(|| format!("create {}", blobs.display()))?;
    let layout = dir.join("oci-layout");
    if !layout.exists() {
        std::fs::write(&layout, br#"{"imageLayoutVersion":"1.0.0"}"#)
            .with_context(|| format!("write {}", layout.display()))?;
    }
    let path = blobs.join(digest_hex(digest)?);
    std::fs::write(&path, bytes).with_context(|| format!("write {}", path.display()))
}

/// Add `descriptor` to `dir/index.json` under the ref name `tag`, replacing
/// an entry with the same ref name; creates the file if needed.
pub fn add_to_index_json(dir: &Path, mut descriptor: Value, tag: &str) -> Result<()> {
    let path = dir.join("index.json");
    let mut index = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice::<Value>(&bytes)
            .with_context(|| format!("parse {}", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
        }
        Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
    };
    descriptor["annotations"] = json!({ REF_NAME_ANNOTATION: tag });
    let manifests = index
        .get_mut("manifests")
        .and_then(Value::as_array_mut)
        .with_context(|| format!("{} has no manifests array", path.display()))?;
    manifests.retain(|m| m["annotations"][REF_NAME_ANNOTATION].as_str() != Some(tag));
    manifests.push(descriptor);
    let bytes = serde_json::to_vec_pretty(&index).context("serialize index.json")?;
    std::fs::write(&path, bytes).with_context(|| format!("write {}", path.display()))
}

/// Parse `dir/index.json`.
pub fn read_index_json(dir: &Path) -> Result<Value> {
    let path = dir.join("index.json");
    let bytes = std::fs::read(&path).with_context(|| format!("read {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("parse {}", path.display()))
}

/// Read blob `digest` from the layout in `dir`, checking its content digest.
pub fn read_blob(dir: &Path, digest: &str) -> Result<Vec<u8>> {
    let path = dir.join("blobs").join("sha256").join(digest_hex(digest)?);
    let bytes = std::fs::read(&path).with_context(|| format!("read {}", path.display()))?;
    let actual = sha256_digest(&bytes);
    if actual != digest {
        bail!("{} has digest {actual}", path.display());
    }
    Ok(bytes)
}
