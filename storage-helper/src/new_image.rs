//! Images made here rather than pulled: `podman import` (a root file system
//! tarball becomes a one-layer image) and `podman commit` (a container's
//! upper directory becomes a new top layer). Both write an uncompressed layer blob,
//! an OCI config and manifest into the blob store and then go through the
//! same path as a pulled image.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use common::time::{now_unix, rfc3339_secs};
use serde_json::{json, Value};
use tracing::debug;

use crate::blobs;
use crate::containers;
use crate::db;
use crate::digest::{Digest, DigestReader, DigestWriter};
use crate::driver::Driver;
use crate::error::{Result, StoreError};
use crate::images::{self, ImageRecord};
use crate::import::store_image;
use crate::layout::{unique_suffix, Store};
use crate::oci::{self, ImageParts};
use crate::tar_writer::{write_changes, write_tree_with, Mtime, Rewrite, TreeKind};
use crate::unpack::Compression;

/// podman import/commit --change, already parsed.
#[derive(Debug, Clone, Default)]
pub struct ConfigChanges {
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub exposed_ports: Vec<String>,
    pub volumes: Vec<String>,
    pub stop_signal: Option<String>,
}

impl ConfigChanges {
    /// Apply to the `config` object of an image config.
    pub fn apply(&self, c: &mut serde_json::Map<String, Value>) {
        if let Some(v) = &self.cmd {
            c.insert("Cmd".into(), json!(v));
        }
        if let Some(v) = &self.entrypoint {
            c.insert("Entrypoint".into(), json!(v));
        }
        if !self.env.is_empty() {
            let mut env: Vec<String> = c
                .get("Env")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            for e in &self.env {
                let key = e.split('=').next().unwrap_or(e);
                env.retain(|x| x.split('=').next() != Some(key));
                env.push(e.clone());
            }
            c.insert("Env".into(), json!(env));
        }
        if let Some(v) = &self.working_dir {
            c.insert("WorkingDir".into(), json!(v));
        }
        if let Some(v) = &self.user {
            c.insert("User".into(), json!(v));
        }
        if let Some(v) = &self.stop_signal {
            c.insert("StopSignal".into(), json!(v));
        }
        for (field, items) in [
            ("ExposedPorts", &self.exposed_ports),
            ("Volumes", &self.volumes),
        ] {
            if !items.is_empty() {
                let mut m = c
                    .get(field)
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                for i in items {
                    m.insert(i.clone(), json!({}));
                }
                c.insert(field.into(), Value::Object(m));
            }
        }
        if !self.labels.is_empty() {
            let mut m = c
                .get("Labels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for (k, v) in &self.labels {
                m.insert(k.clone(), json!(v));
            }
            c.insert("Labels".into(), Value::Object(m));
        }
    }
}

/// A layer blob written into the store: (blob digest, size, diff_id).
struct LayerBlob {
    digest: Digest,
    size: u64,
    diff_id: Digest,
    media_type: &'static str,
}

