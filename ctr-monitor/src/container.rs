//! One container's life in the monitor: `RUNTIME create` with the stdio the
//! monitor holds, `start`, `kill`, and after the exit: drain the output,
//! write the exit files, tell attached clients, optionally `RUNTIME delete`,
//! run the exit command.

use std::os::fd::AsFd;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};
use tracing::{debug, error, info, warn};

use crate::attach::AttachHub;
use crate::config::ContainerConfig;
use crate::error::MonitorError;
use crate::exit_file::{self, ExitRecord};
use crate::input::{Input, StdinTarget};
use crate::log_driver::{passthrough, LogDriver, LogKind, Stream};
use crate::oom::OomCounter;
use crate::reaper::{self, Exit};
use crate::runtime::Runtime;
use crate::stdio::{self, Mode, Pumps, Sinks};

/// How long output may keep draining after the container exited.
const DRAIN_GRACE: Duration = Duration::from_secs(5);
/// How long a client that claimed the cleanup may take before the exit
/// command runs anyway (it is idempotent).
const CLAIM_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq)]
pub enum State {
    Created,
    Running,
    Exited(ExitRecord),
}

pub struct Container {
    pub cfg: ContainerConfig,
    pub runtime: Runtime,
    pub pid: i32,
    state: watch::Sender<State>,
    started_at: AtomicI64,
    start_lock: tokio::sync::Mutex<()>,
    input: Arc<Input>,
    sinks: Arc<Sinks>,
    pub execs: crate::exec_sessions::Sessions,
    /// Exit recorded and exit command finished: the monitor may go.
    done: watch::Sender<bool>,
    /// Killed by `timeout_seconds`: its exit code is -1, as conmon records it.
    timed_out: std::sync::atomic::AtomicBool,
    /// Host ports held for the container (`serve --hold-fds`), let go the
    /// moment it exits, before its exit is recorded.
    held: std::sync::Mutex<Vec<std::os::fd::OwnedFd>>,
    /// The timer's interval now (SetTimer changes it; None: no runs).
    timer: watch::Sender<Option<std::time::Duration>>,
}

fn ms(t: Instant) -> u64 {
    t.elapsed().as_millis() as u64
}

