//! net-setup's state on disk: network configs (durable: they outlive a
//! reboot) and the run state (IPAM allocations, container records, DNS
//! records, pid files), which describes kernel objects a reboot takes away
//! and so is replaced atomically without fsync, as the run root's other
//! files are; and the locks that serialize their changes.

use std::path::Path;

use common::atomic_file::{write_atomic, Durability};
use common::file_lock::FileLock;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{NetError, Result};

/// Replace the run-state file `path` with `data` (creating its directory):
/// temp file, rename; no fsync (the state goes with a reboot, as the
/// netns, links and rules it records do).
pub fn write(path: &Path, data: &[u8]) -> Result<()> {
    write_with(path, data, Durability::NoSync)
}

fn write_with(path: &Path, data: &[u8], durability: Durability) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| NetError::io("creating directory", dir, e))?;
    write_atomic(path, data, durability).map_err(|e| NetError::io(e.op, e.path, e.source))
}

fn encode<T: Serialize>(path: &Path, value: &T) -> Result<Vec<u8>> {
    let mut data = serde_json::to_vec_pretty(value)
        .map_err(|e| NetError::json(format!("encoding {}", path.display()), e))?;
    data.push(b'\n');
    Ok(data)
}

/// [`write`] of a value as JSON (run state).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    write_with(path, &encode(path, value)?, Durability::NoSync)
}

/// A file that must outlive a reboot (a network's configuration): temp
/// file, fsync, rename, fsync the directory.
pub fn write_json_durable<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    write_with(path, &encode(path, value)?, Durability::Fsync)
}

/// Read a JSON file; `None` when it does not exist.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(NetError::io("reading", path, e)),
    };
    serde_json::from_slice(&data).map(Some).map_err(|e| {
        NetError::json(
            format!("parsing {} (fix or remove the file)", path.display()),
            e,
        )
    })
}

pub fn remove_file_if_exists(path: &Path) -> Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(NetError::io("removing", path, e)),
    }
}

/// Wait for the exclusive lock `path` (creating its directory). Other
/// processes block on it until the returned lock is dropped.
pub fn lock(path: &Path) -> Result<FileLock> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| NetError::io("creating directory", dir, e))?;
    }
    FileLock::exclusive(path).map_err(|e| NetError::io(e.op, e.path, e.source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_json_roundtrip_and_missing_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b.json");
        assert!(read_json::<serde_json::Value>(&p).unwrap().is_none());
        write_json(&p, &serde_json::json!({"x": 1})).unwrap();
        assert_eq!(read_json::<serde_json::Value>(&p).unwrap().unwrap()["x"], 1);
        // No temp files left behind.
        assert_eq!(std::fs::read_dir(dir.path().join("a")).unwrap().count(), 1);
    }

    #[test]
    fn durable_json_roundtrip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nets/n.json");
        write_json_durable(&p, &serde_json::json!({"name": "n"})).unwrap();
        assert_eq!(
            read_json::<serde_json::Value>(&p).unwrap().unwrap()["name"],
            "n"
        );
        assert_eq!(
            std::fs::read_dir(dir.path().join("nets")).unwrap().count(),
            1
        );
    }

    #[test]
    fn lock_creates_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let l = lock(&dir.path().join("locks/net.lock")).unwrap();
        assert!(l.file().metadata().is_ok());
    }
}
