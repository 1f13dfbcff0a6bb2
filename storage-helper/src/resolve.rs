//! Finding an image the way Podman does: full ID, `sha256:ID`, exact name,
//! name + `:latest`, `repo@sha256:DIGEST`, manifest digest, unique ID
//! prefix, and last a short name (`bb`, `bb:1`) matching one stored name
//! whatever its registry.

use rusqlite::Connection;

use crate::digest::{is_hex64, is_lower_hex};
use crate::error::{Result, StoreError};
use crate::images::{self, ImageRecord};

#[derive(Debug, Clone)]
pub struct Resolved {
    pub image: ImageRecord,
    /// The name the spec matched, when it matched a name.
    pub by_name: Option<String>,
}

pub fn resolve(conn: &Connection, spec: &str) -> Result<Resolved> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err(StoreError::InvalidArgument(
            "no image given: pass a name or ID".into(),
        ));
    }
    let by_id = |id: &str| -> Result<Option<Resolved>> {
        Ok(images::load(conn, id)?.map(|image| Resolved {
            image,
            by_name: None,
        }))
    };
    let by_name = |name: &str| -> Result<Option<Resolved>> {
        match image_of_name(conn, name)? {
            Some(id) => Ok(images::load(conn, &id)?.map(|image| Resolved {
                image,
                by_name: Some(name.to_string()),
            })),
            None => Ok(None),
        }
    };

    if let Some(hex) = spec.strip_prefix("sha256:") {
        if is_hex64(hex) {
            if let Some(r) = by_id(hex)? {
                return Ok(r);
            }
            let ids = ids_with_manifest(conn, spec)?;
            if let Some(id) = ids.first() {
                if let Some(r) = by_id(id)? {
                    return Ok(r);
                }
            }
        } else if is_lower_hex(hex) {
            return by_prefix(conn, spec, hex);
        }
        return Err(not_known(spec));
    }
    if let Some(r) = by_name(spec)? {
        return Ok(r);
    }
    if is_hex64(spec) {
        if let Some(r) = by_id(spec)? {
            return Ok(r);
        }
    }
    if let Some((repo, digest)) = spec.split_once('@') {
        for id in ids_with_manifest(conn, digest)? {
            if let Some(image) = images::load(conn, &id)? {
                if let Some(n) = image
                    .names
                    .iter()
                    .find(|n| repo_of(n) == repo || short_matches(repo_of(n), repo))
                    .cloned()
                {
                    return Ok(Resolved {
                        image,
                        by_name: Some(n),
                    });
                }
            }
        }
        return Err(not_known(spec));
    }
    let tagged = if has_tag(spec) {
        spec.to_string()
    } else {
        format!("{spec}:latest")
    };
    if tagged != spec {
        if let Some(r) = by_name(&tagged)? {
            return Ok(r);
        }
    }
    if is_lower_hex(spec) {
        match by_prefix(conn, spec, spec) {
            Ok(r) => return Ok(r),
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    // A short name: match stored names whatever their registry/namespace.
    let all = all_names(conn)?;
    let mut hits: Vec<(String, String)> = all
        .into_iter()
        .filter(|(n, _)| short_matches(n, &tagged))
        .collect();
    hits.sort();
    let mut ids: Vec<&String> = hits.iter().map(|(_, id)| id).collect();
    ids.dedup();
    match ids.as_slice() {
        [] => Err(not_known(spec)),
        [id] => {
            let id = (*id).clone();
            let name = hits[0].0.clone();
            images::load(conn, &id)?
                .map(|image| Resolved {
                    image,
                    by_name: Some(name),
                })
                .ok_or_else(|| not_known(spec))
        }
        _ => Err(StoreError::FailedPrecondition(format!(
            "short name {spec:?} matches several images ({}): use a fully qualified name",
            hits.iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn not_known(spec: &str) -> StoreError {
    StoreError::NotFound(format!("{spec}: image not known"))
}

fn by_prefix(conn: &Connection, spec: &str, prefix: &str) -> Result<Resolved> {
    let mut st = conn
        .prepare("SELECT id FROM images WHERE substr(id, 1, ?2) = ?1 LIMIT 3")
        .map_err(StoreError::db("looking up an ID prefix"))?;
    let rows = st
        .query_map(rusqlite::params![prefix, prefix.len() as i64], |r| {
            r.get::<_, String>(0)
        })
        .map_err(StoreError::db("looking up an ID prefix"))?;
    let ids = rows
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(StoreError::db("looking up an ID prefix"))?;
    match ids.as_slice() {
        [] => Err(not_known(spec)),
        [id] => images::load(conn, id)?
            .map(|image| Resolved {
                image,
                by_name: None,
            })
            .ok_or_else(|| not_known(spec)),
        _ => Err(StoreError::FailedPrecondition(format!(
            "short ID {spec:?} is ambiguous (it matches several images): give more characters"
        ))),
    }
}

fn image_of_name(conn: &Connection, name: &str) -> Result<Option<String>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT image_id FROM image_names WHERE name = ?1",
        [name],
        |r| r.get(0),
    )
    .optional()
    .map_err(StoreError::db("looking up a name"))
}

fn ids_with_manifest(conn: &Connection, digest: &str) -> Result<Vec<String>> {
    let mut st = conn
        .prepare(
            "SELECT DISTINCT image_id FROM image_manifests WHERE digest = ?1 ORDER BY image_id",
        )
        .map_err(StoreError::db("looking up a digest"))?;
    let rows = st
        .query_map([digest], |r| r.get(0))
        .map_err(StoreError::db("looking up a digest"))?;
    rows.collect::<rusqlite::Result<Vec<String>>>()
        .map_err(StoreError::db("looking up a digest"))
}

fn all_names(conn: &Connection) -> Result<Vec<(String, String)>> {
    let mut st = conn
        .prepare("SELECT name, image_id FROM image_names")
        .map_err(StoreError::db("listing names"))?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(StoreError::db("listing names"))?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(StoreError::db("listing names"))
}

/// Whether the last path component of `name` carries a `:tag`.
pub fn has_tag(name: &str) -> bool {
    let last = name.rsplit('/').next().unwrap_or(name);
    last.contains(':')
}

/// `registry/repo` of `registry/repo:tag` or `registry/repo@digest`.
pub fn repo_of(name: &str) -> &str {
    let name = name.split('@').next().unwrap_or(name);
    if has_tag(name) {
        name.rsplit_once(':').map(|(r, _)| r).unwrap_or(name)
    } else {
        name
    }
}

/// `short` (e.g. `bb:latest`, `library/bb:latest`) is `full` without its
/// leading registry/namespace components.
fn short_matches(full: &str, short: &str) -> bool {
    full == short
        || full
            .strip_suffix(short)
            .is_some_and(|rest| rest.ends_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_like_references() {
        assert!(has_tag("127.0.0.1:5000/bb:latest"));
        assert!(!has_tag("127.0.0.1:5000/bb"));
        assert_eq!(repo_of("127.0.0.1:5000/bb:latest"), "127.0.0.1:5000/bb");
        assert_eq!(repo_of("127.0.0.1:5000/bb"), "127.0.0.1:5000/bb");
        assert!(short_matches("127.0.0.1:5000/bb:latest", "bb:latest"));
        assert!(short_matches(
            "docker.io/library/bb:latest",
            "library/bb:latest"
        ));
        assert!(!short_matches("127.0.0.1:5000/abb:latest", "bb:latest"));
    }
}
