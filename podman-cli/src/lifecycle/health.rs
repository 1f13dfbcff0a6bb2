//! Healthchecks as libpod runs them: the check command executed in the
//! running container (through the OCI runtime's `exec`, killed at its
//! timeout), the result kept in the container's `healthcheck.log`
//! (status, failing streak, the last five runs), the on-failure action,
//! and a health_status event. The container's ctr-monitor calls
//! `podman healthcheck run` every interval (see start.rs); nothing else
//! keeps time.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::container::model::{
    ContainerConfig, ContainerState, Healthcheck, StartupHealthcheck, Status,
};
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::lifecycle::paths::ContainerPaths;

pub const HEALTHY: &str = "healthy";
pub const UNHEALTHY: &str = "unhealthy";
pub const STARTING: &str = "starting";
pub const STOPPED: &str = "stopped";

use super::health_config::{DEFAULT_MAX_LOG_COUNT, DEFAULT_MAX_LOG_SIZE, EVENTS_LOGGER};

/// inspect's State.Health (define.HealthCheckResults).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HealthResults {
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "FailingStreak")]
    pub failing_streak: u32,
    #[serde(rename = "Log", default)]
    pub log: Vec<HealthLogEntry>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HealthLogEntry {
    #[serde(rename = "Start")]
    pub start: String,
    #[serde(rename = "End")]
    pub end: String,
    #[serde(rename = "ExitCode")]
    pub exit_code: i32,
    #[serde(rename = "Output")]
    pub output: String,
}

pub use super::health_flags::{
    on_failure_action, parse, parse_startup, HealthFlagError, HealthFlags, StartupFlags,
    DEFAULT_INTERVAL_NS, DEFAULT_RETRIES, DEFAULT_TIMEOUT_NS,
};

/// libpod's getHealthCheckLogDestination: the bundle's healthcheck.log,
/// or `<id>-healthcheck.log` in the directory given.
fn log_path(paths: &ContainerPaths, cfg: &ContainerConfig) -> PathBuf {
    match cfg
        .extra
        .healthcheck
        .as_ref()
        .map(|h| h.log_destination.as_str())
    {
        None | Some("" | "local" | EVENTS_LOGGER) => paths.bundle.join("healthcheck.log"),
        Some(dir) => std::path::Path::new(dir).join(format!("{}-healthcheck.log", cfg.id)),
    }
}

