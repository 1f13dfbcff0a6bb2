//! ctr-monitor: one per container, runs the OCI runtime and outlives the
//! CLI (conmon's job).
//!
//! `ctr-monitor serve --grpc-fd 3 --detach` is how podman runs it;
//! `ctr-monitor serve --listen unix:PATH --detach` serves other tools (CRI-O style);
//! `ctr-monitor run --id ID --bundle DIR ...` creates and starts a container
//! from the command line and prints its pid;
//! `ctr-monitor info [--probe] [--json]` shows which runtimes work here.
//! The protocol, files and sockets are described in proto/proto/monitor.proto.
//!
//! # Staying small
//!
//! There is one monitor per running container and it spends nearly all its
//! life idle, so its idle memory is paid once per container
//! (bench/containers.sh reports it, beside conmon's). Hence:
//!
//! * One thread. The tokio runtime is single-threaded and nothing uses
//!   `spawn_blocking` or `tokio::fs`: each extra thread would cost a stack
//!   and a malloc arena (`M_ARENA_MAX=1` makes sure of the latter anyway).
//! * Linked at a fixed address (build.rs: `-no-pie`). In a PIE the loader
//!   writes every pointer in .data.rel.ro (vtables) at start-up, turning
//!   those pages of the binary into private copies in every monitor; at a
//!   fixed address they stay clean and shared. The trade-off: the
//!   executable itself is not address-randomized (libraries, heap and
//!   stack still are). libgcc's unwinder is linked in statically, sparing
//!   each monitor a shared library's private pages.
//! * No tracing-subscriber registry ([`logging`]): it keeps a slab for
//!   spans the monitor never opens. Same log lines as the other helpers.
//! * A small epoll event buffer instead of tokio's default of 1024
//!   ([`IO_EVENTS_PER_TICK`]): a monitor watches a handful of descriptors.
//! * The main future is boxed, so the stack stays shallow while idle.
//! * Once quiet for a moment, [`footprint`] gives back freed heap
//!   (`malloc_trim`), the dead part of the stack, and the binary's clean
//!   code, constant and vtable pages (they stay in the page cache, shared
//!   by all monitors, and fault back in when work resumes).
//! * podman starts it with glibc's per-thread cache of freed chunks off
//!   (`GLIBC_TUNABLES=glibc.malloc.tcache_count=0`): a cache of free memory
//!   is of no use to a process that is idle nearly all the time.
//!
//! What is left is mostly fixed cost: tokio's signal registry (built with
//! every IO-enabled runtime), libc's and the loader's own data, and the
//! pages the park path touches after the shed.

#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod attach;
mod config;
#[allow(unsafe_code)]
mod console;
mod container;
#[allow(unsafe_code)]
mod detach;
mod error;
mod exec;
mod exec_sessions;
mod exit_file;
#[allow(unsafe_code)]
mod fdio;
#[allow(unsafe_code)]
mod footprint;
mod fsutil;
#[allow(unsafe_code)]
mod hide_sys;
mod info;
#[allow(unsafe_code)]
mod input;
mod log_driver;
mod logging;
mod monitor;
mod oom;
#[allow(unsafe_code)]
mod preserve;
mod reaper;
mod run_cmd;
mod runtime;
mod runtime_probe;
mod runtimes;
mod server;
mod service;
#[allow(unsafe_code)]
mod sockets;
mod stdio;
mod timer_cmd;

