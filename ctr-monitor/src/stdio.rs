//! A process's stdio as the monitor holds it: pipes, a pty from the
//! runtime's console socket, or (passthrough) the monitor's own original
//! descriptors.
//!
//! While the runtime command runs (`create`, `exec --detach`) whatever shows
//! up on the process's pipes is the runtime's own output -- runc prints its
//! error there, since the container inherits runc's stdio -- so it is
//! collected ([`run_collecting`]) to become the RPC error verbatim. Once the
//! runtime succeeded, [`Pumps`] move output to the log and attached clients.

use std::os::fd::{AsRawFd, OwnedFd};
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tracing::{debug, warn};

use crate::attach::AttachHub;
use crate::console::ConsoleSocket;
use crate::fdio::FdIo;
use crate::input::StdinTarget;
use crate::log_driver::{LogDriver, LogWriter, Stream};
use crate::reaper::Exit;

/// Runtime output kept for an error message.
const COLLECT_MAX: usize = 64 * 1024;
/// Chunks read after the process exited before giving up on a writer that
/// never stops (a leftover process holding the pipe).
const DRAIN_MAX_CHUNKS: usize = 256;

pub enum Mode {
    /// Pipes for stdout and stderr; a pipe for stdin if asked, else /dev/null.
    Pipes { stdin: bool },
    /// A pty from the runtime; `stdin`: keystrokes from clients reach it.
    Terminal { stdin: bool },
    /// The process inherits these (the monitor's original stdio).
    Passthrough([OwnedFd; 3]),
}

/// stdin, stdout, stderr for the runtime command (moved into it, so the
/// monitor keeps no copy of the process's ends).
pub type ChildStdio = [OwnedFd; 3];

pub struct Prepared {
    /// The process's output (pipes mode).
    pub outputs: Vec<(Stream, Arc<FdIo>)>,
    /// The process's stdin (pipes mode with stdin).
    pub stdin: Option<StdinTarget>,
    /// Terminal mode: the runtime's own stdout+stderr.
    pub runtime_out: Option<Arc<FdIo>>,
    pub console: Option<ConsoleSocket>,
    pub terminal_stdin: bool,
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?)
}

fn dev_null() -> std::io::Result<OwnedFd> {
    Ok(std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?
        .into())
}

/// Set the runtime command's stdio, spawn it (registered with the reaper)
/// and drop our copies of the process's ends.
pub fn spawn_with(
    mut cmd: std::process::Command,
    child: ChildStdio,
) -> std::io::Result<oneshot::Receiver<Exit>> {
    let [i, o, e] = child;
    cmd.stdin(std::process::Stdio::from(i))
        .stdout(std::process::Stdio::from(o))
        .stderr(std::process::Stdio::from(e));
    let spawned = crate::reaper::spawn(&mut cmd);
    drop(cmd);
    spawned.map(|(_child, rx)| rx)
}

/// Make the descriptors for `mode`; `console_path` is used in terminal mode.
pub fn prepare(
    mode: Mode,
    console_path: &std::path::Path,
) -> std::io::Result<(ChildStdio, Prepared)> {
    match mode {
        Mode::Passthrough(fds) => Ok((
            fds,
            Prepared {
                outputs: Vec::new(),
                stdin: None,
                runtime_out: None,
                console: None,
                terminal_stdin: false,
            },
        )),
        Mode::Pipes { stdin } => {
            let (out_r, out_w) = pipe()?;
            let (err_r, err_w) = pipe()?;
            let (child_in, stdin) = if stdin {
                let (r, w) = pipe()?;
                (r, Some(StdinTarget::Pipe(FdIo::new(w)?)))
            } else {
                (dev_null()?, None)
            };
            Ok((
                [child_in, out_w, err_w],
                Prepared {
                    outputs: vec![
                        (Stream::Stdout, Arc::new(FdIo::new(out_r)?)),
                        (Stream::Stderr, Arc::new(FdIo::new(err_r)?)),
                    ],
                    stdin,
                    runtime_out: None,
                    console: None,
                    terminal_stdin: false,
                },
            ))
        }
        Mode::Terminal { stdin } => {
            let (r, w) = pipe()?;
            let w2 = w.try_clone()?;
            Ok((
                [dev_null()?, w, w2],
                Prepared {
                    outputs: Vec::new(),
                    stdin: None,
                    runtime_out: Some(Arc::new(FdIo::new(r)?)),
                    console: Some(ConsoleSocket::bind(console_path)?),
                    terminal_stdin: stdin,
                },
            ))
        }
    }
}

