//! Starting and stopping a network's detached DNS server process.

use std::net::IpAddr;
use std::os::fd::{AsRawFd, OwnedFd};

use ipnet::IpNet;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::Pid;

use super::DnsStore;
use crate::error::{NetError, Result};
use common::file_lock::FileLock;

const READY_TIMEOUT_MS: u16 = 5000;

/// The pid of `network`'s server if one is running (checked against its
/// command line, so a recycled pid is never signalled).
pub fn running_pid(store: &DnsStore, network: &str) -> Option<Pid> {
    let pid: i32 = std::fs::read_to_string(store.pid_path(network))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let records = store.records_path(network);
    let ours =
        args.contains(&&b"dns-serve"[..]) && args.contains(&records.as_os_str().as_encoded_bytes());
    ours.then(|| Pid::from_raw(pid))
}

/// Start the server for `network` on `listen`:53, answering sources in
/// `allow` (the network's subnets), unless it runs already.
/// `lock` (the setup lock, held by the caller) is inherited by the child
/// until it is ready, so a teardown cannot slip in before its pid file exists.
pub async fn ensure_running(
    store: &DnsStore,
    network: &str,
    listen: &[IpAddr],
    allow: &[IpNet],
    port: u16,
    lock: &FileLock,
) -> Result<()> {
    if running_pid(store, network).is_some() {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let err = |m: String| NetError::Dns {
        network: network.to_string(),
        message: m,
    };
    let exe =
        std::env::current_exe().map_err(|e| err(format!("finding net-setup's own binary: {e}")))?;
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| err(format!("pipe: {e}")))?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(store.log_path(network))
        .or_else(|_| {
            std::fs::create_dir_all(
                store
                    .pid_path(network)
                    .parent()
                    .unwrap_or(std::path::Path::new("/")),
            )?;
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(store.log_path(network))
        })
        .map_err(|e| err(format!("opening its log: {e}")))?;
    let (wfd, hold) = (w.as_raw_fd(), lock.file().as_raw_fd());
    let mut cmd = tokio::process::Command::new(&exe);
    cmd.arg("--log-level")
        .arg("info")
        .arg("dns-serve")
        .arg("--network")
        .arg(network)
        .arg("--records")
        .arg(store.records_path(network))
        .arg("--pid-file")
        .arg(store.pid_path(network))
        .arg("--port")
        .arg(port.to_string())
        .arg("--ready-fd")
        .arg(wfd.to_string())
        .arg("--hold-fd")
        .arg(hold.to_string());
    for ip in listen {
        cmd.arg("--listen").arg(ip.to_string());
    }
    for net in allow {
        cmd.arg("--allow").arg(net.to_string());
    }
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            for fd in [wfd, hold] {
                if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| err(format!("starting {}: {e}", exe.display())))?;
    drop(w);
    let pid = child.id().unwrap_or(0);
    // Dropped without waiting: tokio reaps it if it exits while we live.
    drop(child);
    let msg = wait_ready(&r).map_err(err)?;
    if msg.trim() != "ok" {
        return Err(err(msg.trim().trim_start_matches("error: ").to_string()));
    }
    tracing::debug!(
        network,
        pid,
        ?listen,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "dns server started"
    );
    Ok(())
}

fn wait_ready(r: &OwnedFd) -> std::result::Result<String, String> {
    let mut fds = [PollFd::new(std::os::fd::AsFd::as_fd(r), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::from(READY_TIMEOUT_MS)) {
        Ok(0) => return Err(format!("not ready after {READY_TIMEOUT_MS} ms")),
        Ok(_) => {}
        Err(e) => return Err(format!("waiting for it: {e}")),
    }
    let mut buf = [0u8; 512];
    let n = nix::unistd::read(r.as_raw_fd(), &mut buf)
        .map_err(|e| format!("reading its status: {e}"))?;
    if n == 0 {
        return Err("it exited before listening (see its log in the state dir)".to_string());
    }
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// Stop `network`'s server (if running) and wait for it to go away.
pub fn stop(store: &DnsStore, network: &str) -> Result<()> {
    let Some(pid) = running_pid(store, network) else {
        return Ok(());
    };
    crate::usernet::process::stop(pid).map_err(|e| NetError::Dns {
        network: network.to_string(),
        message: e.to_string(),
    })?;
    tracing::debug!(network, %pid, "dns server stopped");
    Ok(())
}
