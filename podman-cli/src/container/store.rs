//! Containers in the state database: insert, resolve (name, full ID, ID
//! prefix), update state, list, delete. Each call is one transaction.

use rusqlite::{params, OptionalExtension};

use super::model::{ContainerConfig, ContainerState};
use crate::state::State;

#[derive(Debug, thiserror::Error)]
pub enum ContainerStoreError {
    #[error("no container with name or ID \"{0}\" found: no such container")]
    NotFound(String),
    #[error("more than one container matches ID prefix \"{0}\": give more characters of the ID")]
    Ambiguous(String),
    #[error("the container name \"{name}\" is already in use by {id}. You have to remove that container to be able to reuse that name: that name is already in use")]
    NameInUse { name: String, id: String },
    /// A create's `--name` that a container (ours, or another tool's in
    /// the same storage: `external`) already has, in Podman's words.
    #[error("creating container storage: the container name \"{name}\" is already in use by {id}. You have to remove that container to be able to reuse that name: that name is already in use{by}, or use --replace to instruct Podman to do so.", by = if *external { " by an external entity" } else { "" })]
    NameTaken {
        name: String,
        id: String,
        external: bool,
    },
    #[error("state database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("state database holds a container record that does not parse: {0}")]
    Corrupt(#[from] serde_json::Error),
}

pub type Record = (ContainerConfig, ContainerState);

fn row_to_record(config: String, state: String) -> Result<Record, ContainerStoreError> {
    Ok((
        serde_json::from_str(&config)?,
        serde_json::from_str(&state)?,
    ))
}

pub fn insert(
    db: &State,
    cfg: &ContainerConfig,
    st: &ContainerState,
) -> Result<(), ContainerStoreError> {
    let conn = db.connection();
    let existing: Option<String> = conn
        .query_row(
            "SELECT id FROM containers WHERE name = ?1",
            [&cfg.name],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = existing {
        return Err(ContainerStoreError::NameInUse {
            name: cfg.name.clone(),
            id,
        });
    }
    let res = conn.execute(
        "INSERT INTO containers (id, name, image_id, config, state, status, created_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![cfg.id, cfg.name, cfg.image_id, serde_json::to_string(cfg)?, serde_json::to_string(st)?, st.status.as_str(), cfg.created_ns],
    );
    match res {
        Ok(_) => Ok(()),
        // Lost a race with another podman for the same name.
        Err(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            let id: String = conn
                .query_row(
                    "SELECT id FROM containers WHERE name = ?1",
                    [&cfg.name],
                    |r| r.get(0),
                )
                .unwrap_or_default();
            Err(ContainerStoreError::NameInUse {
                name: cfg.name.clone(),
                id,
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// Resolve a full ID, an exact name, or a unique ID prefix.
pub fn resolve(db: &State, name_or_id: &str) -> Result<Record, ContainerStoreError> {
    // Docker's API names containers "/NAME": Podman finds them either way.
    let name_or_id = match name_or_id.strip_prefix('/') {
        Some(n) if !n.is_empty() => n,
        _ => name_or_id,
    };
    let conn = db.connection();
    let exact: Option<(String, String)> = conn
        .query_row(
            "SELECT config, state FROM containers WHERE id = ?1 OR name = ?1 ORDER BY (id = ?1) DESC LIMIT 1",
            [name_or_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((c, s)) = exact {
        return row_to_record(c, s);
    }
    if name_or_id.is_empty() || !name_or_id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ContainerStoreError::NotFound(name_or_id.to_string()));
    }
    let mut stmt = conn
        .prepare_cached("SELECT config, state FROM containers WHERE id LIKE ?1 || '%' LIMIT 2")?;
    let rows: Vec<(String, String)> = stmt
        .query_map([name_or_id.to_ascii_lowercase()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    match rows.len() {
        0 => Err(ContainerStoreError::NotFound(name_or_id.to_string())),
        1 => {
            let (c, s) = rows
                .into_iter()
                .next()
                .ok_or_else(|| ContainerStoreError::NotFound(name_or_id.to_string()))?;
            row_to_record(c, s)
        }
        _ => Err(ContainerStoreError::Ambiguous(name_or_id.to_string())),
    }
}

pub fn exists(db: &State, name_or_id: &str) -> Result<bool, ContainerStoreError> {
    match resolve(db, name_or_id) {
        Ok(_) => Ok(true),
        Err(ContainerStoreError::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn update_state(db: &State, id: &str, st: &ContainerState) -> Result<(), ContainerStoreError> {
    let n = db.connection().execute(
        "UPDATE containers SET state = ?2, status = ?3 WHERE id = ?1",
        params![id, serde_json::to_string(st)?, st.status.as_str()],
    )?;
    if n == 0 {
        return Err(ContainerStoreError::NotFound(id.to_string()));
    }
    Ok(())
}

/// All containers, oldest first.
pub fn list(db: &State) -> Result<Vec<Record>, ContainerStoreError> {
    let mut stmt = db
        .connection()
        .prepare_cached("SELECT config, state FROM containers ORDER BY created_ns, id")?;
    let rows: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    rows.into_iter().map(|(c, s)| row_to_record(c, s)).collect()
}

/// The most recently created container (`--latest`).
/// IDs of the containers created from image `image_id`.
pub fn using_image(db: &State, image_id: &str) -> Result<Vec<String>, ContainerStoreError> {
    Ok(list(db)?
        .into_iter()
        .filter(|(c, _)| c.image_id == image_id)
        .map(|(c, _)| c.id)
        .collect())
}

pub fn latest(db: &State) -> Result<Record, ContainerStoreError> {
    let row: Option<(String, String)> = db
        .connection()
        .query_row(
            "SELECT config, state FROM containers ORDER BY created_ns DESC, id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (c, s) = row.ok_or_else(|| ContainerStoreError::NotFound("--latest".into()))?;
    row_to_record(c, s)
}

pub fn delete(db: &State, id: &str) -> Result<(), ContainerStoreError> {
    db.connection()
        .execute("DELETE FROM containers WHERE id = ?1", [id])?;
    Ok(())
}

/// Replace a container's configuration (network connect/disconnect).
pub fn update_config(db: &State, cfg: &ContainerConfig) -> Result<(), ContainerStoreError> {
    db.connection().execute(
        "UPDATE containers SET config = ?2 WHERE id = ?1",
        params![cfg.id, serde_json::to_string(cfg)?],
    )?;
    Ok(())
}

pub fn rename(db: &State, id: &str, cfg: &ContainerConfig) -> Result<(), ContainerStoreError> {
    let taken: Option<String> = db
        .connection()
        .query_row(
            "SELECT id FROM containers WHERE name = ?1 AND id != ?2",
            params![cfg.name, id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(other) = taken {
        return Err(ContainerStoreError::NameInUse {
            name: cfg.name.clone(),
            id: other,
        });
    }
    db.connection().execute(
        "UPDATE containers SET name = ?2, config = ?3 WHERE id = ?1",
        params![id, cfg.name, serde_json::to_string(cfg)?],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::model::Status;

    fn db() -> (tempfile::TempDir, State) {
        let d = tempfile::tempdir().unwrap();
        let s = State::open(
            &d.path().join("db.sql"),
            std::path::Path::new("/run/t"),
            "overlay",
        )
        .unwrap();
        (d, s)
    }

    fn cfg(id: &str, name: &str, created: i64) -> ContainerConfig {
        ContainerConfig {
            id: id.into(),
            name: name.into(),
            created_ns: created,
            ..Default::default()
        }
    }

    #[test]
    fn resolve_by_id_name_and_prefix() {
        let (_d, s) = db();
        insert(&s, &cfg("abc123", "web", 1), &ContainerState::default()).unwrap();
        insert(&s, &cfg("abd456", "db", 2), &ContainerState::default()).unwrap();
        assert_eq!(resolve(&s, "web").unwrap().0.id, "abc123");
        assert_eq!(resolve(&s, "abc123").unwrap().0.name, "web");
        assert_eq!(resolve(&s, "abd").unwrap().0.name, "db");
        assert!(matches!(
            resolve(&s, "ab"),
            Err(ContainerStoreError::Ambiguous(_))
        ));
        assert!(matches!(
            resolve(&s, "zzz"),
            Err(ContainerStoreError::NotFound(_))
        ));
        assert_eq!(latest(&s).unwrap().0.name, "db");
    }

    #[test]
    fn names_are_unique_and_state_updates() {
        let (_d, s) = db();
        insert(&s, &cfg("a1", "web", 1), &ContainerState::default()).unwrap();
        let e = insert(&s, &cfg("b2", "web", 2), &ContainerState::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("already in use by a1"), "{e}");
        let st = ContainerState {
            status: Status::Running,
            pid: 42,
            ..Default::default()
        };
        update_state(&s, "a1", &st).unwrap();
        assert_eq!(resolve(&s, "web").unwrap().1.pid, 42);
        assert_eq!(s.container_counts().unwrap().running, 1);
        delete(&s, "a1").unwrap();
        assert!(!exists(&s, "web").unwrap());
    }
}
