//! Real container images for end-to-end tests: configs and manifests (OCI or
//! Docker schema 2), written to registries or OCI image layouts on disk.
//!
//! This module re-exports the layer, busybox, index and layout helpers, so
//! `e2e::oci_image::*` is all a test needs.
//!
//! ```no_run
//! use e2e::oci_image::{busybox_image, ImageBuilder, ImageIndex, LayerBuilder};
//! # fn main() -> anyhow::Result<()> {
//! let busybox = busybox_image()?;
//! let two_layers = ImageBuilder::busybox()?
//!     .layer(LayerBuilder::new().dir("data", 0o755).file("data/hello", "hi\n", 0o644).build()?)
//!     .cmd(&["cat", "/data/hello"])
//!     .build()?;
//! let index = ImageIndex::oci(vec![busybox, ImageBuilder::busybox()?.architecture("arm64").build()?])?;
//! index.write_oci_layout(std::path::Path::new("/tmp/layout"), "latest")?;
//! # let _ = two_layers; Ok(()) }
//! ```
//!
//! Everything is deterministic: the same builder calls give the same bytes
//! and digests.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{json, Value};

pub use crate::busybox::{
    build_busybox_layer, busybox_applets, busybox_entries, busybox_layer, BUSYBOX_PATH,
    REQUIRED_APPLETS,
};
pub use crate::image_index::ImageIndex;
pub use crate::layer::{
    digest_hex, sha256_digest, Entry, EntryKind, Layer, LayerBuilder, FIXED_MTIME,
};
pub use crate::oci_layout::{read_blob, read_index_json, write_blob};

/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config media type.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI gzip layer media type.
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// Docker schema 2 manifest media type.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list media type.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image config media type.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker gzip layer media type.
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Every manifest media type above, for `Accept` headers.
pub const ALL_MANIFEST_TYPES: &[&str] = &[
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

/// Annotation carrying the tag in an OCI layout's `index.json`.
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";
/// `created` timestamp of every config and history entry.
pub const FIXED_CREATED: &str = "2023-11-14T22:13:20Z";
/// Default `PATH` in image configs.
pub const DEFAULT_PATH_ENV: &str =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// OCI/Go architecture name of the machine running the tests
/// (`amd64` on x86_64, `arm64` on aarch64, ...).
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

/// Which family of media types a manifest uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ManifestFormat {
    /// `application/vnd.oci.image.*` media types.
    #[default]
    Oci,
    /// `application/vnd.docker.*` (schema 2) media types.
    DockerSchema2,
}

impl ManifestFormat {
    /// Media type of the manifest itself.
    pub fn manifest_type(self) -> &'static str {
        match self {
            ManifestFormat::Oci => OCI_MANIFEST,
            ManifestFormat::DockerSchema2 => DOCKER_MANIFEST,
        }
    }
    /// Media type of the config blob.
    pub fn config_type(self) -> &'static str {
        match self {
            ManifestFormat::Oci => OCI_CONFIG,
            ManifestFormat::DockerSchema2 => DOCKER_CONFIG,
        }
    }
    /// Media type of gzip layers.
    pub fn layer_type(self) -> &'static str {
        match self {
            ManifestFormat::Oci => OCI_LAYER_GZIP,
            ManifestFormat::DockerSchema2 => DOCKER_LAYER_GZIP,
        }
    }
    /// Media type of an index / manifest list of this family.
    pub fn index_type(self) -> &'static str {
        match self {
            ManifestFormat::Oci => OCI_INDEX,
            ManifestFormat::DockerSchema2 => DOCKER_MANIFEST_LIST,
        }
    }
}

/// Builds an [`Image`] from layers and config settings.
#[derive(Clone, Debug)]
pub struct ImageBuilder {
    layers: Vec<(Layer, String)>,
    architecture: String,
    os: String,
    variant: Option<String>,
    created: String,
    format: ManifestFormat,
    container_config: serde_json::Map<String, Value>,
    env: Vec<String>,
    labels: BTreeMap<String, String>,
    exposed_ports: Vec<String>,
}

impl Default for ImageBuilder {
    fn default() -> Self {
        ImageBuilder::new()
    }
}

impl ImageBuilder {
    /// An image with no layers (`FROM scratch`) for the host architecture,
    /// with only `PATH` in its environment.
    pub fn new() -> ImageBuilder {
        ImageBuilder {
            layers: Vec::new(),
            architecture: host_arch().to_string(),
            os: "linux".to_string(),
            variant: None,
            created: FIXED_CREATED.to_string(),
            format: ManifestFormat::Oci,
            container_config: serde_json::Map::new(),
            env: vec![DEFAULT_PATH_ENV.to_string()],
            labels: BTreeMap::new(),
            exposed_ports: Vec::new(),
        }
    }

