//! `pause` (freeze) and `unpause` of one container through the runtime.

use super::paths::{ContainerLock, ContainerPaths};
use crate::container::model::{ContainerConfig, Status};
use crate::container::store;
use crate::engine_config::EngineConfig;

async fn runtime(cfg: &ContainerConfig, paths: &ContainerPaths, verb: &str) -> anyhow::Result<()> {
    let out = tokio::process::Command::new(&cfg.runtime)
        .arg("--root")
        .arg(&paths.runtime_root)
        .args([verb, &cfg.id])
        .stdin(std::process::Stdio::null())
        .output()
        .await?;
    if !out.status.success() {
        anyhow::bail!(
            "{} {verb} {}: {}",
            cfg.runtime,
            cfg.name,
            String::from_utf8_lossy(&out.stderr)
                .trim()
                .replace('\n', " ")
        );
    }
    Ok(())
}

/// Pause (`pause` true) or unpause the container; it must be running
/// (paused for unpause).
pub async fn pause(
    engine: &EngineConfig,
    name_or_id: &str,
    pause: bool,
) -> anyhow::Result<ContainerConfig> {
    let db = crate::state::open_state(engine)?;
    let (cfg, _) = store::resolve(&db, name_or_id)?;
    let paths = ContainerPaths::new(engine, &cfg.id);
    let _lock = ContainerLock::acquire(&paths)?;
    let (cfg, mut st) = store::resolve(&db, &cfg.id)?;
    let (want, verb, next) = if pause {
        (Status::Running, "pause", Status::Paused)
    } else {
        (Status::Paused, "resume", Status::Running)
    };
    if st.status != want {
        anyhow::bail!(
            "{} is not {}: container state improper",
            cfg.name,
            want.as_str()
        );
    }
    runtime(&cfg, &paths, verb).await?;
    st.status = next;
    store::update_state(&db, &cfg.id, &st)?;
    crate::events::container(&cfg, if pause { "pause" } else { "unpause" });
    Ok(cfg)
}
