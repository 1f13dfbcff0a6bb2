//! The one path that finishes or undoes what a killed command left
//! half-done, and that squares storage with the state database.
//!
//! [`pending`] acts on intent records (see `intent`) whose container lock
//! is free: a create that died leaves a storage container without a row (it
//! goes, unpinning its image); a start that died before the database said
//! what was set up leaves a mount, a netns with its veths, lease, firewall
//! rules and DNS record, maybe a runtime container under a live monitor
//! (all undone, the container stays as it was recorded); a removal that
//! died is finished. Cleanup after an exit needs no record: the container
//! stays active in the database until every release step is done, each
//! step is idempotent, and `refresh` reruns it once the monitor is gone.
//!
//! [`everything`] adds what only a full pass can afford: every container's
//! dead monitor, stale mounts, storage containers that no row or record
//! explains.

use proto::storage::v1::{RemoveContainerRequest, UnmountRequest};

use super::intent::{self, Op};
use super::paths::{ContainerLock, ContainerPaths};
use crate::container::model::{ContainerConfig, ContainerState, NetworkMode, Status};
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::helper_procs;

/// Act on every intent record whose command died. Cheap when there is none
/// (one `read_dir`), so `ps`, `rm` and `cleanup` call it each time. What
/// cannot be repaired now is logged and left for the next pass.
pub async fn pending(engine: &EngineConfig) {
    for id in intent::pending(engine) {
        if let Err(e) = one(engine, &id).await {
            tracing::warn!(container = %id, error = %format!("{e:#}"), "reconciling an interrupted operation");
        }
    }
}

