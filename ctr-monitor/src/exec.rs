//! Exec sessions: `RUNTIME exec --process P --detach --pid-file F ID` with
//! pipes or a pty the monitor holds, streamed over the session's own attach
//! socket `<socket_dir>/<id>/exec-<exec_id>`.
//!
//! The runtime always runs detached so the monitor (a subreaper) inherits the
//! exec process and reaps it with the real exit status; "not detached" only
//! means the caller's stream waits for that exit.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proto::monitor::v1::{exec_event, ExecEvent, ExecReady, ExecRequest, ExecStarted, ExitInfo};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::attach::AttachHub;
use crate::container::{Container, State};
use crate::error::MonitorError;
use crate::exec_sessions::{ExecState, Session};
use crate::input::{Input, StdinTarget};
use crate::log_driver::Stream;
use crate::reaper;
use crate::stdio::{self, Mode, Pumps, Sinks};

const DEFAULT_ATTACH_TIMEOUT: Duration = Duration::from_secs(30);

pub struct ExecSpec {
    pub exec_id: String,
    pub process_path: PathBuf,
    pub terminal: bool,
    pub stdin: bool,
    pub stdin_once: bool,
    pub attach: bool,
    pub attach_timeout: Duration,
    pub detach: bool,
    pub size: Option<(u16, u16)>,
    /// Numbers the caller's descriptors get in the exec process.
    pub preserve_fds: Vec<u32>,
    /// Where the session's `exec_pid` lives while it runs.
    pub session_dir: Option<PathBuf>,
}

impl ExecSpec {
    pub fn from_request(r: &ExecRequest) -> Result<ExecSpec, MonitorError> {
        crate::config::check_name("exec_id", &r.exec_id, 64)?;
        let process_path = PathBuf::from(&r.process_path);
        if !process_path.is_absolute() || !process_path.is_file() {
            return Err(MonitorError::InvalidArgument(format!(
                "process_path {:?} must be the absolute path of an OCI process JSON file",
                r.process_path
            )));
        }
        Ok(ExecSpec {
            exec_id: r.exec_id.clone(),
            process_path,
            terminal: r.terminal,
            stdin: r.stdin,
            stdin_once: r.stdin_once,
            attach: r.attach,
            attach_timeout: if r.attach_timeout_ms == 0 {
                DEFAULT_ATTACH_TIMEOUT
            } else {
                Duration::from_millis(r.attach_timeout_ms.into())
            },
            detach: r.detach,
            size: crate::config::terminal_size(r.rows, r.cols)?,
            preserve_fds: {
                if r.preserve_fds.len() > proto::fdpass::MAX_FDS
                    || r.preserve_fds
                        .iter()
                        .any(|t| *t < 3 || *t > i32::MAX as u32)
                {
                    return Err(MonitorError::InvalidArgument(format!(
                        "preserve_fds {:?}: give at most {} numbers of 3 or more",
                        r.preserve_fds,
                        proto::fdpass::MAX_FDS
                    )));
                }
                r.preserve_fds.clone()
            },
            session_dir: if r.session_dir.is_empty() {
                None
            } else {
                let d = PathBuf::from(&r.session_dir);
                if !d.is_absolute() {
                    return Err(MonitorError::InvalidArgument(format!(
                        "session_dir {:?} must be an absolute path",
                        r.session_dir
                    )));
                }
                Some(d)
            },
        })
    }
}

/// The session's directory with its `exec_pid`: made when the session
/// starts, removed (file and directory) when it ends or fails.
struct SessionDir(Option<PathBuf>);

impl SessionDir {
    fn create(dir: Option<PathBuf>) -> Result<SessionDir, MonitorError> {
        if let Some(d) = &dir {
            std::fs::create_dir_all(d)
                .map_err(MonitorError::io(format!("creating {}", d.display())))?;
        }
        Ok(SessionDir(dir))
    }

    fn pid_file(&self) -> Option<PathBuf> {
        self.0.as_ref().map(|d| d.join("exec_pid"))
    }
}

impl Drop for SessionDir {
    fn drop(&mut self) {
        if let Some(d) = &self.0 {
            let _ = std::fs::remove_file(d.join("exec_pid"));
            let _ = std::fs::remove_dir(d);
        }
    }
}

pub type Events = mpsc::Sender<Result<ExecEvent, tonic::Status>>;

fn event(e: exec_event::Event) -> Result<ExecEvent, tonic::Status> {
    Ok(ExecEvent { event: Some(e) })
}

/// Tell the caller, if it still listens.
async fn send(tx: &Option<Events>, ev: Result<ExecEvent, tonic::Status>) {
    if let Some(tx) = tx {
        let _ = tx.send(ev).await;
    }
}