/// `RUNTIME create` (or `run --detach` with `cfg.start`); on success the
/// container is watched until it exits. `attached`: a client connected
/// before the container exists (inherited at exec), which sees all output.
pub async fn create(
    cfg: ContainerConfig,
    attached: Option<std::os::fd::OwnedFd>,
    preserved: crate::preserve::Preserved,
    held: Vec<std::os::fd::OwnedFd>,
) -> Result<Arc<Container>, MonitorError> {
    let t0 = Instant::now();
    let runtime = Runtime::new(&cfg.runtime, &cfg.runtime_args, &cfg.runtime_log());
    let passthrough = cfg.log_kind == LogKind::Passthrough;
    let log = LogDriver::open(cfg.log_kind, cfg.log_path.as_deref(), cfg.log_size_max).map_err(
        MonitorError::io(format!(
            "opening the {} log {}",
            cfg.log_kind.name(),
            cfg.log_path
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        )),
    )?;
    let mode = if passthrough {
        let fds = passthrough::container_stdio().ok_or_else(|| {
            MonitorError::FailedPrecondition(
                "log driver passthrough needs the monitor's original stdio, which it no longer has"
                    .into(),
            )
        })?;
        Mode::Passthrough(fds)
    } else if cfg.terminal {
        Mode::Terminal { stdin: cfg.stdin }
    } else {
        Mode::Pipes { stdin: cfg.stdin }
    };
    let (child_stdio, prepared) = stdio::prepare(mode, &cfg.console_socket())
        .map_err(MonitorError::io("setting up the container's stdio"))?;
    let input = Input::new();
    if let Some((rows, cols)) = cfg.size {
        let _ = input.resize(rows, cols);
    }
    let hub = if passthrough {
        None
    } else {
        let path = cfg.attach_socket();
        Some(
            AttachHub::bind(&path, input.clone(), cfg.stdin_once)
                .map_err(MonitorError::io(format!("listening on {}", path.display())))?,
        )
    };
    if let (Some(h), Some(fd)) = (&hub, attached) {
        h.adopt(fd)
            .map_err(MonitorError::io("taking the inherited attach connection"))?;
    }
    let _ = std::fs::remove_file(&cfg.pid_file);
    debug!(id = %cfg.id, elapsed_ms = ms(t0), log_driver = cfg.log_kind.name(), terminal = cfg.terminal, "stdio, log and attach socket ready");

    let mut args: Vec<std::ffi::OsString> = vec![
        "--bundle".into(),
        cfg.bundle.clone().into(),
        "--pid-file".into(),
        cfg.pid_file.clone().into(),
    ];
    if let Some(c) = &prepared.console {
        args.push("--console-socket".into());
        args.push(c.path().into());
    }
    args.extend(cfg.create_args.iter().map(Into::into));
    if !preserved.is_empty() {
        args.push("--preserve-fds".into());
        args.push(
            crate::preserve::runtime_count(&preserved)
                .to_string()
                .into(),
        );
    }
    let sub = if cfg.start {
        args.push("--detach".into());
        "run"
    } else {
        "create"
    };
    args.push(cfg.id.clone().into());
    let mut cmd = runtime.command(sub, args);
    let _gaps = crate::preserve::install(&mut cmd, &preserved)
        .map_err(MonitorError::io("preparing the preserved descriptors"))?;
    crate::hide_sys::install(&mut cmd, std::path::Path::new(&cfg.bundle))
        .map_err(MonitorError::io("reading the mounts under /sys/kernel"))?;
    let mark = runtime.log_mark();
    let t = Instant::now();
    let rx = match stdio::spawn_with(cmd, child_stdio) {
        Ok(rx) => rx,
        Err(e) => {
            if let Some(h) = &hub {
                h.close();
            }
            return Err(MonitorError::io(format!(
                "running {}",
                runtime.path.display()
            ))(e));
        }
    };
    let (exit, collected) = stdio::run_collecting(&prepared, rx, cfg.start).await;
    debug!(id = %cfg.id, %exit, elapsed_ms = ms(t), sub, "runtime finished");
    let stdio::Prepared {
        outputs,
        stdin,
        console,
        terminal_stdin,
        ..
    } = prepared;
    drop(console);
    if !exit.success() {
        if let Some(h) = &hub {
            h.close();
        }
        return Err(MonitorError::Runtime(runtime.error_text(
            sub,
            exit,
            &collected.printed(),
            mark,
        )));
    }
    if !collected.printed().is_empty() {
        warn!(id = %cfg.id, sub, output = %String::from_utf8_lossy(&collected.printed()).trim(), "runtime printed");
    }
    let rollback =
        |err: MonitorError, hub: Option<Arc<AttachHub>>, runtime: Runtime, id: String| async move {
            if let Some(h) = hub {
                h.close();
            }
            if let Err(e) = runtime.run("delete", &["--force", &id]).await {
                warn!(id, error = %e, "rolling back the created container");
            }
            err
        };
    let pid = match read_pid(&cfg.pid_file) {
        Ok(p) => p,
        Err(e) => return Err(rollback(e, hub.clone(), runtime.clone(), cfg.id.clone()).await),
    };
    let mut outputs = outputs;
    let target = if cfg.terminal {
        let Some(master) = collected.master else {
            let e = MonitorError::Runtime(format!(
                "{} create did not send a pty master over the console socket",
                runtime.name()
            ));
            return Err(rollback(e, hub.clone(), runtime.clone(), cfg.id.clone()).await);
        };
        let pty = match stdio::pty(master) {
            Ok(p) => p,
            Err(e) => {
                return Err(rollback(
                    MonitorError::io("using the pty master")(e),
                    hub.clone(),
                    runtime.clone(),
                    cfg.id.clone(),
                )
                .await)
            }
        };
        input.set_pty(pty.clone());
        outputs.push((Stream::Stdout, pty.clone()));
        terminal_stdin.then(|| StdinTarget::Pty(pty))
    } else {
        stdin
    };
    input.set_stdin(target).await;
    let exit_rx = reaper::wait(pid);
    let oom = OomCounter::baseline(pid, &cfg.bundle);
    let sinks = Arc::new(Sinks {
        log: (!passthrough).then(|| Mutex::new(log)),
        attach: hub,
    });
    let pumps = Pumps::start(outputs, sinks.clone());
    let (state, started_at) = if cfg.start {
        (State::Running, common::time::now_nanos())
    } else {
        (State::Created, 0)
    };
    let container = Arc::new(Container {
        runtime,
        pid,
        state: watch::Sender::new(state),
        started_at: AtomicI64::new(started_at),
        start_lock: tokio::sync::Mutex::new(()),
        input,
        sinks,
        execs: crate::exec_sessions::Sessions::default(),
        done: watch::Sender::new(false),
        timed_out: Default::default(),
        held: std::sync::Mutex::new(held),
        timer: watch::Sender::new(cfg.timer_interval),
        cfg,
    });
    tokio::spawn(container.clone().watch_exit(exit_rx, pumps, oom));
    info!(id = %container.cfg.id, pid, elapsed_ms = ms(t0), "container created");
    Ok(container)
}

