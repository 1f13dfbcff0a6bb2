//! `podman rm`: a running container needs `--force` (it is killed first);
//! then cleanup, the storage container, every file and the record go
//! (`cleanup::remove_locked`, which cleanup with `--rm` uses too).

use super::paths::{ContainerLock, ContainerPaths};
use crate::container::model::Status;
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::error::ExitError;

pub async fn remove(
    engine: &EngineConfig,
    name_or_id: &str,
    force: bool,
    volumes: bool,
) -> anyhow::Result<()> {
    remove_with_volumes(engine, name_or_id, force, Some(0), volumes).await
}

/// `rm [-f] [-t SECONDS]`: a forced removal stops the container first,
/// waiting `timeout` (default: its stop timeout) before killing it.
pub async fn remove_with_timeout(
    engine: &EngineConfig,
    name_or_id: &str,
    force: bool,
    timeout: Option<u32>,
) -> anyhow::Result<()> {
    remove_with_volumes(engine, name_or_id, force, timeout, false).await
}

/// [`remove_with_timeout`]; `volumes` (`rm -v`) removes the container's
/// anonymous volumes too.
pub async fn remove_with_volumes(
    engine: &EngineConfig,
    name_or_id: &str,
    force: bool,
    timeout: Option<u32>,
    volumes: bool,
) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    let (cfg, _) = store::resolve(&db, name_or_id)?;
    super::pod::refuse_infra_removal(&db, &cfg)?;
    remove_any(engine, &cfg.id, force, timeout, volumes).await
}

/// [`remove_with_volumes`] of any container, a pod's infra container
/// included (`pod rm`).
pub async fn remove_any(
    engine: &EngineConfig,
    name_or_id: &str,
    force: bool,
    timeout: Option<u32>,
    volumes: bool,
) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    let (cfg, st) = store::resolve(&db, name_or_id)?;
    let (cfg, st) = super::cleanup::refresh(engine, (cfg, st)).await?;
    if st.status == Status::Removing {
        return Ok(());
    }
    if st.status.is_active() {
        if !force {
            return Err(ExitError {
                code: crate::error::EXIT_STATE_IMPROPER,
                source: anyhow::anyhow!(
                    "cannot remove container {} as it is {} - running or paused containers cannot be removed without force: container state improper",
                    cfg.id,
                    st.status.as_str()
                ),
            }
            .into());
        }
        super::stop::stop(engine, &cfg.id, timeout).await?;
    }
    let paths = ContainerPaths::new(engine, &cfg.id);
    let _lock = ContainerLock::acquire(&paths)?;
    let (cfg, mut st) = match store::resolve(&db, &cfg.id) {
        Ok(r) => r,
        Err(store::ContainerStoreError::NotFound(_)) => {
            // Removed while we waited: the lock file we made again goes.
            let _ = std::fs::remove_file(&paths.lock);
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    super::cleanup::remove_locked_with(engine, &cfg, &mut st, &paths, volumes).await
}
