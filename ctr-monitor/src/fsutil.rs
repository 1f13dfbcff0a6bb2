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

/// Create `dir` (and missing parents), each 0700.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    Ok(common::private_dir::create(dir)?)
}
