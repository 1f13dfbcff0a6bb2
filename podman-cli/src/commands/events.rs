//! `podman events` / `podman system events`: print the events log, or
//! follow it (inotify on its directory, no polling) until SIGINT, SIGTERM
//! or `--until`.

use std::io::Write;
use std::os::fd::AsFd;

use clap::Args;

use crate::error::ExitError;
use crate::events::filter::Filters;
use crate::events::logfile::{Line, Reader};
use crate::events::{Backend, Event};

#[derive(Debug, Clone, Args)]
pub struct EventsArgs {
    /// Filter output (KEY=VALUE: container, event, image, label, type, volume, pod, network)
    #[arg(short, long = "filter", value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Format the output using a Go template, or json (one object per line)
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Stream events and do not exit after the last known event
    #[arg(long, num_args = 0..=1, require_equals = true, default_value_t = true, default_missing_value = "true", value_name = "BOOL", action = clap::ArgAction::Set)]
    pub stream: bool,
    /// Show all events created since timestamp
    #[arg(long, value_name = "TIMESTAMP", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Show all events created until timestamp
    #[arg(long, value_name = "TIMESTAMP", allow_hyphen_values = true)]
    pub until: Option<String>,
    /// Do not truncate the output
    #[arg(long, num_args = 0..=1, require_equals = true, default_value_t = true, default_missing_value = "true", value_name = "BOOL", action = clap::ArgAction::Set)]
    pub no_trunc: bool,
}

enum Output {
    Human { truncate: bool },
    Json,
    Template(crate::format::gotemplate::Template),
}

impl Output {
    fn render(&self, e: &Event) -> anyhow::Result<String> {
        Ok(match self {
            Output::Human { truncate } => format!("{}\n", e.human(*truncate)),
            Output::Json => format!("{}\n", e.to_cli_json()),
            Output::Template(t) => {
                t.execute(crate::format::gotemplate::Data::One(&e.template_value()))?
            }
        })
    }
}

fn usage(msg: String) -> anyhow::Error {
    ExitError::engine(anyhow::anyhow!(msg)).into()
}

pub async fn run(a: &EventsArgs) -> anyhow::Result<()> {
    let Some(cfg) = crate::events::config() else {
        anyhow::bail!("events are not configured");
    };
    if cfg.backend == Backend::None {
        return Err(usage("cannot read events with the \"none\" backend".into()));
    }
    let since = a.since.as_deref().unwrap_or("");
    let until = a.until.as_deref().unwrap_or("");
    let filters = Filters::parse(&a.filter, since, until)
        .map_err(|e| usage(format!("failed to parse event filters: {e}")))?;
    let output = match a.format.as_deref() {
        None => Output::Human {
            truncate: !a.no_trunc,
        },
        Some(f) if matches!(f.trim(), "json" | "{{json .}}") => Output::Json,
        Some(f) => Output::Template(
            crate::format::report::parse("events", crate::format::report::Origin::Unknown, f)?
                .template,
        ),
    };
    let from_start = !since.is_empty() || !until.is_empty() || !a.stream;
    // Events of a rotation after this instant repeat lines already read.
    let started = common::time::now_nanos();
    tracing::debug!(path = %cfg.path.display(), "reading events");
    let mut reader = Reader::open(&cfg.path, !from_start, started)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if !a.stream {
        let lines = reader.read_new(false)?;
        return print(&mut out, &output, &filters, lines);
    }
    follow(&mut reader, &mut out, &output, &filters)
}

/// Print what matches; a closed stdout ends the command quietly.
fn print(
    out: &mut impl Write,
    output: &Output,
    filters: &Filters,
    lines: Vec<Line>,
) -> anyhow::Result<()> {
    for l in lines {
        match l {
            Line::Event(e) if filters.matches(&e) => {
                let text = output.render(&e)?;
                if let Err(err) = out.write_all(text.as_bytes()) {
                    return quiet_pipe(err);
                }
            }
            Line::Event(_) => {}
            Line::Invalid(m) => tracing::error!("Failed to read event: {m}"),
        }
    }
    if let Err(err) = out.flush() {
        return quiet_pipe(err);
    }
    Ok(())
}

fn quiet_pipe(err: std::io::Error) -> anyhow::Result<()> {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    Err(err.into())
}

/// Stream: wake on inotify events of the log's directory (appends, the
/// rename of a rotation), end on SIGINT/SIGTERM or at `--until`.
fn follow(
    reader: &mut Reader,
    out: &mut impl Write,
    output: &Output,
    filters: &Filters,
) -> anyhow::Result<()> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
    use nix::sys::signal::{SigSet, Signal};
    use nix::sys::signalfd::{SfdFlags, SignalFd};

    let mut mask = SigSet::empty();
    mask.add(Signal::SIGINT);
    mask.add(Signal::SIGTERM);
    mask.thread_block()?;
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)?;
    let dir = reader.dir().to_path_buf();
    // Under the run root by default, which is private.
    common::private_dir::create(&dir)?;
    let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)?;
    inotify.add_watch(
        &dir,
        AddWatchFlags::IN_MODIFY
            | AddWatchFlags::IN_CREATE
            | AddWatchFlags::IN_MOVED_TO
            | AddWatchFlags::IN_CLOSE_WRITE,
    )?;
    let name = reader.file_name().map(|n| n.to_os_string());
    loop {
        // Read after arming the watch: nothing written in between is missed.
        let lines = reader.read_new(true)?;
        print(out, output, filters, lines)?;
        let timeout = match filters.until {
            Some(u) => {
                let left = u.unix_ns - common::time::now_nanos();
                if left <= 0 {
                    return Ok(());
                }
                PollTimeout::try_from((left / 1_000_000 + 1).min(i32::MAX as i64) as i32)
                    .unwrap_or(PollTimeout::MAX)
            }
            None => PollTimeout::NONE,
        };
        let mut fds = [
            PollFd::new(inotify.as_fd(), PollFlags::POLLIN),
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, timeout) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
        if fds[1].revents().is_some_and(|r| !r.is_empty()) {
            return Ok(());
        }
        // Drain the notifications; any change in the directory that
        // concerns the log (or cannot be told) means "read again".
        while let Ok(evs) = inotify.read_events() {
            if evs.is_empty()
                || evs
                    .iter()
                    .any(|e| e.name.is_none() || e.name.as_deref() == name.as_deref())
            {
                break;
            }
        }
    }
}
