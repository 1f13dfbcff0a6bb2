//! The attach socket: a SOCK_SEQPACKET listener streaming a process's output
//! to every attached client and taking stdin and resizes from them. The
//! protocol (one tag byte per packet) is documented in monitor.proto.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::socket::{accept4, recv, send, shutdown, MsgFlags, Shutdown, SockFlag, SockType};
use tokio::io::unix::AsyncFd;
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::input::Input;
use crate::log_driver::Stream;

/// Client -> monitor tags.
const IN_STDIN: u8 = 0;
const IN_RESIZE: u8 = 1;
const IN_EOF: u8 = 2;
const IN_CLAIM_CLEANUP: u8 = 3;
const IN_CLEANUP_DONE: u8 = 4;
/// Monitor -> client tag after the stream tags 1 and 2.
const OUT_EXIT: u8 = 3;
/// Largest packet a client may send.
const MAX_IN: usize = 32 * 1024;
/// How long the exit packet may wait for a client that does not read.
const FINISH_GRACE: Duration = Duration::from_secs(2);

struct Client {
    id: u64,
    fd: AsyncFd<OwnedFd>,
}

/// Who does the exit command's work (see the attach protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    Unclaimed,
    /// By this client, still connected.
    Claimed(u64),
    /// The claiming client said it is done.
    Done,
    /// The claiming client hung up without saying so.
    Abandoned,
}

impl Client {
    async fn send(&self, pkt: &[u8]) -> std::io::Result<()> {
        loop {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|fd| {
                send(
                    fd.as_raw_fd(),
                    pkt,
                    MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT,
                )
                .map_err(std::io::Error::from)
            }) {
                Ok(r) => return r.map(|_| ()),
                Err(_would_block) => continue,
            }
        }
    }

    /// The next packet; None when the client is gone or ended its side.
    async fn recv(&self) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            let mut guard = self.fd.readable().await?;
            let got = guard.try_io(|fd| {
                let mut buf = vec![0u8; MAX_IN];
                let n = recv(fd.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT)
                    .map_err(std::io::Error::from)?;
                buf.truncate(n);
                Ok(buf)
            });
            match got {
                Ok(Ok(b)) if b.is_empty() => return Ok(None),
                Ok(Ok(b)) => return Ok(Some(b)),
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }
}

pub struct AttachHub {
    path: PathBuf,
    /// The socket this hub bound, removed only while the path still names it.
    file_id: Option<crate::sockets::FileId>,
    input: Arc<Input>,
    stdin_once: bool,
    clients: Mutex<Vec<Arc<Client>>>,
    next_id: AtomicU64,
    /// Clients accepted so far.
    accepted: watch::Sender<u64>,
    closed: watch::Sender<bool>,
    claim: watch::Sender<Claim>,
}

