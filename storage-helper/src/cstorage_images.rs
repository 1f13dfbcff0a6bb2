//! Images another containers/storage user (skopeo, buildah, Podman) wrote
//! into this graph root, adopted into our store so every command works on
//! them as on images we pulled.
//!
//! containers/storage records images in `overlay-images/images.json` (each
//! with its big-data files under `overlay-images/<id>/`: the manifest, the
//! config keyed by its digest) and layers in `overlay-layers/layers.json`
//! (files under `overlay/<id>/diff`, the original tar's framing in
//! `overlay-layers/<id>.tar-split.gz`). Those files are read, never
//! written, under containers/storage's fcntl read locks (layers, then
//! images, its own order). Each layer's tar stream is rebuilt from its
//! tar-split and files and must hash to the config's diff ID; it becomes
//! an uncompressed layer blob of ours (as the layers Podman commits), is
//! unpacked into our own layer, and the image is recorded with a manifest
//! naming those blobs, beside the manifest containers/storage kept, which
//! stays the image's digest as Podman shows it (`NAME@DIGEST` pulls it,
//! `--pull=newer` compares it); save and push serve the manifest whose
//! blobs we hold.
//!
//! Looking costs one stat when nothing changed: images.json's identity
//! (inode, mtime, size) is kept in `store_config` and compared first.
//! Each adopted image is remembered by a stamp of its record (ID, digest,
//! names, and the identity of its manifest file, which containers/storage
//! rewrites whenever a copy stores the image again). An image is adopted
//! when its stamp is new, so one removed with our `rmi` stays removed
//! while containers/storage's record is unchanged, and comes back only
//! when a containers/storage user stores or names it again (as the image
//! Podman's tests restore with `skopeo copy` after each `rmi -a`).
//! Removing it from containers/storage's files instead would make `rmi`
//! rewrite another program's store: its lock protocol covers images.json
//! and layers.json, but also the layers' mount counts in the run root and
//! the last-writer tokens its long-running users cache by; a copy we own
//! keeps the two stores' states from ever depending on each other.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::file_lock::FileLock;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Deserialize;
use serde_json::json;
use tracing::{debug, warn};

use crate::blobs;
use crate::db;
use crate::digest::{is_hex64, Digest, DigestWriter};
use crate::driver::Driver;
use crate::error::{Result, StoreError};
use crate::images;
use crate::layout::{unique_suffix, Store};
use crate::oci::{self, ImageParts};

/// `store_config` key of images.json's identity when last looked at.
const SEEN_KEY: &str = "containers/storage images.json";

/// The table of adopted records, made on first use (stores that never
/// share their graph root never have it).
const TABLE: &str = "CREATE TABLE IF NOT EXISTS cstorage_images (
    id     TEXT PRIMARY KEY,  -- containers/storage's image ID
    stamp  TEXT NOT NULL      -- the record as adopted (see record_stamp)
)";

#[derive(Debug, Clone, Deserialize)]
struct CsImage {
    id: String,
    #[serde(default)]
    digest: String,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    layer: String,
}

#[derive(Debug, Clone, Deserialize)]
struct CsLayer {
    id: String,
    #[serde(default)]
    parent: String,
    #[serde(rename = "diff-digest", default)]
    diff_digest: String,
    #[serde(default)]
    flags: HashMap<String, serde_json::Value>,
}

fn images_dir(store: &Store) -> PathBuf {
    store.graph_root.join("overlay-images")
}

fn cs_layers_dir(store: &Store) -> PathBuf {
    store.graph_root.join("overlay-layers")
}

