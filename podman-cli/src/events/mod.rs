//! Podman's events, file backend: every lifecycle change is one JSON line
//! in the events log (libpod's format), read back by `podman events`.
//!
//! The backend is chosen once per invocation ([`configure`], from
//! `--events-backend` and containers.conf's `events_logger`,
//! `events_logfile_path`, `events_logfile_max_size`); the emitters below
//! are then one call each at the place a change happens. Writing an event
//! never fails the command: an error is logged, as libpod does.

pub mod filter;
pub mod logfile;
pub mod record;
pub mod time;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::container::model::ContainerConfig;
use crate::engine_config::EngineConfig;
pub use record::Event;

/// libpod's default `events_logfile_max_size` (1m).
pub const DEFAULT_MAX_SIZE: u64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    File,
    None,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::File => "file",
            Backend::None => "none",
        }
    }
}

#[derive(Debug, Clone)]
pub struct EventsConfig {
    pub backend: Backend,
    pub path: PathBuf,
    /// Rotate when the log would reach this many bytes; 0: never.
    pub max_size: u64,
    /// `events_container_create_inspect_data`.
    pub inspect_data: bool,
    /// `--tmpdir`-style run directory the default log lives in (passed on
    /// to exit commands).
    tmp_dir: PathBuf,
}

/// Where a journal would listen; none runs on machines without systemd.
const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

impl EventsConfig {
    /// `--events-backend` (`flag`) over containers.conf over the default,
    /// `file`. An explicit journald is refused; containers.conf's journald
    /// (Podman's default on systemd machines) falls back to the file, as
    /// Podman does where no journal is available.
    pub fn load(flag: Option<&str>, engine: &EngineConfig) -> anyhow::Result<EventsConfig> {
        let conf = &engine.containers.engine;
        let backend = match flag {
            Some(f) => match f {
                "file" => Backend::File,
                "none" => Backend::None,
                "journald" => anyhow::bail!("{}", journald_refusal()),
                other => anyhow::bail!(
                    "{other:?} is not a valid events backend: invalid argument"
                ),
            },
            None => match conf.events_logger.as_deref().map(str::to_ascii_lowercase) {
                None => Backend::File,
                Some(l) if l == "file" => Backend::File,
                Some(l) if l == "none" => Backend::None,
                Some(l) if l == "journald" => {
                    tracing::debug!("{}; using the file backend", journald_refusal());
                    Backend::File
                }
                Some(other) => anyhow::bail!(
                    "containers.conf events_logger {other:?} is not a valid events backend: use file, journald or none"
                ),
            },
        };
        let path = conf
            .events_logfile_path
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| default_path(&engine.tmp_dir));
        let max_size = match &conf.events_logfile_max_size {
            None => DEFAULT_MAX_SIZE,
            Some(v) => parse_max_size(v)
                .map_err(|e| anyhow::anyhow!("containers.conf events_logfile_max_size: {e}"))?,
        };
        Ok(EventsConfig {
            backend,
            path,
            max_size,
            inspect_data: conf.events_container_create_inspect_data.unwrap_or(false),
            tmp_dir: engine.tmp_dir.clone(),
        })
    }
}

fn journald_refusal() -> String {
    if Path::new(JOURNAL_SOCKET).exists() {
        "the journald events backend is not supported: use --events-backend file".into()
    } else {
        format!("the journald events backend needs a running journal ({JOURNAL_SOCKET} does not exist): use --events-backend file")
    }
}

/// libpod's default: `<tmp_dir>/events/events.log`. Our tmp_dir defaults to
/// a directory under our own run root, so the log never mixes with an
/// installed Podman's `/run/libpod/events/events.log`.
pub fn default_path(tmp_dir: &Path) -> PathBuf {
    tmp_dir.join("events").join("events.log")
}

/// `events_logfile_max_size`: a number of bytes, or go-units'
/// `FromHumanSize` text (`"1m"`, `"4750"`, `"1.5 MB"`, decimal units).
pub fn parse_max_size(v: &toml::Value) -> Result<u64, String> {
    match v {
        toml::Value::Integer(n) if *n >= 0 => Ok(*n as u64),
        toml::Value::Integer(n) => Err(format!("events log file max size cannot be negative: {n}")),
        toml::Value::String(s) => parse_human_size(s),
        other => Err(format!("{other} is not a size such as \"1m\"")),
    }
}

