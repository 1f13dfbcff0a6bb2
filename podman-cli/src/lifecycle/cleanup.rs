//! After a container exits: record how it ended (from the monitor's exit
//! file), tear down its network, unmount its rootfs, delete the runtime's
//! state, and with `--rm` remove it. Idempotent; run by the monitor's exit
//! command, by `stop`, and by any command that finds a stale state.

use std::path::Path;

use proto::storage::v1::UnmountRequest;

use super::paths::{ContainerLock, ContainerPaths};
use crate::container::model::{ContainerConfig, ContainerState, Status};
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::helper_procs;

/// The monitor's `<id>.json`.
#[derive(Debug, Default, serde::Deserialize)]
struct ExitJson {
    exit_code: i32,
    #[serde(default)]
    oom_killed: bool,
    #[serde(default)]
    finished_at_unix_nanos: i64,
}

fn read_exit(paths: &ContainerPaths, id: &str) -> Option<ExitJson> {
    if let Some(j) = std::fs::read(paths.exit_json(id))
        .ok()
        .and_then(|b| serde_json::from_slice::<ExitJson>(&b).ok())
    {
        return Some(j);
    }
    let code = std::fs::read_to_string(paths.exit_file(id))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let finished = std::fs::metadata(paths.exit_file(id))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    Some(ExitJson {
        exit_code: code,
        oom_killed: false,
        finished_at_unix_nanos: finished,
    })
}

pub(super) fn alive(pid: i32) -> bool {
    pid > 0
        && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next())
                == Some("Z")
        })
}

/// Whether an active container has in fact ended.
pub fn has_exited(paths: &ContainerPaths, cfg: &ContainerConfig, st: &ContainerState) -> bool {
    st.status.is_active()
        && (paths.exit_file(&cfg.id).exists() || (!alive(st.monitor_pid) && !alive(st.pid)))
}

pub(super) async fn runtime_delete(runtime: &str, root: &Path, id: &str) {
    let _ = tokio::process::Command::new(runtime)
        .arg("--root")
        .arg(root)
        .args(["delete", "--force", id])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await;
}

/// What [`release_locked`] does with the container's storage.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum StorageEnd {
    /// Unmount the rootfs (the container stays).
    Unmount,
    /// Remove the container's layer (RemoveContainer unmounts it too).
    Remove,
}

async fn unmount_rootfs(engine: &EngineConfig, id: &str) -> anyhow::Result<()> {
    let mut storage = helper_procs::storage(engine).await?;
    let req = UnmountRequest {
        id: id.to_string(),
        force: true,
    };
    let r = storage
        .call("Unmount", |mut c| async move { c.unmount(req).await })
        .await;
    storage.close().await?;
    r?;
    Ok(())
}

