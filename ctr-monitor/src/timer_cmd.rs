//! `ctr-monitor timer`: a container's timer (Podman's healthcheck timer)
//! without its monitor. A monitor runs its container's timer itself (see
//! `Container::arm_timer`); when that monitor was killed while the
//! container lives on, podman's reconcile path starts this in its place.
//! It runs the command every interval, never two at once, and leaves once
//! the container's process is gone (the process start time guards against
//! a reused pid).

use std::process::{Command, Stdio};
use std::time::Duration;

use clap::Args;

use crate::detach::ReadyPipe;

#[derive(Args, Debug)]
pub struct TimerArgs {
    /// The container's process: the timer ends when it does.
    #[arg(long)]
    pub pid: i32,
    /// Milliseconds between runs (the first run one interval from now).
    #[arg(long)]
    pub interval_ms: u64,
    /// Write the timer's own pid here (so the next repair sees it).
    #[arg(long)]
    pub pid_file: Option<std::path::PathBuf>,
    /// The command to run.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// The process's start time (field 22 of /proc/PID/stat), None once gone.
fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    // After ")": state is field 3, starttime field 22.
    fields.nth(18)?.parse().ok()
}

pub fn run(a: TimerArgs, mut ready: ReadyPipe) -> anyhow::Result<()> {
    if a.interval_ms == 0 {
        ready.fail("--interval-ms must be greater than 0");
        anyhow::bail!("--interval-ms must be greater than 0");
    }
    let Some(started) = start_time(a.pid) else {
        let msg = format!("process {} is not running", a.pid);
        ready.fail(&msg);
        anyhow::bail!(msg);
    };
    if let Some(p) = &a.pid_file {
        if let Err(e) = common::atomic_file::write_atomic(
            p,
            std::process::id().to_string().as_bytes(),
            common::atomic_file::Durability::NoSync,
        ) {
            let msg = format!("writing {}: {e}", p.display());
            ready.fail(&msg);
            anyhow::bail!(msg);
        }
    }
    // Hold none of the caller's pipes (it waits for their end): not the
    // copies detaching kept for the passthrough log driver either.
    drop(crate::detach::take_saved_stdio());
    if let Err(e) = crate::detach::redirect_stdio(std::path::Path::new("/dev/null")) {
        let msg = format!("redirecting stdio: {e}");
        ready.fail(&msg);
        anyhow::bail!(msg);
    }
    ready.ok("");
    let (prog, args) = a.command.split_first().expect("clap requires a command");
    loop {
        std::thread::sleep(Duration::from_millis(a.interval_ms));
        if start_time(a.pid) != Some(started) {
            break;
        }
        match Command::new(prog)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
        {
            Ok(s) if !s.success() => tracing::debug!(status = %s, "timer command failed"),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(command = ?a.command, error = %e, "cannot run the timer command")
            }
        }
        // A subreaper inherits its children's orphans: reap them.
        while let Ok(
            nix::sys::wait::WaitStatus::Exited(..) | nix::sys::wait::WaitStatus::Signaled(..),
        ) = nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG))
        {}
    }
    if let Some(p) = &a.pid_file {
        let _ = std::fs::remove_file(p);
    }
    Ok(())
}