fn parse_human_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(DEFAULT_MAX_SIZE);
    }
    if t.starts_with('-') {
        return Err(format!("events log file max size cannot be negative: {s}"));
    }
    common::units::from_human_size(t)
        .map(|n| n as u64)
        .map_err(|_| format!("invalid size: '{s}'"))
}

static CONFIG: OnceLock<EventsConfig> = OnceLock::new();

/// Choose this invocation's backend; done once, before any command runs.
pub fn configure(flag: Option<&str>, engine: &EngineConfig) -> anyhow::Result<()> {
    let c = EventsConfig::load(flag, engine)?;
    let _ = CONFIG.set(c);
    Ok(())
}

/// This invocation's events configuration (None before [`configure`]).
pub fn config() -> Option<&'static EventsConfig> {
    CONFIG.get()
}

/// Flags for a command podman runs later on our behalf (the monitor's exit
/// command), so its events go where ours go.
pub fn exit_command_args() -> Vec<String> {
    match config() {
        Some(c) => vec![
            "--events-backend".into(),
            c.backend.as_str().into(),
            "--tmpdir".into(),
            c.tmp_dir.display().to_string(),
        ],
        None => vec![],
    }
}

/// Write one event; a failure is logged, never returned.
pub fn write(e: &Event) {
    let Some(c) = config() else {
        return;
    };
    if c.backend == Backend::None {
        return;
    }
    if let Err(err) = logfile::append(&c.path, c.max_size, e) {
        tracing::error!(
            "Unable to write {} event: {err} ({})",
            e.kind,
            c.path.display()
        );
    }
}

fn container_event(cfg: &ContainerConfig, status: &str) -> Event {
    let mut e = Event::new("container", status);
    e.id = cfg.id.clone();
    e.name = cfg.name.clone();
    e.image = cfg.image_name.clone();
    e.attributes = Some(cfg.labels.clone());
    e
}

fn enabled() -> bool {
    config().is_some_and(|c| c.backend != Backend::None)
}

/// A container event (`create`, `init`, `start`, `attach`, `stop`, `kill`,
/// `pause`, `unpause`, `restart`, `rename`, `cleanup`, `exec`, ...).
pub fn container(cfg: &ContainerConfig, status: &str) {
    if enabled() {
        write(&container_event(cfg, status));
    }
}

/// A healthcheck ran: `health_status` with the resulting status and the
/// failing streak (as libpod's newContainerHealthCheckEvent).
pub fn health_status(cfg: &ContainerConfig, status: &str, failing_streak: u32, log: String) {
    if enabled() {
        let mut e = container_event(cfg, "health_status");
        e.health_status = status.to_string();
        e.health_log = log;
        e.health_failing_streak = i64::from(failing_streak);
        write(&e);
    }
}

/// `create`, with the container's inspect document when containers.conf
/// asks for it (`events_container_create_inspect_data`).
pub fn container_create(cfg: &ContainerConfig, inspect: impl FnOnce() -> Option<String>) {
    if !enabled() {
        return;
    }
    let mut e = container_event(cfg, "create");
    if config().is_some_and(|c| c.inspect_data) {
        e.container_inspect_data = inspect().unwrap_or_default();
    }
    write(&e);
}

/// A container event carrying its exit code: `died` (with OOMKilled when
/// the kernel killed it) and `remove`.
pub fn container_exit(cfg: &ContainerConfig, status: &str, exit_code: Option<i32>, oom: bool) {
    if !enabled() {
        return;
    }
    let mut e = container_event(cfg, status);
    e.container_exit_code = exit_code.map(i64::from);
    if oom {
        e.oom_killed = Some(true);
    }
    write(&e);
}

/// An exec session ended. libpod means to record the session in
/// `execID` (it then overwrites the attributes with the labels); we keep
/// both, so a session's end can be found by its ID.
pub fn exec_died(cfg: &ContainerConfig, exec_id: &str, exit_code: i32) {
    if !enabled() {
        return;
    }
    let mut e = container_event(cfg, "exec_died");
    e.container_exit_code = Some(exit_code.into());
    e.attributes
        .get_or_insert_with(Default::default)
        .insert("execID".into(), exec_id.into());
    write(&e);
}

