//! Files and directories the monitor makes for itself.

use std::path::Path;

use common::atomic_file::{write_atomic_mode, Durability};

/// Replace a state file (exit file, pid file) atomically, without fsync:
/// it lives in the run root, which does not outlive the machine's uptime,
/// and a reader must never wait on the disk for a container's exit code
/// (an fsync here cost 2-6 ms of every `run`).
pub fn write_run_file(path: &Path, data: &[u8]) -> std::io::Result<()> {
    Ok(write_atomic_mode(path, data, 0o644, Durability::NoSync)?)
}

/// Create `dir` (and parents) with mode 0700 for the last component.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        r => r,
    }
}
