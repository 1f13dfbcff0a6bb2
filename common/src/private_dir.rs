//! Directories and files only their owner may reach, as containers-storage
//! makes its stores: the graph root, the run root and every directory that
//! leads to a layer, a container's upper directory or its mount point are
//! 0700, so a setuid binary or a device node made inside a container is
//! never usable by another host user through them (CVE-2021-41091). The
//! state database, bundles and exec specs hold the environment given with
//! `-e` and are 0600.
//!
//! Directories are created 0700 from the start (never made and then
//! chmod'ed), and stores made by older versions are tightened when opened:
//! one stat per directory.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::fs_error::FsError;

/// The mode of every private directory.
pub const DIR_MODE: u32 = 0o700;
/// The mode of private files (databases, OCI specs).
pub const FILE_MODE: u32 = 0o600;

/// `mkdir -p dir`, every directory it creates 0700; an existing one is
/// left as it is.
pub fn create(dir: &Path) -> Result<(), FsError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(FsError::at("creating", dir))
}

/// [`create`], and an existing `dir` that group or others may reach is
/// tightened to 0700. A sticky directory (a shared `/tmp` given as a root)
/// is not ours to change and is left alone.
pub fn ensure(dir: &Path) -> Result<(), FsError> {
    create(dir)?;
    tighten(dir, DIR_MODE)
}

/// Make an existing `path` `mode` if it grants anything `mode` does not;
/// a missing path is fine.
pub fn tighten(path: &Path, mode: u32) -> Result<(), FsError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(FsError::new("inspecting", path, e)),
    };
    let bits = meta.mode() & 0o7777;
    if meta.file_type().is_symlink() || bits & 0o1000 != 0 || bits & !mode == 0 {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(FsError::at("restricting the mode of", path))
}

/// Create `path` empty with mode 0600 if it does not exist, else tighten
/// it to 0600: for a database about to be opened, whose journal files
/// SQLite then creates with the database's own mode.
pub fn ensure_file(path: &Path) -> Result<(), FsError> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => tighten(path, FILE_MODE),
        Err(e) => Err(FsError::new("creating", path, e)),
    }
}

/// [`ensure_file`] for an SQLite database, with its `-wal` and `-shm`
/// files tightened when an older version left them open to others.
pub fn ensure_database(path: &Path) -> Result<(), FsError> {
    ensure_file(path)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_os_string();
        p.push(suffix);
        tighten(Path::new(&p), FILE_MODE)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().mode() & 0o7777
    }

    #[test]
    fn created_private_and_old_ones_tightened() {
        let d = tempfile::tempdir().unwrap();
        let deep = d.path().join("a/b/c");
        ensure(&deep).unwrap();
        for p in ["a", "a/b", "a/b/c"] {
            assert_eq!(mode(&d.path().join(p)), 0o700, "{p}");
        }
        let old = d.path().join("old");
        std::fs::create_dir(&old).unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
        ensure(&old).unwrap();
        assert_eq!(mode(&old), 0o700);
        let shared = d.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        ensure(&shared).unwrap();
        assert_eq!(mode(&shared), 0o1777);
        let stricter = d.path().join("stricter");
        std::fs::create_dir(&stricter).unwrap();
        std::fs::set_permissions(&stricter, std::fs::Permissions::from_mode(0o500)).unwrap();
        ensure(&stricter).unwrap();
        assert_eq!(mode(&stricter), 0o500);

        let db = d.path().join("db.sql");
        ensure_database(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        let wal = d.path().join("db.sql-wal");
        std::fs::write(&wal, b"x").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
        ensure_database(&db).unwrap();
        assert_eq!((mode(&db), mode(&wal)), (0o600, 0o600));
        assert_eq!(std::fs::read(&wal).unwrap(), b"x");
    }
}