use std::os::fd::{FromRawFd, RawFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use common::helper_cli::{LogArgs, ServeArgs};
use proto::transport::ServeTarget;
use tracing::level_filters::LevelFilter;
use tracing::{debug, warn};

use crate::detach::ReadyPipe;
use crate::monitor::{Monitor, Phase};

#[derive(Parser)]
#[command(
    name = "ctr-monitor",
    version,
    about = "Container monitor for podman and other tools"
)]
struct Cli {
    #[command(flatten)]
    log: LogArgs,
    /// Run root: probe results and (for `run`) default monitor sockets go here.
    #[arg(long, global = true, default_value_os_t = common::paths::default_run_root())]
    runroot: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the monitor.v1 gRPC API.
    Serve {
        #[command(flatten)]
        serve: ServeArgs,
        /// Fork away from the caller (before anything else) so the monitor
        /// survives it; required to create a container.
        #[arg(long)]
        detach: bool,
        /// An attach client already connected (a SOCK_SEQPACKET socket
        /// inherited as this fd): it gets the container's output from the
        /// first byte, e.g. when CreateContainer also starts it.
        #[arg(long, value_name = "N")]
        attach_fd: Option<i32>,
        /// Hand the container a descriptor at this number (repeat): they
        /// are inherited in order from fd 5 up (podman's --preserve-fds).
        #[arg(long = "preserve-fd", value_name = "TARGET")]
        preserve_fd: Vec<u32>,
        /// Hold this many descriptors (host port reservations), inherited
        /// after the preserved ones, until the container exits; the
        /// container never gets them.
        #[arg(long = "hold-fds", value_name = "N", default_value_t = 0)]
        hold_fds: u32,
    },
    /// Create and start a container, print its pid, and keep monitoring it
    /// in the background.
    Run(Box<run_cmd::RunArgs>),
    /// Run a command every interval while a process lives (a container's
    /// timer when its monitor is gone).
    Timer(timer_cmd::TimerArgs),
    /// Show the OCI runtimes found and whether they work.
    Info {
        /// Run a trial container with each runtime (results are cached).
        #[arg(long)]
        probe: bool,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> std::process::ExitCode {
    // Die with podman (PR_SET_PDEATHSIG) when it started us.
    proto::transport::watch_parent();
    footprint::tune_malloc();
    let cli = Cli::parse();
    // A monitor outlives its caller: keep none of the caller's descriptors
    // but the gRPC socket.
    match &cli.cmd {
        Cmd::Serve {
            detach: true,
            serve,
            attach_fd,
            preserve_fd,
            hold_fds,
        } => {
            let grpc = match serve.target() {
                Ok(ServeTarget::Fd(fd)) => Some(fd),
                _ => None,
            };
            let mut keep = vec![grpc, *attach_fd];
            keep.extend(preserve::inherited_slots(preserve_fd).into_iter().map(Some));
            keep.extend(
                preserve::held_slots(preserve_fd.len(), *hold_fds)
                    .into_iter()
                    .map(Some),
            );
            detach::close_inherited_fds(&keep)
        }
        Cmd::Run(_) | Cmd::Timer(_) => detach::close_inherited_fds(&[]),
        _ => {}
    }
    // Fork first: no thread may exist yet.
    let ready = match &cli.cmd {
        Cmd::Serve { detach: true, .. } | Cmd::Run(_) | Cmd::Timer(_) => {
            match detach::daemonize() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("Error: ctr-monitor: detaching from the caller: {e}");
                    return std::process::ExitCode::from(125);
                }
            }
        }
        _ => ReadyPipe::none(),
    };
    logging::init(
        "ctr-monitor",
        common::logging::parse_level(&cli.log.log_level).unwrap_or(LevelFilter::WARN),
    );
    let runroot = cli.runroot;
    if let Cmd::Timer(args) = cli.cmd {
        // Sleeps and one child at a time: no runtime needed.
        return match timer_cmd::run(args, ready) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("Error: ctr-monitor: {e:#}");
                std::process::ExitCode::from(125)
            }
        };
    }
    run(async move {
        match cli.cmd {
            // Boxed: the main future sits on the stack for the monitor's
            // whole life, so it should hold no more than a pointer.
            Cmd::Serve {
                serve,
                detach,
                attach_fd,
                preserve_fd,
                hold_fds,
            } => {
                Box::pin(serve_api(
                    serve.target()?,
                    detach,
                    attach_fd,
                    preserve_fd,
                    hold_fds,
                    runroot,
                    ready,
                ))
                .await?
            }
            Cmd::Run(args) => Box::pin(run_cmd::run(*args, runroot, ready)).await?,
            Cmd::Timer(_) => unreachable!("handled before the runtime starts"),
            Cmd::Info { probe, json } => {
                reaper::start()?;
                let rts = Box::pin(info::gather(&runroot, probe, &[])).await;
                if json {
                    println!("{}", serde_json::to_string_pretty(&rts)?);
                } else {
                    print!("{}", info::human(&rts));
                }
            }
        }
        Ok(())
    })
}

/// The inherited attach connection, checked to be a socket.
#[allow(unsafe_code)]
fn inherited_attach(fd: RawFd) -> anyhow::Result<std::os::fd::OwnedFd> {
    let st = nix::sys::stat::fstat(fd).with_context(|| format!("--attach-fd {fd}"))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        anyhow::bail!("--attach-fd {fd} is not a socket: pass a connected SOCK_SEQPACKET socket");
    }
    // SAFETY: fd was handed to us at exec and nothing else owns it.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    nix::fcntl::fcntl(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )?;
    Ok(fd)
}