/// (inode, mtime in ns, size) of a file, as text; None when it is missing.
fn identity(p: &Path) -> Result<Option<String>> {
    match std::fs::metadata(p) {
        Ok(m) => Ok(Some(format!(
            "{}:{}.{}:{}",
            m.ino(),
            m.mtime(),
            m.mtime_nsec(),
            m.len()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::path("checking", p, e)),
    }
}

/// Adopt what containers/storage holds that we have not seen. Never fails
/// the caller's operation on our own images: problems are logged; an
/// image still being written (a part missing) is tried again at the next
/// look, one that cannot be adopted (a bad name, a layer that does not
/// match) when its record changes.
pub fn refresh(store: &Store) {
    if let Err(e) = try_refresh(store) {
        warn!(error = %e, "could not read the images containers/storage holds in this graph root");
    }
}

fn try_refresh(store: &Store) -> Result<()> {
    // containers/storage's vfs driver keeps its layers where ours are.
    if store.driver != Driver::Overlay {
        return Ok(());
    }
    let json = images_dir(store).join("images.json");
    let Some(now) = identity(&json)? else {
        return Ok(());
    };
    let conn = db::open(store)?;
    if seen(&conn)?.as_deref() == Some(now.as_str()) {
        return Ok(());
    }
    store.ensure_dirs()?;
    let _adopting = FileLock::exclusive(&store.locks_dir().join("cstorage-adopt"))?;
    // containers/storage's order: the layer store's lock, then the image
    // store's. Readers of both wait for their writers.
    let _layers_lock = crate::external::read_lock(&cs_layers_dir(store).join("layers.lock"))?;
    let _images_lock = crate::external::read_lock(&images_dir(store).join("images.lock"))?;
    let Some(now) = identity(&json)? else {
        return Ok(());
    };
    if seen(&conn)?.as_deref() == Some(now.as_str()) {
        return Ok(());
    }
    let cs_images: Vec<CsImage> = read_json(&json)?;
    let cs_layers: Vec<CsLayer> = match std::fs::metadata(cs_layers_dir(store).join("layers.json"))
    {
        Ok(_) => read_json(&cs_layers_dir(store).join("layers.json"))?,
        Err(_) => Vec::new(),
    };
    let by_id: HashMap<&str, &CsLayer> = cs_layers.iter().map(|l| (l.id.as_str(), l)).collect();
    conn.execute_batch(TABLE)
        .map_err(StoreError::db("creating the table of adopted images"))?;
    let mut all_done = true;
    for img in &cs_images {
        let stamp = match record_stamp(store, img) {
            Ok(s) => s,
            Err(e) => {
                warn!(image = %img.id, error = %e, "skipping a containers/storage image");
                all_done = false;
                continue;
            }
        };
        let old: Option<String> = conn
            .query_row(
                "SELECT stamp FROM cstorage_images WHERE id = ?1",
                [&img.id],
                |r| r.get(0),
            )
            .optional()
            .map_err(StoreError::db("reading adopted images"))?;
        if old.as_deref() == Some(stamp.as_str()) {
            continue;
        }
        match adopt(store, &conn, img, &by_id) {
            Ok(id) => {
                debug!(cstorage_id = %img.id, id = %id, names = ?img.names, "adopted a containers/storage image");
            }
            // Something still being written: tried again at the next look.
            Err(e @ StoreError::NotFound(_)) => {
                warn!(image = %img.id, names = ?img.names, error = %e, "could not adopt a containers/storage image yet");
                all_done = false;
                continue;
            }
            // Anything else stays so until the record changes: said once,
            // not at every command.
            Err(e) => {
                warn!(image = %img.id, names = ?img.names, error = %e, "could not adopt a containers/storage image");
            }
        }
        conn.execute(
            "INSERT OR REPLACE INTO cstorage_images (id, stamp) VALUES (?1, ?2)",
            params![img.id, stamp],
        )
        .map_err(StoreError::db("recording an adopted image"))?;
    }
    if all_done {
        conn.execute(
            "INSERT OR REPLACE INTO store_config (key, value) VALUES (?1, ?2)",
            params![SEEN_KEY, now],
        )
        .map_err(StoreError::db("recording what containers/storage holds"))?;
    }
    Ok(())
}

fn seen(conn: &Connection) -> Result<Option<String>> {
    conn.query_row(
        "SELECT value FROM store_config WHERE key = ?1",
        [SEEN_KEY],
        |r| r.get(0),
    )
    .optional()
    .map_err(StoreError::db("reading the store's config"))
}

fn read_json<T: serde::de::DeserializeOwned>(p: &Path) -> Result<T> {
    let data = std::fs::read(p).map_err(|e| StoreError::path("reading", p, e))?;
    serde_json::from_slice(&data).map_err(|e| {
        StoreError::FailedPrecondition(format!(
            "{}: not containers/storage's file: {e}",
            p.display()
        ))
    })
}

/// containers/storage's file name for an image's big-data item `key`
/// (makeBigDataBaseName): the key itself when it is made of `.`, digits
/// and lowercase letters, else `=` and its base64.
fn big_data_name(key: &str) -> String {
    use base64::Engine;
    if !key.is_empty()
        && key
            .bytes()
            .all(|b| b == b'.' || b.is_ascii_digit() || b.is_ascii_lowercase())
    {
        key.to_string()
    } else {
        format!("={}", base64::engine::general_purpose::STANDARD.encode(key))
    }
}

/// An image's big-data item, read inside its directory (16 MiB at most).
fn big_data(store: &Store, id: &str, key: &str) -> Result<Vec<u8>> {
    let dir = images_dir(store).join(id);
    let name = big_data_name(key);
    common::in_root::read_regular_in_root(&dir, Path::new(&name), 16 << 20)
        .map_err(|e| StoreError::path("reading", &dir.join(&name), e))?
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "containers/storage image {id} has no {key:?} (being written?)"
            ))
        })
}

