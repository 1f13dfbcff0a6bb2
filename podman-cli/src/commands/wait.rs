//! `podman wait`: block until containers reach a condition and print their
//! exit codes (-1 for conditions other than "stopped" and "exited").
//!
//! Exit conditions alone ask the container's monitor (`Wait` answers at the
//! exit). Any other condition is a state in the database: we re-check when
//! the database changes (inotify on its directory: every commit appends to
//! the WAL) or an exit file appears, never by sleep-polling; `--interval`
//! (default 5 s) is only a fallback for changes nothing writes down, such as
//! a monitor killed together with its container.

use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::Duration;

use clap::Args;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use crate::container::model::{ContainerState, Status};
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::error::ExitError;

#[derive(Debug, Clone, Args)]
pub struct WaitArgs {
    #[arg(required_unless_present = "latest")]
    pub containers: Vec<String>,
    /// Condition to wait for (repeatable; any one matching is enough):
    /// configured, created, exited, healthy, initialized, paused, removing,
    /// running, stopped, stopping, unhealthy
    #[arg(long, default_value = "stopped")]
    pub condition: Vec<String>,
    /// A missing container is not an error: its code is -1
    #[arg(long)]
    pub ignore: bool,
    /// Longest time between checks when nothing signals a change, e.g.
    /// 250ms, 2s (a bare number is milliseconds)
    #[arg(short, long)]
    pub interval: Option<String>,
    /// Act on the latest container
    #[arg(short, long)]
    pub latest: bool,
    /// Wait for the first container to match and ignore the others
    #[arg(long)]
    pub exit_first_match: bool,
}

const DEFAULT_FALLBACK: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Condition {
    /// stopped, exited: the exit code.
    Exit,
    /// Not yet handed to the runtime (Podman's "created"/"configured").
    Created,
    /// Created in the runtime, not started (`podman init`).
    Initialized,
    Is(Status),
    Healthy(bool),
}

fn parse_condition(s: &str) -> anyhow::Result<Condition> {
    Ok(match s {
        "stopped" | "exited" => Condition::Exit,
        "configured" | "created" => Condition::Created,
        "initialized" => Condition::Initialized,
        "running" => Condition::Is(Status::Running),
        "paused" => Condition::Is(Status::Paused),
        "stopping" => Condition::Is(Status::Stopping),
        "removing" => Condition::Is(Status::Removing),
        "healthy" => Condition::Healthy(true),
        "unhealthy" => Condition::Healthy(false),
        other => anyhow::bail!(
            "invalid --condition {other:?}: use configured, created, exited, healthy, initialized, paused, removing, running, stopped, stopping or unhealthy"
        ),
    })
}

