//! Starting a user-mode network tool detached from net-setup, and stopping
//! it again.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::Record;
use crate::error::{NetError, Result};

const READY_TIMEOUT_MS: u16 = 10_000;

/// The record's pid, if that process is still the tool it names for that
/// netns (its command line says so).
pub fn is_ours(rec: &Record) -> Option<Pid> {
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", rec.pid)).ok()?;
    let netns = rec.netns_path.as_os_str().as_encoded_bytes();
    let ours = cmdline.split(|b| *b == 0).any(|a| a == netns);
    ours.then(|| Pid::from_raw(rec.pid))
}

/// Start `bin args` in a session of its own, stdout/stderr to `log`, with
/// a pipe's write end open at the number the returned closure is given
/// (for `--ready-fd`); waits until the tool writes to it.
/// Returns the child's pid.
pub async fn spawn_with_ready_fd(
    bin: &Path,
    args: impl Fn(i32) -> Vec<String>,
    log: &Path,
) -> Result<i32> {
    let what = bin.display().to_string();
    let fail = |m: String| NetError::FailedPrecondition(format!("{what}: {m}"));
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| fail(format!("pipe: {e}")))?;
    let logf = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| NetError::io("opening", log, e))?;
    let wfd = w.as_raw_fd();
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(args(wfd))
        .stdin(std::process::Stdio::null())
        .stdout(
            logf.try_clone()
                .map_err(|e| NetError::io("opening", log, e))?,
        )
        .stderr(logf);
    // SAFETY: only async-signal-safe calls (fcntl, setsid) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::fcntl(wfd, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|e| fail(format!("starting it: {e}")))?;
    drop(w);
    let pid = child.id().unwrap_or(0) as i32;
    // Dropped without waiting: tokio reaps it if it exits while we live.
    drop(child);
    match wait_ready(&r) {
        Ok(()) => Ok(pid),
        Err(m) => {
            if pid > 0 {
                let _ = stop(Pid::from_raw(pid));
            }
            let last = last_error(&std::fs::read_to_string(log).unwrap_or_default());
            Err(fail(if last.is_empty() {
                m
            } else {
                format!("{m}: {last}")
            }))
        }
    }
}

/// The tool's last message that is not a warning (slirp4netns may glue
/// a "WARNING: ..." to the end of its error, without a newline).
fn last_error(logged: &str) -> String {
    let lines: Vec<&str> = logged
        .lines()
        .map(|l| l.find("WARNING:").map_or(l, |i| &l[..i]).trim())
        .filter(|l| !l.is_empty())
        .collect();
    lines.last().copied().unwrap_or("").to_string()
}

fn wait_ready(r: &OwnedFd) -> std::result::Result<(), String> {
    let mut fds = [PollFd::new(std::os::fd::AsFd::as_fd(r), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::from(READY_TIMEOUT_MS)) {
        Ok(0) => return Err(format!("not ready after {READY_TIMEOUT_MS} ms")),
        Ok(_) => {}
        Err(e) => return Err(format!("waiting for it: {e}")),
    }
    let mut buf = [0u8; 16];
    let n = nix::unistd::read(r.as_raw_fd(), &mut buf)
        .map_err(|e| format!("reading its ready pipe: {e}"))?;
    if n == 0 {
        return Err("it exited before the network was ready".to_string());
    }
    Ok(())
}

/// SIGTERM `pid` and wait (on a pidfd) until it is gone; SIGKILL after 2 s.
pub fn stop(pid: Pid) -> Result<()> {
    // SAFETY: pidfd_open(2) with a pid the caller verified; result checked.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) } as i32;
    match kill(pid, Signal::SIGTERM) {
        Ok(()) | Err(nix::Error::ESRCH) => {}
        Err(e) => return Err(NetError::sys(format!("stopping pid {pid}"), e)),
    }
    if pidfd >= 0 {
        // SAFETY: a fresh descriptor we own.
        let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(pidfd) };
        let mut fds = [PollFd::new(
            std::os::fd::AsFd::as_fd(&fd),
            PollFlags::POLLIN,
        )];
        if matches!(poll(&mut fds, PollTimeout::from(2000u16)), Ok(0)) {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = poll(&mut fds, PollTimeout::from(1000u16));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn last_error_skips_warnings() {
        assert_eq!(
            super::last_error("outbound-addr has to be valid.WARNING: Support is experimental\n"),
            "outbound-addr has to be valid."
        );
        assert_eq!(super::last_error("bad thing\nWARNING: x\n\n"), "bad thing");
        assert_eq!(super::last_error(""), "");
    }
}