fn read_pid(path: &std::path::Path) -> Result<i32, MonitorError> {
    let s = std::fs::read_to_string(path).map_err(MonitorError::io(format!(
        "reading the pid file {} the runtime wrote",
        path.display()
    )))?;
    s.trim().parse().ok().filter(|p| *p > 0).ok_or_else(|| {
        MonitorError::Runtime(format!(
            "the runtime wrote {:?} to the pid file {}, not a pid",
            s.trim(),
            path.display()
        ))
    })
}

/// The process is gone or a zombie waiting for us.
fn process_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
            .unwrap_or(false),
        Err(_) => true,
    }
}

impl Container {
    pub fn state(&self) -> State {
        self.state.borrow().clone()
    }

    pub fn started_at(&self) -> i64 {
        self.started_at.load(Ordering::Relaxed)
    }

    pub fn input(&self) -> &Arc<Input> {
        &self.input
    }

    pub fn log_bytes_dropped(&self) -> u64 {
        self.sinks.dropped_bytes()
    }

    pub fn reopen_log(&self) -> Result<(), MonitorError> {
        self.sinks
            .reopen_log()
            .map_err(MonitorError::io("reopening the log"))
    }

    pub fn attach_socket(&self) -> Option<std::path::PathBuf> {
        self.sinks.attach.as_ref().map(|h| h.path().to_path_buf())
    }

    /// `RUNTIME start ID`; the start time in nanoseconds since the epoch.
    pub async fn start(&self) -> Result<i64, MonitorError> {
        let _one_at_a_time = self.start_lock.lock().await;
        match self.state() {
            State::Created => {}
            State::Running => {
                return Err(MonitorError::FailedPrecondition(format!(
                    "container {} is already running",
                    self.cfg.id
                )))
            }
            State::Exited(_) => {
                return Err(MonitorError::FailedPrecondition(format!(
                    "container {} has already exited",
                    self.cfg.id
                )))
            }
        }
        let t = Instant::now();
        self.runtime.run("start", &[&self.cfg.id]).await?;
        let now = common::time::now_nanos();
        self.started_at.store(now, Ordering::Relaxed);
        self.state.send_if_modified(|s| {
            let created = *s == State::Created;
            if created {
                *s = State::Running;
            }
            created
        });
        info!(id = %self.cfg.id, elapsed_ms = ms(t), "container started");
        Ok(now)
    }