/// A Go-style duration ("250ms", "1.5s", "2h45m"); a bare number is ms.
fn parse_interval(s: &str) -> anyhow::Result<Duration> {
    let bad = || anyhow::anyhow!("invalid --interval {s:?}: use a duration such as 250ms or 2s");
    if let Ok(ms) = s.parse::<f64>() {
        return (ms >= 0.0)
            .then(|| Duration::from_secs_f64(ms / 1e3))
            .ok_or_else(bad);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let n: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    Ok(Duration::from_secs_f64(total))
}

/// The exit code of a container, waiting for it to exit if it runs.
pub async fn wait_for(engine: &EngineConfig, name_or_id: &str) -> anyhow::Result<i32> {
    let db = crate::state::open_state(engine)?;
    let (cfg, st) = store::resolve(&db, name_or_id)?;
    if st.status.is_active() {
        let paths = crate::lifecycle::paths::ContainerPaths::new(engine, &cfg.id);
        if let Ok(ch) = proto::transport::connect_unix(&paths.monitor_socket(&cfg.id)).await {
            let mut m = proto::monitor::v1::monitor_client::MonitorClient::new(ch);
            if let Ok(r) = m
                .wait(proto::monitor::v1::WaitRequest { id: cfg.id.clone() })
                .await
            {
                if let Some(e) = r.into_inner().exit {
                    crate::lifecycle::cleanup::cleanup(engine, &cfg.id, false).await?;
                    return Ok(e.exit_code);
                }
            }
        }
        let (cfg, st) = crate::lifecycle::cleanup::refresh(engine, (cfg, st)).await?;
        if st.status.is_active() {
            anyhow::bail!(
                "lost contact with the monitor of container {}: its exit code is unknown",
                cfg.name
            );
        }
        return Ok(st.exit_code);
    }
    Ok(st.exit_code)
}

/// Wakes when the state database or an exit file changes.
struct StateWatch {
    fd: tokio::io::unix::AsyncFd<InotifyFd>,
    /// The database directory's watch (its other files do not matter).
    db_dir: nix::sys::inotify::WatchDescriptor,
    /// Name prefix of the database's files (db.sql, db.sql-wal, db.sql-shm).
    db_prefix: std::ffi::OsString,
}

struct InotifyFd(Inotify);

impl AsRawFd for InotifyFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

impl StateWatch {
    fn new(engine: &EngineConfig) -> anyhow::Result<StateWatch> {
        let ino = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)?;
        let db = engine.db_path();
        let db_dir = db
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_else(|| engine.graph_root.clone());
        let db_wd = ino
            .add_watch(
                &db_dir,
                AddWatchFlags::IN_MODIFY
                    | AddWatchFlags::IN_CREATE
                    | AddWatchFlags::IN_MOVED_TO
                    | AddWatchFlags::IN_CLOSE_WRITE,
            )
            .map_err(|e| anyhow::anyhow!("watching {}: {e}", db_dir.display()))?;
        let exit_dir = engine.run_root.join("exits");
        let _ = std::fs::create_dir_all(&exit_dir);
        ino.add_watch(
            &exit_dir,
            AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO | AddWatchFlags::IN_CLOSE_WRITE,
        )
        .map_err(|e| anyhow::anyhow!("watching {}: {e}", exit_dir.display()))?;
        Ok(StateWatch {
            // SAFETY: the Inotify owns its descriptor, which stays open and
            // the same for as long as the AsyncFd holds it.
            fd: unsafe { tokio::io::unix::AsyncFd::register(InotifyFd(ino)) }
                .map_err(|e| anyhow::anyhow!("watching for state changes: {e}"))?,
            db_dir: db_wd,
            db_prefix: db.file_name().map(|n| n.to_os_string()).unwrap_or_default(),
        })
    }

    /// Also wake on changes in `dir` (best effort: a directory not made
    /// yet is left to the fallback interval).
    fn add_dir(&self, dir: &std::path::Path) {
        let flags =
            AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO | AddWatchFlags::IN_CLOSE_WRITE;
        if let Err(e) = self.fd.get_ref().0.add_watch(dir, flags) {
            tracing::debug!(dir = %dir.display(), error = %e, "not watched");
        }
    }

    fn relevant(&self, e: &nix::sys::inotify::InotifyEvent) -> bool {
        use std::os::unix::ffi::OsStrExt;
        e.wd != self.db_dir
            || e.name
                .as_ref()
                .is_none_or(|n| n.as_bytes().starts_with(self.db_prefix.as_bytes()))
    }

    /// Return once something under watch changed, or after `fallback`.
    async fn changed(&self, fallback: Duration) -> anyhow::Result<()> {
        let wait = async {
            loop {
                let mut guard = self.fd.readable().await?;
                match guard.try_io(|fd| fd.get_ref().0.read_events().map_err(std::io::Error::from))
                {
                    Ok(Ok(events)) if events.iter().any(|e| self.relevant(e)) => {
                        return Ok::<(), anyhow::Error>(())
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Err(e.into()),
                    Err(_would_block) => {}
                }
            }
        };
        match tokio::time::timeout(fallback, wait).await {
            Ok(r) => r,
            Err(_) => {
                tracing::debug!(
                    fallback_ms = fallback.as_millis() as u64,
                    "no change signalled; checking anyway"
                );
                Ok(())
            }
        }
    }
}

/// Some(code) once `st` satisfies one of `conds`.
fn satisfied(conds: &[Condition], st: &ContainerState) -> Option<i32> {
    conds.iter().find_map(|c| match c {
        Condition::Exit => (!st.status.is_active()).then_some(st.exit_code),
        Condition::Created => (st.status == Status::Configured
            || (st.status == Status::Created && st.pid == 0))
            .then_some(-1),
        Condition::Initialized => (st.status == Status::Created && st.pid > 0).then_some(-1),
        Condition::Is(s) => (st.status == *s).then_some(-1),
        Condition::Healthy(_) => None,
    })
}

/// One container's result: Some(code) when it matched.
async fn check(
    engine: &EngineConfig,
    db: &crate::state::State,
    name: &str,
    conds: &[Condition],
    ignore: bool,
) -> anyhow::Result<Option<i32>> {
    let rec = match store::resolve(db, name) {
        Ok(r) => r,
        Err(e) => {
            // Removed while we waited: it went through "removing".
            let gone = !store::exists(db, name).unwrap_or(true);
            if gone && (ignore || conds.contains(&Condition::Is(Status::Removing))) {
                return Ok(Some(-1));
            }
            return Err(e.into());
        }
    };
    if let Some(h) = conds.iter().find(|c| matches!(c, Condition::Healthy(_))) {
        if !rec
            .0
            .extra
            .healthcheck
            .as_ref()
            .is_some_and(|h| h.is_active())
        {
            let word = if *h == Condition::Healthy(true) {
                "healthy"
            } else {
                "unhealthy"
            };
            anyhow::bail!(
                "cannot use condition {word:?}: container {} has no healthcheck",
                rec.0.name
            );
        }
    }
    let (cfg, st) = crate::lifecycle::cleanup::refresh(engine, rec).await?;
    if let Some(code) = satisfied(conds, &st) {
        return Ok(Some(code));
    }
    // libpod compares the recorded status; it changes in the bundle's
    // healthcheck log, which the watch follows (see wait_states).
    let health = crate::lifecycle::health::status(engine, &cfg);
    Ok(conds
        .iter()
        .any(|c| match c {
            Condition::Healthy(true) => health == crate::lifecycle::health::HEALTHY,
            Condition::Healthy(false) => health == crate::lifecycle::health::UNHEALTHY,
            _ => false,
        })
        .then_some(-1))
}

/// Wait until one of `names` (each, or with `first` any one) matches.
/// Returns (index, code) pairs in the order they matched.
async fn wait_states(
    engine: &EngineConfig,
    names: &[String],
    conds: &[Condition],
    a: &WaitArgs,
    fallback: Duration,
) -> Vec<(usize, anyhow::Result<i32>)> {
    let mut done: Vec<(usize, anyhow::Result<i32>)> = Vec::new();
    // Watch before the first look, so no change falls in between.
    let watch = match StateWatch::new(engine) {
        Ok(w) => w,
        Err(e) => return vec![(0, Err(e))],
    };
    let db = match crate::state::open_state(engine) {
        Ok(d) => d,
        Err(e) => return vec![(0, Err(e))],
    };
    if conds.iter().any(|c| matches!(c, Condition::Healthy(_))) {
        // Health results are written to each container's bundle.
        for n in names {
            if let Ok((cfg, _)) = store::resolve(&db, n) {
                let paths = crate::lifecycle::paths::ContainerPaths::new(engine, &cfg.id);
                watch.add_dir(&paths.bundle);
            }
        }
    }
    loop {
        for (i, n) in names.iter().enumerate() {
            if done.iter().any(|(j, _)| *j == i) {
                continue;
            }
            match check(engine, &db, n, conds, a.ignore).await {
                Ok(None) => {}
                Ok(Some(code)) => done.push((i, Ok(code))),
                Err(e) => done.push((i, Err(e))),
            }
            if a.exit_first_match && done.iter().any(|(_, r)| r.is_ok()) {
                return done;
            }
        }
        if done.len() == names.len() {
            return done;
        }
        if let Err(e) = watch.changed(fallback).await {
            done.push((usize::MAX, Err(e)));
            return done;
        }
    }
}

pub async fn wait(engine: &EngineConfig, a: &WaitArgs) -> anyhow::Result<()> {
    let conds = a
        .condition
        .iter()
        .flat_map(|c| c.split(','))
        .map(|c| parse_condition(c.trim()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let fallback = a
        .interval
        .as_deref()
        .map(parse_interval)
        .transpose()?
        .unwrap_or(DEFAULT_FALLBACK)
        .max(Duration::from_millis(1));
    let mut names = a.containers.clone();
    if a.latest {
        let db = crate::state::open_state(engine)?;
        names.push(store::latest(&db)?.0.id);
    }
    let only_exit = conds.iter().all(|c| *c == Condition::Exit);
    let mut results: Vec<(usize, anyhow::Result<i32>)> = Vec::new();
    if only_exit && !a.exit_first_match {
        // The monitor answers at the exit; nothing to watch.
        for (i, n) in names.iter().enumerate() {
            let r = match wait_for(engine, n).await {
                Err(e) if a.ignore && !store::exists(&*crate::state::open_state(engine)?, n)? => {
                    tracing::debug!(container = %n, error = %e, "ignored");
                    Ok(-1)
                }
                r => r,
            };
            results.push((i, r));
        }
    } else {
        results = wait_states(engine, &names, &conds, a, fallback).await;
        if !a.exit_first_match {
            results.sort_by_key(|(i, _)| *i);
        }
    }
    let mut errors = Vec::new();
    for (_, r) in results {
        match r {
            Ok(code) => {
                println!("{code}");
                if a.exit_first_match {
                    break;
                }
            }
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(ExitError {
            code: crate::error::EXIT_ENGINE,
            source: anyhow::anyhow!(
                "{}",
                errors
                    .iter()
                    .map(crate::error::one_line)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        }
        .into()),
    }
}

/// Docker's `next-exit`: the exit code of the next run that ends after
/// this call (a created container is waited on through its start).
pub async fn wait_next_exit(engine: &EngineConfig, name_or_id: &str) -> anyhow::Result<i32> {
    let since = common::time::now_nanos();
    let watch = StateWatch::new(engine)?;
    let db = crate::state::open_state(engine)?;
    loop {
        let (cfg, st) =
            crate::lifecycle::cleanup::refresh(engine, store::resolve(&db, name_or_id)?).await?;
        if st.status.is_active() {
            return wait_for(engine, &cfg.id).await;
        }
        if st.finished_ns >= since {
            return Ok(st.exit_code);
        }
        watch.changed(DEFAULT_FALLBACK).await?;
    }
}

/// Docker's `removed`: wait until the container is gone; its last exit
/// code (from the events file), else 0.
pub async fn wait_removed(engine: &EngineConfig, name_or_id: &str) -> anyhow::Result<i32> {
    let watch = StateWatch::new(engine)?;
    let db = crate::state::open_state(engine)?;
    let id = store::resolve(&db, name_or_id)?.0.id;
    let mut code = None;
    loop {
        match store::resolve(&db, &id) {
            Err(store::ContainerStoreError::NotFound(_)) => {
                return Ok(code
                    .or_else(|| crate::events::last_exit_code(&id))
                    .unwrap_or(0))
            }
            Err(e) => return Err(e.into()),
            Ok(rec) => {
                let (_, st) = crate::lifecycle::cleanup::refresh(engine, rec).await?;
                if !st.status.is_active() && st.finished_ns > 0 {
                    code = Some(st.exit_code);
                }
            }
        }
        watch.changed(DEFAULT_FALLBACK).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_like_go_durations() {
        assert_eq!(parse_interval("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_interval("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_interval("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_interval("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_interval("300").unwrap(), Duration::from_millis(300));
        assert!(parse_interval("2 weeks").is_err());
        assert!(parse_interval("s").is_err());
    }

    #[test]
    fn conditions_match_states() {
        let st = |status, pid| ContainerState {
            status,
            pid,
            exit_code: 3,
            ..Default::default()
        };
        let c = [parse_condition("running").unwrap()];
        assert_eq!(satisfied(&c, &st(Status::Running, 5)), Some(-1));
        assert_eq!(satisfied(&c, &st(Status::Created, 0)), None);
        let c = [Condition::Exit, Condition::Is(Status::Paused)];
        assert_eq!(satisfied(&c, &st(Status::Exited, 0)), Some(3));
        assert_eq!(satisfied(&c, &st(Status::Paused, 5)), Some(-1));
        let c = [parse_condition("initialized").unwrap()];
        assert_eq!(satisfied(&c, &st(Status::Created, 9)), Some(-1));
        assert_eq!(satisfied(&c, &st(Status::Created, 0)), None);
        assert!(parse_condition("bogus").is_err());
    }
}
