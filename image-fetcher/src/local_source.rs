//! Local images: OCI layouts (`oci:` directory, `oci-archive:` tar),
//! `docker save` archives (`docker-archive:`, turned into an OCI manifest
//! whose layer digests are computed and checked against the config's
//! diff_ids), and skopeo's `dir:` format.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;
use serde_json::json;

use crate::digest::{sha256_hex, sha256_of, Hasher};
use crate::error::FetchError;
use crate::file_tree::FileTree;
use crate::manifest::{
    Descriptor, OCI_CONFIG, OCI_LAYER_GZIP, OCI_LAYER_TAR, OCI_LAYER_ZSTD, OCI_MANIFEST,
    REF_NAME_ANNOTATION,
};
use crate::reference::ImageRef;

/// The manifest (or index) a reference names, before platform selection.
pub struct TopManifest {
    pub bytes: Vec<u8>,
    pub media_type_hint: Option<String>,
    /// Set when the reference names a digest the bytes must hash to.
    pub expected_digest: Option<String>,
    pub source_names: Vec<String>,
}

pub struct LocalSource {
    tree: FileTree,
    kind: Kind,
}

enum Kind {
    Oci {
        image: Option<String>,
    },
    Dir,
    DockerArchive {
        manifest: Vec<u8>,
        blobs: HashMap<String, String>,
        names: Vec<String>,
    },
}

impl LocalSource {
    /// Open a local reference (blocking: archives are indexed, docker-archive layers hashed).
    pub fn open(r: &ImageRef) -> Result<LocalSource, FetchError> {
        Ok(match r {
            ImageRef::Oci { path, image } => LocalSource {
                tree: FileTree::dir(path)?,
                kind: Kind::Oci {
                    image: image.clone(),
                },
            },
            ImageRef::OciArchive { path, image } => LocalSource {
                tree: FileTree::tar(path)?,
                kind: Kind::Oci {
                    image: image.clone(),
                },
            },
            ImageRef::Dir { path } => LocalSource {
                tree: FileTree::dir(path)?,
                kind: Kind::Dir,
            },
            ImageRef::DockerArchive { path, image } => {
                let tree = FileTree::tar(path)?;
                let kind = docker_archive(&tree, image.as_deref())?;
                LocalSource { tree, kind }
            }
            ImageRef::Docker(_) => {
                return Err(FetchError::InvalidArgument(
                    "a registry reference is not a local source".into(),
                ))
            }
        })
    }

    /// An OCI layout directory (for push).
    pub fn oci_dir(path: &Path, image: Option<String>) -> Result<LocalSource, FetchError> {
        Ok(LocalSource {
            tree: FileTree::dir(path)?,
            kind: Kind::Oci { image },
        })
    }

    pub fn name(&self) -> String {
        self.tree.location().display().to_string()
    }

    pub fn top(&self) -> Result<TopManifest, FetchError> {
        match &self.kind {
            Kind::Oci { image } => {
                let desc = self.oci_select(image.as_deref())?;
                let bytes = self.read_blob(&desc.digest)?;
                let mut names = Vec::new();
                if let Some(n) = desc.annotations.get(REF_NAME_ANNOTATION) {
                    names.push(n.clone());
                }
                Ok(TopManifest {
                    bytes,
                    media_type_hint: Some(desc.media_type).filter(|m| !m.is_empty()),
                    expected_digest: Some(desc.digest),
                    source_names: names,
                })
            }
            Kind::Dir => Ok(TopManifest {
                bytes: self.tree.read("manifest.json")?,
                media_type_hint: None,
                expected_digest: None,
                source_names: Vec::new(),
            }),
            Kind::DockerArchive {
                manifest, names, ..
            } => Ok(TopManifest {
                bytes: manifest.clone(),
                media_type_hint: Some(OCI_MANIFEST.into()),
                expected_digest: None,
                source_names: names.clone(),
            }),
        }
    }

    /// A manifest an index points to.
    pub fn manifest_by_digest(&self, digest: &str) -> Result<Vec<u8>, FetchError> {
        match &self.kind {
            Kind::Dir => {
                let hex = sha256_hex(digest).unwrap_or_default();
                let per_instance = format!("{hex}.manifest.json");
                if self.tree.exists(&per_instance) {
                    return self.tree.read(&per_instance);
                }
                self.read_blob(digest)
            }
            _ => self.read_blob(digest),
        }
    }

