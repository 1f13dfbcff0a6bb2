//! The store's index: SQLite in WAL mode in the graph root, one IMMEDIATE
//! transaction per change, so any number of storage-helper processes can
//! share a store. Connections are kept for the next operation of the same
//! process ([`Conn`]): opening one reads the schema and the WAL index anew,
//! which cost each storage call of a `podman run` about half a millisecond.
//!
//! Rows are the truth: a layer directory without a `layers` row, or a
//! container directory without a `containers` row, is garbage left by a
//! killed process and is collected.

use std::os::unix::fs::MetadataExt;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::error::{Result, StoreError};
use crate::layout::Store;

/// 2: `store_config` (the driver the store was made with).
/// 3: `image_name_history` (every name an image had, most recent first).
const SCHEMA_VERSION: i64 = 3;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS layers (
    chain_id          TEXT PRIMARY KEY,  -- hex
    diff_id           TEXT NOT NULL,     -- sha256:...
    parent            TEXT,              -- chain ID hex of the layer below
    link              TEXT NOT NULL UNIQUE,
    blob_digest       TEXT NOT NULL,     -- compressed blob it was unpacked from
    compressed_size   INTEGER NOT NULL,
    uncompressed_size INTEGER NOT NULL,
    created_unix      INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS images (
    id                  TEXT PRIMARY KEY,  -- config digest hex
    digest              TEXT NOT NULL,     -- manifest digest stored last
    config              BLOB NOT NULL,
    size                INTEGER NOT NULL,
    created             TEXT NOT NULL,
    added_unix          INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS image_manifests (
    image_id    TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    digest      TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    manifest    BLOB NOT NULL,
    added_unix  INTEGER NOT NULL,
    PRIMARY KEY (image_id, digest)
);
CREATE INDEX IF NOT EXISTS image_manifests_digest ON image_manifests(digest);
CREATE TABLE IF NOT EXISTS image_names (
    name      TEXT PRIMARY KEY,
    image_id  TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS image_names_image ON image_names(image_id);
CREATE TABLE IF NOT EXISTS image_layers (
    image_id  TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    chain_id  TEXT NOT NULL REFERENCES layers(chain_id),
    PRIMARY KEY (image_id, position)
);
CREATE INDEX IF NOT EXISTS image_layers_chain ON image_layers(chain_id);
CREATE TABLE IF NOT EXISTS image_blobs (
    image_id  TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    digest    TEXT NOT NULL,
    PRIMARY KEY (image_id, digest)
);
CREATE INDEX IF NOT EXISTS image_blobs_digest ON image_blobs(digest);
CREATE TABLE IF NOT EXISTS containers (
    id            TEXT PRIMARY KEY,
    image_id      TEXT,
    mount_label   TEXT NOT NULL,
    created_unix  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS container_layers (
    container_id  TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    chain_id      TEXT NOT NULL REFERENCES layers(chain_id),
    PRIMARY KEY (container_id, position)
);
CREATE INDEX IF NOT EXISTS container_layers_chain ON container_layers(chain_id);
CREATE TABLE IF NOT EXISTS store_config (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS image_name_history (
    image_id  TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    name      TEXT NOT NULL,
    seq       INTEGER NOT NULL,  -- larger: more recent
    PRIMARY KEY (image_id, name)
);
"#;

/// Version 1 to 2; every store before it was an overlay store.
const UPGRADE_2: &str = r#"
CREATE TABLE IF NOT EXISTS store_config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO store_config (key, value) VALUES ('graph driver', 'overlay');
"#;

/// Version 2 to 3: the names each image has now start its history.
const UPGRADE_3: &str = r#"
CREATE TABLE IF NOT EXISTS image_name_history (
    image_id  TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    name      TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    PRIMARY KEY (image_id, name)
);
INSERT OR IGNORE INTO image_name_history (image_id, name, seq)
    SELECT image_id, name, -seq FROM image_names;
"#;

/// Connections no operation is using, with the (device, inode) of the file
/// they were opened on.
static IDLE: Mutex<Vec<(Connection, (u64, u64))>> = Mutex::new(Vec::new());

/// A connection to the index; back to [`IDLE`] when dropped outside a
/// transaction (a dropped rusqlite transaction has rolled back).
pub struct Conn {
    conn: Option<Connection>,
    file: (u64, u64),
    durable: std::cell::Cell<bool>,
}

impl std::ops::Deref for Conn {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("a Conn holds its connection until dropped")
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if !conn.is_autocommit() {
            return;
        }
        if !self.durable.get() && conn.pragma_update(None, "synchronous", "FULL").is_err() {
            return;
        }
        IDLE.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((conn, self.file));
    }
}

impl Conn {
    /// Commits on this connection from now on are not fsynced
    /// (synchronous = NORMAL: in WAL mode the database stays consistent, a
    /// crash of the machine may lose the last commits). For volatile
    /// containers only; undone when the connection goes back idle.
    pub fn skip_fsync(&self) -> Result<()> {
        self.durable.set(false);
        self.pragma_update(None, "synchronous", "NORMAL")
            .map_err(StoreError::db("setting synchronous = NORMAL"))
    }
}

fn file_id(path: &std::path::Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// The index, creating it (and the store's directories) on first use; an
/// idle connection of this process when it is still on the same file.
pub fn open(store: &Store) -> Result<Conn> {
    let path = store.db_path();
    if let Some(file) = file_id(&path) {
        let mut idle = IDLE.lock().unwrap_or_else(|p| p.into_inner());
        // One store per process; a file replaced underneath (a store wiped
        // and made anew) leaves stale connections, closed here.
        idle.retain(|(_, f)| *f == file);
        if let Some((conn, file)) = idle.pop() {
            return Ok(Conn {
                conn: Some(conn),
                file,
                durable: std::cell::Cell::new(true),
            });
        }
    }
    let conn = open_new(store)?;
    let file = file_id(&path).unwrap_or_default();
    Ok(Conn {
        conn: Some(conn),
        file,
        durable: std::cell::Cell::new(true),
    })
}

fn open_new(store: &Store) -> Result<Connection> {
    let path = store.db_path();
    let fresh = !path.exists();
    if fresh {
        store.ensure_dirs()?;
    }
    store.tighten()?;
    common::private_dir::ensure_database(&path)?;
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(StoreError::db(format!("opening {}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(60))
        .map_err(StoreError::db("setting busy_timeout"))?;
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")
        .map_err(StoreError::db("setting pragmas"))?;
    // Connections are short-lived (one per call, one process per podman
    // command); the last close would checkpoint the WAL into the database
    // (four fsyncs) every time. Commits are still fsynced (synchronous =
    // FULL); automatic checkpoints move them, every 64 pages: the first
    // open in a process reads the whole WAL back to rebuild its index, so
    // the WAL is kept short (SQLite's default of 1000 pages is up to 4 MB
    // read by every helper start).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )
    .map_err(StoreError::db("turning off the checkpoint on close"))?;
    conn.pragma_update(None, "wal_autocheckpoint", 64)
        .map_err(StoreError::db("setting wal_autocheckpoint"))?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(StoreError::db("reading schema version"))?;
    if version == 0 {
        create_schema(&conn)?;
    } else if version < SCHEMA_VERSION {
        let tx = immediate(&conn)?;
        // Another process may have upgraded it meanwhile.
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(StoreError::db("reading schema version"))?;
        if version < 2 {
            tx.execute_batch(UPGRADE_2)
                .map_err(StoreError::db("upgrading the schema"))?;
        }
        if version < 3 {
            tx.execute_batch(UPGRADE_3)
                .map_err(StoreError::db("upgrading the schema"))?;
        }
        tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
            .map_err(StoreError::db("setting schema version"))?;
        tx.commit()
            .map_err(StoreError::db("upgrading the schema"))?;
    } else if version > SCHEMA_VERSION {
        return Err(StoreError::FailedPrecondition(format!(
            "store index {} has schema version {version}, this storage-helper knows {SCHEMA_VERSION}: use a newer storage-helper",
            path.display()
        )));
    }
    check_driver(&conn, store)?;
    Ok(conn)
}

/// The store keeps the driver it was made with; another one is refused
/// with libpod's words for it.
fn check_driver(conn: &Connection, store: &Store) -> Result<()> {
    let ours = store.driver.name();
    let read = |c: &Connection| -> Result<Option<String>> {
        c.query_row(
            "SELECT value FROM store_config WHERE key = 'graph driver'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(StoreError::db("reading the store's driver"))
    };
    let recorded = match read(conn)? {
        Some(r) => r,
        None => {
            let tx = immediate(conn)?;
            tx.execute(
                "INSERT OR IGNORE INTO store_config (key, value) VALUES ('graph driver', ?1)",
                [ours],
            )
            .map_err(StoreError::db("recording the store's driver"))?;
            let r = read(&tx)?.unwrap_or_else(|| ours.to_string());
            tx.commit()
                .map_err(StoreError::db("recording the store's driver"))?;
            r
        }
    };
    if recorded != ours {
        return Err(StoreError::FailedPrecondition(format!(
            "database graph driver {recorded:?} does not match our graph driver {ours:?}: database configuration mismatch"
        )));
    }
    Ok(())
}

fn create_schema(conn: &Connection) -> Result<()> {
    // WAL must be set outside a transaction; it is persistent. Switching
    // needs the database to itself, and SQLite does not wait for that on
    // busy_timeout, so wait here when other processes open it too.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            Ok(_) => break,
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(StoreError::db("enabling WAL")(e)),
        }
    }
    let tx = immediate(conn)?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(StoreError::db("reading schema version"))?;
    if version == 0 {
        tx.execute_batch(SCHEMA)
            .map_err(StoreError::db("creating schema"))?;
        tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
            .map_err(StoreError::db("setting schema version"))?;
    }
    tx.commit().map_err(StoreError::db("committing schema"))
}

/// Serializes this process's writers: threads queue here instead of in
/// SQLite's busy handler, which sleeps in coarse steps.
static WRITERS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A write transaction begun at once (IMMEDIATE, so concurrent writers
/// queue on busy_timeout instead of failing on upgrade), holding this
/// process's writer lock until it ends.
pub struct Tx<'a> {
    tx: rusqlite::Transaction<'a>,
    _writer: std::sync::MutexGuard<'static, ()>,
}

impl<'a> std::ops::Deref for Tx<'a> {
    type Target = rusqlite::Transaction<'a>;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl Tx<'_> {
    pub fn commit(self) -> rusqlite::Result<()> {
        self.tx.commit()
    }
}

pub fn immediate(conn: &Connection) -> Result<Tx<'_>> {
    let writer = WRITERS.lock().unwrap_or_else(|p| p.into_inner());
    // new_unchecked takes &Connection; a connection is never shared
    // between threads here.
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(StoreError::db("beginning a transaction"))?;
    Ok(Tx {
        tx,
        _writer: writer,
    })
}

/// Image and layer record counts (for Info).
pub fn counts(conn: &Connection) -> Result<(u32, u32)> {
    let images: u32 = conn
        .query_row("SELECT COUNT(*) FROM images", [], |r| r.get(0))
        .map_err(StoreError::db("counting images"))?;
    let layers: u32 = conn
        .query_row("SELECT COUNT(*) FROM layers", [], |r| r.get(0))
        .map_err(StoreError::db("counting layers"))?;
    Ok((images, layers))
}