/// What identifies this version of an image's record.
fn record_stamp(store: &Store, img: &CsImage) -> Result<String> {
    if !is_hex64(&img.id) {
        return Err(StoreError::FailedPrecondition(format!(
            "containers/storage names an invalid image ID {:?}",
            img.id
        )));
    }
    let manifest = images_dir(store).join(&img.id).join("manifest");
    let file = identity(&manifest)?.ok_or_else(|| {
        StoreError::NotFound(format!(
            "containers/storage image {} has no manifest (being written?)",
            img.id
        ))
    })?;
    Ok(format!("{} {} {}", img.digest, file, img.names.join(",")))
}

/// Adopt one image: its manifest and config, each layer rebuilt and
/// verified, then recorded under its names. Returns our image ID.
fn adopt(
    store: &Store,
    conn: &Connection,
    img: &CsImage,
    by_id: &HashMap<&str, &CsLayer>,
) -> Result<String> {
    let label = img
        .names
        .first()
        .cloned()
        .unwrap_or_else(|| img.id[..12].to_string());
    for n in &img.names {
        images::validate_name(n)?;
    }
    let (orig, orig_digest, media_type) = image_manifest(store, img)?;
    let m: oci::Manifest = serde_json::from_slice(&orig).map_err(|e| {
        StoreError::FailedPrecondition(format!("{label}: manifest {orig_digest} is not JSON: {e}"))
    })?;
    let config = m.config.as_ref().ok_or_else(|| {
        StoreError::FailedPrecondition(format!("{label}: manifest {orig_digest} has no config (Docker schema 1 images are not supported)"))
    })?;
    let config_digest = Digest::parse(&config.digest)?;
    let config_bytes = big_data(store, &img.id, config_digest.as_str())?;
    if Digest::of(&config_bytes) != config_digest {
        return Err(StoreError::DataLoss(format!(
            "{label}: its config does not match {config_digest}"
        )));
    }
    let (diff_ids, created) = oci::parse_config(&config_bytes, &config_digest, m.layers.len())?;
    let id = config_digest.hex().to_string();

    let _barrier = store.barrier()?;
    if images::load(conn, &id)?.is_some() {
        // Already ours (pulled here too): only the names are new.
        let tx = db::immediate(conn)?;
        for n in &img.names {
            images::add_name(&tx, &id, n)?;
        }
        images::record_history(&tx, &id)?;
        tx.commit()
            .map_err(StoreError::db(format!("naming image {}", &id[..12])))?;
        return Ok(id);
    }
    let chain = layer_chain(img, by_id, &diff_ids, &label)?;
    let mut layer_descs = Vec::with_capacity(chain.len());
    let mut layers = Vec::with_capacity(chain.len());
    for (i, cs) in chain.iter().enumerate() {
        let what = format!("layer {}/{} of {label}", i + 1, chain.len());
        let size = layer_blob(store, cs, &diff_ids[i], &what)?;
        let mt = if media_type == oci::DOCKER_MANIFEST {
            "application/vnd.docker.image.rootfs.diff.tar"
        } else {
            oci::OCI_LAYER_TAR
        };
        layer_descs.push(json!({"mediaType": mt, "digest": diff_ids[i].as_str(), "size": size}));
        layers.push((diff_ids[i].clone(), size, mt.to_string()));
    }
    blobs::write_bytes(store, &config_bytes)?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": config.media_type, "digest": config_digest.as_str(), "size": config_bytes.len()},
        "layers": layer_descs,
    });
    let manifest_bytes = serde_json::to_vec(&manifest)
        .map_err(|e| StoreError::io("serializing manifest", std::io::Error::other(e)))?;
    let manifest_digest = blobs::write_bytes(store, &manifest_bytes)?;
    let parts = ImageParts {
        manifest_bytes,
        manifest_digest,
        manifest_media_type: media_type.clone(),
        config_bytes,
        config_digest,
        layers,
        diff_ids,
        created,
    };
    let rec = crate::import::store_image(store, &parts, &HashSet::new(), &img.names, &label)?;
    // containers/storage's manifest is the image's digest, as in Podman
    // (`NAME@DIGEST` pulls it from its registry); export serves the one
    // whose blobs we hold.
    images::add_manifest(conn, &rec.id, &orig_digest, &media_type, &orig, true)?;
    Ok(rec.id)
}

