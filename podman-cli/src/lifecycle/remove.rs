//! `podman rm`: a running container needs `--force` (it is killed first);
//! then cleanup, the storage container, every file and the record go.

use super::paths::{ContainerLock, ContainerPaths};
use crate::container::model::{ContainerConfig, ContainerState, Status};
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::error::ExitError;
use crate::helpers;

/// Remove with the lock held.
pub async fn remove_locked(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    st: &mut ContainerState,
    paths: &ContainerPaths,
) -> anyhow::Result<()> {
    // RemoveContainer unmounts the rootfs itself.
    super::cleanup::release_locked(engine, cfg, st, paths, false).await?;
    let mut storage = helpers::storage(engine).await?;
    let req = proto::storage::v1::RemoveContainerRequest { id: cfg.id.clone() };
    let r = storage
        .call("RemoveContainer", |mut c| async move {
            c.remove_container(req).await
        })
        .await;
    storage.close().await?;
    match r {
        Ok(_) => {}
        Err(proto::transport::TransportError::Call {
            code: tonic::Code::NotFound,
            ..
        }) => {}
        Err(e) => return Err(e.into()),
    }
    for dir in [
        &paths.bundle,
        &paths.data_dir,
        &paths.socket_dir.join(&cfg.id),
    ] {
        if let Err(e) = std::fs::remove_dir_all(dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(dir = %dir.display(), error = %e, "could not remove container directory");
            }
        }
    }
    let _ = std::fs::remove_file(paths.exit_file(&cfg.id));
    let _ = std::fs::remove_file(paths.exit_json(&cfg.id));
    let db = crate::commands::open_state(engine)?;
    let st_exit_code = (st.finished_ns != 0).then_some(st.exit_code);
    store::delete(&db, &cfg.id)?;
    st.status = Status::Removing;
    crate::events::container_exit(cfg, "remove", st_exit_code, false);
    let _ = std::fs::remove_file(&paths.lock);
    Ok(())
}

pub async fn remove(
    engine: &EngineConfig,
    name_or_id: &str,
    force: bool,
    _volumes: bool,
) -> anyhow::Result<()> {
    remove_with_timeout(engine, name_or_id, force, Some(0)).await
}

/// `rm [-f] [-t SECONDS]`: a forced removal stops the container first,
/// waiting `timeout` (default: its stop timeout) before killing it.
pub async fn remove_with_timeout(
    engine: &EngineConfig,
    name_or_id: &str,
    force: bool,
    timeout: Option<u32>,
) -> anyhow::Result<()> {
    let db = crate::commands::open_state(engine)?;
    let (cfg, st) = store::resolve(&db, name_or_id)?;
    let (cfg, st) = super::cleanup::refresh(engine, (cfg, st)).await?;
    if st.status == Status::Removing {
        return Ok(());
    }
    if st.status.is_active() {
        if !force {
            return Err(ExitError {
                code: 2,
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
        Err(store::ContainerStoreError::NotFound(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    remove_locked(engine, &cfg, &mut st, &paths).await
}