/// Run the monitor on a single-threaded runtime (no worker or blocking
/// threads exist while it is idle), printing an error as one
/// `Error: ctr-monitor: ...` line with exit code 125 like every helper.
fn run<F>(body: F) -> std::process::ExitCode
where
    F: std::future::Future<Output = anyhow::Result<()>>,
{
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        // The monitor watches a handful of descriptors: a 1024-event buffer
        // (12 kB) would sit in its heap for the container's whole life.
        .max_io_events_per_tick(IO_EVENTS_PER_TICK)
        .on_thread_park(footprint::on_park)
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| {
            let r = rt.block_on(body);
            // Nobody is left to report to: do not wait for stragglers.
            rt.shutdown_background();
            r
        });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "Error: ctr-monitor: {}",
                format!("{e:#}").replace('\n', " ")
            );
            std::process::ExitCode::from(125)
        }
    }
}

/// Events handled per wake-up; more simply wait for the next turn.
const IO_EVENTS_PER_TICK: usize = 32;

/// The inherited socket as a tokio stream.
#[allow(unsafe_code)]
fn inherited_stream(fd: RawFd) -> anyhow::Result<tokio::net::UnixStream> {
    let st = nix::sys::stat::fstat(fd).with_context(|| format!("fd {fd}"))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        anyhow::bail!("fd {fd} is not a socket: start ctr-monitor through podman, or use --listen");
    }
    // Never leak the caller's connection into the runtime or the container.
    nix::fcntl::fcntl(
        fd,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )?;
    // SAFETY: fd was handed to us at exec and nothing else owns it.
    let std_stream = unsafe { std::os::unix::net::UnixStream::from_raw_fd(fd) };
    std_stream.set_nonblocking(true)?;
    Ok(tokio::net::UnixStream::from_std(std_stream)?)
}

async fn serve_api(
    target: ServeTarget,
    detached: bool,
    attach_fd: Option<RawFd>,
    preserve_fd: Vec<u32>,
    hold_fds: u32,
    runroot: PathBuf,
    mut ready: ReadyPipe,
) -> anyhow::Result<()> {
    reaper::start()?;
    footprint::start();
    let monitor = Monitor::new(runroot, detached);
    match preserve::adopt(&preserve_fd) {
        Ok(p) => monitor.set_preserved(p),
        Err(e) => {
            ready.fail(&format!("{e:#}"));
            return Err(e);
        }
    }
    match preserve::adopt_held(preserve_fd.len(), hold_fds) {
        Ok(h) => monitor.set_held(h),
        Err(e) => {
            ready.fail(&format!("{e:#}"));
            return Err(e);
        }
    }
    if let Some(fd) = attach_fd {
        match inherited_attach(fd) {
            Ok(fd) => monitor.set_inherited_attach(fd),
            Err(e) => {
                ready.fail(&format!("{e:#}"));
                return Err(e);
            }
        }
    }
    let server = Arc::new(server::Server::default());
    let routes = service::MonitorService::new(monitor.clone(), server.clone()).routes();
    let conn = match target {
        ServeTarget::Fd(fd) => match inherited_stream(fd) {
            Ok(s) => Some(server.serve_stream(s, routes)),
            Err(e) => {
                ready.fail(&format!("{e:#}"));
                return Err(e);
            }
        },
        ServeTarget::Unix(path) => {
            let bound = path
                .parent()
                .map(std::fs::create_dir_all)
                .transpose()
                .and_then(|_| sockets::stream_listener(&path))
                .with_context(|| format!("listening on {}", path.display()));
            match bound {
                Ok(l) => server.serve_listener(l, path, routes),
                Err(e) => {
                    ready.fail(&format!("{e:#}"));
                    return Err(e);
                }
            }
            None
        }
    };
    ready.ok("");
    live(&monitor, &server, conn).await
}

/// How long callers still connected when the monitor is done may go on
/// talking to it (e.g. a Wait right after a Kill).
const LINGER: Duration = Duration::from_secs(5);

/// Serve until the monitor is over: container handled, creation failed, or
/// (no container) the caller hung up or SIGTERM/SIGINT arrived.
pub(crate) async fn live(
    monitor: &Arc<Monitor>,
    server: &server::Server,
    mut conn: Option<tokio::task::JoinHandle<()>>,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    loop {
        let stop_requested = tokio::select! {
            _ = async { if let Some(c) = conn.as_mut() { let _ = c.await; } }, if conn.is_some() => {
                conn = None;
                debug!(phase = ?monitor.phase(), "caller hung up");
                if monitor.phase() == Phase::Idle {
                    break;
                }
                false
            }
            _ = monitor.over() => break,
            _ = term.recv() => true,
            _ = int.recv() => true,
        };
        if stop_requested {
            if matches!(monitor.phase(), Phase::Idle | Phase::Failed) {
                break;
            }
            warn!("ignoring a stop signal while monitoring a container: kill the container (Kill) instead, or SIGKILL the monitor to abandon it");
        }
    }
    debug!(phase = ?monitor.phase(), "shutting down");
    server.shutdown(LINGER, Duration::from_secs(3)).await;
    Ok(())
}