/// Store an uncompressed tar produced by `fill` as a blob whose digest is
/// its diff ID, as Podman stores the layers it makes: compression happens
/// when the image is pushed (image-fetcher), so a commit costs no CPU for
/// it and the manifest a push builds differs from the stored one.
fn tar_blob(
    store: &Store,
    fill: impl FnOnce(&mut dyn std::io::Write) -> Result<()>,
) -> Result<LayerBlob> {
    let tmp = store.tmp_dir().join(format!("layer-{}", unique_suffix()));
    let result = (|| {
        let file = File::create(&tmp).map_err(|e| StoreError::path("creating", &tmp, e))?;
        let mut out = DigestWriter::new(std::io::BufWriter::with_capacity(1 << 20, file));
        fill(&mut out)?;
        let (digest, size, buffered) = out.finish();
        let file = buffered
            .into_inner()
            .map_err(|e| StoreError::path("writing", &tmp, e.into_error()))?;
        file.sync_all()
            .map_err(|e| StoreError::path("syncing", &tmp, e))?;
        let dest = blobs::path(store, &digest);
        std::fs::rename(&tmp, &dest)
            .map_err(|e| StoreError::path("renaming into place", &dest, e))?;
        Ok(LayerBlob {
            diff_id: digest.clone(),
            digest,
            size,
            media_type: oci::OCI_LAYER_TAR,
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A user's tarball (plain, gzip or zstd) as a layer blob, copied as it is.
fn blob_from_tarball(store: &Store, path: &Path) -> Result<LayerBlob> {
    let open = || File::open(path).map_err(|e| StoreError::path("opening", path, e));
    let mut head = BufReader::new(open()?);
    let compression = Compression::sniff(
        head.fill_buf()
            .map_err(|e| StoreError::path("reading", path, e))?,
    );
    if compression == Compression::None {
        return tar_blob(store, |w| {
            std::io::copy(&mut head, w).map_err(|e| StoreError::path("reading", path, e))?;
            Ok(())
        });
    }
    // Copy (never link: the user may change the file later) and hash.
    let tmp = store.tmp_dir().join(format!("layer-{}", unique_suffix()));
    let copied = (|| {
        let mut out = DigestWriter::new(
            File::create(&tmp).map_err(|e| StoreError::path("creating", &tmp, e))?,
        );
        std::io::copy(&mut open()?, &mut out).map_err(|e| StoreError::path("copying", path, e))?;
        let (digest, size, f) = out.finish();
        f.sync_all()
            .map_err(|e| StoreError::path("syncing", &tmp, e))?;
        let dest = blobs::path(store, &digest);
        std::fs::rename(&tmp, &dest)
            .map_err(|e| StoreError::path("renaming into place", &dest, e))?;
        Ok((digest, size))
    })();
    let (digest, size) = match copied {
        Ok(x) => x,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let blob = File::open(blobs::path(store, &digest))
        .map_err(|e| StoreError::path("opening", path, e))?;
    let bad = |e: std::io::Error| {
        StoreError::InvalidArgument(format!(
            "{}: cannot decompress it ({e}): pass a tar, tar.gz or tar.zst file",
            path.display()
        ))
    };
    let diff_id = match compression {
        Compression::Gzip => {
            DigestReader::new(flate2::read::MultiGzDecoder::new(BufReader::new(blob)))
                .finish()
                .map_err(bad)?
                .0
        }
        _ => {
            DigestReader::new(zstd::stream::read::Decoder::new(blob).map_err(bad)?)
                .finish()
                .map_err(bad)?
                .0
        }
    };
    let media_type = if compression == Compression::Gzip {
        oci::OCI_LAYER_GZIP
    } else {
        "application/vnd.oci.image.layer.v1.tar+zstd"
    };
    Ok(LayerBlob {
        digest,
        size,
        diff_id,
        media_type,
    })
}

/// Write config and manifest for `layers` (existing descriptors + the new
/// one) and store the image.
#[allow(clippy::too_many_arguments)]
fn finish_image(
    store: &Store,
    config: Value,
    mut layer_descs: Vec<Value>,
    new: Option<&LayerBlob>,
    names: &[String],
    label: &str,
    docker: bool,
    annotations: &BTreeMap<String, String>,
) -> Result<ImageRecord> {
    let (manifest_type, config_type) = if docker {
        (oci::DOCKER_MANIFEST, DOCKER_CONFIG)
    } else {
        (oci::OCI_MANIFEST, oci::OCI_CONFIG)
    };
    let config_bytes = serde_json::to_vec(&config)
        .map_err(|e| StoreError::io("serializing config", std::io::Error::other(e)))?;
    let config_digest = blobs::write_bytes(store, &config_bytes)?;
    if let Some(new) = new {
        layer_descs.push(
            json!({"mediaType": new.media_type, "digest": new.digest.as_str(), "size": new.size}),
        );
    }
    if docker {
        for d in &mut layer_descs {
            let mt = docker_layer_type(d["mediaType"].as_str().unwrap_or("")).to_string();
            d["mediaType"] = json!(mt);
        }
    }
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {"mediaType": config_type, "digest": config_digest.as_str(), "size": config_bytes.len()},
        "layers": layer_descs,
    });
    // Docker's schema 2 has no annotations (Buildah drops them there too).
    if !annotations.is_empty() && !docker {
        manifest["annotations"] = json!(annotations);
    }
    let manifest_bytes = serde_json::to_vec(&manifest)
        .map_err(|e| StoreError::io("serializing manifest", std::io::Error::other(e)))?;
    let manifest_digest = blobs::write_bytes(store, &manifest_bytes)?;
    let layers = layer_descs
        .iter()
        .map(|d| {
            Ok((
                Digest::parse(d["digest"].as_str().unwrap_or(""))?,
                d["size"].as_u64().unwrap_or(0),
                d["mediaType"].as_str().unwrap_or("").to_string(),
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let (diff_ids, created) = oci::parse_config(&config_bytes, &config_digest, layers.len())?;
    let parts = ImageParts {
        manifest_bytes,
        manifest_digest,
        manifest_media_type: manifest_type.into(),
        config_bytes,
        config_digest,
        layers,
        diff_ids,
        created,
    };
    store_image(store, &parts, &HashSet::new(), names, label)
}

/// ImportRootfsTar.
#[allow(clippy::too_many_arguments)]
pub fn import_rootfs_tar(
    store: &Store,
    tar: &Path,
    names: &[String],
    changes: &ConfigChanges,
    message: &str,
    arch: &str,
    os: &str,
    variant: &str,
) -> Result<ImageRecord> {
    for n in names {
        images::validate_name(n)?;
    }
    let _barrier = store.barrier()?;
    store.ensure_dirs()?;
    let layer = blob_from_tarball(store, tar)?;
    let now = rfc3339_secs(now_unix());
    let mut cfg = serde_json::Map::new();
    changes.apply(&mut cfg);
    let mut history = json!({"created": now, "created_by": format!("/bin/sh -c #(nop) ADD file:{} in /", layer.diff_id.hex())});
    if !message.is_empty() {
        history["comment"] = json!(message);
    }
    let mut config = json!({
        "created": now,
        "architecture": if arch.is_empty() { oci::host_arch() } else { arch },
        "os": if os.is_empty() { "linux" } else { os },
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id.as_str()]},
        "history": [history],
    });
    if !variant.is_empty() {
        config["variant"] = json!(variant);
    }
    let label = names
        .first()
        .cloned()
        .unwrap_or_else(|| tar.display().to_string());
    let rec = finish_image(
        store,
        config,
        Vec::new(),
        Some(&layer),
        names,
        &label,
        false,
        &BTreeMap::new(),
    )
    .map_err(|e| match e {
        StoreError::DataLoss(m) => StoreError::InvalidArgument(format!(
            "{}: not a usable root file system tarball: {m}",
            tar.display()
        )),
        other => other,
    })?;
    debug!(image = %rec.short_id(), tar = %tar.display(), "imported root file system");
    Ok(rec)
}

/// How CommitContainer writes the image.
#[derive(Debug, Clone, Default)]
pub struct CommitFormat {
    /// Docker schema 2 media types instead of OCI ones.
    pub docker: bool,
    /// One layer holding the whole file system instead of the image's
    /// layers plus the container layer.
    pub squash: bool,
    /// With `squash`: only the difference from this image, over its layers.
    pub squash_base: String,
    /// History entries (JSON objects) instead of the "podman commit" one.
    pub history: Vec<String>,
    /// Replaces the config's "config" object (JSON), when not empty.
    pub config: String,
    /// Only a new config over the base's layers.
    pub no_layer: bool,
    /// The base when there is no container (`id` empty).
    pub base_image: String,
    /// Manifest annotations (OCI format only).
    pub annotations: BTreeMap<String, String>,
    /// The platform of an image with no base (empty fields: this host's).
    pub platform: ScratchPlatform,
    /// The "created" time (unix seconds) instead of now.
    pub created: Option<i64>,
    /// The new layer's entry times.
    pub mtime: crate::tar_writer::Mtime,
    /// Container paths left out of the new layer (RUN --mount targets).
    pub exclude: Vec<std::path::PathBuf>,
}

#[derive(Debug, Default, Clone)]
pub struct ScratchPlatform {
    pub os: String,
    pub architecture: String,
    pub variant: String,
}

impl ScratchPlatform {
    fn config(&self) -> Value {
        let or = |v: &str, d: &str| {
            if v.is_empty() {
                d.to_string()
            } else {
                v.to_string()
            }
        };
        let mut c = json!({
            "architecture": or(&self.architecture, oci::host_arch()),
            "os": or(&self.os, "linux"),
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": []},
            "history": [],
        });
        if !self.variant.is_empty() {
            c["variant"] = json!(self.variant);
        }
        c
    }
}

/// CommitContainer.
pub fn commit(
    store: &Store,
    id: &str,
    names: &[String],
    changes: &ConfigChanges,
    author: &str,
    message: &str,
    format: CommitFormat,
) -> Result<ImageRecord> {
    for n in names {
        images::validate_name(n)?;
    }
    let _barrier = store.barrier()?;
    let conn = db::open(store)?;
    let rec = if id.is_empty() {
        if !format.no_layer {
            return Err(StoreError::InvalidArgument(
                "a commit without a container must set no_layer".into(),
            ));
        }
        None
    } else {
        Some(containers::load(store, &conn, id)?)
    };
    let base_id = match &rec {
        Some(r) => r.image_id.clone(),
        None => (!format.base_image.is_empty()).then(|| format.base_image.clone()),
    };
    let base = match &base_id {
        Some(img) => Some(images::load(&conn, img)?.ok_or_else(|| {
            StoreError::FailedPrecondition(format!("container {id}: its image {img} was removed, so its layers cannot be committed: recreate the container"))
        })?),
        None if rec.as_ref().is_some_and(|r| !r.layers.is_empty()) => {
            return Err(StoreError::FailedPrecondition(format!("container {id}: its image was removed, so its layers cannot be committed: recreate the container")))
        }
        None => None,
    };
    let started = std::time::Instant::now();
    let layer = match &rec {
        _ if format.no_layer => None,
        None => None,
        Some(rec) => Some(container_layer(
            store,
            id,
            rec,
            format.squash,
            format.mtime,
            Some(format.squash_base.as_str()).filter(|b| format.squash && !b.is_empty()),
            &format.exclude,
        )?),
    };
    if let Some(layer) = &layer {
        debug!(container = id, diff_id = %layer.diff_id, bytes = layer.size, elapsed_ms = started.elapsed().as_secs_f64() * 1e3, "container layer written");
    }
    let squash = format.squash && layer.is_some();
    // --squash of the new layers only: the base keeps its layers and history.
    let squash_from = match format.squash_base.as_str() {
        b if squash && !b.is_empty() => Some(images::load(&conn, b)?.ok_or_else(|| {
            StoreError::NotFound(format!("squash base image {b} is not in the store"))
        })?),
        _ => None,
    };
    let from_parts = match &squash_from {
        Some(b) => {
            let config: Value = serde_json::from_slice(&b.config).map_err(|e| {
                StoreError::InvalidArgument(format!("image {}: config is not JSON: {e}", b.label()))
            })?;
            let manifest: Value = serde_json::from_slice(&b.manifest).map_err(|e| {
                StoreError::InvalidArgument(format!(
                    "image {}: manifest is not JSON: {e}",
                    b.label()
                ))
            })?;
            let descs: Vec<Value> = manifest["layers"].as_array().cloned().unwrap_or_default().into_iter().map(|d| json!({"mediaType": oci_layer_type(d["mediaType"].as_str().unwrap_or("")), "digest": d["digest"], "size": d["size"]})).collect();
            let diff_ids = config["rootfs"]["diff_ids"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let history = config["history"].as_array().cloned().unwrap_or_default();
            Some((descs, diff_ids, history))
        }
        None => None,
    };
    let now = rfc3339_secs(format.created.unwrap_or_else(now_unix));
    let (mut config, layer_descs) = match &base {
        Some(b) => {
            let config: Value = serde_json::from_slice(&b.config).map_err(|e| {
                StoreError::InvalidArgument(format!("image {}: config is not JSON: {e}", b.label()))
            })?;
            let manifest: Value = serde_json::from_slice(&b.manifest).map_err(|e| {
                StoreError::InvalidArgument(format!(
                    "image {}: manifest is not JSON: {e}",
                    b.label()
                ))
            })?;
            let descs = manifest["layers"].as_array().cloned().unwrap_or_default();
            let descs = descs.into_iter().map(|d| json!({"mediaType": oci_layer_type(d["mediaType"].as_str().unwrap_or("")), "digest": d["digest"], "size": d["size"]})).collect();
            (config, descs)
        }
        None => (format.platform.config(), Vec::new()),
    };
    let obj = config.as_object_mut().ok_or_else(|| {
        StoreError::InvalidArgument(format!("container {id}: base config is not an object"))
    })?;
    obj.remove("container");
    obj.remove("container_config");
    obj.insert("created".into(), json!(now));
    if !author.is_empty() {
        obj.insert("author".into(), json!(author));
    }
    let mut cfg = if format.config.is_empty() {
        obj.get("config")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    } else {
        serde_json::from_str::<serde_json::Map<String, Value>>(&format.config).map_err(|e| {
            StoreError::InvalidArgument(format!("config_json is not a JSON object: {e}"))
        })?
    };
    changes.apply(&mut cfg);
    obj.insert("config".into(), Value::Object(cfg));
    let mut diff_ids = if let Some((_, d, _)) = &from_parts {
        d.clone()
    } else if squash {
        Vec::new()
    } else {
        obj.get("rootfs")
            .and_then(|r| r.get("diff_ids"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    if let Some(layer) = &layer {
        diff_ids.push(json!(layer.diff_id.as_str()));
    }
    obj.insert(
        "rootfs".into(),
        json!({"type": "layers", "diff_ids": diff_ids}),
    );
    // A squashed image has one layer: the base's history entries would
    // name layers it no longer has.
    let mut history = if let Some((_, _, h)) = &from_parts {
        h.clone()
    } else if squash {
        Vec::new()
    } else {
        obj.get("history")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    if format.history.is_empty() {
        let mut h = json!({"created": now, "created_by": "podman commit"});
        if !author.is_empty() {
            h["author"] = json!(author);
        }
        if !message.is_empty() {
            h["comment"] = json!(message);
        }
        history.push(h);
    } else {
        for entry in &format.history {
            let mut h: Value = serde_json::from_str(entry).map_err(|e| {
                StoreError::InvalidArgument(format!("history entry is not JSON: {e}"))
            })?;
            if h.get("created").is_none() {
                h["created"] = json!(now);
            }
            history.push(h);
        }
    }
    obj.insert("history".into(), json!(history));
    let label = names
        .first()
        .cloned()
        .unwrap_or_else(|| format!("commit of container {id}"));
    let layer_descs = match from_parts {
        Some((descs, _, _)) => descs,
        None if squash => Vec::new(),
        None => layer_descs,
    };
    finish_image(
        store,
        config,
        layer_descs,
        layer.as_ref(),
        names,
        &label,
        format.docker,
        &format.annotations,
    )
}

/// The container's changes (or with `squash` its whole file system) as an
/// uncompressed layer blob.
fn container_layer(
    store: &Store,
    id: &str,
    rec: &containers::ContainerRecord,
    squash: bool,
    mtime: Mtime,
    squash_base: Option<&str>,
    exclude: &[std::path::PathBuf],
) -> Result<LayerBlob> {
    let upper = containers::upper(rec).to_path_buf();
    let rw = || Rewrite {
        mtime,
        unmap: rec.idmap.clone(),
        exclude: exclude.to_vec(),
    };
    if let Some(base) = squash_base {
        // The whole file system against the base image's, as one layer.
        let (mountpoint, _) = crate::mounts::mount(store, id)?;
        let written = (|| -> Result<LayerBlob> {
            let (_, base_root, _) = crate::image_mounts::mount(store, base)?;
            let changes = crate::vfs::changes(Some(&base_root), &mountpoint)
                .map_err(|e| StoreError::path("comparing with the base image", &mountpoint, e));
            let layer = changes.and_then(|changes| {
                tar_blob(store, |w| {
                    write_changes(&mountpoint, &changes, rw(), w).map(drop)
                })
            });
            let unmounted = crate::image_mounts::unmount(store, base, false);
            let layer = layer?;
            unmounted?;
            Ok(layer)
        })();
        let unmounted = crate::mounts::unmount(store, id, false);
        let layer = written?;
        unmounted?;
        return Ok(layer);
    }
    if squash {
        let (mountpoint, _) = crate::mounts::mount(store, id)?;
        let written = tar_blob(store, |w| {
            write_tree_with(&mountpoint, TreeKind::Rootfs, rw(), w).map(drop)
        });
        let unmounted = crate::mounts::unmount(store, id, false);
        let layer = written?;
        unmounted?;
        return Ok(layer);
    }
    match store.driver {
        Driver::Overlay => tar_blob(store, |w| {
            write_tree_with(&upper, TreeKind::OverlayUpper, rw(), w).map(drop)
        }),
        Driver::Vfs => {
            let changes = crate::diff::changes(store, rec)?;
            tar_blob(store, |w| {
                write_changes(&upper, &changes, rw(), w).map(drop)
            })
        }
    }
}

const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// OCI layer media types in a Docker manifest become their Docker names.
fn docker_layer_type(mt: &str) -> &str {
    match mt {
        oci::OCI_LAYER_GZIP => "application/vnd.docker.image.rootfs.diff.tar.gzip",
        oci::OCI_LAYER_TAR => "application/vnd.docker.image.rootfs.diff.tar",
        other => other,
    }
}

/// Docker layer media types in an OCI manifest become their OCI names.
fn oci_layer_type(mt: &str) -> &str {
    match mt {
        "application/vnd.docker.image.rootfs.diff.tar.gzip" => oci::OCI_LAYER_GZIP,
        "application/vnd.docker.image.rootfs.diff.tar" => oci::OCI_LAYER_TAR,
        other => other,
    }
}