/// Release what a stopped container holds; the caller holds its lock.
/// `storage` says what becomes of its rootfs (see [`StorageEnd`]); a
/// container still running is left as it is.
pub async fn release_locked(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    st: &mut ContainerState,
    paths: &ContainerPaths,
    storage: StorageEnd,
) -> anyhow::Result<()> {
    if st.status.is_active() {
        if !has_exited(paths, cfg, st) {
            return Ok(()); // Still running: nothing to clean.
        }
        match read_exit(paths, &cfg.id) {
            Some(e) => {
                st.exit_code = e.exit_code;
                st.oom_killed = e.oom_killed;
                st.finished_ns = e.finished_at_unix_nanos;
            }
            None => {
                st.exit_code = 137;
                st.finished_ns = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as i64)
                    .unwrap_or(0);
                st.error = "the container's monitor was killed: exit code unknown".into();
            }
        }
        st.status = Status::Exited;
        st.pid = 0;
        crate::events::container_exit(cfg, "died", Some(st.exit_code), st.oom_killed);
    }
    let mut errors = Vec::new();
    // The network's teardown and the storage's step are independent (the
    // container has exited): they run side by side, so the kernel's veth
    // unregistering overlaps the unmount or the layer's removal.
    let net_step = async {
        if st.netns_path.is_empty() {
            return None;
        }
        let r = super::network::teardown(engine, cfg, st).await;
        crate::kill_point::reached("cleanup-after-teardown");
        Some(r)
    };
    let storage_step = async {
        match storage {
            StorageEnd::Unmount if st.mountpoint.is_empty() => None,
            StorageEnd::Unmount => {
                let r = unmount_rootfs(engine, &cfg.id).await;
                crate::kill_point::reached("cleanup-after-unmount");
                Some(r)
            }
            StorageEnd::Remove => {
                Some(super::reconcile::remove_storage_container(engine, &cfg.id).await)
            }
        }
    };
    let (net_done, storage_done) = tokio::join!(net_step, storage_step);
    match net_done {
        Some(Err(e)) => errors.push(format!("{e:#}")),
        Some(Ok(())) => st.netns_path.clear(),
        None => {}
    }
    match storage_done {
        Some(Err(e)) if storage == StorageEnd::Remove => return Err(e),
        Some(Err(e)) => errors.push(format!("{e:#}")),
        Some(Ok(())) => st.mountpoint.clear(),
        None => {}
    }
    if let Err(e) = super::pod::remove_member_host(engine, cfg) {
        errors.push(format!(
            "removing {}'s entry from its pod's /etc/hosts: {e}",
            cfg.name
        ));
    }
    if !st.images_mounted.is_empty() {
        let mut storage = helper_procs::storage(engine).await?;
        super::image_mounts::release(&mut storage, st).await;
        storage.close().await?;
    }
    if !st.bundle_path.is_empty() {
        // A live monitor that saw the exit deletes the runtime's state
        // itself (podman sets delete_after_exit). A dead one, or a container
        // created but never started (`init`, then `rm -f`), needs it here:
        // `delete --force` also ends the waiting `runc init`.
        let state_left = paths.runtime_root.join(&cfg.id).exists();
        let monitor_deletes = alive(st.monitor_pid) && paths.exit_file(&cfg.id).exists();
        if state_left && !monitor_deletes {
            runtime_delete(&cfg.runtime, &paths.runtime_root, &cfg.id).await;
        }
        st.bundle_path.clear();
    }
    st.monitor_pid = 0;
    // Sessions a killed monitor could not end: none runs any more.
    if let Err(e) = std::fs::remove_dir_all(paths.exec_dir()) {
        if e.kind() != std::io::ErrorKind::NotFound {
            errors.push(format!("removing {}: {e}", paths.exec_dir().display()));
        }
    }
    if let Err(e) = crate::volume::attach::release(engine, &cfg.id, st) {
        errors.push(format!("{e:#}"));
    }
    let db = crate::state::open_state(engine)?;
    store::update_state(&db, &cfg.id, st)?;
    if !errors.is_empty() {
        anyhow::bail!("cleaning up container {}: {}", cfg.name, errors.join("; "));
    }
    Ok(())
}

/// Remove with the lock held.
pub async fn remove_locked(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    st: &mut ContainerState,
    paths: &ContainerPaths,
) -> anyhow::Result<()> {
    remove_locked_with(engine, cfg, st, paths, false).await
}

/// [`remove_locked`]; `volumes` (`rm -v`) removes its anonymous volumes
/// too, as `--rm` always does.
pub async fn remove_locked_with(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    st: &mut ContainerState,
    paths: &ContainerPaths,
    volumes: bool,
) -> anyhow::Result<()> {
    remove_announced(engine, cfg, st, paths, volumes, false).await
}

/// [`remove_locked_with`]; `cleanup_event`: a container that ended is
/// announced cleaned up (Podman's `cleanup` event) between its release
/// and its removal.
async fn remove_announced(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    st: &mut ContainerState,
    paths: &ContainerPaths,
    volumes: bool,
    cleanup_event: bool,
) -> anyhow::Result<()> {
    // Until the row is gone, the record tells `reconcile` to finish a
    // removal whose command died; a removal that fails leaves none.
    super::intent::begin(engine, &cfg.id, super::intent::Op::Remove)?;
    let r = remove_recorded(engine, cfg, st, paths, volumes, cleanup_event).await;
    if r.is_err() {
        super::intent::end(engine, &cfg.id);
    }
    r
}

