//! The client side of the monitor's attach socket (SOCK_SEQPACKET, one tag
//! byte per packet, see monitor.proto): stdin goes in, stdout and stderr come
//! out, the last packet carries the exit code. Detach keys are ours to
//! handle: on the sequence we stop forwarding and hang up.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use nix::sys::socket::{
    connect, recv, send, socket, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr,
};

/// How an attach session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachEnd {
    Exited(i32),
    Detached,
    /// The monitor hung up without an exit code.
    Lost,
}

/// Client -> monitor: "I clean up after the exit" and "cleanup done".
const CLAIM_CLEANUP: u8 = 3;
const CLEANUP_DONE: u8 = 4;

/// An attach connection made before the container exists: our end, and the
/// monitor's end to hand it at exec.
pub fn connection_pair() -> anyhow::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::sys::socket::socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?)
}

/// Tell the monitor we clean up after the exit ourselves; it then runs its
/// exit command only if we hang up without [`cleanup_done`].
pub fn claim_cleanup(sock: &OwnedFd) -> anyhow::Result<()> {
    send(sock.as_raw_fd(), &[CLAIM_CLEANUP], MsgFlags::MSG_NOSIGNAL)?;
    Ok(())
}

/// The claimed cleanup is done: the monitor skips its exit command.
pub fn cleanup_done(sock: &OwnedFd) {
    let _ = send(sock.as_raw_fd(), &[CLEANUP_DONE], MsgFlags::MSG_NOSIGNAL);
}

/// Connect to an attach socket, however long its path (long run roots).
pub fn connect_socket(path: &Path) -> anyhow::Result<OwnedFd> {
    let fd = socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    let attach_err =
        |e: &dyn std::fmt::Display| anyhow::anyhow!("attaching to {}: {e}", path.display());
    let short = proto::unix_path::SocketPath::new(path).map_err(|e| attach_err(&e))?;
    let addr = UnixAddr::new(short.path()).map_err(|e| attach_err(&e))?;
    connect(fd.as_raw_fd(), &addr).map_err(|e| attach_err(&e))?;
    Ok(fd)
}

/// Parse `ctrl-p,ctrl-q` (or `a,b`) into bytes; empty disables detaching.
pub fn detach_sequence(keys: &str) -> anyhow::Result<Vec<u8>> {
    if keys.is_empty() {
        return Ok(vec![]);
    }
    keys.split(',')
        .map(|k| {
            if let Some(c) = k.strip_prefix("ctrl-") {
                let b = c.as_bytes();
                match b {
                    [x] if x.is_ascii_lowercase() => Ok(x - b'a' + 1),
                    [b'@'] => Ok(0),
                    [b'['] => Ok(27),
                    [b'\\'] => Ok(28),
                    [b']'] => Ok(29),
                    [b'^'] => Ok(30),
                    [b'_'] => Ok(31),
                    _ => Err(anyhow::anyhow!("invalid detach key {k:?}: use ctrl-a..ctrl-z, ctrl-@, ctrl-[, ctrl-\\, ctrl-], ctrl-^, ctrl-_ or a single character")),
                }
            } else if k.len() == 1 {
                Ok(k.as_bytes()[0])
            } else {
                Err(anyhow::anyhow!("invalid detach key {k:?}: use ctrl-a..ctrl-z or a single character"))
            }
        })
        .collect()
}

/// The terminal's size (rows, cols) if stdin (or else stdout) is one.
pub fn terminal_size() -> Option<(u32, u32)> {
    [0, 1].into_iter().find_map(|fd| {
        // SAFETY: libc::winsize is plain integers; all-zero is valid.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        // SAFETY: TIOCGWINSZ writes one winsize into `ws`, a live local.
        let r = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
        (r == 0 && ws.ws_row > 0).then_some((ws.ws_row as u32, ws.ws_col as u32))
    })
}

/// Tell the monitor our terminal's size (tag 1, "ROWS COLS").
fn send_terminal_size(sock: &OwnedFd) {
    if let Some((r, c)) = terminal_size() {
        let mut pkt = vec![1u8];
        pkt.extend(format!("{r} {c}").as_bytes());
        let _ = send(sock.as_raw_fd(), &pkt, MsgFlags::MSG_NOSIGNAL);
        tracing::debug!(rows = r, cols = c, "sent the terminal size");
    }
}

