//! `podman logs`: reads the k8s-file log the monitor writes
//! (`TIMESTAMP STREAM P|F text`), joining partial records, with `--tail`,
//! `--since`, `--until`, `--timestamps` and `--follow`.

use std::io::Write;

use clap::Args;

use anyhow::Context;

use crate::container::model::ContainerConfig;
use crate::container::{k8s_log, store};
use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    pub containers: Vec<String>,
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Show logs since TIMESTAMP (RFC 3339, Unix seconds or a Go duration before now)
    #[arg(long, allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Show logs until TIMESTAMP (RFC 3339, Unix seconds or a Go duration after now)
    #[arg(long, allow_hyphen_values = true)]
    pub until: Option<String>,
    /// Output the last N lines (-1: all)
    #[arg(long, allow_hyphen_values = true)]
    pub tail: Option<i64>,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Act on the latest container
    #[arg(short, long)]
    pub latest: bool,
    /// Output the container name in the log (with several containers)
    #[arg(short, long)]
    pub names: bool,
    /// Output the containers with different colors in the log
    #[arg(long)]
    pub color: bool,
}

/// `--since`/`--until`: Podman's `util.ParseInputTime`, as `events` reads
/// them. Nanoseconds since the epoch.
pub fn parse_time(flag: &str, value: &str, since: bool) -> anyhow::Result<i64> {
    crate::events::time::parse_input_time(value, since)
        .map(|t| t.unix_ns)
        .map_err(|e| anyhow::anyhow!("parsing {flag} {value:?}: {e}"))
}

/// inotify on the log file and the exit directory.
pub struct LogWatcher {
    inotify: nix::sys::inotify::Inotify,
}

impl LogWatcher {
    pub fn new() -> anyhow::Result<LogWatcher> {
        use nix::sys::inotify::{InitFlags, Inotify};
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)?;
        Ok(LogWatcher { inotify })
    }

    /// Watch a container's log file and exit directory too.
    pub fn add(&self, log: &std::path::Path, exit_dir: &std::path::Path) -> anyhow::Result<()> {
        use nix::sys::inotify::AddWatchFlags;
        let inotify = &self.inotify;
        inotify.add_watch(
            log,
            AddWatchFlags::IN_MODIFY | AddWatchFlags::IN_CLOSE_WRITE,
        )?;
        inotify.add_watch(
            exit_dir,
            AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO | AddWatchFlags::IN_CLOSE_WRITE,
        )?;
        Ok(())
    }

    /// Block until something changed (or `timeout`), then drain the events.
    pub fn wait(&self, timeout: std::time::Duration) -> anyhow::Result<()> {
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

/// How each line is prefixed: Podman's `LogLine.String`.
struct Style {
    /// Several containers: each line starts with the name (`--names`) or
    /// the short ID.
    multi: bool,
    names: bool,
    timestamps: bool,
    color: bool,
}

/// Podman's colors, by the container's place in the list.
fn color_code(i: usize) -> &'static str {
    const COLORS: [&str; 7] = [
        "\x1b[37m", "\x1b[31m", "\x1b[33m", "\x1b[34m", "\x1b[35m", "\x1b[36m", "\x1b[32m",
    ];
    COLORS[i % COLORS.len()]
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

    fn emit(
        &mut self,
        r: &k8s_log::Record<'_>,
        style: &Style,
        cfg: &ContainerConfig,
        index: usize,
    ) {
        let mut prefix: Vec<u8> = Vec::new();
        if style.color {
            prefix.extend_from_slice(color_code(index).as_bytes());
        }
        if style.multi {
            if style.names {
                prefix.extend_from_slice(cfg.name.as_bytes());
            } else {
                prefix.extend_from_slice(&cfg.id.as_bytes()[..cfg.id.len().min(12)]);
            }
            prefix.push(b' ');
        }
        if style.timestamps {
            prefix.extend_from_slice(&r.time);
            prefix.push(b' ');
        }
        let reset: &[u8] = if style.color { b"\x1b[0m" } else { b"" };
        if r.stderr {
            let _ = self.stdout.flush();
            let mut e = std::io::stderr().lock();
            let _ = e.write_all(&prefix);
            let _ = e.write_all(&r.text);
            let _ = e.write_all(reset);
            let _ = e.write_all(b"\n");
        } else {
            let _ = self.stdout.write_all(&prefix);
            match r.line {
                Some(line) if !style.color => {
                    let _ = self.stdout.write_all(line);
                }
                _ => {
                    let _ = self.stdout.write_all(&r.text);
                    let _ = self.stdout.write_all(reset);
                    let _ = self.stdout.write_all(b"\n");
                }
            }
        }
    }

    fn flush(&mut self) {
        let _ = self.stdout.flush();
    }
}

