//! `podman container prune`.

use clap::Args;

use crate::container::model::Status;
use crate::container::store;
use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct PruneArgs {
    #[arg(short, long)]
    pub force: bool,
}

/// Remove every container that is not running.
pub async fn run(engine: &EngineConfig, _a: &PruneArgs) -> anyhow::Result<()> {
    for (id, _) in prune(engine).await? {
        println!("{id}");
    }
    Ok(())
}

/// Remove every container that is not running: (ID, bytes its writable
/// layer held) of each.
pub async fn prune(engine: &EngineConfig) -> anyhow::Result<Vec<(String, u64)>> {
    let db = crate::state::open_state(engine)?;
    let records = store::list(&db)?;
    drop(db);
    let mut upper_dirs = std::collections::HashMap::new();
    if !records.is_empty() {
        let mut storage = crate::helper_procs::storage(engine).await?;
        let listed = storage
            .call("ListContainers", |mut c| async move {
                c.list_containers(proto::storage::v1::ListContainersRequest {})
                    .await
            })
            .await;
        storage.close().await?;
        for c in listed?.containers {
            upper_dirs.insert(c.id, std::path::PathBuf::from(c.upper_dir));
        }
    }
    let mut removed = Vec::new();
    for rec in records {
        let (cfg, st) = crate::lifecycle::cleanup::refresh(engine, rec).await?;
        if st.status.is_active() || st.status == Status::Removing {
            continue;
        }
        let size = upper_dirs.get(&cfg.id).map(|d| disk_usage(d)).unwrap_or(0);
        crate::lifecycle::remove::remove(engine, &cfg.id, false, false).await?;
        removed.push((cfg.id, size));
    }
    Ok(removed)
}

/// Bytes of the regular files under `dir` (not following links).
fn disk_usage(dir: &std::path::Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => disk_usage(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}