/// Register the session and run it in the background; events go to `tx`.
pub fn start(container: Arc<Container>, spec: ExecSpec, tx: Events) -> Result<(), MonitorError> {
    if container.state() != State::Running {
        return Err(MonitorError::FailedPrecondition(format!(
            "container {} is not running: exec needs a running container",
            container.cfg.id
        )));
    }
    let input = Input::new();
    if let Some((rows, cols)) = spec.size {
        let _ = input.resize(rows, cols);
    }
    let session = Session::new(spec.exec_id.clone(), input);
    container.execs.insert(session.clone())?;
    tokio::spawn(async move {
        let id = session.id.clone();
        let mut tx = Some(tx);
        if let Err(e) = run(&container, &session, spec, &mut tx).await {
            warn!(exec_id = %id, error = %e, "exec failed");
            session.set_state(ExecState::Failed(e.to_string()));
            send(&tx, Err(e.into())).await;
        }
    });
    Ok(())
}

/// The caller's descriptors for the exec: one connection, one batch.
async fn receive_fds(
    l: &tokio::net::UnixListener,
    count: usize,
) -> Result<Vec<std::os::fd::OwnedFd>, MonitorError> {
    let (stream, _) = l
        .accept()
        .await
        .map_err(MonitorError::io("accepting the descriptor connection"))?;
    loop {
        stream
            .readable()
            .await
            .map_err(MonitorError::io("waiting for the descriptors"))?;
        match proto::fdpass::recv_fds(&stream, proto::fdpass::EXEC_FDS_TAG, count) {
            Err(proto::fdpass::FdPassError::Recv(nix::errno::Errno::EAGAIN)) => continue,
            Err(e) => {
                return Err(MonitorError::InvalidArgument(format!(
                    "receiving the descriptors to preserve: {e}"
                )))
            }
            Ok(fds) => return Ok(fds),
        }
    }
}