/// What the runtime printed on the process's stdio while it ran, and the pty
/// master it sent.
#[derive(Default)]
pub struct Collected {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub master: Option<OwnedFd>,
}

impl Collected {
    /// Everything printed, stderr first.
    pub fn printed(&self) -> Vec<u8> {
        let mut v = self.stderr.clone();
        v.extend_from_slice(&self.stdout);
        v
    }
}

fn keep(buf: &mut Vec<u8>, chunk: &[u8]) {
    let room = COLLECT_MAX.saturating_sub(buf.len());
    buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
}

async fn next_chunk(src: Option<Arc<FdIo>>) -> std::io::Result<Option<Vec<u8>>> {
    match src {
        Some(s) => s.read_chunk().await,
        None => std::future::pending().await,
    }
}

/// Wait for the runtime command (`exit`) while collecting what it prints on
/// the sources of `p`, and receive the pty master in terminal mode.
/// `starts`: the command also starts the container (`run --detach`), so
/// what arrives on the container's own pipes is its output, left for the
/// pumps, unless the runtime failed (then it is the runtime's error).
pub async fn run_collecting(
    p: &Prepared,
    exit: oneshot::Receiver<Exit>,
    starts: bool,
) -> (Exit, Collected) {
    let mut got = Collected::default();
    let shared = p.runtime_out.is_none();
    // (stream, source, still open)
    let mut sources: Vec<(Stream, Arc<FdIo>, bool)> = match &p.runtime_out {
        Some(r) => vec![(Stream::Stderr, r.clone(), true)],
        None => p
            .outputs
            .iter()
            .map(|(s, f)| (*s, f.clone(), !starts))
            .collect(),
    };
    let mut exit_fut = pin!(crate::reaper::exited(exit));
    let mut console_fut = pin!(async {
        match &p.console {
            Some(c) => Some(c.receive().await),
            None => std::future::pending().await,
        }
    });
    let mut master_result: Option<std::io::Result<OwnedFd>> = None;
    let exit = loop {
        let s0 = sources.first().filter(|s| s.2).map(|s| s.1.clone());
        let s1 = sources.get(1).filter(|s| s.2).map(|s| s.1.clone());
        tokio::select! {
            e = &mut exit_fut => break e,
            r = next_chunk(s0) => on_chunk(&mut got, &mut sources[0], r),
            r = next_chunk(s1) => on_chunk(&mut got, &mut sources[1], r),
            m = &mut console_fut, if master_result.is_none() => master_result = m,
        }
    };
    if starts && shared && exit.success() {
        sources.clear();
    }
    // Everything the runtime wrote is in the pipes by now.
    for src in sources.iter_mut() {
        for _ in 0..DRAIN_MAX_CHUNKS {
            match src.1.try_read_chunk() {
                Ok(Some(c)) => keep(
                    if src.0 == Stream::Stdout {
                        &mut got.stdout
                    } else {
                        &mut got.stderr
                    },
                    &c,
                ),
                _ => break,
            }
        }
    }
    if p.console.is_some() && master_result.is_none() && exit.success() {
        // The runtime sent the master before exiting; it is waiting in the socket.
        master_result = tokio::time::timeout(Duration::from_secs(2), &mut console_fut)
            .await
            .ok()
            .flatten();
    }
    match master_result {
        Some(Ok(fd)) => got.master = Some(fd),
        Some(Err(e)) => warn!(error = %e, "receiving the pty master from the console socket"),
        None => {}
    }
    (exit, got)
}

