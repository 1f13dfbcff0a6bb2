//! `podman pause` and `podman unpause`.

use super::targets::{names, NamesArgs};
use crate::container::model::Status;
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::lifecycle::paths::{ContainerLock, ContainerPaths};

async fn runtime(
    cfg: &crate::container::model::ContainerConfig,
    paths: &ContainerPaths,
    verb: &str,
) -> anyhow::Result<()> {
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

/// `pause` (freeze) and `unpause` through the runtime.
pub async fn run(engine: &EngineConfig, a: &NamesArgs, pause: bool) -> anyhow::Result<()> {
    for n in names(engine, a)? {
        set_paused(engine, &n, pause).await?;
        println!("{n}");
    }
    Ok(())
}

/// Pause (freeze) or unpause one container, refusing one that is not
/// running (pause) or not paused (unpause).
pub async fn set_paused(engine: &EngineConfig, n: &str, pause: bool) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    let (cfg, _) = store::resolve(&db, n)?;
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
    Ok(())
}
