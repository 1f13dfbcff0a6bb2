//! Attach: the monitor's attach socket (SOCK_SEQPACKET, one tag byte per
//! packet) joined to the client's hijacked connection (`101 UPGRADED`,
//! then raw bytes). Without a terminal the output is Docker's multiplexed
//! stream; with one, raw.

use std::os::fd::{AsRawFd, OwnedFd};
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use hyper_util::rt::TokioIo;
use nix::sys::socket::{recv, send, MsgFlags};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::errors::{ApiError, ApiResult};
use super::http::{Body, Resp};
use super::router::Req;
use super::server::Service;
use super::worker::{self, engine_err};
use crate::container::model::Status;
use crate::container::store;
use crate::lifecycle::attach as monitor_attach;
use crate::lifecycle::paths::{ContainerLock, ContainerPaths};

/// Monitor attach packet tags, client -> monitor.
const TAG_STDIN: u8 = 0;
const TAG_RESIZE: u8 = 1;
const TAG_STDIN_EOF: u8 = 2;

/// How long a quiet multiplexed stream goes before it checks that the
/// client is still there.
const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(1);

/// An attach socket registered with the runtime.
pub struct Seq(AsyncFd<OwnedFd>);

impl Seq {
    pub fn new(fd: OwnedFd) -> std::io::Result<Seq> {
        nix::fcntl::fcntl(
            fd.as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        )?;
        // SAFETY: the OwnedFd moves into the AsyncFd, which keeps it open
        // and unchanged until it is dropped (deregistering first).
        Ok(Seq(unsafe { AsyncFd::register(fd) }?))
    }

    pub async fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let mut g = self.0.readable().await?;
            match g.try_io(|fd| {
                recv(fd.get_ref().as_raw_fd(), buf, MsgFlags::MSG_DONTWAIT)
                    .map_err(std::io::Error::from)
            }) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }

    pub async fn send(&self, pkt: &[u8]) -> std::io::Result<()> {
        loop {
            let mut g = self.0.writable().await?;
            match g.try_io(|fd| {
                send(
                    fd.get_ref().as_raw_fd(),
                    pkt,
                    MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL,
                )
                .map_err(std::io::Error::from)
            }) {
                Ok(r) => return r.map(|_| ()),
                Err(_would_block) => continue,
            }
        }
    }

    pub fn shutdown(&self) {
        let _ = nix::sys::socket::shutdown(
            self.0.get_ref().as_raw_fd(),
            nix::sys::socket::Shutdown::Both,
        );
    }
}

/// What the client asked to see and send.
#[derive(Debug, Clone, Copy)]
pub struct Streams {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

/// Whether the request asks to take over the connection.
pub fn wants_upgrade(req: &Req) -> bool {
    req.header("upgrade").is_some()
        || req
            .header("connection")
            .is_some_and(|c| c.to_ascii_lowercase().contains("upgrade"))
}

/// The `101` answer; `on` gets the upgraded connection.
pub fn upgrade_response<B, F, Fut>(
    inner: http::Request<B>,
    tty: bool,
    service: &Rc<Service>,
    on: F,
) -> Resp
where
    B: 'static,
    F: FnOnce(TokioIo<hyper::upgrade::Upgraded>) -> Fut + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let busy = service.busy();
    tokio::task::spawn_local(async move {
        let _busy = busy;
        match hyper::upgrade::on(inner).await {
            Ok(up) => on(TokioIo::new(up)).await,
            Err(e) => tracing::debug!("attach: the upgrade failed: {e}"),
        }
    });
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if tty {
            "application/vnd.docker.raw-stream"
        } else {
            "application/vnd.docker.multiplexed-stream"
        }),
    );
    r
}

/// Pump between the client and the attach socket until the exit packet,
/// the monitor hanging up, or the client leaving (then the socket is shut
/// down, so the monitor ends this session and nothing leaks). Returns the
/// exit code when the monitor sent one.
pub async fn pump<C>(conn: C, seq: Arc<Seq>, streams: Streams) -> Option<i32>
where
    C: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    pump_then(conn, seq, streams, |_| {}, std::future::ready(None)).await
}