    /// The file holding blob `digest`, positioned at its start, and its length.
    pub fn open_blob(&self, digest: &str) -> Result<(File, u64), FetchError> {
        let hex = sha256_hex(digest).ok_or_else(|| {
            FetchError::InvalidArgument(format!("digest {digest:?} is not a sha256 digest"))
        })?;
        let name = match &self.kind {
            Kind::Oci { .. } => format!("blobs/sha256/{hex}"),
            Kind::Dir => hex.to_string(),
            Kind::DockerArchive { blobs, .. } => {
                blobs
                    .get(digest)
                    .cloned()
                    .ok_or_else(|| FetchError::NotFound {
                        context: format!("reading blob {digest} from {}", self.name()),
                        detail: "not in the archive".into(),
                    })?
            }
        };
        self.tree.open(&name).map_err(|e| match e {
            FetchError::NotFound { .. } => FetchError::NotFound {
                context: format!("reading blob {digest} from {}", self.name()),
                detail: "blob unknown".into(),
            },
            other => other,
        })
    }

    fn read_blob(&self, digest: &str) -> Result<Vec<u8>, FetchError> {
        let (f, len) = self.open_blob(digest)?;
        if len > crate::manifest::MAX_MANIFEST_BYTES as u64 {
            return Err(FetchError::Unsupported {
                context: format!("reading manifest {digest} from {}", self.name()),
                detail: format!("{len} bytes is too large for a manifest"),
            });
        }
        let mut out = Vec::new();
        f.take(len).read_to_end(&mut out).map_err(|e| {
            FetchError::io(format!("reading blob {digest}"), self.tree.location(), e)
        })?;
        Ok(out)
    }

