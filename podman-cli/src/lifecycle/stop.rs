//! `stop` and `kill`. Stopping a container that is not running succeeds
//! quietly and records no error: "already stopped" is a normal result.

use std::time::Duration;

use proto::monitor::v1::{KillRequest, WaitRequest};

use super::paths::{ContainerLock, ContainerPaths};
use crate::container::model::{ContainerConfig, ContainerState, Status};
use crate::container::store;
use crate::engine_config::EngineConfig;

async fn monitor(paths: &ContainerPaths, id: &str) -> Option<helpers_client::Client> {
    let ch = proto::transport::connect_unix(&paths.monitor_socket(id))
        .await
        .ok()?;
    Some(helpers_client::Client::new(ch))
}

mod helpers_client {
    pub type Client = proto::monitor::v1::monitor_client::MonitorClient<tonic::transport::Channel>;
}

/// Send `signal`; false when the container had already exited.
async fn signal(paths: &ContainerPaths, cfg: &ContainerConfig, sig: i32) -> anyhow::Result<bool> {
    match monitor(paths, &cfg.id).await {
        Some(mut m) => {
            let r = m
                .kill(KillRequest {
                    id: cfg.id.clone(),
                    signal: sig as u32,
                    all: false,
                })
                .await;
            match r {
                Ok(r) => Ok(!r.into_inner().already_exited),
                Err(s) => anyhow::bail!("killing container {}: {}", cfg.name, s.message()),
            }
        }
        None => {
            // The monitor is gone (killed): ask the runtime directly.
            let out = tokio::process::Command::new(&cfg.runtime)
                .arg("--root")
                .arg(&paths.runtime_root)
                .args(["kill", &cfg.id, &sig.to_string()])
                .stdin(std::process::Stdio::null())
                .output()
                .await?;
            Ok(out.status.success())
        }
    }
}

/// A stop timeout that never runs out (`stop -t -1`): only the stop
/// signal is sent, and the stop waits until the container exits.
pub const WAIT_FOREVER: u32 = u32::MAX;