/// [`pump`], calling `at_end` with the exit code before the client's
/// connection closes (what the client asks next must see it). When the
/// monitor hangs up without an exit code, `failure` tells why (a process
/// the runtime could not start): it reaches the client as Podman writes
/// it, `Error: ...` on the stderr stream.
pub async fn pump_then<C>(
    conn: C,
    seq: Arc<Seq>,
    streams: Streams,
    at_end: impl FnOnce(Option<i32>),
    failure: impl std::future::Future<Output = Option<String>>,
) -> Option<i32>
where
    C: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut rd, mut wr) = tokio::io::split(conn);
    let input = {
        let seq = seq.clone();
        async move {
            if !streams.stdin {
                // Input is not forwarded; an end of it is the client's
                // half-close (Docker's CLI closes its write side), not
                // its leaving: that shows when a write fails.
                let mut buf = [0u8; 1024];
                loop {
                    match rd.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
            }
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match rd.read(&mut buf[1..]).await {
                    Ok(0) | Err(_) => {
                        let _ = seq.send(&[TAG_STDIN_EOF]).await;
                        return;
                    }
                    Ok(n) => {
                        buf[0] = TAG_STDIN;
                        if seq.send(&buf[..n + 1]).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    };
    let output = async {
        let mut buf = vec![0u8; 65536];
        loop {
            let n = match tokio::time::timeout(HEARTBEAT, seq.recv(&mut buf)).await {
                Ok(Ok(0) | Err(_)) => return (None, true),
                Ok(Ok(n)) => n,
                Err(_idle) => {
                    // A client that left shows only when a write fails: an
                    // empty frame is nothing to Docker's stream readers.
                    if !streams.tty
                        && (wr.write_all(&super::logs::frame(1, &[])).await.is_err()
                            || wr.flush().await.is_err())
                    {
                        return (None, false);
                    }
                    continue;
                }
            };
            let data = &buf[1..n];
            let (show, stream) = match buf[0] {
                1 => (streams.stdout, 1u8),
                2 => (streams.stderr, 2u8),
                3 => {
                    let code = std::str::from_utf8(data)
                        .ok()
                        .and_then(|s| s.trim().parse().ok());
                    return (code, true);
                }
                _ => continue,
            };
            if !show || data.is_empty() {
                continue;
            }
            let r = if streams.tty {
                wr.write_all(data).await
            } else {
                wr.write_all(&super::logs::frame(stream, data)).await
            };
            if r.is_err() || wr.flush().await.is_err() {
                return (None, false);
            }
        }
    };
    let (code, client_there) = {
        tokio::pin!(input);
        tokio::pin!(output);
        let mut input_done = false;
        loop {
            tokio::select! {
                _ = &mut input, if !input_done => input_done = true,
                r = &mut output => break r,
            }
        }
    };
    at_end(code);
    if code.is_none() && client_there {
        if let Ok(Some(msg)) =
            tokio::time::timeout(std::time::Duration::from_secs(10), failure).await
        {
            let text = format!("Error: {msg}\n");
            let _ = if streams.tty {
                wr.write_all(text.as_bytes()).await
            } else {
                wr.write_all(&super::logs::frame(2, text.as_bytes())).await
            };
            let _ = wr.flush().await;
        }
    }
    let _ = wr.shutdown().await;
    seq.shutdown();
    code
}

/// Connect to a container for attach: a running one through its attach
/// socket; one not yet handed to a monitor is initialized now with an
/// attach connection, so its start loses no output.
async fn attach_socket(
    engine: &crate::engine_config::EngineConfig,
    id: &str,
    stdin_once: bool,
) -> ApiResult<(OwnedFd, bool)> {
    let db = crate::state::open_state(engine).map_err(engine_err)?;
    let (cfg, _) = store::resolve(&db, id).map_err(|e| engine_err(e.into()))?;
    let paths = ContainerPaths::new(engine, &cfg.id);
    let lock = ContainerLock::acquire(&paths).map_err(engine_err)?;
    let (cfg, mut st) = store::resolve(&db, &cfg.id).map_err(|e| engine_err(e.into()))?;
    drop(db);
    let tty = cfg.terminal;
    let initialized = crate::lifecycle::start::is_initialized(&st);
    if st.status.is_active() || initialized {
        drop(lock);
        let fd =
            monitor_attach::connect_socket(&paths.attach_socket(&cfg.id)).map_err(engine_err)?;
        return Ok((fd, tty));
    }
    if !matches!(st.status, Status::Configured | Status::Created) {
        return Err(ApiError::conflict(format!(
            "you can only attach to running containers: {} is {}: container state improper",
            cfg.name,
            st.status.as_str()
        )));
    }
    let (ours, theirs) = monitor_attach::connection_pair().map_err(engine_err)?;
    let handover = crate::lifecycle::start::Handover {
        stdin_once,
        start: false,
        attach: Some(theirs),
        preserve_fds: None,
    };
    let init = crate::lifecycle::start::init_with(engine, &cfg, &mut st, &paths, handover)
        .await
        .map_err(engine_err)?;
    init.monitor.close().await.map_err(engine_err)?;
    drop(lock);
    Ok((ours, tty))
}

/// `POST /containers/{id}/attach?stream=1&stdin=1&stdout=1&stderr=1`.
pub async fn attach(s: &Rc<Service>, req: Req, id: String) -> ApiResult<Resp> {
    let q = &req.query;
    let logs = q.flag("logs")?;
    if logs {
        return Err(ApiError::bad_request(
            "attach with logs=true is not supported: read the logs with /containers/{id}/logs",
        ));
    }
    let mut streams = Streams {
        stdin: q.flag("stdin")?,
        stdout: q.flag("stdout")?,
        stderr: q.flag("stderr")?,
        tty: false,
    };
    if req.libpod && !streams.stdin && !streams.stdout && !streams.stderr {
        streams.stdout = true;
        streams.stderr = true;
    }
    let stdin_once = streams.stdin;
    let (fd, tty) = worker::run(&s.engine, move |engine| async move {
        attach_socket(&engine, &id, stdin_once).await
    })
    .await?;
    streams.tty = tty;
    let seq = Arc::new(Seq::new(fd).map_err(|e| ApiError::internal(e.to_string()))?);
    if !wants_upgrade(&req) {
        // An old client without Upgrade: output only, as a stream body.
        streams.stdin = false;
        let (resp, tx) = super::http::stream(
            StatusCode::OK,
            if tty {
                "application/vnd.docker.raw-stream"
            } else {
                "application/vnd.docker.multiplexed-stream"
            },
        );
        let busy = s.busy();
        tokio::task::spawn_local(async move {
            let _busy = busy;
            let (client, mut ours) = tokio::io::duplex(64 * 1024);
            let fwd = async {
                let mut buf = vec![0u8; 65536];
                loop {
                    match ours.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if tx.send(Bytes::copy_from_slice(&buf[..n])).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            };
            tokio::join!(pump(client, seq, streams), fwd);
        });
        return Ok(resp);
    }
    Ok(upgrade_response(
        req.inner,
        tty,
        s,
        move |conn| async move {
            pump(conn, seq, streams).await;
        },
    ))
}

/// Send a terminal size on an attach connection.
pub fn send_resize(fd: &OwnedFd, h: u32, w: u32) -> std::io::Result<()> {
    let mut pkt = vec![TAG_RESIZE];
    pkt.extend(format!("{h} {w}").as_bytes());
    send(fd.as_raw_fd(), &pkt, MsgFlags::MSG_NOSIGNAL)?;
    Ok(())
}

fn size(req: &Req) -> ApiResult<(u32, u32)> {
    let h = req.query.int("h")?.unwrap_or(0);
    let w = req.query.int("w")?.unwrap_or(0);
    if h <= 0 || w <= 0 || h > u16::MAX as i64 || w > u16::MAX as i64 {
        return Err(ApiError::bad_request(
            "h and w must be terminal sizes between 1 and 65535",
        ));
    }
    Ok((h as u32, w as u32))
}

/// `POST /containers/{id}/resize?h=&w=`.
pub async fn resize_container(s: &Rc<Service>, req: &Req, id: &str) -> ApiResult<Resp> {
    let (h, w) = size(req)?;
    let id = id.to_string();
    worker::run(&s.engine, move |engine| async move {
        let db = crate::state::open_state(&engine).map_err(engine_err)?;
        let (cfg, st) = store::resolve(&db, &id).map_err(|e| engine_err(e.into()))?;
        if !cfg.terminal {
            return Err(ApiError::conflict(format!(
                "container {} does not have a terminal: cannot resize",
                cfg.name
            )));
        }
        if !st.status.is_active() {
            return Err(ApiError::conflict(format!(
                "cannot resize container {}: it is not running: container state improper",
                cfg.name
            )));
        }
        let paths = ContainerPaths::new(&engine, &cfg.id);
        let fd =
            monitor_attach::connect_socket(&paths.attach_socket(&cfg.id)).map_err(engine_err)?;
        send_resize(&fd, h, w).map_err(|e| ApiError::internal(e.to_string()))
    })
    .await?;
    Ok(super::http::empty(StatusCode::OK))
}

pub fn resize_size(req: &Req) -> ApiResult<(u32, u32)> {
    size(req)
}