    /// The busybox image: [`busybox_layer`] and `Cmd ["sh"]`.
    pub fn busybox() -> Result<ImageBuilder> {
        Ok(ImageBuilder::new()
            .layer_with_history(busybox_layer()?, "ADD busybox rootfs (e2e fixture)")
            .cmd(&["sh"]))
    }

    /// Append a layer (history says `e2e fixture layer N`).
    pub fn layer(self, layer: Layer) -> ImageBuilder {
        let created_by = format!("e2e fixture layer {}", self.layers.len() + 1);
        self.layer_with_history(layer, &created_by)
    }

    /// Append a layer with the history `created_by` text.
    pub fn layer_with_history(mut self, layer: Layer, created_by: &str) -> ImageBuilder {
        self.layers.push((layer, created_by.to_string()));
        self
    }

    /// Build a layer from `entries` and append it.
    pub fn layer_from_entries(self, entries: impl IntoIterator<Item = Entry>) -> Result<Self> {
        Ok(self.layer(LayerBuilder::new().entries(entries).build()?))
    }

    fn set(mut self, key: &str, value: Value) -> ImageBuilder {
        self.container_config.insert(key.to_string(), value);
        self
    }

    /// `config.Cmd`.
    pub fn cmd(self, cmd: &[&str]) -> ImageBuilder {
        self.set("Cmd", json!(cmd))
    }

    /// `config.Entrypoint`.
    pub fn entrypoint(self, entrypoint: &[&str]) -> ImageBuilder {
        self.set("Entrypoint", json!(entrypoint))
    }

    /// Set `KEY=value` in `config.Env`, replacing an earlier value of `KEY`.
    pub fn env(mut self, key: &str, value: &str) -> ImageBuilder {
        let prefix = format!("{key}=");
        self.env.retain(|e| !e.starts_with(&prefix));
        self.env.push(format!("{key}={value}"));
        self
    }

    /// `config.User` (`"1000"`, `"nobody"`, `"1000:1000"`...).
    pub fn user(self, user: &str) -> ImageBuilder {
        self.set("User", json!(user))
    }

    /// `config.WorkingDir`.
    pub fn working_dir(self, dir: &str) -> ImageBuilder {
        self.set("WorkingDir", json!(dir))
    }

    /// `config.StopSignal` (e.g. `"SIGINT"`).
    pub fn stop_signal(self, signal: &str) -> ImageBuilder {
        self.set("StopSignal", json!(signal))
    }

    /// `config.Healthcheck` (a Dockerfile's HEALTHCHECK): the test and its
    /// interval in nanoseconds (0: the engine's default).
    pub fn healthcheck(self, test: &[&str], interval_ns: u64) -> ImageBuilder {
        self.set(
            "Healthcheck",
            json!({ "Test": test, "Interval": interval_ns }),
        )
    }

    /// Add a `config.Labels` entry.
    pub fn label(mut self, key: &str, value: &str) -> ImageBuilder {
        self.labels.insert(key.to_string(), value.to_string());
        self
    }

    /// Add a `config.Volumes` entry (a Dockerfile's `VOLUME /path`).
    pub fn volume(mut self, path: &str) -> ImageBuilder {
        let v = self
            .container_config
            .entry("Volumes".to_string())
            .or_insert_with(|| json!({}));
        if let Some(m) = v.as_object_mut() {
            m.insert(path.to_string(), json!({}));
        }
        self
    }

    /// Add a `config.ExposedPorts` entry such as `"8080/tcp"`.
    pub fn expose(mut self, port: &str) -> ImageBuilder {
        self.exposed_ports.push(port.to_string());
        self
    }

    /// Config `architecture` (`amd64`, `arm64`, ...).
    pub fn architecture(mut self, architecture: &str) -> ImageBuilder {
        self.architecture = architecture.to_string();
        self
    }

    /// Config `os`.
    pub fn os(mut self, os: &str) -> ImageBuilder {
        self.os = os.to_string();
        self
    }

    /// Config `variant` (`v8`, `v7`...).
    pub fn variant(mut self, variant: &str) -> ImageBuilder {
        self.variant = Some(variant.to_string());
        self
    }

    /// The `created` timestamp (RFC 3339).
    pub fn created(mut self, created: &str) -> ImageBuilder {
        self.created = created.to_string();
        self
    }

    /// Choose OCI or Docker schema 2 media types.
    pub fn format(mut self, format: ManifestFormat) -> ImageBuilder {
        self.format = format;
        self
    }

    /// Shortcut for `format(ManifestFormat::DockerSchema2)`.
    pub fn docker_schema2(self) -> ImageBuilder {
        self.format(ManifestFormat::DockerSchema2)
    }

