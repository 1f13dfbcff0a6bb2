//! `podman logs`: reads the k8s-file log the monitor writes
//! (`TIMESTAMP STREAM P|F text`), joining partial records, with `--tail`,
//! `--since`, `--until`, `--timestamps` and `--follow`.

use std::io::Write;

use clap::Args;

use anyhow::Context;

use crate::container::{k8s_log, store};
use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    pub containers: Vec<String>,
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Show logs since TIMESTAMP (RFC 3339 or Unix seconds)
    #[arg(long)]
    pub since: Option<String>,
    /// Show logs until TIMESTAMP
    #[arg(long)]
    pub until: Option<String>,
    /// Output the last N lines
    #[arg(long)]
    pub tail: Option<i64>,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Act on the latest container
    #[arg(short, long)]
    pub latest: bool,
    /// Prefix each line with the container's name
    #[arg(short, long)]
    pub names: bool,
}

fn parse_time(s: &str) -> anyhow::Result<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    common::time::parse_rfc3339_secs(s)
        .map_err(|e| anyhow::anyhow!("invalid time: {e}, or Unix seconds"))
}

/// inotify on the log file and the exit directory.
struct LogWatcher {
    inotify: nix::sys::inotify::Inotify,
}

impl LogWatcher {
    fn new(log: &std::path::Path, exit_dir: &std::path::Path) -> anyhow::Result<LogWatcher> {
        use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)?;
        inotify.add_watch(
            log,
            AddWatchFlags::IN_MODIFY | AddWatchFlags::IN_CLOSE_WRITE,
        )?;
        inotify.add_watch(
            exit_dir,
            AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO | AddWatchFlags::IN_CLOSE_WRITE,
        )?;
        Ok(LogWatcher { inotify })
    }

    /// Block until something changed (or `timeout`), then drain the events.
    fn wait(&self, timeout: std::time::Duration) -> anyhow::Result<()> {
        use std::os::fd::AsFd;
        let mut fds = [nix::poll::PollFd::new(
            self.inotify.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms)) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
        while let Ok(events) = self.inotify.read_events() {
            if events.is_empty() {
                break;
            }
        }
        Ok(())
    }
}

/// Buffered output for both streams; stdout is flushed before anything
/// goes to stderr so the order stays right on a shared terminal.
struct Out {
    stdout: std::io::BufWriter<std::io::StdoutLock<'static>>,
}

impl Out {
    fn new() -> Out {
        Out {
            stdout: std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock()),
        }
    }

    fn emit(&mut self, r: &k8s_log::Record<'_>, args: &LogsArgs, name: &str) {
        if r.stderr {
            let _ = self.stdout.flush();
            let mut e = std::io::stderr().lock();
            if args.names {
                let _ = write!(e, "{name} ");
            }
            if args.timestamps {
                let _ = e.write_all(&r.time);
                let _ = e.write_all(b" ");
            }
            let _ = e.write_all(&r.text);
            let _ = e.write_all(b"\n");
        } else {
            if args.names {
                let _ = write!(self.stdout, "{name} ");
            }
            if args.timestamps {
                let _ = self.stdout.write_all(&r.time);
                let _ = self.stdout.write_all(b" ");
            }
            match r.line {
                Some(line) => {
                    let _ = self.stdout.write_all(line);
                }
                None => {
                    let _ = self.stdout.write_all(&r.text);
                    let _ = self.stdout.write_all(b"\n");
                }
            }
        }
    }

    fn flush(&mut self) {
        let _ = self.stdout.flush();
    }
}

pub async fn run(engine: &EngineConfig, args: &LogsArgs) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    let mut targets = Vec::new();
    if args.latest {
        targets.push(store::latest(&db)?);
    }
    for c in &args.containers {
        targets.push(store::resolve(&db, c)?);
    }
    if targets.is_empty() {
        anyhow::bail!("you must provide at least one container name or ID, or use --latest");
    }
    if args.follow && targets.len() > 1 {
        anyhow::bail!("--follow works with one container at a time");
    }
    let since = args.since.as_deref().map(parse_time).transpose()?;
    let until = args.until.as_deref().map(parse_time).transpose()?;
    let names = args.names || targets.len() > 1;
    let args = LogsArgs {
        names,
        ..args.clone()
    };
    for (cfg, _) in targets {
        if cfg.log_driver != "k8s-file" {
            // Podman's words (none, passthrough, passthrough-tty).
            anyhow::bail!(
                "this container is using the '{}' log driver, cannot read logs: this container is not logging output",
                cfg.log_driver
            );
        }
        let file = match std::fs::File::open(&cfg.log_path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "reading log {}: {e}",
                    cfg.log_path.display()
                ))
            }
        };
        let in_window = |r: &k8s_log::Record<'_>| {
            if since.is_none() && until.is_none() {
                return true;
            }
            let t = r.unix_seconds();
            since.is_none_or(|s| t >= s) && until.is_none_or(|u| t <= u)
        };
        // --tail: count first, then skip all but the last N.
        let mut skip = match args.tail {
            Some(n) if n >= 0 => {
                let mut total = 0usize;
                k8s_log::read_records(&file, 0, &mut k8s_log::Partial::default(), |r| {
                    total += usize::from(in_window(r))
                })
                .with_context(|| format!("reading log {}", cfg.log_path.display()))?;
                total.saturating_sub(n as usize)
            }
            _ => 0,
        };
        let mut out = Out::new();
        let mut partial = k8s_log::Partial::default();
        let mut offset = k8s_log::read_records(&file, 0, &mut partial, |r| {
            if !in_window(r) {
                return;
            }
            if skip > 0 {
                skip -= 1;
                return;
            }
            out.emit(r, &args, &cfg.name);
        })
        .with_context(|| format!("reading log {}", cfg.log_path.display()))?;
        out.flush();
        if args.follow {
            // Woken by inotify when the log grows or an exit file appears;
            // the timeout only covers a monitor that died without one.
            let paths = crate::lifecycle::paths::ContainerPaths::new(engine, &cfg.id);
            let _ = std::fs::create_dir_all(&paths.exit_dir);
            let watcher = LogWatcher::new(&cfg.log_path, &paths.exit_dir)?;
            loop {
                let (c, st) =
                    crate::lifecycle::cleanup::refresh(engine, store::resolve(&db, &cfg.id)?)
                        .await?;
                let f = std::fs::File::open(&c.log_path)?;
                let mut got = 0usize;
                offset = k8s_log::read_records(&f, offset, &mut partial, |r| {
                    got += 1;
                    out.emit(r, &args, &c.name);
                })?;
                out.flush();
                if !st.status.is_active() && got == 0 {
                    break;
                }
                watcher.wait(std::time::Duration::from_secs(1))?;
            }
        }
        out.flush();
    }
    Ok(())
}