impl AttachHub {
    /// Listen at `path`; clients' input goes to `input`.
    pub fn bind(
        path: &Path,
        input: Arc<Input>,
        stdin_once: bool,
    ) -> std::io::Result<Arc<AttachHub>> {
        let listener =
            crate::fdio::async_fd(crate::sockets::listen_at(path, SockType::SeqPacket)?)?;
        let hub = Arc::new(AttachHub {
            path: path.to_path_buf(),
            file_id: crate::sockets::file_id(path),
            input,
            stdin_once,
            clients: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            accepted: watch::Sender::new(0),
            closed: watch::Sender::new(false),
            claim: watch::Sender::new(Claim::Unclaimed),
        });
        tokio::spawn(hub.clone().accept_loop(listener));
        debug!(socket = %path.display(), "attach socket listening");
        Ok(hub)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn accept_loop(self: Arc<Self>, listener: AsyncFd<OwnedFd>) {
        let mut closed = self.closed.subscribe();
        loop {
            let mut guard = tokio::select! {
                _ = crate::fdio::until_true(&mut closed) => break,
                g = listener.readable() => match g {
                    Ok(g) => g,
                    Err(e) => { warn!(error = %e, "attach socket failed"); break; }
                },
            };
            let accepted = guard.try_io(|l| {
                accept4(
                    l.as_raw_fd(),
                    SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
                )
                .map_err(std::io::Error::from)
            });
            match accepted {
                // SAFETY: accept4 returned a new descriptor that we now own.
                Ok(Ok(fd)) => match crate::fdio::async_fd(unsafe { OwnedFd::from_raw_fd(fd) }) {
                    Ok(fd) => self.add(fd),
                    Err(e) => warn!(error = %e, "registering an attach client"),
                },
                Ok(Err(e)) => debug!(error = %e, "accept on the attach socket"),
                Err(_would_block) => continue,
            }
        }
    }

    /// Take a client connected before the container exists (a socket the
    /// monitor inherited), as if it had been accepted.
    pub fn adopt(self: &Arc<Self>, fd: OwnedFd) -> std::io::Result<()> {
        nix::fcntl::fcntl(
            fd.as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        )?;
        self.add(crate::fdio::async_fd(fd)?);
        Ok(())
    }

    fn add(self: &Arc<Self>, fd: AsyncFd<OwnedFd>) {
        let client = Arc::new(Client {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            fd,
        });
        debug!(client = client.id, socket = %self.path.display(), "client attached");
        if let Ok(mut c) = self.clients.lock() {
            c.push(client.clone());
        }
        self.accepted.send_modify(|n| *n += 1);
        tokio::spawn(self.clone().client_loop(client));
    }

    fn remove(&self, id: u64) {
        if let Ok(mut c) = self.clients.lock() {
            c.retain(|c| c.id != id);
        }
    }

    fn is_claimer(&self, id: u64) -> bool {
        *self.claim.borrow() == Claim::Claimed(id)
    }

    async fn client_loop(self: Arc<Self>, client: Arc<Client>) {
        let mut closed = self.closed.subscribe();
        let mut ended = false;
        loop {
            // The client cleaning up stays connected after the exit.
            let claimer = self.is_claimer(client.id);
            let pkt = tokio::select! {
                _ = crate::fdio::until_true(&mut closed), if !claimer => return,
                p = client.recv() => p,
            };
            let pkt = match pkt {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => {
                    debug!(client = client.id, error = %e, "attach client failed");
                    break;
                }
            };
            match (pkt[0], &pkt[1..]) {
                (IN_STDIN, data) if !ended => self.input.write(data).await,
                (IN_RESIZE, size) => match parse_size(size) {
                    Some((rows, cols)) => {
                        if let Err(e) = self.input.resize(rows, cols) {
                            debug!(error = %e, "resize from an attach client");
                        }
                    }
                    None => debug!(client = client.id, "ignoring a malformed resize packet"),
                },
                (IN_EOF, _) if !ended => {
                    ended = true;
                    self.stdin_ended(client.id).await;
                }
                (IN_CLAIM_CLEANUP, _) => {
                    let first = self.claim.send_if_modified(|c| {
                        let unclaimed = *c == Claim::Unclaimed;
                        if unclaimed {
                            *c = Claim::Claimed(client.id);
                        }
                        unclaimed
                    });
                    debug!(client = client.id, first, "client claims the cleanup");
                }
                (IN_CLEANUP_DONE, _) if self.is_claimer(client.id) => {
                    self.claim.send_replace(Claim::Done);
                    debug!(client = client.id, "client cleaned up");
                    break;
                }
                _ => {}
            }
        }
        if self.is_claimer(client.id) {
            self.claim.send_replace(Claim::Abandoned);
        }
        self.remove(client.id);
        debug!(client = client.id, "client detached");
        crate::footprint::soon();
        // A hang-up without an EOF packet is a detach (the detach keys, or
        // the client killed): as in Podman the container keeps its stdin,
        // so `podman attach` can reconnect. Only an explicit EOF (the
        // client's stdin ended) closes it with stdin_once.
    }

    async fn stdin_ended(&self, client: u64) {
        debug!(client, stdin_once = self.stdin_once, "client's stdin ended");
        if self.stdin_once {
            self.input.close().await;
        }
    }

    /// Send output to every client; a client that is gone is dropped.
    pub async fn broadcast(&self, stream: Stream, data: &[u8]) {
        let clients: Vec<Arc<Client>> = self.clients.lock().map(|c| c.clone()).unwrap_or_default();
        if clients.is_empty() {
            return;
        }
        let mut pkt = Vec::with_capacity(data.len() + 1);
        pkt.push(stream.tag());
        pkt.extend_from_slice(data);
        for c in clients {
            if let Err(e) = c.send(&pkt).await {
                debug!(client = c.id, error = %e, "dropping attach client");
                self.remove(c.id);
            }
        }
    }

    /// Wait until a client has connected.
    pub async fn wait_for_client(&self) {
        let _ = self.accepted.subscribe().wait_for(|n| *n > 0).await;
    }

    /// Stop listening and drop every client (the process never started).
    pub fn close(&self) {
        if let Ok(mut c) = self.clients.lock() {
            for c in c.drain(..) {
                let _ = shutdown(c.fd.get_ref().as_raw_fd(), Shutdown::Both);
            }
        }
        self.closed.send_replace(true);
        crate::sockets::remove_if_same(&self.path, self.file_id);
    }

    /// Tell every client the exit code, disconnect them and stop listening.
    pub async fn finish(&self, exit_code: i32) {
        let mut pkt = vec![OUT_EXIT];
        pkt.extend_from_slice(exit_code.to_string().as_bytes());
        let clients: Vec<Arc<Client>> = self
            .clients
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default();
        for c in clients {
            if tokio::time::timeout(FINISH_GRACE, c.send(&pkt))
                .await
                .is_err()
            {
                debug!(client = c.id, "attach client did not take the exit packet");
            }
            if !self.is_claimer(c.id) {
                let _ = shutdown(c.fd.get_ref().as_raw_fd(), Shutdown::Both);
            }
        }
        self.closed.send_replace(true);
        crate::sockets::remove_if_same(&self.path, self.file_id);
        debug!(socket = %self.path.display(), exit_code, "attach socket closed");
    }
}

impl AttachHub {
    /// After [`AttachHub::finish`]: whether a client claimed the cleanup and
    /// reported it done (within `wait`); false when nobody claimed it, or
    /// the claimer hung up or took too long: then the exit command runs.
    pub async fn cleanup_done_by_client(&self, wait: Duration) -> bool {
        let mut rx = self.claim.subscribe();
        if *rx.borrow_and_update() == Claim::Unclaimed {
            return false;
        }
        let settled =
            tokio::time::timeout(wait, rx.wait_for(|c| !matches!(c, Claim::Claimed(_)))).await;
        match settled {
            Ok(Ok(c)) => *c == Claim::Done,
            _ => {
                debug!("the client that claimed the cleanup did not finish it in time");
                false
            }
        }
    }
}

/// "ROWS COLS" -> (rows, cols).
fn parse_size(b: &[u8]) -> Option<(u16, u16)> {
    let s = std::str::from_utf8(b).ok()?;
    let mut it = s.split_ascii_whitespace();
    let rows = it.next()?.parse().ok()?;
    let cols = it.next()?.parse().ok()?;
    Some((rows, cols))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_parse() {
        assert_eq!(super::parse_size(b"24 80"), Some((24, 80)));
        assert_eq!(super::parse_size(b" 33  111\n"), Some((33, 111)));
        assert_eq!(super::parse_size(b"x 80"), None);
        assert_eq!(super::parse_size(b"24"), None);
    }
}