    /// Serialize the config and manifest.
    pub fn build(self) -> Result<Image> {
        let mut container_config = self.container_config;
        container_config.insert("Env".to_string(), json!(self.env));
        if !self.labels.is_empty() {
            container_config.insert("Labels".to_string(), json!(self.labels));
        }
        if !self.exposed_ports.is_empty() {
            let ports: serde_json::Map<String, Value> = self
                .exposed_ports
                .iter()
                .map(|p| (p.clone(), json!({})))
                .collect();
            container_config.insert("ExposedPorts".to_string(), Value::Object(ports));
        }
        let history: Vec<Value> = self
            .layers
            .iter()
            .map(|(_, created_by)| json!({"created": self.created, "created_by": created_by}))
            .collect();
        let mut config = json!({
            "created": self.created,
            "architecture": self.architecture,
            "os": self.os,
            "config": container_config,
            "rootfs": {
                "type": "layers",
                "diff_ids": self.layers.iter().map(|(l, _)| l.diff_id.clone()).collect::<Vec<_>>(),
            },
            "history": history,
        });
        if let (Some(variant), Some(obj)) = (&self.variant, config.as_object_mut()) {
            obj.insert("variant".to_string(), json!(variant));
        }
        let config_bytes = serde_json::to_vec(&config).context("serialize image config")?;
        let config_digest = sha256_digest(&config_bytes);
        let layers: Vec<Layer> = self.layers.into_iter().map(|(l, _)| l).collect();
        let format = self.format;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": format.manifest_type(),
            "config": {
                "mediaType": format.config_type(),
                "digest": config_digest,
                "size": config_bytes.len(),
            },
            "layers": layers.iter().map(|l| json!({
                "mediaType": format.layer_type(),
                "digest": l.digest,
                "size": l.size(),
            })).collect::<Vec<_>>(),
        });
        let manifest_bytes = serde_json::to_vec(&manifest).context("serialize manifest")?;
        Ok(Image {
            config,
            config_digest,
            config_bytes,
            manifest_digest: sha256_digest(&manifest_bytes),
            manifest_bytes,
            manifest_media_type: format.manifest_type().to_string(),
            layers,
        })
    }
}

/// A complete single-platform image: config, manifest and layer blobs.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    /// The config as JSON.
    pub config: Value,
    /// The exact config blob.
    pub config_bytes: Vec<u8>,
    /// `sha256:` digest of [`Image::config_bytes`] (the image ID).
    pub config_digest: String,
    /// The exact manifest bytes.
    pub manifest_bytes: Vec<u8>,
    /// `sha256:` digest of [`Image::manifest_bytes`].
    pub manifest_digest: String,
    /// [`OCI_MANIFEST`] or [`DOCKER_MANIFEST`].
    pub manifest_media_type: String,
    /// Layers, bottom first.
    pub layers: Vec<Layer>,
}

/// The busybox image for the host architecture, OCI media types.
pub fn busybox_image() -> Result<Image> {
    ImageBuilder::busybox()?.build()
}

/// [`busybox_image`] plus a top layer holding one root-owned 0644 file.
pub fn busybox_with_file(path: &str, data: impl Into<Vec<u8>>) -> Result<Image> {
    ImageBuilder::busybox()?
        .layer_from_entries([Entry::file(path, data, 0o644)])?
        .build()
}

impl Image {
    /// The manifest format of this image.
    pub fn format(&self) -> ManifestFormat {
        if self.manifest_media_type == DOCKER_MANIFEST {
            ManifestFormat::DockerSchema2
        } else {
            ManifestFormat::Oci
        }
    }

    /// `{"architecture", "os"[, "variant"]}` taken from the config.
    pub fn platform(&self) -> Value {
        let mut platform = serde_json::Map::new();
        for key in ["architecture", "os", "variant"] {
            if let Some(value) = self.config.get(key) {
                platform.insert(key.to_string(), value.clone());
            }
        }
        Value::Object(platform)
    }

    /// Descriptor of the manifest (media type, digest, size, platform), as
    /// used in an index.
    pub fn descriptor(&self) -> Value {
        json!({
            "mediaType": self.manifest_media_type,
            "digest": self.manifest_digest,
            "size": self.manifest_bytes.len(),
            "platform": self.platform(),
        })
    }

    /// Config and layer blobs as `(digest, bytes)`, config first.
    pub fn blobs(&self) -> Vec<(&str, &[u8])> {
        let mut blobs = vec![(self.config_digest.as_str(), self.config_bytes.as_slice())];
        blobs.extend(
            self.layers
                .iter()
                .map(|l| (l.digest.as_str(), l.tar_gz.as_slice())),
        );
        blobs
    }

    /// Write (or add to) an OCI image layout in `dir`: `oci-layout`,
    /// `blobs/sha256/<hex>` for config, layers and manifest, and an
    /// `index.json` entry annotated with `org.opencontainers.image.ref.name`
    /// = `tag` (replacing an earlier entry with the same tag).
    pub fn write_oci_layout(&self, dir: &Path, tag: &str) -> Result<()> {
        for (digest, bytes) in self.blobs() {
            write_blob(dir, digest, bytes)?;
        }
        write_blob(dir, &self.manifest_digest, &self.manifest_bytes)?;
        crate::oci_layout::add_to_index_json(dir, self.descriptor(), tag)
    }
}