    /// The index.json entry `image` names: a ref name, `@N`, or a digest;
    /// none when the layout holds exactly one entry.
    fn oci_select(&self, image: Option<&str>) -> Result<Descriptor, FetchError> {
        #[derive(Deserialize)]
        struct Index {
            manifests: Vec<Descriptor>,
        }
        let ctx = format!("reading index.json of {}", self.name());
        let bytes = self.tree.read("index.json")?;
        let index: Index = serde_json::from_slice(&bytes).map_err(|e| FetchError::Unsupported {
            context: ctx.clone(),
            detail: format!("invalid JSON: {e}"),
        })?;
        let ref_of = |d: &Descriptor| {
            d.annotations
                .get(REF_NAME_ANNOTATION)
                .cloned()
                .unwrap_or_default()
        };
        let found = match image {
            None if index.manifests.len() == 1 => index.manifests.first().cloned(),
            None => {
                let names: Vec<String> = index.manifests.iter().map(ref_of).collect();
                return Err(FetchError::InvalidArgument(format!(
                    "{}: the layout holds {} images ({}); name one as oci:DIR:REF",
                    self.name(),
                    index.manifests.len(),
                    names.join(", ")
                )));
            }
            Some(i) if i.starts_with('@') => i[1..]
                .parse::<usize>()
                .ok()
                .and_then(|n| index.manifests.get(n).cloned()),
            Some(i) if i.starts_with("sha256:") => {
                index.manifests.iter().find(|d| d.digest == i).cloned()
            }
            Some(i) => index.manifests.iter().find(|d| ref_of(d) == i).cloned(),
        };
        let desc = found.ok_or_else(|| FetchError::NotFound {
            context: format!(
                "reading manifest {} in {}",
                image.unwrap_or(""),
                self.name()
            ),
            detail: "no such image in index.json".into(),
        })?;
        if let Some(p) = crate::digest::problem(&desc.digest) {
            return Err(FetchError::Unsupported {
                context: ctx,
                detail: p,
            });
        }
        Ok(desc)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ArchiveEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// Pick the image in a docker-archive and describe it as an OCI manifest.
fn docker_archive(tree: &FileTree, image: Option<&str>) -> Result<Kind, FetchError> {
    let archive = tree.location().display().to_string();
    let bad = |detail: String| FetchError::Unsupported {
        context: format!("reading docker archive {archive}"),
        detail,
    };
    let entries: Vec<ArchiveEntry> = serde_json::from_slice(&tree.read("manifest.json")?)
        .map_err(|e| bad(format!("manifest.json: {e}")))?;
    let tags = |e: &ArchiveEntry| e.repo_tags.clone().unwrap_or_default();
    let index = match image {
        None if entries.len() == 1 => 0,
        None => {
            let all: Vec<String> = entries.iter().flat_map(tags).collect();
            return Err(FetchError::InvalidArgument(format!(
                "{archive} holds {} images ({}); name one as docker-archive:FILE:NAME or :@N",
                entries.len(),
                all.join(", ")
            )));
        }
        Some(i) if i.starts_with('@') => i[1..]
            .parse::<usize>()
            .ok()
            .filter(|n| *n < entries.len())
            .ok_or_else(|| FetchError::NotFound {
                context: format!("reading {archive}"),
                detail: format!("no image {i} (the archive holds {})", entries.len()),
            })?,
        Some(i) => entries
            .iter()
            .position(|e| {
                tags(e)
                    .iter()
                    .any(|t| normalize_name(t) == normalize_name(i))
            })
            .ok_or_else(|| FetchError::NotFound {
                context: format!("reading {archive}"),
                detail: format!("no image tagged {i}"),
            })?,
    };
    let entry = &entries[index];
    let config = tree.read(&entry.config)?;
    let config_digest = sha256_of(&config);
    #[derive(Deserialize, Default)]
    struct RootFs {
        #[serde(default)]
        diff_ids: Vec<String>,
    }
    #[derive(Deserialize)]
    struct Config {
        #[serde(default)]
        rootfs: Option<RootFs>,
    }
    let parsed: Config = serde_json::from_slice(&config)
        .map_err(|e| bad(format!("config {}: {e}", entry.config)))?;
    let diff_ids = parsed.rootfs.unwrap_or_default().diff_ids;
    if diff_ids.len() != entry.layers.len() {
        return Err(bad(format!(
            "the config lists {} layers, manifest.json {}",
            diff_ids.len(),
            entry.layers.len()
        )));
    }
    let mut blobs = HashMap::new();
    blobs.insert(config_digest.clone(), entry.config.clone());
    let mut layers = Vec::new();
    for (name, diff_id) in entry.layers.iter().zip(&diff_ids) {
        let (mut f, len) = tree.open(name)?;
        let mut h = Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut left = len;
        let mut magic = Vec::new();
        while left > 0 {
            let want = buf.len().min(left as usize);
            let n = f
                .read(&mut buf[..want])
                .map_err(|e| FetchError::io(format!("reading layer {name}"), tree.location(), e))?;
            if n == 0 {
                return Err(bad(format!("layer {name} is truncated")));
            }
            if magic.len() < 4 {
                magic.extend_from_slice(&buf[..n.min(4 - magic.len())]);
            }
            h.update(&buf[..n]);
            left -= n as u64;
        }
        let digest = h.finish();
        let media_type = match magic.as_slice() {
            [0x1f, 0x8b, ..] => OCI_LAYER_GZIP,
            [0x28, 0xb5, 0x2f, 0xfd] => OCI_LAYER_ZSTD,
            _ => OCI_LAYER_TAR,
        };
        if media_type == OCI_LAYER_TAR && &digest != diff_id {
            return Err(FetchError::DigestMismatch {
                digest: diff_id.clone(),
                source_name: format!("{archive} ({name})"),
                actual: digest,
            });
        }
        blobs.insert(digest.clone(), name.clone());
        layers.push(json!({"mediaType": media_type, "digest": digest, "size": len}));
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config.len()},
        "layers": layers,
    });
    let manifest = serde_json::to_vec(&manifest).map_err(|e| bad(e.to_string()))?;
    Ok(Kind::DockerArchive {
        manifest,
        blobs,
        names: tags(entry),
    })
}

/// `busybox` -> `docker.io/library/busybox:latest`, as Docker names them.
fn normalize_name(n: &str) -> String {
    let (name, tagged) = match n.rfind(':') {
        Some(i) if !n[i..].contains('/') => (&n[..i], n.to_string()),
        _ => (n, format!("{n}:latest")),
    };
    let first = name.split('/').next().unwrap_or("");
    let qualified = first.contains('.') || first.contains(':') || first == "localhost";
    match (qualified, name.contains('/')) {
        (true, _) => tagged,
        (false, true) => format!("docker.io/{tagged}"),
        (false, false) => format!("docker.io/library/{tagged}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_names_normalize() {
        assert_eq!(
            normalize_name("busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(normalize_name("busybox:1"), "docker.io/library/busybox:1");
        assert_eq!(normalize_name("me/app:2"), "docker.io/me/app:2");
        assert_eq!(
            normalize_name("localhost:5000/app"),
            "localhost:5000/app:latest"
        );
        assert_eq!(normalize_name("quay.io/a/b:c"), "quay.io/a/b:c");
    }
}
