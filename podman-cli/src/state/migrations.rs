//! Schema migrations, applied in order. Entry N takes the schema from
//! version N to N+1 (`PRAGMA user_version`). Never edit a released entry:
//! append a new one.

pub const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE db_config (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE pods (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        config     TEXT NOT NULL,
        state      TEXT NOT NULL DEFAULT '{}',
        created_ns INTEGER NOT NULL
    );
    CREATE TABLE containers (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        image_id   TEXT,
        pod_id     TEXT REFERENCES pods(id),
        config     TEXT NOT NULL,
        state      TEXT NOT NULL DEFAULT '{}',
        status     TEXT NOT NULL,
        created_ns INTEGER NOT NULL
    );
    CREATE INDEX containers_by_pod ON containers(pod_id);
    CREATE TABLE volumes (
        name       TEXT PRIMARY KEY,
        config     TEXT NOT NULL,
        state      TEXT NOT NULL DEFAULT '{}',
        created_ns INTEGER NOT NULL
    );
    CREATE TABLE exec_sessions (
        id           TEXT PRIMARY KEY,
        container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        config       TEXT NOT NULL,
        state        TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE events (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        time_ns    INTEGER NOT NULL,
        type       TEXT NOT NULL,
        action     TEXT NOT NULL,
        object_id  TEXT NOT NULL DEFAULT '',
        name       TEXT NOT NULL DEFAULT '',
        attributes TEXT NOT NULL DEFAULT '{}'
    );
    "#,
];