    /// `RUNTIME kill [--all] ID SIGNAL`; Ok(true) if it had already exited.
    pub async fn kill(&self, signal: u32, all: bool) -> Result<bool, MonitorError> {
        if matches!(self.state(), State::Exited(_)) {
            return Ok(true);
        }
        // The container's process is our child (we are its subreaper):
        // signalled directly, without a runtime process of its own, as
        // the runtime's `kill` without --all signals that process alone.
        if !all {
            match reaper::signal_child(self.pid, signal as i32) {
                Some(true) => return Ok(false),
                Some(false) => return Ok(self.exited_within(DRAIN_GRACE).await),
                None => {}
            }
        }
        let sig = signal.to_string();
        let args: Vec<&str> = if all {
            vec!["--all", &self.cfg.id, &sig]
        } else {
            vec![&self.cfg.id, &sig]
        };
        match self.runtime.run("kill", &args).await {
            Ok(()) => Ok(false),
            // Exited while we asked: the runtime says "not running", which is no error to the caller.
            Err(e) if process_gone(self.pid) => {
                debug!(id = %self.cfg.id, error = %e, "kill raced with the exit");
                if self.exited_within(DRAIN_GRACE).await {
                    Ok(true)
                } else {
                    Err(e)
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Whether the container's exit is recorded within `wait`.
    async fn exited_within(&self, wait: Duration) -> bool {
        let mut rx = self.state.subscribe();
        let exited =
            tokio::time::timeout(wait, rx.wait_for(|s| matches!(s, State::Exited(_)))).await;
        matches!(exited, Ok(Ok(_)))
    }

    /// The exit record, once the container has exited.
    pub async fn wait(&self) -> ExitRecord {
        let mut rx = self.state.subscribe();
        loop {
            if let State::Exited(r) = &*rx.borrow_and_update() {
                return r.clone();
            }
            if rx.changed().await.is_err() {
                // The sender lives as long as self; unreachable in practice.
                std::future::pending::<()>().await;
            }
        }
    }

    /// `timeout_seconds`: once running, kill the container (SIGKILL, all
    /// processes) when it is still running that long after; woken by the
    /// state channel, never polled.
    pub fn arm_timeout(self: &Arc<Self>) {
        let secs = self.cfg.timeout_seconds;
        if secs == 0 {
            return;
        }
        let c = self.clone();
        tokio::spawn(async move {
            let mut rx = c.state.subscribe();
            if !started(&mut rx).await {
                return;
            }
            let exited = tokio::time::timeout(
                std::time::Duration::from_secs(secs.into()),
                rx.wait_for(|s| matches!(s, State::Exited(_))),
            )
            .await
            .is_ok();
            if !exited {
                info!(id = %c.cfg.id, seconds = secs, "timeout reached: killing the container");
                c.timed_out.store(true, std::sync::atomic::Ordering::SeqCst);
                if let Err(e) = c.kill(libc::SIGKILL as u32, true).await {
                    warn!(id = %c.cfg.id, error = %e, "killing the container after its timeout");
                }
            }
        });
    }

    /// Everything after the exit is done (exit command included).
    pub async fn finished(&self) {
        let _ = self.done.subscribe().wait_for(|d| *d).await;
    }

    async fn watch_exit(
        self: Arc<Self>,
        exit_rx: oneshot::Receiver<Exit>,
        pumps: Pumps,
        oom: OomCounter,
    ) {
        let exit = reaper::exited(exit_rx).await;
        if let Ok(mut h) = self.held.lock() {
            h.clear();
        }
        let (nanos, text) = common::time::now_local();
        let t = Instant::now();
        info!(id = %self.cfg.id, pid = self.pid, %exit, "container exited");
        pumps.drain(DRAIN_GRACE).await;
        debug!(id = %self.cfg.id, elapsed_ms = ms(t), "output drained");
        let timed_out = self.timed_out.load(std::sync::atomic::Ordering::SeqCst);
        let rec = ExitRecord {
            // conmon's rule: a container its timeout killed has no exit
            // status (-1; `podman run` exits 255).
            exit_code: if timed_out { -1 } else { exit.code },
            signal: exit.signal,
            oom_killed: oom.killed(),
            finished_at: text,
            finished_at_unix_nanos: nanos,
            pid: self.pid,
        };
        match exit_file::write(&self.cfg.exit_dir, &self.cfg.id, &rec) {
            Ok(()) => {
                debug!(id = %self.cfg.id, dir = %self.cfg.exit_dir.display(), elapsed_ms = ms(t), "exit files written")
            }
            Err(e) => {
                error!(id = %self.cfg.id, dir = %self.cfg.exit_dir.display(), error = %e, "cannot write the exit files")
            }
        }
        self.state.send_replace(State::Exited(rec.clone()));
        if let Some(h) = &self.sinks.attach {
            h.finish(rec.exit_code).await;
        }
        if self.cfg.delete_after_exit {
            match self.runtime.run("delete", &["--force", &self.cfg.id]).await {
                Ok(()) => debug!(id = %self.cfg.id, "runtime state deleted"),
                Err(e) => warn!(id = %self.cfg.id, error = %e, "runtime delete after exit"),
            }
        }
        let cleaned = match &self.sinks.attach {
            Some(h) => h.cleanup_done_by_client(CLAIM_WAIT).await,
            None => false,
        };
        if cleaned {
            debug!(id = %self.cfg.id, "the attached client cleaned up: no exit command");
        } else {
            self.run_exit_command().await;
        }
        debug!(id = %self.cfg.id, elapsed_ms = ms(t), "exit handled");
        self.done.send_replace(true);
    }

    async fn run_exit_command(&self) {
        self.run_command(&self.cfg.exit_command, "exit command")
            .await;
    }

    /// Run `argv` to its end, its output joining ours in the monitor log.
    async fn run_command(&self, argv: &[String], what: &str) {
        let Some((prog, args)) = argv.split_first() else {
            return;
        };
        let t = Instant::now();
        let mut cmd = Command::new(prog);
        cmd.args(args).stdin(Stdio::null());
        match std::io::stderr().as_fd().try_clone_to_owned() {
            Ok(fd) => {
                cmd.stdout(Stdio::from(fd));
            }
            Err(_) => {
                cmd.stdout(Stdio::null());
            }
        }
        let spawned = reaper::spawn(&mut cmd);
        drop(cmd);
        match spawned {
            Ok((_child, rx)) => {
                let exit = reaper::exited(rx).await;
                if exit.success() {
                    debug!(command = ?argv, elapsed_ms = ms(t), "{what} done");
                } else {
                    warn!(command = ?argv, %exit, elapsed_ms = ms(t), "{what} failed");
                }
            }
            Err(e) => {
                warn!(command = ?argv, error = %e, "cannot run the {what}")
            }
        }
    }

    /// `timer_command` every `timer_interval` while the container runs
    /// (Podman's healthcheck timer, which systemd keeps for Podman): the
    /// first run one interval after the start, never two at once. A new
    /// interval ([`Container::set_timer`]) counts from when it is set.
    pub fn arm_timer(self: &Arc<Self>) {
        if self.cfg.timer_command.is_empty() {
            return;
        }
        let c = self.clone();
        tokio::spawn(async move {
            let mut rx = c.state.subscribe();
            if !started(&mut rx).await {
                return;
            }
            let mut every = c.timer.subscribe();
            loop {
                let interval = *every.borrow_and_update();
                let tick = async {
                    match interval {
                        Some(d) => tokio::time::sleep(d).await,
                        None => std::future::pending().await,
                    }
                };
                let exited = async {
                    let _ = rx.wait_for(|s| matches!(s, State::Exited(_))).await;
                };
                tokio::select! {
                    () = exited => return,
                    changed = every.changed() => {
                        if changed.is_err() {
                            return;
                        }
                    }
                    () = tick => {
                        c.run_command(&c.cfg.timer_command, "timer command").await;
                    }
                }
            }
        });
    }

    /// SetTimer: `None` pauses the runs.
    pub fn set_timer(&self, every: Option<std::time::Duration>) -> Result<(), MonitorError> {
        if self.cfg.timer_command.is_empty() {
            return Err(MonitorError::FailedPrecondition(format!(
                "container {} was created without a timer command",
                self.cfg.id
            )));
        }
        self.timer.send_replace(every);
        Ok(())
    }
}

/// Wait until the container leaves Created; true when it then runs (the
/// start of its timeout and timer).
async fn started(rx: &mut tokio::sync::watch::Receiver<State>) -> bool {
    let r = rx.wait_for(|s| !matches!(s, State::Created)).await;
    matches!(r.as_deref(), Ok(State::Running))
}