fn on_chunk(
    got: &mut Collected,
    src: &mut (Stream, Arc<FdIo>, bool),
    r: std::io::Result<Option<Vec<u8>>>,
) {
    match r {
        Ok(Some(c)) => keep(
            if src.0 == Stream::Stdout {
                &mut got.stdout
            } else {
                &mut got.stderr
            },
            &c,
        ),
        _ => src.2 = false,
    }
}

/// Where output goes once the process runs.
pub struct Sinks {
    pub log: Option<Mutex<LogDriver>>,
    pub attach: Option<Arc<AttachHub>>,
}

impl Sinks {
    pub async fn deliver(&self, stream: Stream, data: &[u8]) {
        if let Some(log) = &self.log {
            if let Ok(mut l) = log.lock() {
                l.write(stream, data);
            }
        }
        if let Some(hub) = &self.attach {
            hub.broadcast(stream, data).await;
        }
    }

    fn end(&self, stream: Stream) {
        if let Some(log) = &self.log {
            if let Ok(mut l) = log.lock() {
                l.end_stream(stream);
            }
        }
    }

    pub fn dropped_bytes(&self) -> u64 {
        self.log
            .as_ref()
            .and_then(|l| l.lock().ok().map(|l| l.dropped_bytes()))
            .unwrap_or(0)
    }

    pub fn reopen_log(&self) -> std::io::Result<()> {
        match &self.log {
            Some(l) => l
                .lock()
                .map_err(|_| std::io::Error::other("log lock poisoned"))?
                .reopen(),
            None => Ok(()),
        }
    }
}

/// One task per output stream, moving chunks to the sinks.
pub struct Pumps {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Pumps {
    pub fn start(outputs: Vec<(Stream, Arc<FdIo>)>, sinks: Arc<Sinks>) -> Pumps {
        let stop = watch::Sender::new(false);
        let tasks = outputs
            .into_iter()
            .map(|(stream, src)| tokio::spawn(pump(stream, src, sinks.clone(), stop.subscribe())))
            .collect();
        Pumps { stop, tasks }
    }

    /// The process exited: read what is left in the pipes, then stop.
    pub async fn drain(self, grace: Duration) {
        self.stop.send_replace(true);
        for t in self.tasks {
            if tokio::time::timeout(grace, t).await.is_err() {
                warn!("an output stream did not finish draining in time");
            }
        }
    }
}

async fn pump(stream: Stream, src: Arc<FdIo>, sinks: Arc<Sinks>, mut stop: watch::Receiver<bool>) {
    debug!(stream = stream.name(), fd = src.raw(), "pumping output");
    loop {
        tokio::select! {
            biased;
            _ = crate::fdio::until_true(&mut stop) => {
                for _ in 0..DRAIN_MAX_CHUNKS {
                    match src.try_read_chunk() {
                        Ok(Some(c)) => sinks.deliver(stream, &c).await,
                        _ => break,
                    }
                }
                break;
            }
            r = src.read_chunk() => match r {
                Ok(Some(c)) => {
                    sinks.deliver(stream, &c).await;
                    crate::footprint::soon();
                }
                Ok(None) => break,
                Err(e) => {
                    debug!(stream = stream.name(), error = %e, "reading output");
                    break;
                }
            },
        }
    }
    sinks.end(stream);
    debug!(stream = stream.name(), "output ended");
}

/// The pty master as a readable/writable descriptor.
pub fn pty(master: OwnedFd) -> std::io::Result<Arc<FdIo>> {
    debug!(fd = master.as_raw_fd(), "pty master received");
    Ok(Arc::new(FdIo::new(master)?))
}
