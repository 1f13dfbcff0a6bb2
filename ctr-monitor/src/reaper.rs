//! Every child of the monitor is reaped here, on SIGCHLD.
//!
//! As a child subreaper the monitor inherits the container process (and
//! detached exec processes) when the runtime exits, so it must reap children
//! it never spawned; one loop of `waitid(P_ALL, WNOHANG)` per SIGCHLD does
//! that for everything. Whoever cares about a pid registers first
//! ([`spawn`] registers before anything can run) or finds the status kept
//! for it (the container may exit before its pid file is read). Nothing in
//! this binary may use tokio::process or std's `wait`, which would race with
//! this loop.

use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::process::{Child, Command};
use std::sync::Mutex;

use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use tokio::sync::oneshot;
use tracing::{debug, warn};

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// The exit code, or 128 + signal.
    pub code: i32,
    /// The signal that killed it, or 0.
    pub signal: i32,
}

impl Exit {
    pub fn success(&self) -> bool {
        self.code == 0 && self.signal == 0
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.signal != 0 {
            let name = nix::sys::signal::Signal::try_from(self.signal)
                .map(|s| s.as_str())
                .unwrap_or("?");
            write!(f, "killed by signal {} ({name})", self.signal)
        } else {
            write!(f, "exited with code {}", self.code)
        }
    }
}

/// Statuses nobody asked for yet are kept this long (a few, in case their
/// waiter registers late); older ones are forgotten.
const KEEP_UNCLAIMED: usize = 32;

struct State {
    waiters: Vec<(i32, oneshot::Sender<Exit>)>,
    unclaimed: VecDeque<(i32, Exit)>,
}

static STATE: Mutex<State> = Mutex::new(State {
    waiters: Vec::new(),
    unclaimed: VecDeque::new(),
});

/// Start reaping on SIGCHLD. Call once, inside the runtime.
pub fn start() -> std::io::Result<()> {
    let mut sigchld = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child())?;
    reap_all();
    tokio::spawn(async move {
        while sigchld.recv().await.is_some() {
            reap_all();
        }
    });
    Ok(())
}

/// Held around each reap, and by [`signal_child`] between its check and
/// its signal: a child's pid is not reused before it is reaped.
static REAPING: Mutex<()> = Mutex::new(());

/// Send `sig` to `pid` if it is a child of this process that has not
/// exited: `Some(true)` when sent, `Some(false)` when it has exited
/// already, `None` when it is not our child (ask the runtime instead).
/// The pid cannot name another process meanwhile: it stays ours until
/// reaped, and no reap runs between the check and the signal.
pub fn signal_child(pid: i32, sig: i32) -> Option<bool> {
    if pid <= 0 {
        return None;
    }
    let _g = REAPING.lock().ok()?;
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    match waitid(Id::Pid(nix::unistd::Pid::from_raw(pid)), flags) {
        Ok(WaitStatus::StillAlive) => {}
        Ok(_) => return Some(false),
        Err(_) => return None,
    }
    let sig = nix::sys::signal::Signal::try_from(sig).ok()?;
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig) {
        Ok(()) => Some(true),
        Err(_) => None,
    }
}

fn reap_all() {
    loop {
        let Ok(guard) = REAPING.lock() else { return };
        let exit = match waitid(Id::All, WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG) {
            Ok(WaitStatus::Exited(pid, code)) => (pid.as_raw(), Exit { code, signal: 0 }),
            Ok(WaitStatus::Signaled(pid, sig, _)) => (
                pid.as_raw(),
                Exit {
                    code: 128 + sig as i32,
                    signal: sig as i32,
                },
            ),
            Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::ECHILD) => return,
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                warn!(error = %e, "waitid failed");
                return;
            }
        };
        drop(guard);
        deliver(exit.0, exit.1);
    }
}

