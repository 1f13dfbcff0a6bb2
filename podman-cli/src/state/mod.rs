//! The state database: SQLite in WAL mode under the graph root.
//!
//! Many `podman` processes open it at once. Each connection waits for locks
//! (busy timeout) instead of failing, schema changes run in one
//! `BEGIN IMMEDIATE` transaction guarded by `PRAGMA user_version`, and
//! every state change is its own transaction.

mod migrations;
pub mod pool;

pub use pool::open_state;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("state database {path}: {source}")]
    Dir {
        path: PathBuf,
        source: common::FsError,
    },
    #[error("state database {path} has schema version {found}, newer than this podman knows ({known}): upgrade podman")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    /// libpod's words (scripts match "database configuration mismatch");
    /// the fix is the recorded value's flag, or another --root.
    #[error("database {key} {recorded:?} does not match our {key} {current:?}: database configuration mismatch")]
    Mismatch {
        key: &'static str,
        recorded: String,
        current: String,
    },
}

/// How long to keep retrying an operation SQLite refused with SQLITE_BUSY
/// without consulting the busy handler (lock upgrades, journal mode).
const BUSY_RETRY_FOR: Duration = Duration::from_secs(30);

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy || f.code == rusqlite::ErrorCode::DatabaseLocked)
}

/// Run `f` again while `busy` says its error was SQLITE_BUSY, with backoff.
fn retry_while<T, E>(
    busy: impl Fn(&E) -> bool,
    mut f: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let deadline = std::time::Instant::now() + BUSY_RETRY_FOR;
    let mut wait = Duration::from_millis(1);
    loop {
        match f() {
            Err(e) if busy(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_millis(50));
            }
            r => return r,
        }
    }
}

fn retry_busy<T>(f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    retry_while(is_busy, f)
}

fn retry_busy_state<T>(f: impl FnMut() -> Result<T, StateError>) -> Result<T, StateError> {
    retry_while(
        |e: &StateError| matches!(e, StateError::Sqlite { source, .. } if is_busy(source)),
        f,
    )
}

pub struct State {
    conn: Connection,
    path: PathBuf,
}

/// Container counts by status, for `podman info`.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct ContainerCounts {
    pub number: u64,
    pub paused: u64,
    pub running: u64,
    pub stopped: u64,
}

/// WAL pages after which a commit checkpoints (see [`State::open`]).
pub const WAL_CHECKPOINT_PAGES: i64 = 64;