/// One container being read (and followed).
struct Source {
    cfg: ContainerConfig,
    index: usize,
    offset: u64,
    partial: k8s_log::Partial,
    done: bool,
}

pub async fn run(engine: &EngineConfig, args: &LogsArgs) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    let mut targets = Vec::new();
    if args.latest {
        if !args.containers.is_empty() {
            anyhow::bail!("--latest and containers cannot be used together");
        }
        targets.push(store::latest(&db)?);
    }
    for c in &args.containers {
        targets.push(store::resolve(&db, c)?);
    }
    if targets.is_empty() {
        anyhow::bail!("you must provide at least one container name or ID, or use --latest");
    }
    let since = args
        .since
        .as_deref()
        .map(|v| parse_time("--since", v, true))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|v| parse_time("--until", v, false))
        .transpose()?;
    let style = Style {
        multi: targets.len() > 1,
        names: args.names,
        timestamps: args.timestamps,
        color: args.color,
    };
    // Podman's LogLine.Since/Until: strictly after since, strictly before until.
    let in_window = |r: &k8s_log::Record<'_>| {
        if since.is_none() && until.is_none() {
            return true;
        }
        let t = r.unix_nanos();
        since.is_none_or(|s| t > s) && until.is_none_or(|u| t < u)
    };
    let mut out = Out::new();
    let mut sources = Vec::new();
    for (index, (cfg, _)) in targets.into_iter().enumerate() {
        if !crate::container::log_config::writes_file(&cfg.log_driver) {
            // Podman's words (none, passthrough, passthrough-tty).
            anyhow::bail!(
                "this container is using the '{}' log driver, cannot read logs: this container is not logging output",
                cfg.log_driver
            );
        }
        let mut src = Source {
            cfg,
            index,
            offset: 0,
            partial: k8s_log::Partial::default(),
            done: false,
        };
        let file = match std::fs::File::open(&src.cfg.log_path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                sources.push(src);
                continue;
            }
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "reading log {}: {e}",
                    src.cfg.log_path.display()
                ))
            }
        };
        // --tail: count first, then skip all but the last N.
        let mut skip = match args.tail {
            Some(n) if n >= 0 => {
                let mut total = 0usize;
                k8s_log::read_records(&file, 0, &mut k8s_log::Partial::default(), |r| {
                    total += usize::from(in_window(r))
                })
                .with_context(|| format!("reading log {}", src.cfg.log_path.display()))?;
                total.saturating_sub(n as usize)
            }
            _ => 0,
        };
        let cfg = &src.cfg;
        src.offset = k8s_log::read_records(&file, 0, &mut src.partial, |r| {
            if !in_window(r) {
                return;
            }
            if skip > 0 {
                skip -= 1;
                return;
            }
            out.emit(r, &style, cfg, index);
        })
        .with_context(|| format!("reading log {}", src.cfg.log_path.display()))?;
        out.flush();
        sources.push(src);
    }
    if !args.follow {
        return Ok(());
    }
    // Woken by inotify when a log grows or an exit file appears; the
    // timeout only covers a monitor that died without one, and --until.
    let watcher = LogWatcher::new()?;
    for src in &sources {
        let paths = crate::lifecycle::paths::ContainerPaths::new(engine, &src.cfg.id);
        let _ = std::fs::create_dir_all(&paths.exit_dir);
        if let Some(dir) = src.cfg.log_path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if !src.cfg.log_path.exists() {
            let _ = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&src.cfg.log_path);
        }
        watcher.add(&src.cfg.log_path, &paths.exit_dir)?;
    }
    loop {
        for src in sources.iter_mut().filter(|s| !s.done) {
            let (c, st) = match store::resolve(&db, &src.cfg.id) {
                Ok(rec) => crate::lifecycle::cleanup::refresh(engine, rec).await?,
                Err(store::ContainerStoreError::NotFound(_)) => {
                    src.done = true;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let mut got = 0usize;
            if let Ok(f) = std::fs::File::open(&c.log_path) {
                let (cfg, index) = (&src.cfg, src.index);
                src.offset = k8s_log::read_records(&f, src.offset, &mut src.partial, |r| {
                    got += 1;
                    if in_window(r) {
                        out.emit(r, &style, cfg, index);
                    }
                })?;
            }
            out.flush();
            if !st.status.is_active() && got == 0 {
                src.done = true;
            }
        }
        if sources.iter().all(|s| s.done) {
            break;
        }
        let mut wait = std::time::Duration::from_secs(1);
        if let Some(u) = until {
            let left = u - common::time::now_nanos();
            if left <= 0 {
                break;
            }
            wait = wait.min(std::time::Duration::from_nanos(left as u64));
        }
        watcher.wait(wait)?;
    }
    out.flush();
    Ok(())
}
