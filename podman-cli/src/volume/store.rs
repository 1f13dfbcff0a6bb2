//! Volumes in the state database: insert, get, list, update, delete. Each
//! call is one statement (one transaction).

use std::path::PathBuf;

use rusqlite::{params, OptionalExtension};

use super::{Volume, VolumeConfig, VolumeState};
use crate::state::State;

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("no volume with name \"{0}\" found: no such volume")]
    NotFound(String),
    #[error("volume with name {0} already exists: volume already exists")]
    NameInUse(String),
    #[error("running volume create option: {}", common::names::NAME_RULE_ERROR)]
    InvalidName(String),
    #[error("volume driver {0:?} is not supported: only the local driver is (no volume plugins are configured)")]
    Driver(String),
    #[error("{0}")]
    Option(String),
    #[error(
        "volume {name} is being used by the following container(s): {ids}: volume is being used"
    )]
    InUse { name: String, ids: String },
    #[error("making a volume name: {0}")]
    Random(std::io::Error),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error(transparent)]
    Fs(common::FsError),
    #[error("state database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("state database holds a volume record that does not parse: {0}")]
    Corrupt(#[from] serde_json::Error),
}

fn row(config: String, state: String, rowid: i64) -> Result<Volume, VolumeError> {
    let mut config: VolumeConfig = serde_json::from_str(&config)?;
    config.lock_number = rowid as u32;
    Ok(Volume {
        config,
        state: serde_json::from_str(&state)?,
    })
}

/// Record a new volume; its lock number is its row's.
pub fn insert(
    db: &State,
    mut cfg: VolumeConfig,
    st: &VolumeState,
) -> Result<VolumeConfig, VolumeError> {
    let conn = db.connection();
    let res = conn.execute(
        "INSERT INTO volumes (name, config, state, created_ns) VALUES (?1, ?2, ?3, ?4)",
        params![
            cfg.name,
            serde_json::to_string(&cfg)?,
            serde_json::to_string(st)?,
            cfg.created_ns
        ],
    );
    match res {
        Ok(_) => {
            cfg.lock_number = conn.last_insert_rowid() as u32;
            Ok(cfg)
        }
        Err(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(VolumeError::NameInUse(cfg.name))
        }
        Err(e) => Err(e.into()),
    }
}

pub fn get(db: &State, name: &str) -> Result<Volume, VolumeError> {
    let r: Option<(String, String, i64)> = db
        .connection()
        .query_row(
            "SELECT config, state, rowid FROM volumes WHERE name = ?1",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    match r {
        Some((c, s, id)) => row(c, s, id),
        None => Err(VolumeError::NotFound(name.to_string())),
    }
}

pub fn exists(db: &State, name: &str) -> Result<bool, VolumeError> {
    match get(db, name) {
        Ok(_) => Ok(true),
        Err(VolumeError::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Every volume, oldest first.
pub fn list(db: &State) -> Result<Vec<Volume>, VolumeError> {
    let conn = db.connection();
    let mut stmt =
        conn.prepare_cached("SELECT config, state, rowid FROM volumes ORDER BY created_ns, name")?;
    let rows: Vec<(String, String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    rows.into_iter().map(|(c, s, id)| row(c, s, id)).collect()
}

pub fn update_state(db: &State, name: &str, st: &VolumeState) -> Result<(), VolumeError> {
    let n = db.connection().execute(
        "UPDATE volumes SET state = ?2 WHERE name = ?1",
        params![name, serde_json::to_string(st)?],
    )?;
    if n == 0 {
        return Err(VolumeError::NotFound(name.to_string()));
    }
    Ok(())
}

pub fn delete(db: &State, name: &str) -> Result<(), VolumeError> {
    db.connection()
        .execute("DELETE FROM volumes WHERE name = ?1", [name])?;
    Ok(())
}