/// Wait for the container to exit, up to `timeout` (`None`: for ever);
/// true if it did.
async fn wait_exit(
    paths: &ContainerPaths,
    cfg: &ContainerConfig,
    st: &ContainerState,
    timeout: Option<Duration>,
) -> bool {
    if let Some(mut m) = monitor(paths, &cfg.id).await {
        let w = m.wait(WaitRequest { id: cfg.id.clone() });
        return match timeout {
            Some(t) => matches!(tokio::time::timeout(t, w).await, Ok(Ok(_))),
            None => w.await.is_ok(),
        };
    }
    // No monitor: watch the process itself.
    let deadline = timeout.map(|t| std::time::Instant::now() + t);
    while deadline.is_none_or(|d| std::time::Instant::now() < d) {
        if st.pid <= 0 || nix::sys::signal::kill(nix::unistd::Pid::from_raw(st.pid), None).is_err()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

pub async fn stop(
    engine: &EngineConfig,
    name_or_id: &str,
    timeout: Option<u32>,
) -> anyhow::Result<ContainerConfig> {
    let db = crate::state::open_state(engine)?;
    let (cfg, st) = store::resolve(&db, name_or_id)?;
    let paths = ContainerPaths::new(engine, &cfg.id);
    if !st.status.is_active() {
        // An exited container whose policy may restart it (its cleanup
        // may be in the back-off): the stop is for good.
        if !matches!(cfg.restart.name.as_str(), "" | "no") && !st.stopped_by_user {
            let _lock = ContainerLock::acquire(&paths)?;
            let (_, mut st) = store::resolve(&db, &cfg.id)?;
            if !st.status.is_active() {
                st.stopped_by_user = true;
                store::update_state(&db, &cfg.id, &st)?;
                return Ok(cfg);
            }
        } else {
            return Ok(cfg);
        }
    }
    {
        let _lock = ContainerLock::acquire(&paths)?;
        let (_, mut st) = store::resolve(&db, &cfg.id)?;
        st.stopped_by_user = true;
        // As libpod: the state reads "stopping" while the stop signal and
        // its timeout run (the lock is not held meanwhile).
        if st.status == Status::Running {
            st.status = Status::Stopping;
        }
        store::update_state(&db, &cfg.id, &st)?;
    }
    let signalled = send_stop_signals(&paths, &cfg, &st, timeout).await;
    if let Err(e) = &signalled {
        // The stop did not happen: a container still running reads so again.
        // (The signals hold no lock when they fail.)
        let _lock = ContainerLock::acquire(&paths)?;
        let (_, mut now) = store::resolve(&db, &cfg.id)?;
        if now.status == Status::Stopping {
            now.status = Status::Running;
            store::update_state(&db, &cfg.id, &now)?;
        }
        anyhow::bail!("{e:#}");
    }
    crate::events::container(&cfg, "stop");
    match signalled? {
        Some(lock) => super::cleanup::cleanup_locked(engine, &cfg.id, lock, false).await?,
        None => super::cleanup::cleanup(engine, &cfg.id, false).await?,
    }
    Ok(cfg)
}

/// The stop signal, and SIGKILL when it did not stop the container within
/// `timeout` (the container's own stop timeout when `None`). The SIGKILL
/// is sent with the container's lock held, and the lock is returned: the
/// exit it causes is cleaned up by this stop at once, while the monitor's
/// exit command (a new podman process, started after the runtime's
/// delete) waits for the lock and then finds nothing left to do.
async fn send_stop_signals(
    paths: &ContainerPaths,
    cfg: &ContainerConfig,
    st: &ContainerState,
    timeout: Option<u32>,
) -> anyhow::Result<Option<ContainerLock>> {
    let timeout = timeout.unwrap_or(cfg.stop_timeout);
    let mut exited = false;
    if timeout > 0 && signal(paths, cfg, cfg.stop_signal).await? {
        crate::kill_point::reached("stop-after-signal");
        let wait = (timeout != WAIT_FOREVER).then(|| Duration::from_secs(timeout as u64));
        exited = wait_exit(paths, cfg, st, wait).await;
        if !exited {
            eprintln!(
                "WARN StopSignal {} failed to stop container {} in {timeout} seconds, resorting to SIGKILL",
                nix::sys::signal::Signal::try_from(cfg.stop_signal).map(|s| s.as_str()).unwrap_or("?"),
                cfg.name
            );
        }
    }
    if exited {
        return Ok(None);
    }
    let lock = ContainerLock::acquire(paths)?;
    signal(paths, cfg, libc::SIGKILL).await?;
    crate::kill_point::reached("stop-after-signal");
    wait_exit(paths, cfg, st, Some(Duration::from_secs(10))).await;
    Ok(Some(lock))
}

pub async fn kill(
    engine: &EngineConfig,
    name_or_id: &str,
    sig: i32,
) -> anyhow::Result<ContainerConfig> {
    let db = crate::state::open_state(engine)?;
    let (cfg, st) = store::resolve(&db, name_or_id)?;
    if !st.status.is_active() {
        anyhow::bail!(
            "can only kill running containers. {} is in state {}: container state improper",
            cfg.id,
            st.status.as_str()
        );
    }
    let paths = ContainerPaths::new(engine, &cfg.id);
    // As Podman: a killed container was stopped by its user, so its
    // restart policy does not bring it back. Recorded before the signal,
    // under the container lock, so the exit's cleanup already sees it.
    {
        let _lock = ContainerLock::acquire(&paths)?;
        let (_, mut st) = store::resolve(&db, &cfg.id)?;
        st.stopped_by_user = true;
        store::update_state(&db, &cfg.id, &st)?;
    }
    signal(&paths, &cfg, sig).await?;
    crate::events::container(&cfg, "kill");
    Ok(cfg)
}
