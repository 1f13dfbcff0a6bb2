//! A killed monitor's timer comes back (the reconcile path, see
//! reconcile.rs): a running container whose ctr-monitor is gone has no
//! one left to run its healthcheck every interval. The next command that
//! looks at it (`refresh`) starts `ctr-monitor timer` in the monitor's
//! place, which runs the same command until the container's process ends.
//! Its pid file in the bundle says a repair is already in place.

use std::path::PathBuf;
use std::process::Stdio;

use super::paths::ContainerPaths;
use crate::container::model::{ContainerConfig, ContainerState, Status};
use crate::engine_config::EngineConfig;

fn pid_file(paths: &ContainerPaths) -> PathBuf {
    paths.bundle.join("timer.pid")
}

/// Whether the repaired timer recorded in the bundle still runs (its
/// command line names this container, so a reused pid does not count).
fn timer_alive(paths: &ContainerPaths, id: &str) -> bool {
    let Some(pid) = std::fs::read_to_string(pid_file(paths))
        .ok()
        .and_then(|p| p.trim().parse::<i32>().ok())
    else {
        return false;
    };
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| c.split(|b| *b == 0).any(|arg| arg == id.as_bytes()))
}

/// Start the timer when `cfg` needs one and nothing runs it. Cheap when
/// the monitor lives (one kill(0)); failures are logged, the next command
/// tries again.
pub async fn ensure(engine: &EngineConfig, cfg: &ContainerConfig, st: &ContainerState) {
    if st.status != Status::Running || super::cleanup::alive(st.monitor_pid) {
        return;
    }
    let paths = ContainerPaths::new(engine, &cfg.id);
    let pending = super::health::startup_pending(&paths, cfg);
    let (command, interval_ms) = super::start::health_timer(engine, cfg, pending);
    if command.is_empty() || interval_ms == 0 || !super::cleanup::alive(st.pid) {
        return;
    }
    // One repair at a time: a second command finds the lock held and leaves it.
    let lock = match common::file_lock::FileLock::try_exclusive(&paths.bundle.join("timer.lock")) {
        Ok(Some(l)) => l,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(container = %cfg.id, error = %e, "locking the timer repair");
            return;
        }
    };
    if timer_alive(&paths, &cfg.id) {
        return;
    }
    let exe = match common::paths::find_helper(
        "ctr-monitor",
        &engine.containers.engine.helper_binaries_dir,
    ) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(container = %cfg.id, error = %e, "re-arming the healthcheck timer");
            return;
        }
    };
    let out = tokio::process::Command::new(exe)
        .arg("--runroot")
        .arg(&engine.run_root)
        .arg("timer")
        .arg("--pid")
        .arg(st.pid.to_string())
        .arg("--interval-ms")
        .arg(interval_ms.to_string())
        .arg("--pid-file")
        .arg(pid_file(&paths))
        .arg("--")
        .args(&command)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .await;
    match out {
        Ok(o) if o.status.success() => {
            tracing::info!(container = %cfg.id, interval_ms, "monitor gone: healthcheck timer re-armed")
        }
        Ok(o) => tracing::warn!(
            container = %cfg.id,
            error = %String::from_utf8_lossy(&o.stderr).trim(),
            "re-arming the healthcheck timer"
        ),
        Err(e) => {
            tracing::warn!(container = %cfg.id, error = %e, "re-arming the healthcheck timer")
        }
    }
    drop(lock);
}

/// The check's interval changed (a startup check passed, `update
/// --health-interval`): tell the monitor, or replace the repaired timer
/// that runs in a killed monitor's place.
pub async fn retime(engine: &EngineConfig, cfg: &ContainerConfig, st: &ContainerState) {
    if st.status != Status::Running {
        return;
    }
    let paths = ContainerPaths::new(engine, &cfg.id);
    let pending = super::health::startup_pending(&paths, cfg);
    let (_, interval_ms) = super::start::health_timer(engine, cfg, pending);
    if super::cleanup::alive(st.monitor_pid) {
        let r = async {
            let ch = proto::transport::connect_unix(&paths.monitor_socket(&cfg.id)).await?;
            proto::monitor::v1::monitor_client::MonitorClient::new(ch)
                .set_timer(proto::monitor::v1::SetTimerRequest {
                    id: cfg.id.clone(),
                    interval_ms,
                })
                .await?;
            anyhow::Ok(())
        }
        .await;
        match r {
            Ok(()) => {
                tracing::debug!(container = %cfg.id, interval_ms, "healthcheck timer re-timed")
            }
            Err(e) => {
                tracing::warn!(container = %cfg.id, error = %e, "re-timing the healthcheck timer")
            }
        }
        return;
    }
    if let Some(pid) = std::fs::read_to_string(pid_file(&paths))
        .ok()
        .and_then(|p| p.trim().parse::<i32>().ok())
        .filter(|_| timer_alive(&paths, &cfg.id))
    {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = std::fs::remove_file(pid_file(&paths));
    }
    ensure(engine, cfg, st).await;
}
