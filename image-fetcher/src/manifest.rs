//! Image manifests and indexes (OCI and Docker schema 2): just enough
//! structure to find the config, the layers and the platform entries. The
//! bytes themselves are always kept exactly as fetched.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::platform::Platform;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";

/// The `Accept` header for manifest requests.
pub const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// Largest manifest accepted (containers/image uses the same 4 MiB limit).
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    pub manifests: Vec<Descriptor>,
}

/// A parsed manifest or index.
#[derive(Debug, Clone)]
pub enum Parsed {
    Manifest(ImageManifest),
    Index(ImageIndex),
}

/// Why a manifest cannot be used (the caller adds which one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestProblem(pub String);

/// The media type of `bytes`: the `mediaType` field, else the Content-Type
/// the server sent, else guessed from the structure.
pub fn media_type_of(bytes: &[u8], content_type: Option<&str>) -> Result<String, ManifestProblem> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        #[serde(default)]
        media_type: Option<String>,
        #[serde(default)]
        schema_version: Option<u32>,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
        #[serde(default)]
        config: Option<serde_json::Value>,
        #[serde(default)]
        signatures: Option<serde_json::Value>,
    }
    let probe: Probe = serde_json::from_slice(bytes)
        .map_err(|e| ManifestProblem(format!("manifest is not valid JSON: {e}")))?;
    if let Some(mt) = probe.media_type.filter(|m| !m.is_empty()) {
        return Ok(mt);
    }
    let ct = content_type
        .map(|c| c.split(';').next().unwrap_or("").trim().to_string())
        .filter(|c| {
            [
                OCI_MANIFEST,
                OCI_INDEX,
                DOCKER_MANIFEST,
                DOCKER_MANIFEST_LIST,
                DOCKER_SCHEMA1,
                DOCKER_SCHEMA1_SIGNED,
            ]
            .contains(&c.as_str())
        });
    if let Some(ct) = ct {
        return Ok(ct);
    }
    Ok(
        match (
            probe.schema_version,
            probe.manifests.is_some(),
            probe.config.is_some(),
            probe.signatures.is_some(),
        ) {
            (Some(1), _, _, true) => DOCKER_SCHEMA1_SIGNED.into(),
            (Some(1), _, _, _) => DOCKER_SCHEMA1.into(),
            (_, true, _, _) => OCI_INDEX.into(),
            (_, _, true, _) => OCI_MANIFEST.into(),
            _ => {
                return Err(ManifestProblem(
                    "cannot tell what kind of manifest this is (no mediaType, manifests or config)"
                        .into(),
                ))
            }
        },
    )
}

/// Parse `bytes` of media type `media_type`, checking every digest in it.
pub fn parse(bytes: &[u8], media_type: &str) -> Result<Parsed, ManifestProblem> {
    let bad = |e: serde_json::Error| ManifestProblem(format!("invalid {media_type} manifest: {e}"));
    let parsed = match media_type {
        OCI_MANIFEST | DOCKER_MANIFEST => Parsed::Manifest(serde_json::from_slice(bytes).map_err(bad)?),
        OCI_INDEX | DOCKER_MANIFEST_LIST => Parsed::Index(serde_json::from_slice(bytes).map_err(bad)?),
        DOCKER_SCHEMA1 | DOCKER_SCHEMA1_SIGNED => {
            return Err(ManifestProblem("Docker schema 1 manifests are not supported; push the image again with a current client".into()))
        }
        other => return Err(ManifestProblem(format!("unsupported manifest media type {other:?}"))),
    };
    let descriptors: Vec<&Descriptor> = match &parsed {
        Parsed::Manifest(m) => std::iter::once(&m.config).chain(&m.layers).collect(),
        Parsed::Index(i) => i.manifests.iter().collect(),
    };
    for d in descriptors {
        if let Some(p) = crate::digest::problem(&d.digest) {
            return Err(ManifestProblem(p));
        }
    }
    Ok(parsed)
}

impl ImageManifest {
    /// Config first, then the layers.
    pub fn blobs(&self) -> Vec<Descriptor> {
        std::iter::once(self.config.clone())
            .chain(self.layers.iter().cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn media_types_are_found_or_guessed() {
        let m = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"{OCI_CONFIG}","digest":"{D}","size":0}},"layers":[]}}"#
        );
        assert_eq!(media_type_of(m.as_bytes(), None).unwrap(), OCI_MANIFEST);
        assert_eq!(
            media_type_of(m.as_bytes(), Some(DOCKER_MANIFEST)).unwrap(),
            DOCKER_MANIFEST
        );
        assert_eq!(
            media_type_of(m.as_bytes(), Some("application/octet-stream")).unwrap(),
            OCI_MANIFEST
        );
        let i = r#"{"schemaVersion":2,"manifests":[]}"#;
        assert_eq!(media_type_of(i.as_bytes(), None).unwrap(), OCI_INDEX);
        assert!(matches!(
            parse(i.as_bytes(), OCI_INDEX).unwrap(),
            Parsed::Index(_)
        ));
        let s1 = r#"{"schemaVersion":1,"signatures":[]}"#;
        assert!(
            parse(s1.as_bytes(), &media_type_of(s1.as_bytes(), None).unwrap())
                .unwrap_err()
                .0
                .contains("schema 1")
        );
        assert!(media_type_of(b"nope", None).is_err());
    }

    #[test]
    fn bad_digests_in_manifests_are_refused() {
        let m = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"{OCI_CONFIG}","digest":"sha256:../../x","size":0}},"layers":[]}}"#
        );
        assert!(parse(m.as_bytes(), OCI_MANIFEST).is_err());
        let ok = m.replace("sha256:../../x", D);
        let Parsed::Manifest(p) = parse(ok.as_bytes(), OCI_MANIFEST).unwrap() else {
            panic!()
        };
        assert_eq!(p.blobs().len(), 1);
    }
}