/// An image event: `pull`, `push`, `save`, `loadfromarchive`, `tag`,
/// `untag`, `remove`. `name` is what the user named (libimage's choice:
/// the pulled reference, the archive path, the new tag).
pub fn image(status: &str, id: &str, name: &str) {
    if !enabled() {
        return;
    }
    let mut e = Event::new("image", status);
    e.id = id.trim_start_matches("sha256:").to_string();
    e.name = name.to_string();
    write(&e);
}

/// A pull that failed (`pull-error`), with the error's text.
pub fn image_pull_error(name: &str, error: &anyhow::Error) {
    if !enabled() {
        return;
    }
    let mut e = Event::new("image", "pull-error");
    e.name = name.to_string();
    e.error = crate::error::one_line(error);
    write(&e);
}

/// `podman pull` and pulls for `create`/`run`: `pull` or `pull-error`.
pub fn image_pulled<T>(name: &str, r: &anyhow::Result<T>, id: impl FnOnce(&T) -> &str) {
    match r {
        Ok(img) => image("pull", id(img), name),
        Err(e) => image_pull_error(name, e),
    }
}

/// A network was created or removed.
pub fn network(status: &str, name: &str, id: &str, driver: &str) {
    if !enabled() {
        return;
    }
    let mut e = Event::new("network", status);
    e.network = name.to_string();
    e.id = id.to_string();
    e.attributes = Some([("driver".to_string(), driver.to_string())].into());
    write(&e);
}

/// A volume event: `create`, `remove`, `mount`, `unmount`, `prune`.
pub fn volume(status: &str, name: &str) {
    if !enabled() {
        return;
    }
    let mut e = Event::new("volume", status);
    e.name = name.to_string();
    write(&e);
}

/// A secret was created or removed.
pub fn secret(status: &str, id: &str) {
    if !enabled() {
        return;
    }
    let mut e = Event::new("secret", status);
    e.id = id.to_string();
    write(&e);
}

/// A pod event (`create`, `start`, `stop`, `kill`, `pause`, `unpause`,
/// `remove`).
pub fn pod(status: &str, id: &str, name: &str) {
    if !enabled() {
        return;
    }
    let mut e = Event::new("pod", status);
    e.id = id.to_string();
    e.name = name.to_string();
    write(&e);
}

/// A container was connected to or disconnected from a network.
pub fn network_container(cfg: &ContainerConfig, status: &str, network: &str) {
    if !enabled() {
        return;
    }
    let mut e = Event::new("network", status);
    e.id = cfg.id.clone();
    e.name = cfg.name.clone();
    e.network = network.to_string();
    write(&e);
}

/// The exit code in the last `died` event of container `id`, as Podman's
/// `GetLastContainerExitCode` reads it from the events backend (None with
/// the `none` backend or when there is no such event).
pub fn last_exit_code(id: &str) -> Option<i32> {
    let c = config()?;
    if c.backend == Backend::None {
        return None;
    }
    let mut reader = logfile::Reader::open(&c.path, false, 0).ok()?;
    let lines = reader.read_new(false).ok()?;
    lines.iter().rev().find_map(|l| match l {
        logfile::Line::Event(e) if e.kind == "container" && e.status == "died" && e.id == id => {
            e.container_exit_code.map(|c| c as i32)
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_sizes_as_containers_conf_gives_them() {
        let s = |x: &str| parse_max_size(&toml::Value::String(x.into()));
        assert_eq!(parse_max_size(&toml::Value::Integer(4750)), Ok(4750));
        assert_eq!(s("1m"), Ok(1_000_000));
        assert_eq!(s("1MB"), Ok(1_000_000));
        assert_eq!(s("2 kb"), Ok(2000));
        assert_eq!(s("1.5k"), Ok(1500));
        assert_eq!(s("4750"), Ok(4750));
        assert_eq!(s("0"), Ok(0));
        assert_eq!(s(""), Ok(DEFAULT_MAX_SIZE));
        assert!(s("-1").is_err());
        assert!(s("lots").is_err());
        assert!(parse_max_size(&toml::Value::Integer(-1)).is_err());
    }

    #[test]
    fn the_default_log_is_under_our_tmp_dir() {
        assert_eq!(
            default_path(Path::new("/run/podman-rs/storage/libpod-tmp")),
            PathBuf::from("/run/podman-rs/storage/libpod-tmp/events/events.log")
        );
    }
}