/// Sends the terminal's size now and again on every SIGWINCH, until dropped.
struct ResizeForwarder(Option<tokio::task::JoinHandle<()>>);

impl ResizeForwarder {
    /// Needs to run inside the tokio runtime (e.g. under `spawn_blocking`);
    /// outside it only the first size is sent.
    fn start(sock: std::sync::Arc<OwnedFd>) -> ResizeForwarder {
        use tokio::signal::unix::{signal, SignalKind};
        // Listen before sending the first size so no change falls in between.
        let task = tokio::runtime::Handle::try_current().ok().and_then(|rt| {
            let _entered = rt.enter();
            let mut winch = match signal(SignalKind::window_change()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(error = %e, "cannot watch SIGWINCH; the terminal size is sent once");
                    return None;
                }
            };
            let sock = sock.clone();
            Some(rt.spawn(async move {
                while winch.recv().await.is_some() {
                    send_terminal_size(&sock);
                }
            }))
        });
        send_terminal_size(&sock);
        ResizeForwarder(task)
    }
}

impl Drop for ResizeForwarder {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.abort();
        }
    }
}

/// Puts stdin into raw mode while alive (for `-t` on a terminal).
pub struct RawMode {
    saved: Option<nix::sys::termios::Termios>,
}

impl RawMode {
    pub fn enable() -> RawMode {
        use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            cfmakeraw(&mut raw);
            let _ = tcsetattr(&stdin, SetArg::TCSANOW, &raw);
        }
        RawMode { saved }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSANOW,
                t,
            );
        }
    }
}

/// Pump stdio through the attach socket until the exit packet, a detach, or
/// hang-up. Blocking: run it under `tokio::task::spawn_blocking` (the
/// terminal's size changes are forwarded from a task on the runtime).
/// Which of the container's output streams an attach session shows
/// (`run --attach stdout|stderr`); the other still goes to the log.
#[derive(Debug, Clone, Copy)]
pub struct Outputs {
    pub stdout: bool,
    pub stderr: bool,
}

impl Default for Outputs {
    fn default() -> Self {
        Outputs {
            stdout: true,
            stderr: true,
        }
    }
}

pub fn pump(
    sock: OwnedFd,
    forward_stdin: bool,
    detach: Vec<u8>,
    send_size: bool,
    outputs: Outputs,
) -> AttachEnd {
    let sock = std::sync::Arc::new(sock);
    // With a terminal: its size now, and every change (SIGWINCH) after.
    let _resize = send_size.then(|| ResizeForwarder::start(sock.clone()));
    let detached = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    if forward_stdin {
        let sock = sock.clone();
        let detached = detached.clone();
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin();
            let mut buf = [0u8; 8192];
            let mut matched = 0usize;
            loop {
                let n = match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        if matched > 0 {
                            let mut out = vec![0u8];
                            out.extend_from_slice(&detach[..matched]);
                            let _ = send(sock.as_raw_fd(), &out, MsgFlags::MSG_NOSIGNAL);
                        }
                        let _ = send(sock.as_raw_fd(), &[2u8], MsgFlags::MSG_NOSIGNAL);
                        return;
                    }
                    Ok(n) => n,
                };
                let chunk = &buf[..n];
                if keys_typed(&detach, matched, chunk) {
                    matched += n;
                    if matched == detach.len() {
                        detached.store(true, std::sync::atomic::Ordering::SeqCst);
                        let _ = nix::sys::socket::shutdown(
                            sock.as_raw_fd(),
                            nix::sys::socket::Shutdown::Both,
                        );
                        return;
                    }
                    continue;
                }
                let mut out = Vec::with_capacity(1 + matched + n);
                out.push(0u8);
                out.extend_from_slice(&detach[..matched]);
                out.extend_from_slice(chunk);
                matched = 0;
                if out.len() > 1 && send(sock.as_raw_fd(), &out, MsgFlags::MSG_NOSIGNAL).is_err() {
                    return;
                }
            }
        });
    }
    let mut buf = vec![0u8; 65536];
    let (mut stdout, mut stderr) = (std::io::stdout(), std::io::stderr());
    loop {
        let n = match recv(sock.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(0) | Err(_) => {
                return if detached.load(std::sync::atomic::Ordering::SeqCst) {
                    AttachEnd::Detached
                } else {
                    AttachEnd::Lost
                };
            }
            Ok(n) => n,
        };
        match buf[0] {
            1 if outputs.stdout => {
                let _ = stdout.write_all(&buf[1..n]);
                let _ = stdout.flush();
            }
            2 if outputs.stderr => {
                let _ = stderr.write_all(&buf[1..n]);
            }
            3 => {
                let code = std::str::from_utf8(&buf[1..n])
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(-1);
                return AttachEnd::Exited(code);
            }
            _ => {}
        }
    }
}

