//! Image records in the index: ID (config digest hex), names, manifests
//! (verbatim, one per digest it was stored under), config, size, created,
//! layer chain, and the blobs it keeps alive.

use common::time::now_unix;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::db;
use crate::digest::{is_hex64, Digest};
use crate::error::{Result, StoreError};

#[derive(Debug, Clone, Serialize)]
pub struct ImageRecord {
    pub id: String,
    pub names: Vec<String>,
    /// Every name the image had, most recent first (containers/storage's
    /// names-history).
    pub names_history: Vec<String>,
    pub digest: String,
    pub digests: Vec<String>,
    #[serde(skip)]
    pub manifest: Vec<u8>,
    pub manifest_media_type: String,
    #[serde(skip)]
    pub config: Vec<u8>,
    pub size: u64,
    pub created: String,
    pub layers: Vec<String>,
    /// The uncompressed size of each of `layers`.
    pub layer_sizes: Vec<u64>,
    pub added_unix: i64,
}

impl ImageRecord {
    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }

    /// "name (id)" or "id", for messages.
    pub fn label(&self) -> String {
        match self.names.first() {
            Some(n) => format!("{n} ({})", self.short_id()),
            None => self.short_id().to_string(),
        }
    }
}

pub fn load(conn: &Connection, id: &str) -> Result<Option<ImageRecord>> {
    let row = conn
        .query_row(
            "SELECT id, digest, config, size, created, added_unix FROM images WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            },
        )
        .optional()
        .map_err(StoreError::db(format!("reading image {id}")))?;
    let Some((id, digest, config, size, created, added_unix)) = row else {
        return Ok(None);
    };
    let names = strings(
        conn,
        "SELECT name FROM image_names WHERE image_id = ?1 ORDER BY seq",
        &id,
    )?;
    let (layers, layer_sizes) = layers_with_sizes(conn, &id)?;
    let names_history = strings(
        conn,
        "SELECT name FROM image_name_history WHERE image_id = ?1 ORDER BY seq DESC",
        &id,
    )?;
    let digests = strings(
        conn,
        "SELECT digest FROM image_manifests WHERE image_id = ?1 ORDER BY added_unix, digest",
        &id,
    )?;
    let (manifest, manifest_media_type) = conn
        .query_row(
            "SELECT manifest, media_type FROM image_manifests WHERE image_id = ?1 AND digest = ?2",
            params![id, digest],
            |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()
        .map_err(StoreError::db(format!("reading manifest of image {id}")))?
        .unwrap_or_default();
    Ok(Some(ImageRecord {
        id,
        names,
        names_history,
        digest,
        digests,
        manifest,
        manifest_media_type,
        config,
        size: size as u64,
        created,
        layers,
        layer_sizes,
        added_unix,
    }))
}

/// The manifest bytes and media type stored for `digest` of image `id`.
pub fn manifest(conn: &Connection, id: &str, digest: &str) -> Result<Option<(Vec<u8>, String)>> {
    conn.query_row(
        "SELECT manifest, media_type FROM image_manifests WHERE image_id = ?1 AND digest = ?2",
        params![id, digest],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .map_err(StoreError::db(format!("reading manifest {digest}")))
}

/// The image's layers (chain IDs, bottom first) and their sizes.
fn layers_with_sizes(conn: &Connection, id: &str) -> Result<(Vec<String>, Vec<u64>)> {
    let mut st = conn
        .prepare_cached(
            "SELECT il.chain_id, COALESCE(l.uncompressed_size, 0) FROM image_layers il \
             LEFT JOIN layers l ON l.chain_id = il.chain_id \
             WHERE il.image_id = ?1 ORDER BY il.position",
        )
        .map_err(StoreError::db("preparing a query"))?;
    let rows = st
        .query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .map_err(StoreError::db("querying"))?;
    let mut layers = Vec::new();
    let mut sizes = Vec::new();
    for row in rows {
        let (l, n) = row.map_err(StoreError::db("querying"))?;
        layers.push(l);
        sizes.push(n.max(0) as u64);
    }
    Ok((layers, sizes))
}

fn strings(conn: &Connection, sql: &str, arg: &str) -> Result<Vec<String>> {
    let mut st = conn
        .prepare_cached(sql)
        .map_err(StoreError::db("preparing a query"))?;
    let rows = st
        .query_map([arg], |r| r.get(0))
        .map_err(StoreError::db("querying"))?;
    rows.collect::<rusqlite::Result<Vec<String>>>()
        .map_err(StoreError::db("querying"))
}

/// Every image, newest first.
pub fn list(conn: &Connection) -> Result<Vec<ImageRecord>> {
    let mut ids: Vec<String> = Vec::new();
    {
        let mut st = conn
            .prepare("SELECT id FROM images ORDER BY added_unix DESC, id")
            .map_err(StoreError::db("listing images"))?;
        let rows = st
            .query_map([], |r| r.get(0))
            .map_err(StoreError::db("listing images"))?;
        for r in rows {
            ids.push(r.map_err(StoreError::db("listing images"))?);
        }
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(rec) = load(conn, &id)? {
            out.push(rec);
        }
    }
    Ok(out)
}

/// Refuse names that cannot be image references.
pub fn validate_name(name: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(StoreError::InvalidArgument(format!(
            "invalid image name {name:?}: {why}"
        )))
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > 1024 {
        return bad("it is longer than 1024 characters");
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it contains whitespace or control characters");
    }
    if is_hex64(name) || name.starts_with("sha256:") {
        return bad("it looks like an image ID; names must be references like registry/repo:tag");
    }
    let repo = name.split('@').next().unwrap_or(name);
    let path = match repo.rsplit_once(':') {
        Some((p, tag)) if !tag.contains('/') => p,
        _ => repo,
    };
    let repo_path = match path.split_once('/') {
        Some((host, rest)) if host.contains('.') || host.contains(':') || host == "localhost" => {
            rest
        }
        _ => path,
    };
    if repo_path.is_empty() || repo_path.chars().any(|c| c.is_ascii_uppercase()) {
        return bad("the repository must be non-empty and lowercase");
    }
    Ok(())
}

/// What a new image record holds.
#[derive(Debug, Clone)]
pub struct NewImage {
    pub id: String,
    pub manifest_digest: Digest,
    pub manifest_bytes: Vec<u8>,
    pub manifest_media_type: String,
    pub config_bytes: Vec<u8>,
    pub created: String,
    pub size: u64,
    pub layers: Vec<Digest>,
    pub blobs: Vec<Digest>,
    pub names: Vec<String>,
}

/// Record the image (or add a manifest digest and names to the existing
/// record with the same ID) in one transaction.
pub fn register(conn: &Connection, new: &NewImage) -> Result<()> {
    let what = format!("recording image {}", &new.id[..12]);
    let tx = db::immediate(conn)?;
    let now = now_unix();
    let exists: bool = tx
        .query_row("SELECT 1 FROM images WHERE id = ?1", [&new.id], |_| {
            Ok(true)
        })
        .optional()
        .map_err(StoreError::db(what.clone()))?
        .unwrap_or(false);
    if exists {
        tx.execute(
            "UPDATE images SET digest = ?2 WHERE id = ?1",
            params![new.id, new.manifest_digest.as_str()],
        )
        .map_err(StoreError::db(what.clone()))?;
    } else {
        tx.execute(
            "INSERT INTO images (id, digest, config, size, created, added_unix) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![new.id, new.manifest_digest.as_str(), new.config_bytes, new.size as i64, new.created, now],
        )
        .map_err(StoreError::db(what.clone()))?;
        for (i, l) in new.layers.iter().enumerate() {
            tx.execute(
                "INSERT INTO image_layers (image_id, position, chain_id) VALUES (?1, ?2, ?3)",
                params![new.id, i as i64, l.hex()],
            )
            .map_err(StoreError::db(what.clone()))?;
        }
    }
    tx.execute(
        "INSERT OR IGNORE INTO image_manifests (image_id, digest, media_type, manifest, added_unix) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![new.id, new.manifest_digest.as_str(), new.manifest_media_type, new.manifest_bytes, now],
    )
    .map_err(StoreError::db(what.clone()))?;
    for b in &new.blobs {
        tx.execute(
            "INSERT OR IGNORE INTO image_blobs (image_id, digest) VALUES (?1, ?2)",
            params![new.id, b.as_str()],
        )
        .map_err(StoreError::db(what.clone()))?;
    }
    for n in &new.names {
        add_name(&tx, &new.id, n)?;
    }
    record_history(&tx, &new.id)?;
    tx.commit().map_err(StoreError::db(what))
}

/// Give `name` to image `id`, taking it from whichever image had it.
pub fn add_name(tx: &Connection, id: &str, name: &str) -> Result<()> {
    let what = format!("naming image {} {name}", &id[..12.min(id.len())]);
    tx.execute(
        "DELETE FROM image_names WHERE name = ?1 AND image_id != ?2",
        params![name, id],
    )
    .map_err(StoreError::db(what.clone()))?;
    let seq: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM image_names WHERE image_id = ?1",
            [id],
            |r| r.get(0),
        )
        .map_err(StoreError::db(what.clone()))?;
    tx.execute(
        "INSERT OR IGNORE INTO image_names (name, image_id, seq) VALUES (?1, ?2, ?3)",
        params![name, id, seq],
    )
    .map_err(StoreError::db(what))?;
    Ok(())
}

/// After the names of image `id` changed: each name it has, in order,
/// moves to the front of its history (containers/storage's updateNames).
pub fn record_history(tx: &Connection, id: &str) -> Result<()> {
    let names = strings(
        tx,
        "SELECT name FROM image_names WHERE image_id = ?1 ORDER BY seq",
        id,
    )?;
    for n in names {
        tx.execute(
            "INSERT INTO image_name_history (image_id, name, seq)
             VALUES (?1, ?2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM image_name_history WHERE image_id = ?1))
             ON CONFLICT (image_id, name) DO UPDATE SET seq = excluded.seq",
            params![id, n],
        )
        .map_err(StoreError::db(format!("recording the names of image {id}")))?;
    }
    Ok(())
}