async fn remove_recorded(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    st: &mut ContainerState,
    paths: &ContainerPaths,
    volumes: bool,
    cleanup_event: bool,
) -> anyhow::Result<()> {
    // An exited container's layer goes beside its network's teardown; one
    // still running (release leaves it be) keeps its layer.
    release_locked(engine, cfg, st, paths, StorageEnd::Remove).await?;
    if cleanup_event && !st.status.is_active() {
        crate::events::container(cfg, "cleanup");
    }
    crate::kill_point::reached("rm-after-release");
    if st.status.is_active() {
        super::reconcile::remove_storage_container(engine, &cfg.id).await?;
    }
    crate::kill_point::reached("rm-after-storage");
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
    let db = crate::state::open_state(engine)?;
    let st_exit_code = (st.finished_ns != 0).then_some(st.exit_code);
    store::delete(&db, &cfg.id)?;
    crate::kill_point::reached("rm-after-delete");
    super::intent::end(engine, &cfg.id);
    st.status = Status::Removing;
    crate::events::container_exit(cfg, "remove", st_exit_code, false);
    let _ = std::fs::remove_file(&paths.lock);
    // `--cidfile` goes with the container, as in Podman.
    if let Some(c) = cfg.annotations.get(super::create_more::CIDFILE_ANNOTATION) {
        let _ = std::fs::remove_file(c);
    }
    if volumes || cfg.auto_remove {
        if let Err(e) = crate::volume::attach::remove_anonymous(engine, cfg) {
            tracing::warn!(container = %cfg.name, error = %e, "removing anonymous volumes");
        }
    }
    // A --rootfs container has no image to remove.
    if cfg.extra.remove_image && !cfg.image_id.is_empty() {
        remove_image_after(engine, &db, cfg).await;
    }
    Ok(())
}

/// `run --rmi`: the image goes too, unless another container uses it.
async fn remove_image_after(
    engine: &EngineConfig,
    db: &crate::state::State,
    cfg: &ContainerConfig,
) {
    match store::using_image(db, &cfg.image_id) {
        Ok(users) if users.is_empty() => {}
        Ok(_) => {
            tracing::warn!(
                "image is in use by a container: {} not removed",
                cfg.image_name
            );
            return;
        }
        Err(e) => {
            tracing::warn!("--rmi: {e}");
            return;
        }
    }
    let Ok(mut s) = helper_procs::storage(engine).await else {
        tracing::warn!(
            "--rmi: storage helper unavailable: {} not removed",
            cfg.image_name
        );
        return;
    };
    let req = proto::storage::v1::RemoveImageRequest {
        image: cfg.image_id.clone(),
        force: false,
    };
    if let Err(e) = s
        .call(
            "RemoveImage",
            |mut c| async move { c.remove_image(req).await },
        )
        .await
    {
        tracing::warn!("--rmi: removing image {}: {e}", cfg.image_name);
    }
    let _ = s.close().await;
}

/// `podman container cleanup [--rm] ID`.
pub async fn cleanup(engine: &EngineConfig, name_or_id: &str, rm: bool) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    let (cfg, _) = match store::resolve(&db, name_or_id) {
        Ok(r) => r,
        // Already removed (e.g. by `rm -f` racing the exit command).
        Err(store::ContainerStoreError::NotFound(_)) if rm => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let paths = ContainerPaths::new(engine, &cfg.id);
    let lock = ContainerLock::acquire(&paths)?;
    cleanup_locked(engine, &cfg.id, lock, rm).await
}

