//! `podman logs`: reads the k8s-file log the monitor writes
//! (`TIMESTAMP STREAM P|F text`), joining partial records, with `--tail`,
//! `--since`, `--until`, `--timestamps` and `--follow`.

use std::io::Write;

use clap::Args;

use crate::container::store;
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

/// One log record: a line, or partial lines joined. Borrows from the
/// bytes read unless partials had to be joined.
struct Record<'a> {
    time: std::borrow::Cow<'a, [u8]>,
    stderr: bool,
    /// Without the newline.
    text: std::borrow::Cow<'a, [u8]>,
}

/// A partial record carried over to the next read (`--follow`).
struct Partial {
    time: Vec<u8>,
    stderr: bool,
    text: Vec<u8>,
}

fn parse_time(s: &str) -> anyhow::Result<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    crate::format::human::parse_rfc3339(s).ok_or_else(|| {
        anyhow::anyhow!("invalid time {s:?}: use RFC 3339 (2026-11-27T20:24:22Z) or Unix seconds")
    })
}

/// Complete records (partials joined) from `data`; returns bytes consumed.
/// A line is `TIMESTAMP STREAM P|F text`; nothing is copied for full lines.
fn parse<'a>(data: &'a [u8], out: &mut Vec<Record<'a>>, partial: &mut Option<Partial>) -> usize {
    use std::borrow::Cow;
    let mut pos = 0;
    while let Some(nl) = memchr::memchr(b'\n', &data[pos..]) {
        let line = &data[pos..pos + nl];
        pos += nl + 1;
        let Some(a) = memchr::memchr(b' ', line) else {
            continue;
        };
        let Some(b) = memchr::memchr(b' ', &line[a + 1..]).map(|i| a + 1 + i) else {
            continue;
        };
        let (ts, stream) = (&line[..a], &line[a + 1..b]);
        let rest = &line[b + 1..];
        let (tag, text) = match memchr::memchr(b' ', rest) {
            Some(c) => (&rest[..c], &rest[c + 1..]),
            None => (rest, &b""[..]),
        };
        let stderr = stream == b"stderr";
        if tag == b"P" {
            match partial {
                Some(p) => p.text.extend_from_slice(text),
                None => {
                    *partial = Some(Partial {
                        time: ts.to_vec(),
                        stderr,
                        text: text.to_vec(),
                    })
                }
            }
            continue;
        }
        out.push(match partial.take() {
            Some(mut p) => {
                p.text.extend_from_slice(text);
                Record {
                    time: Cow::Owned(p.time),
                    stderr: p.stderr,
                    text: Cow::Owned(p.text),
                }
            }
            None => Record {
                time: Cow::Borrowed(ts),
                stderr,
                text: Cow::Borrowed(text),
            },
        });
    }
    pos
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

    fn emit(&mut self, r: &Record<'_>, args: &LogsArgs, name: &str) {
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
            let _ = self.stdout.write_all(&r.text);
            let _ = self.stdout.write_all(b"\n");
        }
    }

    fn flush(&mut self) {
        let _ = self.stdout.flush();
    }
}

pub async fn run(engine: &EngineConfig, args: &LogsArgs) -> anyhow::Result<()> {
    let db = super::open_state(engine)?;
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
            anyhow::bail!(
                "container {} uses log driver {}: only k8s-file logs can be read back",
                cfg.name,
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
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut &file, &mut data)?;
        let mut records = Vec::new();
        let mut partial = None;
        let mut offset = parse(&data, &mut records, &mut partial);
        if since.is_some() || until.is_some() {
            records.retain(|r| {
                let t = std::str::from_utf8(&r.time)
                    .ok()
                    .and_then(crate::format::human::parse_rfc3339)
                    .unwrap_or(0);
                since.is_none_or(|s| t >= s) && until.is_none_or(|u| t <= u)
            });
        }
        let skip = match args.tail {
            Some(n) if n >= 0 => records.len().saturating_sub(n as usize),
            _ => 0,
        };
        let mut out = Out::new();
        for r in &records[skip..] {
            out.emit(r, &args, &cfg.name);
        }
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
                let mut f = std::fs::File::open(&c.log_path)?;
                std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(offset as u64))?;
                let mut more = Vec::new();
                std::io::Read::read_to_end(&mut f, &mut more)?;
                let mut recs = Vec::new();
                offset += parse(&more, &mut recs, &mut partial);
                for r in &recs {
                    out.emit(r, &args, &c.name);
                }
                out.flush();
                if !st.status.is_active() && recs.is_empty() {
                    break;
                }
                watcher.wait(std::time::Duration::from_secs(1))?;
            }
        }
        out.flush();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn partial_records_are_joined() {
        let data = b"2026-11-27T20:24:22.1+00:00 stdout P hel\n2026-11-27T20:24:22.2+00:00 stdout F lo\n2026-11-27T20:24:23.0+00:00 stderr F oops\nincomplete";
        let mut out = Vec::new();
        let mut partial = None;
        let n = super::parse(data, &mut out, &mut partial);
        assert_eq!(out.len(), 2);
        assert_eq!(&*out[0].text, b"hello");
        assert_eq!(&*out[0].time, b"2026-11-27T20:24:22.1+00:00");
        assert!(out[1].stderr);
        assert_eq!(n, data.len() - b"incomplete".len());
    }
}