/// Add `name` to image `id`.
pub fn tag(conn: &Connection, id: &str, name: &str) -> Result<()> {
    validate_name(name)?;
    let tx = db::immediate(conn)?;
    add_name(&tx, id, name)?;
    record_history(&tx, id)?;
    tx.commit()
        .map_err(StoreError::db(format!("tagging {name}")))
}

/// Remove `name` (or every name when empty) from image `id`; returns the
/// names removed.
pub fn untag(conn: &Connection, id: &str, name: &str) -> Result<Vec<String>> {
    let tx = db::immediate(conn)?;
    let removed = if name.is_empty() {
        let names = strings(
            &tx,
            "SELECT name FROM image_names WHERE image_id = ?1 ORDER BY seq",
            id,
        )?;
        tx.execute("DELETE FROM image_names WHERE image_id = ?1", [id])
            .map_err(StoreError::db("untagging"))?;
        names
    } else {
        let n = tx
            .execute(
                "DELETE FROM image_names WHERE image_id = ?1 AND name = ?2",
                params![id, name],
            )
            .map_err(StoreError::db("untagging"))?;
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "image {} has no name {name:?}",
                &id[..12.min(id.len())]
            )));
        }
        vec![name.to_string()]
    };
    record_history(&tx, id)?;
    tx.commit().map_err(StoreError::db("untagging"))?;
    Ok(removed)
}

/// Containers (ids) created from image `id`.
pub fn containers_using(conn: &Connection, id: &str) -> Result<Vec<String>> {
    strings(
        conn,
        "SELECT id FROM containers WHERE image_id = ?1 ORDER BY id",
        id,
    )
}

/// Record `bytes` as a further manifest of image `id` under `digest`,
/// made the image's digest when `primary`.
pub fn add_manifest(
    conn: &Connection,
    id: &str,
    digest: &Digest,
    media_type: &str,
    bytes: &[u8],
    primary: bool,
) -> Result<()> {
    let what = format!("recording manifest {digest}");
    let tx = db::immediate(conn)?;
    tx.execute(
        "INSERT OR IGNORE INTO image_manifests (image_id, digest, media_type, manifest, added_unix) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, digest.as_str(), media_type, bytes, now_unix()],
    )
    .map_err(StoreError::db(what.clone()))?;
    if primary {
        tx.execute(
            "UPDATE images SET digest = ?2 WHERE id = ?1",
            params![id, digest.as_str()],
        )
        .map_err(StoreError::db(what.clone()))?;
    }
    tx.commit().map_err(StoreError::db(what))
}