/// The recorded results (empty before the first run).
pub fn read(paths: &ContainerPaths, cfg: &ContainerConfig) -> HealthResults {
    std::fs::read(log_path(paths, cfg))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write(paths: &ContainerPaths, cfg: &ContainerConfig, r: &HealthResults) -> anyhow::Result<()> {
    common::atomic_file::write_atomic_mode(
        &log_path(paths, cfg),
        &serde_json::to_vec(r)?,
        common::private_dir::FILE_MODE,
        common::atomic_file::Durability::NoSync,
    )?;
    Ok(())
}

/// At start: the log begins again, "starting", and a startup check has
/// to pass again.
pub fn reset(paths: &ContainerPaths, cfg: &ContainerConfig) -> anyhow::Result<()> {
    write_startup(paths, &StartupState::default())?;
    write(
        paths,
        cfg,
        &HealthResults {
            status: STARTING.into(),
            ..Default::default()
        },
    )
}

/// Where a startup check stands since the last start (libpod's
/// StartupHCPassed and counters in the container state).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
struct StartupState {
    passed: bool,
    successes: u32,
    failures: u32,
}

fn startup_path(paths: &ContainerPaths) -> PathBuf {
    paths.bundle.join("startup-health.json")
}

fn read_startup(paths: &ContainerPaths) -> StartupState {
    std::fs::read(startup_path(paths))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write_startup(paths: &ContainerPaths, s: &StartupState) -> anyhow::Result<()> {
    common::atomic_file::write_atomic_mode(
        &startup_path(paths),
        &serde_json::to_vec(s)?,
        common::private_dir::FILE_MODE,
        common::atomic_file::Durability::NoSync,
    )?;
    Ok(())
}

/// The container has a startup check that has not passed since it started:
/// its timer runs at the startup interval.
pub fn startup_pending(paths: &ContainerPaths, cfg: &ContainerConfig) -> bool {
    cfg.extra
        .healthcheck
        .as_ref()
        .is_some_and(|h| h.is_active() && h.startup.is_some())
        && !read_startup(paths).passed
}

/// The check's process: the container's own, running `argv`.
fn process_doc(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    st: &ContainerState,
    argv: Vec<String>,
) -> anyhow::Result<serde_json::Value> {
    let mut pcfg = cfg.clone();
    pcfg.entrypoint = vec![];
    pcfg.cmd = argv;
    pcfg.terminal = false;
    pcfg.init = false;
    pcfg.env.extend(super::secrets::environment(engine, cfg)?);
    crate::spec::exec_process::process(
        &pcfg,
        std::path::Path::new(&st.mountpoint),
        engine.containers.containers.default_capabilities.as_deref(),
    )
}

/// Run `argv` in the container; (exit code, output). -1 at the timeout.
async fn exec(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    st: &ContainerState,
    paths: &ContainerPaths,
    argv: Vec<String>,
    timeout: Duration,
) -> anyhow::Result<(i32, String)> {
    let tag = &crate::container::names::new_id()?[..8];
    let process_path = paths.bundle.join(format!("exec-hc-{tag}.json"));
    let pid_path = paths.bundle.join(format!("exec-hc-{tag}.pid"));
    common::atomic_file::write_atomic_mode(
        &process_path,
        &serde_json::to_vec(&process_doc(engine, cfg, st, argv)?)?,
        common::private_dir::FILE_MODE,
        common::atomic_file::Durability::NoSync,
    )?;
    let child = tokio::process::Command::new(&cfg.runtime)
        .arg("--root")
        .arg(&paths.runtime_root)
        .arg("exec")
        .arg("--process")
        .arg(&process_path)
        .arg("--pid-file")
        .arg(&pid_path)
        .arg(&cfg.id)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let result = match child {
        Err(e) => Err(anyhow::anyhow!("running {}: {e}", cfg.runtime)),
        Ok(child) => {
            let waited = tokio::time::timeout(timeout, child.wait_with_output()).await;
            match waited {
                Ok(Ok(out)) => {
                    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
                    text.push_str(&String::from_utf8_lossy(&out.stderr));
                    Ok((out.status.code().unwrap_or(1), text))
                }
                Ok(Err(e)) => Err(e.into()),
                Err(_) => {
                    // The runtime forwards no SIGKILL: kill the check itself.
                    if let Some(pid) = std::fs::read_to_string(&pid_path)
                        .ok()
                        .and_then(|p| p.trim().parse::<i32>().ok())
                    {
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(pid),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                    Ok((-1, String::new()))
                }
            }
        }
    };
    let _ = std::fs::remove_file(&process_path);
    let _ = std::fs::remove_file(&pid_path);
    result
}

/// The outcome of one `healthcheck run`: this run's result ("healthy",
/// "unhealthy", "starting" or "stopped"), not the recorded status.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    pub status: String,
}

#[derive(Debug, thiserror::Error)]
pub enum HealthRunError {
    #[error("container {0} is not running")]
    NotRunning(String),
    #[error("container {0} has no defined healthcheck")]
    NotDefined(String),
}

/// Run the container's healthcheck once and record it (libpod's
/// runHealthCheck and updateHealthCheckLog), then carry out the on-failure
/// action if it turned unhealthy.
pub async fn run(engine: &EngineConfig, name_or_id: &str) -> anyhow::Result<CheckOutcome> {
    let db = crate::state::open_state(engine)?;
    let record = store::resolve(&db, name_or_id)?;
    let (cfg, st) = crate::lifecycle::cleanup::refresh(engine, record).await?;
    let hc = match &cfg.extra.healthcheck {
        Some(h) if h.is_active() => h.clone(),
        _ => return Err(HealthRunError::NotDefined(cfg.id.clone()).into()),
    };
    if st.status != Status::Running {
        return Err(HealthRunError::NotRunning(cfg.id.clone()).into());
    }
    let paths = ContainerPaths::new(engine, &cfg.id);
    // Until the startup check passes, it runs instead of the regular one.
    let startup = hc
        .startup
        .as_ref()
        .filter(|_| startup_pending(&paths, &cfg));
    let (test, timeout_ns) = match startup {
        Some(s) => (&s.test, s.timeout_ns),
        None => (&hc.test, hc.timeout_ns),
    };
    let argv = match test.first().map(String::as_str) {
        Some("CMD") => test[1..].to_vec(),
        Some("CMD-SHELL") => vec!["/bin/sh".into(), "-c".into(), test[1..].join(" ")],
        _ => test.clone(),
    };
    if argv.is_empty() || argv[0].is_empty() {
        return Err(HealthRunError::NotDefined(cfg.id.clone()).into());
    }
    let started = common::time::now_nanos();
    let in_start_period = startup.is_some()
        || (hc.start_period_ns > 0 && started < st.started_ns + hc.start_period_ns);
    let timeout = Duration::from_nanos(timeout_ns.max(1_000_000_000) as u64);
    let (code, output) = match exec(engine, &cfg, &st, &paths, argv, timeout).await {
        Ok((0, out)) => (0, out),
        Ok((-1, out)) => (-1, out),
        Ok((_, out)) => (1, out),
        Err(e) => (125, e.to_string()),
    };
    let ended = common::time::now_nanos();
    let mut output = output;
    let max_size = hc.max_log_size.unwrap_or(DEFAULT_MAX_LOG_SIZE) as usize;
    if max_size > 0 && output.len() > max_size {
        let mut cut = max_size;
        while !output.is_char_boundary(cut) {
            cut -= 1;
        }
        output.truncate(cut);
    }
    // A check that failed because the container stopped meanwhile says
    // so, and counts as no failure (libpod's HealthCheckContainerStopped).
    let stopped = code != 0
        && store::resolve(&db, &cfg.id).map_or(true, |(_, now)| now.status != Status::Running);
    let mut r = read(&paths, &cfg);
    if code == 0 {
        r.status = HEALTHY.into();
        r.failing_streak = 0;
    } else if stopped {
        r.status = STOPPED.into();
    } else {
        if r.status.is_empty() {
            r.status = HEALTHY.into();
        }
        if !in_start_period {
            r.failing_streak += 1;
            if r.failing_streak >= hc.retries {
                r.status = UNHEALTHY.into();
            }
        }
    }
    r.log.push(HealthLogEntry {
        start: common::time::rfc3339_local(started),
        end: common::time::rfc3339_local(ended),
        exit_code: code,
        output,
    });
    let max_count = hc.max_log_count.unwrap_or(DEFAULT_MAX_LOG_COUNT) as usize;
    if max_count > 0 && r.log.len() > max_count {
        let extra = r.log.len() - max_count;
        r.log.drain(..extra);
    }
    write(&paths, &cfg, &r)?;
    // events_logger: the event carries the run (libpod's HealthLog).
    let health_log = if hc.log_destination == EVENTS_LOGGER {
        r.log
            .last()
            .and_then(|l| serde_json::to_string(l).ok())
            .unwrap_or_default()
    } else {
        String::new()
    };
    crate::events::health_status(&cfg, &r.status, r.failing_streak, health_log);
    if stopped {
        return Ok(CheckOutcome {
            status: STOPPED.into(),
        });
    }
    match startup {
        Some(s) => startup_result(engine, &cfg, &st, &paths, s, code == 0).await?,
        None if r.status == UNHEALTHY => on_failure(engine, &cfg, &hc).await?,
        None => {}
    }
    // What this run says (libpod's HealthCheckStatus): a failed run is
    // "unhealthy" even before the streak turns the container unhealthy,
    // and "starting" while a startup check has not passed.
    let status = match (code, startup) {
        (0, _) => HEALTHY,
        (_, Some(_)) => STARTING,
        _ => UNHEALTHY,
    };
    Ok(CheckOutcome {
        status: status.into(),
    })
}

/// libpod's incrementStartupHC{Success,Failure}Counter: enough successes
/// in a row hand the timer over to the regular check; `retries` failures
/// in a row restart the container.
async fn startup_result(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    st: &ContainerState,
    paths: &ContainerPaths,
    s: &StartupHealthcheck,
    ok: bool,
) -> anyhow::Result<()> {
    let mut state = read_startup(paths);
    if ok {
        state.successes += 1;
        if s.successes == 0 || state.successes >= s.successes {
            state = StartupState {
                passed: true,
                ..Default::default()
            };
            write_startup(paths, &state)?;
            tracing::info!(container = %cfg.id, "startup healthcheck passed");
            super::timer_repair::retime(engine, cfg, st).await;
            return Ok(());
        }
        state.failures = 0;
        return write_startup(paths, &state);
    }
    state.failures += 1;
    state.successes = 0;
    write_startup(paths, &state)?;
    if s.retries != 0 && state.failures >= s.retries {
        tracing::info!(container = %cfg.id, "restarting the container: its startup healthcheck failed");
        crate::lifecycle::stop::stop(engine, &cfg.id, None).await?;
        crate::lifecycle::start::start(engine, &cfg.id).await?;
    }
    Ok(())
}

/// libpod's processHealthCheckStatus. `restart` stops the container and
/// lets its cleanup start it again, as Podman does.
async fn on_failure(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    hc: &Healthcheck,
) -> anyhow::Result<()> {
    match hc.on_failure.as_str() {
        "kill" => {
            crate::lifecycle::stop::kill(engine, &cfg.id, libc::SIGKILL).await?;
        }
        "stop" => {
            crate::lifecycle::stop::stop(engine, &cfg.id, None).await?;
        }
        "restart" => {
            crate::lifecycle::stop::stop(engine, &cfg.id, None).await?;
            crate::lifecycle::start::start(engine, &cfg.id).await?;
        }
        _ => {}
    }
    Ok(())
}

/// inspect's healthcheck fields: State.Health (the recorded results) and
/// Config.Healthcheck, as libpod shows them when a healthcheck is set.
pub fn inspect_fields(engine: &EngineConfig, cfg: &ContainerConfig, doc: &mut serde_json::Value) {
    let h = cfg.extra.healthcheck.as_ref();
    let dest = h.map(|h| h.log_destination.as_str()).unwrap_or_default();
    doc["Config"]["HealthLogDestination"] =
        serde_json::json!(if dest.is_empty() { "local" } else { dest });
    doc["Config"]["HealthcheckMaxLogCount"] = serde_json::json!(h
        .and_then(|h| h.max_log_count)
        .unwrap_or(DEFAULT_MAX_LOG_COUNT));
    doc["Config"]["HealthcheckMaxLogSize"] = serde_json::json!(h
        .and_then(|h| h.max_log_size)
        .unwrap_or(DEFAULT_MAX_LOG_SIZE));
    // Unset, Podman's JSON omits it (a nil pointer: templates print <nil>).
    let Some(h) = h else {
        return;
    };
    if !h.is_active() {
        doc["Config"]["Healthcheck"] = serde_json::json!({ "Test": h.test });
        return;
    }
    let paths = ContainerPaths::new(engine, &cfg.id);
    let mut results = read(&paths, cfg);
    if results.status.is_empty() {
        results.status = STARTING.into();
    }
    doc["State"]["Health"] = serde_json::json!(results);
    doc["Config"]["Healthcheck"] = serde_json::json!({
        "Test": h.test,
        "Interval": h.interval_ns,
        "Timeout": h.timeout_ns,
        "StartPeriod": h.start_period_ns,
        "Retries": h.retries,
    });
    doc["Config"]["HealthcheckOnFailureAction"] = serde_json::json!(h.on_failure);
    if let Some(s) = &h.startup {
        let mut v = serde_json::json!({
            "Test": s.test,
            "Interval": s.interval_ns,
            "Timeout": s.timeout_ns,
        });
        // Go's omitempty.
        if s.retries > 0 {
            v["Retries"] = serde_json::json!(s.retries);
        }
        if s.successes > 0 {
            v["Successes"] = serde_json::json!(s.successes);
        }
        doc["Config"]["StartupHealthCheck"] = v;
    }
}

/// The status `ps` shows after "Up ..." ("" without a healthcheck).
pub fn status(engine: &EngineConfig, cfg: &ContainerConfig) -> String {
    if !cfg
        .extra
        .healthcheck
        .as_ref()
        .is_some_and(|h| h.is_active())
    {
        return String::new();
    }
    let s = read(&ContainerPaths::new(engine, &cfg.id), cfg).status;
    if s.is_empty() {
        STARTING.into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_become_podmans_health_config() {
        let h = parse(&HealthFlags {
            cmd: Some("curl -f localhost".into()),
            ..Default::default()
        })
        .unwrap()
        .unwrap();
        assert_eq!(h.test, ["CMD-SHELL", "curl -f localhost"]);
        assert_eq!(h.interval_ns, DEFAULT_INTERVAL_NS);
        assert_eq!(h.retries, 3);
        assert_eq!(h.on_failure, "none");
        let h = parse(&HealthFlags {
            cmd: Some(r#"["ls", "/"]"#.into()),
            interval: Some("disable".into()),
            ..Default::default()
        })
        .unwrap()
        .unwrap();
        assert_eq!(h.test, ["CMD", "ls", "/"]);
        assert_eq!(h.interval_ns, 0);
        assert!(matches!(
            parse(&HealthFlags {
                cmd: Some("true".into()),
                on_failure: Some("explode".into()),
                ..Default::default()
            }),
            Err(HealthFlagError::OnFailure(_))
        ));
        assert!(matches!(
            parse(&HealthFlags {
                cmd: Some("true".into()),
                none: true,
                ..Default::default()
            }),
            Err(HealthFlagError::Conflict)
        ));
    }
}