/// Read an attach session to its end without a terminal: (stdout,
/// stderr, exit code if the session reported one).
pub fn collect(sock: OwnedFd) -> (Vec<u8>, Vec<u8>, Option<i32>) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut buf = vec![0u8; 65536];
    loop {
        let n = match recv(sock.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(0) | Err(_) => return (out, err, None),
            Ok(n) => n,
        };
        match buf[0] {
            1 => out.extend_from_slice(&buf[1..n]),
            2 => err.extend_from_slice(&buf[1..n]),
            3 => {
                let code = std::str::from_utf8(&buf[1..n])
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(-1);
                return (out, err, Some(code));
            }
            _ => {}
        }
    }
}

/// Whether a read from stdin is the next part of the detach sequence,
/// typed: Docker's rule (containers/common `detach.Copy`) is that the keys
/// count only as reads of their own, so bytes inside piped data (`exec -i
/// dd <file`) never detach. A read holding exactly the rest of the keys
/// (a fast typist, a terminal test) counts too.
fn keys_typed(detach: &[u8], matched: usize, chunk: &[u8]) -> bool {
    !detach.is_empty()
        && !chunk.is_empty()
        && detach.get(matched..matched + chunk.len()) == Some(chunk)
}

/// `--sig-proxy`: while `work` (the attach pump) runs, the signals podman
/// receives (INT, TERM, HUP, QUIT, USR1, USR2) are sent to the container,
/// as Podman's sig-proxy does; off, `work` is simply awaited.
pub async fn with_sig_proxy<T>(
    engine: &crate::engine_config::EngineConfig,
    id: &str,
    on: bool,
    work: tokio::task::JoinHandle<T>,
) -> Result<T, tokio::task::JoinError> {
    proxy_signals(on, work, |sig| async move {
        super::stop::kill(engine, id, sig).await.map(drop)
    })
    .await
}

/// [`with_sig_proxy`] with the delivery given: `send` passes each signal
/// on (the local store's kill, or a service's `POST .../kill`).
pub async fn proxy_signals<W, F, Fut>(on: bool, work: W, mut send: F) -> W::Output
where
    W: std::future::Future,
    F: FnMut(i32) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    use tokio::signal::unix::{signal, SignalKind};
    if !on {
        return work.await;
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<i32>();
    let mut tasks = Vec::new();
    for n in [
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGUSR1,
        libc::SIGUSR2,
    ] {
        let Ok(mut stream) = signal(SignalKind::from_raw(n)) else {
            continue;
        };
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(n).is_err() {
                    return;
                }
            }
        }));
    }
    drop(tx);
    tokio::pin!(work);
    let out = loop {
        tokio::select! {
            r = &mut work => break r,
            Some(sig) = rx.recv() => {
                tracing::debug!(signal = sig, "proxying a signal to the container");
                if let Err(e) = send(sig).await {
                    tracing::debug!(error = %e, "signal proxy");
                }
            }
        }
    };
    for t in tasks {
        t.abort();
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn detach_keys_parse() {
        assert_eq!(
            super::detach_sequence("ctrl-p,ctrl-q").unwrap(),
            vec![16, 17]
        );
        assert_eq!(super::detach_sequence("a,ctrl-[").unwrap(), vec![b'a', 27]);
        assert!(super::detach_sequence("ctrl-1").is_err());
        assert!(super::detach_sequence("").unwrap().is_empty());
    }

    #[test]
    fn detach_keys_count_only_when_typed() {
        let keys = [16u8, 17];
        assert!(super::keys_typed(&keys, 0, &[16]));
        assert!(super::keys_typed(&keys, 1, &[17]));
        assert!(super::keys_typed(&keys, 0, &[16, 17]));
        // Inside piped data they are data.
        assert!(!super::keys_typed(&keys, 0, b"ab\x10\x11cd"));
        assert!(!super::keys_typed(&keys, 0, &[16, 17, 0]));
        assert!(!super::keys_typed(&keys, 1, &[16]));
        assert!(!super::keys_typed(&[], 0, &[16]));
    }
}
