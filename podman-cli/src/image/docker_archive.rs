//! Writing `docker save`'s format from a staged OCI layout, as Podman
//! does: `<config hex>.json` per image, each layer once as an uncompressed
//! `<diff_id hex>.tar`, and `manifest.json` listing Config, RepoTags and
//! Layers per image. Layers are decompressed while both digests are
//! checked: the compressed stream against the manifest, the tar against the
//! config's diff_id. image-fetcher's docker-archive reader (podman load)
//! reads exactly this back, with the same image IDs.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use super::archive::{decoder, sniff, ArchiveError, TarOut};
use super::layout::{self, LayoutError};

#[derive(Debug, thiserror::Error)]
pub enum DockerArchiveError {
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("layer {digest}: {what} digest mismatch, got {actual}")]
    Mismatch {
        digest: String,
        what: &'static str,
        actual: String,
    },
    #[error("image {manifest}: {why}")]
    Invalid { manifest: String, why: String },
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One image to write: its manifest in the layout and its RepoTags.
#[derive(Debug, Clone)]
pub struct ArchiveImage {
    pub manifest_digest: String,
    pub repo_tags: Vec<String>,
}

struct Planned {
    config_digest: String,
    diff_ids: Vec<String>,
    /// (blob digest, diff_id) bottom first.
    layers: Vec<(String, String)>,
    repo_tags: Vec<String>,
}

fn hex(d: &str) -> &str {
    d.strip_prefix("sha256:").unwrap_or(d)
}

fn plan(layout_dir: &Path, img: &ArchiveImage) -> Result<Planned, DockerArchiveError> {
    let invalid = |why: String| DockerArchiveError::Invalid {
        manifest: img.manifest_digest.clone(),
        why,
    };
    let manifest = layout::read_blob(layout_dir, &img.manifest_digest)?;
    let parts = layout::manifest_parts(layout_dir, &manifest)?;
    let config = layout::read_blob(layout_dir, &parts.config_digest)?;
    let config: Value =
        serde_json::from_slice(&config).map_err(|e| invalid(format!("config is not JSON: {e}")))?;
    let diff_ids: Vec<String> = config["rootfs"]["diff_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if diff_ids.len() != parts.layers.len() {
        return Err(invalid(format!(
            "the config lists {} diff_ids for {} layers",
            diff_ids.len(),
            parts.layers.len()
        )));
    }
    if let Some(bad) = diff_ids
        .iter()
        .find(|d| !crate::image::reference::valid_digest(d))
    {
        return Err(invalid(format!("diff_id {bad:?} is not a sha256 digest")));
    }
    let layers = parts
        .layers
        .iter()
        .map(|(d, _)| d.clone())
        .zip(diff_ids.iter().cloned())
        .collect();
    Ok(Planned {
        config_digest: parts.config_digest,
        diff_ids,
        layers,
        repo_tags: img.repo_tags.clone(),
    })
}

/// Hashes what passes through.
struct HashingReader<R> {
    inner: R,
    h: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.h.update(&buf[..n]);
        Ok(n)
    }
}

/// Decompress layer `blob` into `dest`, checking the blob digest and the diff_id.
pub(super) fn uncompressed_layer(
    layout_dir: &Path,
    blob: &str,
    diff_id: &str,
    dest: &Path,
) -> Result<(), DockerArchiveError> {
    let io = |what: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| DockerArchiveError::Io {
            what,
            path: p,
            source,
        }
    };
    let src = layout::blob_path(layout_dir, blob)?;
    let mut f = BufReader::with_capacity(1 << 20, File::open(&src).map_err(io("opening", &src))?);
    let magic = std::io::BufRead::fill_buf(&mut f).map_err(io("reading", &src))?;
    let compression = sniff(magic);
    let mut compressed = HashingReader {
        inner: f,
        h: Sha256::new(),
    };
    let mut out = File::create(dest).map_err(io("creating", dest))?;
    let mut tar_hash = Sha256::new();
    {
        let mut r = decoder(&mut compressed, compression).map_err(io("decompressing", &src))?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = r.read(&mut buf).map_err(io("decompressing", &src))?;
            if n == 0 {
                break;
            }
            tar_hash.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(io("writing", dest))?;
        }
    }
    // Whatever the decoder left unread (gzip trailers, padding) still counts.
    std::io::copy(&mut compressed, &mut std::io::sink()).map_err(io("reading", &src))?;
    let actual = format!("sha256:{:x}", compressed.h.finalize());
    if actual != blob {
        return Err(DockerArchiveError::Mismatch {
            digest: blob.to_string(),
            what: "blob",
            actual,
        });
    }
    let actual = format!("sha256:{:x}", tar_hash.finalize());
    if actual != diff_id {
        return Err(DockerArchiveError::Mismatch {
            digest: blob.to_string(),
            what: "uncompressed (diff_id)",
            actual,
        });
    }
    Ok(())
}