impl State {
    /// Open (creating and migrating if needed) the database at `path`, and
    /// check it belongs to this store layout.
    pub fn open(path: &Path, run_root: &Path, driver: &str) -> Result<Self, StateError> {
        let sql = |source| StateError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        // The graph root and run root are private, and the database (it
        // holds every container's environment) is 0600 with its WAL files,
        // which SQLite creates with the database's mode. Stores made before
        // are tightened here.
        let private = |source| StateError::Dir {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            common::private_dir::ensure(dir).map_err(private)?;
        }
        // The run root may keep search for all: podman grants it for
        // containers in their own user namespace (see lifecycle::start).
        common::private_dir::create(run_root).map_err(private)?;
        common::private_dir::tighten(run_root, 0o711).map_err(private)?;
        common::private_dir::ensure_database(path).map_err(private)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(sql)?;
        // Switching to WAL can answer SQLITE_BUSY without waiting on the busy
        // handler while another process creates the file: retry.
        retry_busy(|| {
            let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                conn.pragma_update(None, "journal_mode", "WAL")?;
            }
            Ok(())
        })
        .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        // Every podman command opens and closes the database; the last
        // close would checkpoint the WAL into it (four fsyncs) each time.
        // Automatic checkpoints do that work instead, every 64 pages: the
        // first open of each command reads the whole WAL back (SQLite
        // rebuilds its index), so the WAL is kept short (SQLite's default,
        // 1000 pages, made every command read up to 4 MB).
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .map_err(sql)?;
        conn.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)
            .map_err(sql)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql)?;
        let mut st = State {
            conn,
            path: path.to_path_buf(),
        };
        retry_busy_state(|| st.migrate())?;
        retry_busy_state(|| st.check_store(run_root, driver))?;
        Ok(st)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// No transaction open: the connection can serve another step.
    pub fn is_idle(&self) -> bool {
        self.conn.is_autocommit()
    }

    fn sql_err(&self) -> impl Fn(rusqlite::Error) -> StateError + '_ {
        move |source| StateError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    pub fn schema_version(&self) -> Result<i64, StateError> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(self.sql_err())
    }

    fn migrate(&mut self) -> Result<(), StateError> {
        let known = migrations::MIGRATIONS.len() as i64;
        if self.schema_version()? == known {
            return Ok(());
        }
        let path = self.path.clone();
        let sql = |source| StateError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        // Another process may have migrated while we waited for the lock.
        let current: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sql)?;
        if current > known {
            return Err(StateError::TooNew {
                path,
                found: current,
                known,
            });
        }
        for (i, m) in migrations::MIGRATIONS
            .iter()
            .enumerate()
            .skip(current as usize)
        {
            tracing::debug!(version = i + 1, "applying state database migration");
            tx.execute_batch(m).map_err(sql)?;
        }
        tx.pragma_update(None, "user_version", known).map_err(sql)?;
        tx.commit().map_err(sql)
    }

    /// Record the run root and driver on first use; refuse a mismatch later
    /// (like Podman's "database configuration mismatch").
    fn check_store(&mut self, run_root: &Path, driver: &str) -> Result<(), StateError> {
        let path = self.path.clone();
        let sql = |source| StateError::Sqlite {
            path: path.clone(),
            source,
        };
        // The common case reads only: no write transaction (and no fsync)
        // for every podman invocation.
        // (key in db_config, libpod's name for it, our value)
        let expected = [
            ("run root", "run root", run_root.display().to_string()),
            ("storage driver", "graph driver", driver.to_string()),
        ];
        let mut all_recorded = true;
        for (key, podman_name, current) in &expected {
            let recorded: Option<String> = self
                .conn
                .query_row("SELECT value FROM db_config WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .map(Some)
                .or_else(|e| {
                    if matches!(e, rusqlite::Error::QueryReturnedNoRows) {
                        Ok(None)
                    } else {
                        Err(e)
                    }
                })
                .map_err(sql)?;
            match recorded {
                Some(r) if r != *current => {
                    return Err(StateError::Mismatch {
                        key: podman_name,
                        recorded: r,
                        current: current.clone(),
                    })
                }
                Some(_) => {}
                None => all_recorded = false,
            }
        }
        if all_recorded {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        for (key, podman_name, current) in expected {
            tx.execute(
                "INSERT OR IGNORE INTO db_config (key, value) VALUES (?1, ?2)",
                (key, &current),
            )
            .map_err(sql)?;
            let recorded: String = tx
                .query_row("SELECT value FROM db_config WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .map_err(sql)?;
            if recorded != current {
                return Err(StateError::Mismatch {
                    key: podman_name,
                    recorded,
                    current,
                });
            }
        }
        tx.commit().map_err(sql)
    }

    pub fn container_counts(&self) -> Result<ContainerCounts, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT status, COUNT(*) FROM containers GROUP BY status")
            .map_err(self.sql_err())?;
        let mut c = ContainerCounts::default();
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))
            .map_err(self.sql_err())?;
        for row in rows {
            let (status, n) = row.map_err(self.sql_err())?;
            c.number += n;
            match status.as_str() {
                "running" => c.running += n,
                "paused" => c.paused += n,
                "exited" | "stopped" => c.stopped += n,
                _ => {}
            }
        }
        Ok(c)
    }

    /// Append an event to the (legacy) events table; `podman events` uses
    /// the file backend (crate::events) instead.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn record_event(
        &self,
        kind: &str,
        action: &str,
        id: &str,
        name: &str,
        attributes: &serde_json::Value,
    ) -> Result<(), StateError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        self.conn
            .execute(
                "INSERT INTO events (time_ns, type, action, object_id, name, attributes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                (now, kind, action, id, name, attributes.to_string()),
            )
            .map(|_| ())
            .map_err(self.sql_err())
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_counts() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("db.sql");
        let s = State::open(&p, Path::new("/run/x"), "overlay").unwrap();
        assert_eq!(
            s.schema_version().unwrap(),
            migrations::MIGRATIONS.len() as i64
        );
        let mode: String = s
            .connection()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        s.connection()
            .execute("INSERT INTO containers (id, name, config, status, created_ns) VALUES ('a', 'n1', '{}', 'running', 0), ('b', 'n2', '{}', 'exited', 0), ('c', 'n3', '{}', 'created', 0)", [])
            .unwrap();
        let c = s.container_counts().unwrap();
        assert_eq!((c.number, c.running, c.stopped, c.paused), (3, 1, 1, 0));
        drop(s);
        // Reopening does not migrate again and keeps the data.
        let s = State::open(&p, Path::new("/run/x"), "overlay").unwrap();
        assert_eq!(s.container_counts().unwrap().number, 3);
    }

    #[test]
    fn a_different_runroot_or_driver_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("db.sql");
        State::open(&p, Path::new("/run/a"), "overlay").unwrap();
        let e = State::open(&p, Path::new("/run/b"), "overlay")
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("/run/a") && e.contains("database configuration mismatch"),
            "{e}"
        );
        assert!(State::open(&p, Path::new("/run/a"), "vfs").is_err());
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("db.sql");
        let c = Connection::open(&p).unwrap();
        c.pragma_update(None, "user_version", 999).unwrap();
        drop(c);
        let e = State::open(&p, Path::new("/run/a"), "overlay")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("upgrade podman"), "{e}");
    }

    #[test]
    fn many_threads_open_and_write_at_once() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("db.sql");
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let p = p.clone();
                std::thread::spawn(move || {
                    let s = State::open(&p, Path::new("/run/a"), "overlay").unwrap();
                    for j in 0..20 {
                        s.record_event(
                            "container",
                            "create",
                            &format!("{i}-{j}"),
                            "n",
                            &serde_json::json!({}),
                        )
                        .unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let s = State::open(&p, Path::new("/run/a"), "overlay").unwrap();
        let n: i64 = s
            .connection()
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 160);
    }
}