async fn run(
    c: &Container,
    session: &Session,
    spec: ExecSpec,
    tx: &mut Option<Events>,
) -> Result<(), MonitorError> {
    let t0 = Instant::now();
    let dir = &c.cfg.dir;
    let base = format!("exec-{}", spec.exec_id);
    let hub = if spec.attach {
        let path = dir.join(&base);
        Some(
            AttachHub::bind(&path, session.input.clone(), spec.stdin_once)
                .map_err(MonitorError::io(format!("listening on {}", path.display())))?,
        )
    } else {
        None
    };
    let close_hub = |hub: &Option<Arc<AttachHub>>| {
        if let Some(h) = hub {
            h.close();
        }
    };
    let fds_listener = if spec.preserve_fds.is_empty() {
        None
    } else {
        let path = dir.join(format!("{base}.fds"));
        let _ = std::fs::remove_file(&path);
        match tokio::net::UnixListener::bind(&path) {
            Ok(l) => Some((l, path)),
            Err(e) => {
                close_hub(&hub);
                return Err(MonitorError::io(format!("listening on {}", path.display()))(e));
            }
        }
    };
    let ready = ExecReady {
        attach_socket: hub
            .as_ref()
            .map(|h| h.path().display().to_string())
            .unwrap_or_default(),
        fds_socket: fds_listener
            .as_ref()
            .map(|(_, p)| p.display().to_string())
            .unwrap_or_default(),
    };
    send(tx, event(exec_event::Event::Ready(ready))).await;
    let preserved = match fds_listener {
        None => Vec::new(),
        Some((l, path)) => {
            let got = tokio::time::timeout(
                spec.attach_timeout,
                receive_fds(&l, spec.preserve_fds.len()),
            )
            .await;
            let _ = std::fs::remove_file(&path);
            match got {
                Ok(Ok(fds)) => fds
                    .into_iter()
                    .zip(spec.preserve_fds.iter().copied())
                    .collect(),
                Ok(Err(e)) => {
                    close_hub(&hub);
                    return Err(e);
                }
                Err(_) => {
                    close_hub(&hub);
                    return Err(MonitorError::Timeout(format!(
                        "no descriptors arrived on {} within {} ms",
                        path.display(),
                        spec.attach_timeout.as_millis()
                    )));
                }
            }
        }
    };
    if let Some(h) = &hub {
        if tokio::time::timeout(spec.attach_timeout, h.wait_for_client())
            .await
            .is_err()
        {
            h.close();
            return Err(MonitorError::Timeout(format!(
                "no client attached to {} within {} ms",
                h.path().display(),
                spec.attach_timeout.as_millis()
            )));
        }
        debug!(exec_id = %spec.exec_id, elapsed_ms = t0.elapsed().as_millis() as u64, "exec client attached");
    }

    let mode = if spec.terminal {
        Mode::Terminal { stdin: spec.stdin }
    } else {
        Mode::Pipes { stdin: spec.stdin }
    };
    let (child_stdio, prepared) = match stdio::prepare(mode, &dir.join(format!("{base}.console"))) {
        Ok(p) => p,
        Err(e) => {
            close_hub(&hub);
            return Err(MonitorError::io("setting up the exec's stdio")(e));
        }
    };
    let session_dir = match SessionDir::create(spec.session_dir.clone()) {
        Ok(d) => d,
        Err(e) => {
            close_hub(&hub);
            return Err(e);
        }
    };
    // The runtime's pid file: kept in the session's directory while the
    // session runs, else a scratch file read once.
    let keep_pid_file = session_dir.pid_file();
    let pid_file = keep_pid_file
        .clone()
        .unwrap_or_else(|| dir.join(format!("{base}.pid")));
    let _ = std::fs::remove_file(&pid_file);
    let mut args: Vec<std::ffi::OsString> = vec![
        "--process".into(),
        spec.process_path.clone().into(),
        "--detach".into(),
        "--pid-file".into(),
        pid_file.clone().into(),
    ];
    if let Some(cs) = &prepared.console {
        args.push("--console-socket".into());
        args.push(cs.path().into());
    }
    if !preserved.is_empty() {
        args.push("--preserve-fds".into());
        args.push(
            crate::preserve::runtime_count(&preserved)
                .to_string()
                .into(),
        );
    }
    args.push(c.cfg.id.clone().into());
    let mark = c.runtime.log_mark();
    let t = Instant::now();
    let mut cmd = c.runtime.command("exec", args);
    let _gaps = match crate::preserve::install(&mut cmd, &preserved) {
        Ok(g) => g,
        Err(e) => {
            close_hub(&hub);
            return Err(MonitorError::io("preparing the preserved descriptors")(e));
        }
    };
    let rx = match stdio::spawn_with(cmd, child_stdio) {
        Ok(rx) => rx,
        Err(e) => {
            close_hub(&hub);
            return Err(MonitorError::io(format!(
                "running {}",
                c.runtime.path.display()
            ))(e));
        }
    };
    let (exit, collected) = stdio::run_collecting(&prepared, rx, false).await;
    debug!(exec_id = %spec.exec_id, %exit, elapsed_ms = t.elapsed().as_millis() as u64, "runtime exec finished");
    if !exit.success() {
        close_hub(&hub);
        return Err(MonitorError::Runtime(c.runtime.error_text(
            "exec",
            exit,
            &collected.printed(),
            mark,
        )));
    }
    let pid = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .filter(|p| *p > 0);
    if keep_pid_file.is_none() {
        let _ = std::fs::remove_file(&pid_file);
    }
    let Some(pid) = pid else {
        close_hub(&hub);
        return Err(MonitorError::Runtime(format!(
            "{} exec succeeded but wrote no pid to {}",
            c.runtime.name(),
            pid_file.display()
        )));
    };
    let exit_rx = reaper::wait(pid);
    let stdio::Prepared {
        mut outputs,
        stdin,
        console,
        terminal_stdin,
        ..
    } = prepared;
    drop(console);
    let target = match collected.master {
        Some(master) if spec.terminal => {
            let pty = match stdio::pty(master) {
                Ok(p) => p,
                Err(e) => {
                    close_hub(&hub);
                    return Err(MonitorError::io("using the exec's pty master")(e));
                }
            };
            session.input.set_pty(pty.clone());
            outputs.push((Stream::Stdout, pty.clone()));
            terminal_stdin.then(|| StdinTarget::Pty(pty))
        }
        _ if spec.terminal => {
            warn!(exec_id = %spec.exec_id, "the runtime sent no pty master for the exec");
            None
        }
        _ => stdin,
    };
    session.input.set_stdin(target).await;
    let sinks = Arc::new(Sinks {
        log: None,
        attach: hub.clone(),
    });
    // What the process printed before the runtime returned.
    if !collected.stdout.is_empty() {
        sinks.deliver(Stream::Stdout, &collected.stdout).await;
    }
    if !collected.stderr.is_empty() {
        sinks.deliver(Stream::Stderr, &collected.stderr).await;
    }
    let pumps = Pumps::start(outputs, sinks);
    session.set_state(ExecState::Running { pid });
    info!(exec_id = %spec.exec_id, pid, elapsed_ms = t0.elapsed().as_millis() as u64, "exec started");
    send(tx, event(exec_event::Event::Started(ExecStarted { pid }))).await;
    if spec.detach {
        // The caller's stream ends here; the session goes on.
        *tx = None;
    }

    let exit = reaper::exited(exit_rx).await;
    // Gone before anyone hears of the exit.
    drop(session_dir);
    let finished_at_unix_nanos = common::time::now_nanos();
    pumps.drain(Duration::from_secs(5)).await;
    let info = ExitInfo {
        exit_code: exit.code,
        signal: exit.signal,
        oom_killed: false,
        finished_at_unix_nanos,
    };
    session.set_state(ExecState::Exited { pid, exit: info });
    if let Some(h) = &hub {
        h.finish(exit.code).await;
    }
    session.input.release().await;
    info!(exec_id = %spec.exec_id, pid, %exit, elapsed_ms = t0.elapsed().as_millis() as u64, "exec exited");
    send(tx, event(exec_event::Event::Exited(info))).await;
    crate::footprint::soon();
    Ok(())
}
