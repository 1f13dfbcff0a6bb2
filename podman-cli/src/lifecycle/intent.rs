//! Intent records: before a step that changes more than one store (storage,
//! net-setup, the monitor, the state database), `<runroot>/intents/<id>`
//! names the operation; it goes once the database says what was done. The
//! writer holds the container's lock the whole time, so a record whose lock
//! is free belongs to a command that died: `reconcile` finishes or undoes
//! its work. The run root does not outlive a reboot, and neither do the
//! mounts, netns files, veths and processes a record guards, so the file is
//! written without fsync.

use std::path::PathBuf;

use crate::engine_config::EngineConfig;

/// What a container's command was doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Storage container made, database row not yet inserted.
    Create,
    /// Mount, network, runtime: database not yet updated.
    Start,
    /// Storage container and files going, then the database row.
    Remove,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Start => "start",
            Op::Remove => "remove",
        }
    }

    fn parse(s: &str) -> Option<Op> {
        match s.trim() {
            "create" => Some(Op::Create),
            "start" => Some(Op::Start),
            "remove" => Some(Op::Remove),
            _ => None,
        }
    }
}

pub fn dir(engine: &EngineConfig) -> PathBuf {
    engine.run_root.join("intents")
}

/// Record that `op` on container `id` begins. The caller holds its lock.
pub fn begin(engine: &EngineConfig, id: &str, op: Op) -> anyhow::Result<()> {
    let d = dir(engine);
    std::fs::create_dir_all(&d).map_err(|e| anyhow::anyhow!("creating {}: {e}", d.display()))?;
    common::atomic_file::write_atomic(
        &d.join(id),
        op.as_str().as_bytes(),
        common::atomic_file::Durability::NoSync,
    )?;
    Ok(())
}

/// The operation on `id` is finished (or fully rolled back).
pub fn end(engine: &EngineConfig, id: &str) {
    if let Err(e) = std::fs::remove_file(dir(engine).join(id)) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(container = id, error = %e, "could not remove intent record");
        }
    }
}

/// The recorded operation on `id`, if any.
pub fn read(engine: &EngineConfig, id: &str) -> Option<Op> {
    std::fs::read_to_string(dir(engine).join(id))
        .ok()
        .and_then(|s| Op::parse(&s))
}

/// Every container with an intent record (one `read_dir`; nothing when no
/// command ever died mid-way).
pub fn pending(engine: &EngineConfig) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir(engine)) else {
        return Vec::new();
    };
    let mut ids = Vec::new();
    for name in entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
    {
        if common::atomic_file::is_stale_temp(&name) {
            // A writer killed between create and rename.
            let _ = std::fs::remove_file(dir(engine).join(&name));
        } else if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
            ids.push(name);
        }
    }
    ids
}