fn deliver(pid: i32, exit: Exit) {
    let Ok(mut st) = STATE.lock() else { return };
    if let Some(i) = st.waiters.iter().position(|(p, _)| *p == pid) {
        let (_, tx) = st.waiters.swap_remove(i);
        debug!(pid, %exit, "reaped");
        let _ = tx.send(exit);
    } else {
        debug!(pid, %exit, "reaped a process nobody waits for (yet)");
        if st.unclaimed.len() >= KEEP_UNCLAIMED {
            st.unclaimed.pop_front();
        }
        st.unclaimed.push_back((pid, exit));
    }
}

/// The exit of child `pid`, which the monitor has (or will have) as a child.
pub fn wait(pid: i32) -> oneshot::Receiver<Exit> {
    let (tx, rx) = oneshot::channel();
    if let Ok(mut st) = STATE.lock() {
        if let Some(i) = st.unclaimed.iter().position(|(p, _)| *p == pid) {
            if let Some((_, exit)) = st.unclaimed.remove(i) {
                let _ = tx.send(exit);
                return rx;
            }
        }
        st.waiters.push((pid, tx));
    }
    rx
}

/// Await a registered exit; a reaper that went away counts as a failure.
pub async fn exited(rx: oneshot::Receiver<Exit>) -> Exit {
    rx.await.unwrap_or(Exit {
        code: 255,
        signal: 0,
    })
}

/// Spawn `cmd` and register for its exit before anything else can reap it.
pub fn spawn(cmd: &mut Command) -> std::io::Result<(Child, oneshot::Receiver<Exit>)> {
    let child = cmd.spawn()?;
    let rx = wait(child.id() as i32);
    Ok((child, rx))
}

/// Run `cmd` to completion, collecting its stdout and stderr.
pub async fn output(cmd: Command) -> std::io::Result<(Exit, Vec<u8>, Vec<u8>)> {
    output_within(cmd, None).await
}

/// Like [`output`]; a command still running after `limit` is killed
/// (SIGKILL) and Err(TimedOut) returned once it is reaped.
pub async fn output_within(
    mut cmd: Command,
    limit: Option<std::time::Duration>,
) -> std::io::Result<(Exit, Vec<u8>, Vec<u8>)> {
    use std::process::Stdio;
    use tokio::io::AsyncReadExt;
    use tokio::net::unix::pipe::Receiver;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (mut child, rx) = spawn(&mut cmd)?;
    drop(cmd);
    let pid = child.id() as i32;
    let mut out = child
        .stdout
        .take()
        .map(|s| Receiver::from_owned_fd(OwnedFd::from(s)))
        .transpose()?;
    let mut err = child
        .stderr
        .take()
        .map(|s| Receiver::from_owned_fd(OwnedFd::from(s)))
        .transpose()?;
    let (mut o, mut e) = (Vec::new(), Vec::new());
    let collect = async {
        let read_out = async {
            if let Some(p) = out.as_mut() {
                let _ = p.read_to_end(&mut o).await;
            }
        };
        let read_err = async {
            if let Some(p) = err.as_mut() {
                let _ = p.read_to_end(&mut e).await;
            }
        };
        tokio::join!(read_out, read_err);
        exited(rx).await
    };
    let exit = match limit {
        None => collect.await,
        Some(limit) => {
            tokio::pin!(collect);
            match tokio::time::timeout(limit, &mut collect).await {
                Ok(exit) => exit,
                Err(_) => {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                    collect.await;
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("did not finish within {}s", limit.as_secs()),
                    ));
                }
            }
        }
    };
    Ok((exit, o, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn signal_child_signals_live_children_only() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        assert_eq!(signal_child(pid, libc::SIGTERM), Some(true));
        // Exited but not reaped: not signalled again.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        while matches!(
            waitid(Id::Pid(nix::unistd::Pid::from_raw(pid)), flags),
            Ok(WaitStatus::StillAlive)
        ) {
            assert!(std::time::Instant::now() < deadline, "sleep did not end");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(signal_child(pid, libc::SIGKILL), Some(false));
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGTERM));
        // Not a child of ours (pid 1): left to the runtime.
        assert_eq!(signal_child(1, libc::SIGTERM), None);
    }
}