async fn one(engine: &EngineConfig, id: &str) -> anyhow::Result<()> {
    let paths = ContainerPaths::new(engine, id);
    // Held: the command is still at work.
    let Some(_lock) = ContainerLock::try_acquire(&paths)? else {
        return Ok(());
    };
    // Finished while we waited for nothing: the record is gone.
    let Some(op) = intent::read(engine, id) else {
        return Ok(());
    };
    let db = crate::state::open_state(engine)?;
    let row = match store::resolve(&db, id) {
        Ok(r) if r.0.id == id => Some(r),
        Ok(_) | Err(store::ContainerStoreError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    drop(db);
    tracing::debug!(container = id, ?op, recorded = row.is_some(), "reconciling");
    match (op, row) {
        (Op::Create, Some(_)) => {
            // The row made it: only the data directory may be missing.
            std::fs::create_dir_all(&paths.data_dir)?;
        }
        (Op::Create | Op::Remove, None) => {
            remove_storage_container(engine, id).await?;
            remove_files(&paths, id);
        }
        (Op::Start, None) => {}
        (Op::Start, Some((cfg, mut st))) => {
            if !(st.status.is_active() || st.pid > 0) {
                undo_start(engine, &cfg, &mut st, &paths).await?;
                if cfg.auto_remove {
                    // A --rm container never outlives its run.
                    return super::cleanup::remove_locked(engine, &cfg, &mut st, &paths).await;
                }
            }
        }
        (Op::Remove, Some((cfg, mut st))) => {
            // Ends the record itself.
            return super::cleanup::remove_locked(engine, &cfg, &mut st, &paths).await;
        }
    }
    intent::end(engine, id);
    if !paths.data_dir.exists() {
        let _ = std::fs::remove_file(&paths.lock);
    }
    Ok(())
}

/// Undo a start the database never heard of: the runtime container (its
/// monitor then leaves by itself), the network, the mount. The container
/// stays in the state it was recorded in.
async fn undo_start(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    st: &mut ContainerState,
    paths: &ContainerPaths,
) -> anyhow::Result<()> {
    if paths.runtime_root.join(&cfg.id).exists() {
        super::cleanup::runtime_delete(&cfg.runtime, &paths.runtime_root, &cfg.id).await;
    }
    if cfg.network_mode == NetworkMode::Bridge || cfg.network_mode.user_mode_tool().is_some() {
        // net-setup keeps its own record of what it set up for the
        // container (slirp4netns/pasta: the tool's pid); the netns path is
        // podman's fixed one.
        let recorded = ContainerState {
            netns_path: super::network::netns_path(engine, &cfg.id),
            ..st.clone()
        };
        super::network::teardown(engine, cfg, &recorded).await?;
    }
    let mut storage = helper_procs::storage(engine).await?;
    let req = UnmountRequest {
        id: cfg.id.clone(),
        force: true,
    };
    let r = storage
        .call("Unmount", |mut c| async move { c.unmount(req).await })
        .await;
    super::image_mounts::release(&mut storage, st).await;
    storage.close().await?;
    match r {
        Ok(_)
        | Err(proto::transport::TransportError::Call {
            code: proto::ErrorCode::NotFound,
            ..
        }) => {}
        Err(e) => return Err(e.into()),
    }
    crate::volume::attach::release(engine, &cfg.id, st)?;
    let _ = std::fs::remove_file(paths.exit_file(&cfg.id));
    let _ = std::fs::remove_file(paths.exit_json(&cfg.id));
    st.mountpoint.clear();
    st.netns_path.clear();
    st.network_status = serde_json::Value::Null;
    st.bundle_path.clear();
    st.pid = 0;
    st.monitor_pid = 0;
    let db = crate::state::open_state(engine)?;
    store::update_state(&db, &cfg.id, st)?;
    Ok(())
}

/// Remove storage's container `id` (unmounting it); gone already is fine.
pub async fn remove_storage_container(engine: &EngineConfig, id: &str) -> anyhow::Result<()> {
    let mut storage = helper_procs::storage(engine).await?;
    let req = RemoveContainerRequest { id: id.to_string() };
    let r = storage
        .call("RemoveContainer", |mut c| async move {
            c.remove_container(req).await
        })
        .await;
    storage.close().await?;
    match r {
        Ok(_)
        | Err(proto::transport::TransportError::Call {
            code: proto::ErrorCode::NotFound,
            ..
        }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Remove the container another containers/storage user (buildah) made
/// in the graph root, named `name` (as Podman's rm does for storage
/// containers); its ID, or None when there is no such container.
pub async fn remove_external(
    engine: &EngineConfig,
    name: &str,
    force: bool,
) -> anyhow::Result<Option<String>> {
    let mut storage = helper_procs::storage(engine).await?;
    let req = proto::storage::v1::ExternalRequest {
        name: name.to_string(),
        force,
    };
    let r = storage
        .call("RemoveExternal", |mut c| async move {
            c.remove_external(req).await
        })
        .await;
    storage.close().await?;
    match r {
        Ok(c) => Ok(Some(c.id)),
        Err(proto::transport::TransportError::Call {
            code: proto::ErrorCode::NotFound,
            ..
        }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// podman's own files of a container that has no row.
fn remove_files(paths: &ContainerPaths, id: &str) {
    for dir in [&paths.bundle, &paths.data_dir, &paths.socket_dir.join(id)] {
        if let Err(e) = std::fs::remove_dir_all(dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(dir = %dir.display(), error = %e, "could not remove container directory");
            }
        }
    }
    let _ = std::fs::remove_file(paths.exit_file(id));
    let _ = std::fs::remove_file(paths.exit_json(id));
}

/// Storage's containers that podman has no row for ("external", as
/// buildah's are to Podman), leaving out those a live command is creating.
pub async fn storage_only(
    engine: &EngineConfig,
) -> anyhow::Result<Vec<proto::storage::v1::Container>> {
    let mut storage = helper_procs::storage(engine).await?;
    let r = helper_procs::storage_containers(&mut storage).await;
    storage.close().await?;
    let db = crate::state::open_state(engine)?;
    let known: std::collections::HashSet<String> =
        store::list(&db)?.into_iter().map(|(c, _)| c.id).collect();
    Ok(r?
        .into_iter()
        .filter(|c| !known.contains(&c.id))
        .filter(|c| intent::read(engine, &c.id) != Some(Op::Create))
        .collect())
}

/// Find storage's container for `name_or_id` (full ID or unique prefix)
/// among those podman has no row for.
pub async fn find_storage_only(
    engine: &EngineConfig,
    name_or_id: &str,
) -> anyhow::Result<Option<proto::storage::v1::Container>> {
    if name_or_id.is_empty() || !name_or_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let mut found: Vec<_> = storage_only(engine)
        .await?
        .into_iter()
        .filter(|c| c.id.starts_with(name_or_id))
        .collect();
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => anyhow::bail!(
            "more than one container matches ID prefix \"{name_or_id}\": give more characters of the ID"
        ),
    }
}

/// What a full pass did.
#[derive(Debug, Default)]
pub struct Report {
    /// Storage-only containers removed.
    pub storage_removed: Vec<String>,
}

/// The full pass (`system prune`, `system reset`): intent records, every
/// active container whose monitor is gone, mounts of containers that are
/// not running, and, with `external`, storage containers without a row.
pub async fn everything(engine: &EngineConfig, external: bool) -> anyhow::Result<Report> {
    pending(engine).await;
    let db = crate::state::open_state(engine)?;
    let records = store::list(&db)?;
    drop(db);
    let mut stale_mounts = Vec::new();
    for rec in records {
        let (cfg, st) = super::cleanup::refresh(engine, rec).await?;
        if st.status != Status::Removing && !st.status.is_active() && st.mountpoint.is_empty() {
            stale_mounts.push(cfg.id);
        }
    }
    let mut report = Report::default();
    let mut storage = helper_procs::storage(engine).await?;
    let listed = helper_procs::storage_containers(&mut storage).await;
    let listed = match listed {
        Ok(l) => l,
        Err(e) => {
            storage.close().await?;
            return Err(e.into());
        }
    };
    for c in listed.iter().filter(|c| c.mount_count > 0) {
        if stale_mounts.contains(&c.id) {
            // A mount no row accounts for (a start or cleanup that died).
            let paths = ContainerPaths::new(engine, &c.id);
            if let Some(_lock) = ContainerLock::try_acquire(&paths)? {
                let req = UnmountRequest {
                    id: c.id.clone(),
                    force: true,
                };
                storage
                    .call("Unmount", |mut s| async move { s.unmount(req).await })
                    .await?;
            }
        }
    }
    storage.close().await?;
    if external {
        for c in storage_only(engine).await? {
            remove_storage_container(engine, &c.id).await?;
            report.storage_removed.push(c.id);
        }
    }
    Ok(report)
}