/// The image's manifest for this machine (an index's instance for
/// linux/ARCH), its digest and media type.
fn image_manifest(store: &Store, img: &CsImage) -> Result<(Vec<u8>, Digest, String)> {
    let bytes = big_data(store, &img.id, "manifest")?;
    let m: oci::Manifest = serde_json::from_slice(&bytes).map_err(|e| {
        StoreError::FailedPrecondition(format!(
            "containers/storage image {}: its manifest is not JSON: {e}",
            img.id
        ))
    })?;
    let media_type = |m: &oci::Manifest, cfg_type: &str| {
        m.media_type
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| {
                if cfg_type.contains("docker") {
                    oci::DOCKER_MANIFEST.to_string()
                } else {
                    oci::OCI_MANIFEST.to_string()
                }
            })
    };
    let Some(list) = &m.manifests else {
        let mt = media_type(&m, m.config.as_ref().map_or("", |c| &c.media_type));
        return Ok((bytes.clone(), Digest::of(&bytes), mt));
    };
    let pick = list
        .iter()
        .find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.os == "linux" && p.architecture == oci::host_arch())
        })
        .ok_or_else(|| {
            StoreError::FailedPrecondition(format!(
                "containers/storage image {}: its index has no image for linux/{}",
                img.id,
                oci::host_arch()
            ))
        })?;
    let digest = Digest::parse(&pick.digest)?;
    let inner = big_data(store, &img.id, &format!("manifest-{digest}"))?;
    if Digest::of(&inner) != digest {
        return Err(StoreError::DataLoss(format!(
            "containers/storage image {}: manifest {digest} does not match its digest",
            img.id
        )));
    }
    let im: oci::Manifest = serde_json::from_slice(&inner).map_err(|e| {
        StoreError::FailedPrecondition(format!("manifest {digest} is not JSON: {e}"))
    })?;
    let mt = media_type(&im, im.config.as_ref().map_or("", |c| &c.media_type));
    Ok((inner, digest, mt))
}