/// Write `images` from `layout_dir` as a docker-archive to `out`; `work` is
/// scratch space for the uncompressed layers; `note(digest, kind)` reports
/// each blob written ("blob" or "config").
pub fn write<W: Write>(
    layout_dir: &Path,
    images: &[ArchiveImage],
    work: &Path,
    out: W,
    note: &mut dyn FnMut(&str, &str),
) -> Result<W, DockerArchiveError> {
    let planned: Vec<Planned> = images
        .iter()
        .map(|i| plan(layout_dir, i))
        .collect::<Result<_, _>>()?;
    let mut tar = TarOut::new(out);
    let mut written = HashSet::new();
    let mut manifest = Vec::new();
    for p in &planned {
        let config_name = format!("{}.json", hex(&p.config_digest));
        if written.insert(config_name.clone()) {
            tar.file(
                &config_name,
                &layout::blob_path(layout_dir, &p.config_digest)?,
            )?;
            note(&p.config_digest, "config");
        }
        let mut layer_names = Vec::new();
        for (blob, diff_id) in &p.layers {
            let name = format!("{}.tar", hex(diff_id));
            if written.insert(name.clone()) {
                let tmp = work.join(&name);
                let started = std::time::Instant::now();
                uncompressed_layer(layout_dir, blob, diff_id, &tmp)?;
                tar.file(&name, &tmp)?;
                let _ = std::fs::remove_file(&tmp);
                tracing::debug!(layer = %blob, elapsed_ms = started.elapsed().as_secs_f64() * 1e3, "layer written uncompressed");
                note(blob, "blob");
            }
            layer_names.push(name);
        }
        debug_assert_eq!(layer_names.len(), p.diff_ids.len());
        manifest
            .push(json!({"Config": config_name, "RepoTags": p.repo_tags, "Layers": layer_names}));
    }
    let bytes = serde_json::to_vec(&manifest).map_err(|e| DockerArchiveError::Invalid {
        manifest: "manifest.json".into(),
        why: e.to_string(),
    })?;
    tar.bytes("manifest.json", &bytes)?;
    Ok(tar.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(layout_dir: &Path, bytes: &[u8]) -> String {
        let d = layout::sha256_digest(bytes);
        std::fs::write(layout::blob_path(layout_dir, &d).unwrap(), bytes).unwrap();
        d
    }

    #[test]
    fn layers_are_written_uncompressed_once_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let l = dir.path().join("layout");
        std::fs::create_dir_all(l.join("blobs/sha256")).unwrap();
        let mut t = TarOut::new(Vec::new());
        t.bytes("hello", b"hi\n").unwrap();
        let layer_tar = t.finish().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&layer_tar).unwrap();
        let blob = put(&l, &gz.finish().unwrap());
        let diff_id = layout::sha256_digest(&layer_tar);
        let config = put(
            &l,
            json!({"rootfs": {"type": "layers", "diff_ids": [diff_id]}})
                .to_string()
                .as_bytes(),
        );
        let manifest = put(
            &l,
            json!({"schemaVersion": 2, "config": {"digest": config}, "layers": [{"digest": blob}]})
                .to_string()
                .as_bytes(),
        );
        let imgs = vec![
            ArchiveImage {
                manifest_digest: manifest.clone(),
                repo_tags: vec!["localhost/a:1".into()],
            },
            ArchiveImage {
                manifest_digest: manifest.clone(),
                repo_tags: vec!["localhost/b:2".into()],
            },
        ];
        let mut notes = Vec::new();
        let out = write(&l, &imgs, dir.path(), Vec::new(), &mut |d, k| {
            notes.push(format!("{k} {d}"))
        })
        .unwrap();
        assert_eq!(notes.len(), 2);
        let mut a = tar::Archive::new(out.as_slice());
        let mut names = Vec::new();
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let n = e.path().unwrap().to_string_lossy().into_owned();
            if n.ends_with(".tar") {
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                assert_eq!(data, layer_tar);
            }
            if n == "manifest.json" {
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                let m: Value = serde_json::from_slice(&data).unwrap();
                assert_eq!(m[1]["RepoTags"][0], "localhost/b:2");
                assert_eq!(m[0]["Layers"][0], format!("{}.tar", hex(&diff_id)));
            }
            names.push(n);
        }
        assert_eq!(names.len(), 3, "{names:?}");

        // A config whose diff_id does not match the layer is refused.
        let bad_config = put(
            &l,
            json!({"rootfs": {"diff_ids": [layout::sha256_digest(b"other")]}})
                .to_string()
                .as_bytes(),
        );
        let bad = put(
            &l,
            json!({"config": {"digest": bad_config}, "layers": [{"digest": blob}]})
                .to_string()
                .as_bytes(),
        );
        let e = write(
            &l,
            &[ArchiveImage {
                manifest_digest: bad,
                repo_tags: vec![],
            }],
            dir.path(),
            Vec::new(),
            &mut |_, _| {},
        )
        .unwrap_err();
        assert!(e.to_string().contains("diff_id"), "{e}");
    }
}
