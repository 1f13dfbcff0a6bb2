//! `save --uncompressed` (Podman's `--oci-accept-uncompressed-layers`): an
//! image in a staging OCI layout rewritten so its layers are plain tars,
//! each checked against the config's diff_id, under a manifest of its own.

use std::path::Path;

use serde_json::{json, Value};

use super::docker_archive::{uncompressed_layer, DockerArchiveError};
use super::layout;

/// A compressed layer media type's uncompressed twin, or None for a
/// layer that is a plain tar already.
fn plain_media_type(media_type: &str) -> Option<&'static str> {
    match media_type {
        "application/vnd.oci.image.layer.v1.tar+gzip"
        | "application/vnd.oci.image.layer.v1.tar+zstd" => {
            Some("application/vnd.oci.image.layer.v1.tar")
        }
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" => {
            Some("application/vnd.oci.image.layer.nondistributable.v1.tar")
        }
        "application/vnd.docker.image.rootfs.diff.tar.gzip" => {
            Some("application/vnd.docker.image.rootfs.diff.tar")
        }
        _ => None,
    }
}

/// Rewrite the image whose manifest is `manifest_digest` in `layout_dir`
/// with uncompressed layers (`work`: scratch space on the same
/// filesystem); the new manifest's digest and size.
pub fn uncompress(
    layout_dir: &Path,
    manifest_digest: &str,
    work: &Path,
) -> Result<(String, u64), DockerArchiveError> {
    let bad = |why: String| DockerArchiveError::Invalid {
        manifest: manifest_digest.to_string(),
        why,
    };
    let mut manifest: Value =
        serde_json::from_slice(&layout::read_blob(layout_dir, manifest_digest)?)
            .map_err(|e| bad(format!("manifest is not JSON: {e}")))?;
    let config_digest = manifest["config"]["digest"]
        .as_str()
        .ok_or_else(|| bad("manifest names no config".into()))?
        .to_string();
    let config: Value = serde_json::from_slice(&layout::read_blob(layout_dir, &config_digest)?)
        .map_err(|e| bad(format!("config is not JSON: {e}")))?;
    let diff_ids: Vec<String> = config["rootfs"]["diff_ids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_str().map(str::to_string))
        .collect();
    let layers = manifest["layers"]
        .as_array_mut()
        .ok_or_else(|| bad("manifest has no layers list".into()))?;
    if layers.len() != diff_ids.len() {
        return Err(bad(format!(
            "{} layers but {} diff_ids in the config",
            layers.len(),
            diff_ids.len()
        )));
    }
    std::fs::create_dir_all(work).map_err(|source| DockerArchiveError::Io {
        what: "creating",
        path: work.to_path_buf(),
        source,
    })?;
    for (layer, diff_id) in layers.iter_mut().zip(&diff_ids) {
        let media_type = layer["mediaType"].as_str().unwrap_or_default();
        let Some(plain) = plain_media_type(media_type) else {
            continue;
        };
        let blob = layer["digest"].as_str().unwrap_or_default().to_string();
        let target = layout::blob_path(layout_dir, diff_id)?;
        if !target.exists() {
            let tmp = work.join(diff_id.trim_start_matches("sha256:"));
            uncompressed_layer(layout_dir, &blob, diff_id, &tmp)?;
            std::fs::rename(&tmp, &target).map_err(|source| DockerArchiveError::Io {
                what: "moving the uncompressed layer to",
                path: target.clone(),
                source,
            })?;
        }
        let size = std::fs::metadata(&target)
            .map_err(|source| DockerArchiveError::Io {
                what: "reading",
                path: target.clone(),
                source,
            })?
            .len();
        layer["mediaType"] = json!(plain);
        layer["digest"] = json!(diff_id);
        layer["size"] = json!(size);
    }
    let bytes = serde_json::to_vec(&manifest).map_err(|e| bad(e.to_string()))?;
    let digest = layout::sha256_digest(&bytes);
    let path = layout::blob_path(layout_dir, &digest)?;
    std::fs::write(&path, &bytes).map_err(|source| DockerArchiveError::Io {
        what: "writing",
        path,
        source,
    })?;
    Ok((digest, bytes.len() as u64))
}

/// Remove the blobs of `layout_dir` that none of `manifests` (digests)
/// names: what [`uncompress`] replaced.
pub fn prune(layout_dir: &Path, manifests: &[String]) -> Result<(), DockerArchiveError> {
    let mut keep = std::collections::HashSet::new();
    for m in manifests {
        let parts = layout::manifest_parts(layout_dir, &layout::read_blob(layout_dir, m)?)?;
        keep.insert(m.clone());
        keep.insert(parts.config_digest);
        keep.extend(parts.layers.into_iter().map(|(d, _)| d));
    }
    let dir = layout_dir.join("blobs/sha256");
    let entries = std::fs::read_dir(&dir).map_err(|source| DockerArchiveError::Io {
        what: "listing",
        path: dir.clone(),
        source,
    })?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !keep.contains(&format!("sha256:{name}")) {
            std::fs::remove_file(e.path()).map_err(|source| DockerArchiveError::Io {
                what: "removing",
                path: e.path(),
                source,
            })?;
        }
    }
    Ok(())
}