/// The image's layers, bottom first, each checked against the config.
fn layer_chain<'a>(
    img: &CsImage,
    by_id: &HashMap<&str, &'a CsLayer>,
    diff_ids: &[Digest],
    label: &str,
) -> Result<Vec<&'a CsLayer>> {
    let mut chain = Vec::new();
    let mut next = img.layer.as_str();
    while !next.is_empty() {
        let l = by_id.get(next).ok_or_else(|| {
            StoreError::NotFound(format!(
                "{label}: containers/storage has no layer {next} (being written?)"
            ))
        })?;
        if l.flags.get("incomplete").and_then(|v| v.as_bool()) == Some(true) {
            return Err(StoreError::FailedPrecondition(format!(
                "{label}: containers/storage's layer {next} is incomplete"
            )));
        }
        chain.push(*l);
        if chain.len() > diff_ids.len() {
            break;
        }
        next = l.parent.as_str();
    }
    chain.reverse();
    if chain.len() != diff_ids.len() {
        return Err(StoreError::FailedPrecondition(format!(
            "{label}: containers/storage's layers do not match the {} layers of its config",
            diff_ids.len()
        )));
    }
    for (l, d) in chain.iter().zip(diff_ids) {
        if !l.diff_digest.is_empty() && l.diff_digest != d.as_str() {
            return Err(StoreError::DataLoss(format!(
                "{label}: containers/storage's layer {} records content {}, the config says {d}",
                l.id, l.diff_digest
            )));
        }
    }
    Ok(chain)
}

/// Make sure the uncompressed blob `diff_id` is in our store, rebuilt from
/// the layer's tar-split and files and verified; returns its size.
fn layer_blob(store: &Store, cs: &CsLayer, diff_id: &Digest, what: &str) -> Result<u64> {
    let dest = blobs::path(store, diff_id);
    if let Ok(m) = std::fs::metadata(&dest) {
        return Ok(m.len());
    }
    if !is_hex64(&cs.id) {
        return Err(StoreError::FailedPrecondition(format!(
            "{what}: containers/storage names an invalid layer ID {:?}",
            cs.id
        )));
    }
    let split = cs_layers_dir(store).join(format!("{}.tar-split.gz", cs.id));
    let diff = store.graph_root.join("overlay").join(&cs.id).join("diff");
    let tmp = store
        .tmp_dir()
        .join(format!("cstorage-layer-{}", unique_suffix()));
    let result = (|| {
        let file = File::create(&tmp).map_err(|e| StoreError::path("creating", &tmp, e))?;
        let mut out = DigestWriter::new(std::io::BufWriter::with_capacity(1 << 20, file));
        crate::tar_split::assemble(&split, &diff, &mut out).map_err(|e| e.context(what))?;
        let (digest, size, buffered) = out.finish();
        if &digest != diff_id {
            return Err(StoreError::DataLoss(format!(
                "{what}: containers/storage's files make content {digest}, the image needs {diff_id}: its layer was changed"
            )));
        }
        let file = buffered
            .into_inner()
            .map_err(|e| StoreError::path("writing", &tmp, e.into_error()))?;
        file.sync_all()
            .map_err(|e| StoreError::path("syncing", &tmp, e))?;
        std::fs::rename(&tmp, &dest)
            .map_err(|e| StoreError::path("renaming into place", &dest, e))?;
        Ok(size)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    #[test]
    fn big_data_names_are_containers_storage_s() {
        assert_eq!(super::big_data_name("manifest"), "manifest");
        assert_eq!(
            super::big_data_name("sha256:ab"),
            format!(
                "={}",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "sha256:ab")
            )
        );
        assert_eq!(
            super::big_data_name("manifest-sha256:ab"),
            "=bWFuaWZlc3Qtc2hhMjU2OmFi"
        );
    }
}
