//! Pods in the state database: insert, resolve (name, full ID, ID
//! prefix), list, delete, and their members (containers.pod_id). Each call
//! is one transaction.

use rusqlite::{params, OptionalExtension};

use super::PodConfig;
use crate::container::store::{ContainerStoreError, Record};
use crate::state::State;

#[derive(Debug, thiserror::Error)]
pub enum PodStoreError {
    #[error("no pod with name or ID {0} found: no such pod")]
    NotFound(String),
    #[error("more than one pod matches ID prefix \"{0}\": give more characters of the ID")]
    Ambiguous(String),
    #[error("adding pod to state: name \"{0}\" is in use: pod already exists")]
    NameInUse(String),
    #[error("state database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("state database holds a pod record that does not parse: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error(transparent)]
    Container(#[from] ContainerStoreError),
}

pub fn insert(db: &State, p: &PodConfig) -> Result<(), PodStoreError> {
    let conn = db.connection();
    let res = conn.execute(
        "INSERT INTO pods (id, name, config, created_ns) VALUES (?1, ?2, ?3, ?4)",
        params![p.id, p.name, serde_json::to_string(p)?, p.created_ns],
    );
    match res {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(PodStoreError::NameInUse(p.name.clone()))
        }
        Err(e) => Err(e.into()),
    }
}

pub fn update(db: &State, p: &PodConfig) -> Result<(), PodStoreError> {
    db.connection().execute(
        "UPDATE pods SET config = ?2 WHERE id = ?1",
        params![p.id, serde_json::to_string(p)?],
    )?;
    Ok(())
}

/// Whether a pod is named `name`.
pub fn name_taken(db: &State, name: &str) -> Result<bool, PodStoreError> {
    Ok(db
        .connection()
        .query_row("SELECT 1 FROM pods WHERE name = ?1", [name], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Resolve a full ID, an exact name, or a unique ID prefix.
pub fn resolve(db: &State, name_or_id: &str) -> Result<PodConfig, PodStoreError> {
    let conn = db.connection();
    let exact: Option<String> = conn
        .query_row(
            "SELECT config FROM pods WHERE id = ?1 OR name = ?1 ORDER BY (id = ?1) DESC LIMIT 1",
            [name_or_id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(c) = exact {
        return Ok(serde_json::from_str(&c)?);
    }
    if name_or_id.is_empty() || !name_or_id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(PodStoreError::NotFound(name_or_id.to_string()));
    }
    let mut stmt =
        conn.prepare_cached("SELECT config FROM pods WHERE id LIKE ?1 || '%' LIMIT 2")?;
    let rows: Vec<String> = stmt
        .query_map([name_or_id.to_ascii_lowercase()], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    match rows.as_slice() {
        [one] => Ok(serde_json::from_str(one)?),
        [] => Err(PodStoreError::NotFound(name_or_id.to_string())),
        _ => Err(PodStoreError::Ambiguous(name_or_id.to_string())),
    }
}

/// All pods, oldest first.
pub fn list(db: &State) -> Result<Vec<PodConfig>, PodStoreError> {
    let mut stmt = db
        .connection()
        .prepare_cached("SELECT config FROM pods ORDER BY created_ns, id")?;
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(rows
        .iter()
        .map(|c| serde_json::from_str(c))
        .collect::<Result<_, _>>()?)
}

/// The pod's containers, oldest first (the infra container among them).
pub fn members(db: &State, pod_id: &str) -> Result<Vec<Record>, PodStoreError> {
    let mut stmt = db.connection().prepare_cached(
        "SELECT config, state FROM containers WHERE pod_id = ?1 ORDER BY created_ns, id",
    )?;
    let rows: Vec<(String, String)> = stmt
        .query_map([pod_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(c, s)| Ok((serde_json::from_str(&c)?, serde_json::from_str(&s)?)))
        .collect()
}

/// Record container `ctr_id` as a member of pod `pod_id`.
pub fn set_member(db: &State, ctr_id: &str, pod_id: &str) -> Result<(), PodStoreError> {
    db.connection().execute(
        "UPDATE containers SET pod_id = ?2 WHERE id = ?1",
        params![ctr_id, pod_id],
    )?;
    Ok(())
}

/// Delete the pod's row; its containers must be gone.
pub fn delete(db: &State, id: &str) -> Result<(), PodStoreError> {
    db.connection()
        .execute("DELETE FROM pods WHERE id = ?1", [id])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::model::{ContainerConfig, ContainerState};

    #[test]
    fn pods_resolve_and_hold_members() {
        let d = tempfile::tempdir().unwrap();
        let s = State::open(
            &d.path().join("db.sql"),
            std::path::Path::new("/run/t"),
            "overlay",
        )
        .unwrap();
        let p = PodConfig {
            id: "abc123".into(),
            name: "web".into(),
            ..Default::default()
        };
        insert(&s, &p).unwrap();
        assert!(matches!(
            insert(
                &s,
                &PodConfig {
                    id: "zz".into(),
                    ..p.clone()
                }
            ),
            Err(PodStoreError::NameInUse(_))
        ));
        assert_eq!(resolve(&s, "web").unwrap().id, "abc123");
        assert_eq!(resolve(&s, "abc").unwrap().name, "web");
        assert!(matches!(
            resolve(&s, "nope"),
            Err(PodStoreError::NotFound(_))
        ));
        let c = ContainerConfig {
            id: "c1".into(),
            name: "c".into(),
            ..Default::default()
        };
        crate::container::store::insert(&s, &c, &ContainerState::default()).unwrap();
        set_member(&s, "c1", "abc123").unwrap();
        assert_eq!(members(&s, "abc123").unwrap().len(), 1);
        crate::container::store::delete(&s, "c1").unwrap();
        delete(&s, "abc123").unwrap();
        assert!(list(&s).unwrap().is_empty());
    }
}