/// [`cleanup`] by a caller that already holds the container's lock (`stop`
/// holds it from its SIGKILL on, so the cleanup is its own and not the
/// exit command's, which then finds nothing left to do).
pub async fn cleanup_locked(
    engine: &EngineConfig,
    id: &str,
    lock: ContainerLock,
    rm: bool,
) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    let paths = ContainerPaths::new(engine, id);
    let (cfg, mut st) = match store::resolve(&db, id) {
        Ok(r) => r,
        Err(store::ContainerStoreError::NotFound(_)) => {
            // Removed while we waited (`rm -f` racing the exit command):
            // the lock file we just made again goes too.
            let _ = std::fs::remove_file(&paths.lock);
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let was_active = st.status.is_active();
    let removing = rm || cfg.auto_remove;
    let holds = was_active
        || !st.mountpoint.is_empty()
        || !st.netns_path.is_empty()
        || !st.bundle_path.is_empty();
    if removing && (!was_active || has_exited(&paths, &cfg, &st)) {
        // One release: the network's teardown beside the layer's removal
        // (which unmounts it too).
        remove_announced(engine, &cfg, &mut st, &paths, false, holds).await?;
        drop(lock);
        if was_active {
            super::pod::after_exit(engine, &cfg).await?;
        }
        return Ok(());
    }
    release_locked(engine, &cfg, &mut st, &paths, StorageEnd::Unmount).await?;
    if holds && !st.status.is_active() {
        crate::events::container(&cfg, "cleanup");
    }
    let restart = was_active && !st.status.is_active() && should_restart(&cfg, &st);
    if restart {
        st.restart_count += 1;
        store::update_state(&db, &cfg.id, &st)?;
    }
    drop(lock);
    if restart {
        let delay = restart_delay(&st);
        tracing::debug!(container = %cfg.name, policy = %cfg.restart.name, count = st.restart_count, delay_ms = delay.as_millis() as u64, "restarting per policy");
        tokio::time::sleep(delay).await;
        // A stop or rm during the back-off cancels the restart.
        let lock = ContainerLock::acquire(&paths)?;
        match store::resolve(&db, &cfg.id) {
            Ok((_, now)) if !now.stopped_by_user && !now.status.is_active() => {}
            Ok(_) | Err(store::ContainerStoreError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        drop(lock);
        super::start::start(engine, &cfg.id).await?;
        crate::events::container(&cfg, "restart");
    } else if was_active && !st.status.is_active() {
        super::pod::after_exit(engine, &cfg).await?;
    }
    Ok(())
}

/// The back-off before a restart: none after a run of 10 s or more, else
/// 100 ms doubling with each restart in a row, at most 10 s, so a container
/// that fails at once does not spin.
fn restart_delay(st: &ContainerState) -> std::time::Duration {
    let ran_ns = st.finished_ns.saturating_sub(st.started_ns);
    if ran_ns >= 10_000_000_000 {
        return std::time::Duration::ZERO;
    }
    let doublings = st.restart_count.saturating_sub(1).min(7);
    std::time::Duration::from_millis((100u64 << doublings).min(10_000))
}

/// `--restart`: always and unless-stopped restart unless the user stopped
/// it; on-failure restarts non-zero exits up to its retry count.
fn should_restart(cfg: &ContainerConfig, st: &ContainerState) -> bool {
    if st.stopped_by_user {
        return false;
    }
    match cfg.restart.name.as_str() {
        "always" | "unless-stopped" => true,
        "on-failure" => {
            st.exit_code != 0
                && (cfg.restart.max_retries == 0 || st.restart_count < cfg.restart.max_retries)
        }
        _ => false,
    }
}

/// Bring a listed container's state up to date cheaply (one stat while it
/// looks alive); run cleanup when it has ended.
pub async fn refresh(
    engine: &EngineConfig,
    rec: (ContainerConfig, ContainerState),
) -> anyhow::Result<(ContainerConfig, ContainerState)> {
    let paths = ContainerPaths::new(engine, &rec.0.id);
    if !has_exited(&paths, &rec.0, &rec.1) {
        super::timer_repair::ensure(engine, &rec.0, &rec.1).await;
        return Ok(rec);
    }
    let cleaned = cleanup(engine, &rec.0.id, false).await;
    let db = crate::state::open_state(engine)?;
    match store::resolve(&db, &rec.0.id) {
        Ok(r) => cleaned.map(|()| r),
        // Removed by its own --rm, or by another podman while this one
        // cleaned up (whose failure then only says the container is gone).
        Err(store::ContainerStoreError::NotFound(_)) => Ok((
            rec.0,
            ContainerState {
                status: Status::Removing,
                ..rec.1
            },
        )),
        Err(e) => Err(e.into()),
    }
}
