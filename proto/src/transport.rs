//! gRPC over a socketpair handed to the child at exec, or over a unix socket.
//!
//! The caller side is [`spawn_helper`]: it makes a socketpair, puts one end on
//! the child's fd 3 (posix_spawn, see [`crate::spawn`]), and speaks HTTP/2 on
//! the other end through a tonic [`Channel`]; the helper calls
//! [`watch_parent`] first thing, so the kernel signals it if the caller dies
//! (PR_SET_PDEATHSIG). The helper side is [`serve`]: on an inherited fd it serves
//! exactly one connection and returns when the caller hangs up, so a helper
//! never outlives the process that started it.

use std::ffi::OsString;
use std::future::Future;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::str::FromStr;
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use tonic::service::Routes;
use tonic::transport::{Channel, Endpoint, Uri};
use tracing::{debug, warn};

/// The descriptor number a helper finds its socketpair end on.
pub const HELPER_FD: RawFd = 3;

/// For a helper, first thing in `main` (before any thread or fork): if it
/// was started by [`spawn_helper`], die (SIGTERM) when that process dies,
/// and exit at once if it already has. The variable naming the parent is
/// removed, so the helper's own children do not inherit it.
pub fn watch_parent() {
    let Some(v) = std::env::var_os(crate::spawn::PARENT_ENV) else {
        return;
    };
    // SAFETY: called before any other thread exists (documented contract).
    unsafe { std::env::remove_var(crate::spawn::PARENT_ENV) };
    let Some(parent) = v.to_str().and_then(|s| s.parse::<i32>().ok()) else {
        return;
    };
    // SAFETY: plain prctl/getppid; the order closes the race with a parent
    // that dies before the prctl (we would then have been re-parented).
    unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGTERM as libc::c_ulong,
            0,
            0,
            0,
        );
        if libc::getppid() != parent {
            libc::_exit(1);
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("helper {name}: cannot start {path}: {source}")]
    Spawn {
        name: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("helper {name}: {what}: {source}")]
    Io {
        name: String,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("helper {name}: setting up its channel: {source}")]
    Channel {
        name: String,
        source: tonic::transport::Error,
    },
    #[error("helper {name} (pid {pid}) {how} during {method}{detail}")]
    Died {
        name: String,
        pid: u32,
        method: String,
        how: String,
        detail: String,
    },
    #[error("helper {name}: {method} failed: {message}")]
    Call {
        name: String,
        method: String,
        /// The helper's category for the failure.
        code: crate::ErrorCode,
        message: String,
    },
    #[error("helper {name} speaks protocol version {got}, this podman needs {want}: install matching builds of podman and its helpers")]
    Version { name: String, got: u32, want: u32 },
    #[error("invalid listen address {0:?}: expected unix:/path/to/socket")]
    ListenAddress(String),
    #[error("serving on {what}: {source}")]
    Serve {
        what: String,
        source: std::io::Error,
    },
    #[error("serving a connection: {0}")]
    Connection(String),
}

impl TransportError {
    /// The helper's own category for a call it answered with an error;
    /// `None` when the failure was the transport's (the helper could not be
    /// started, reached, or died).
    pub fn code(&self) -> Option<crate::ErrorCode> {
        match self {
            TransportError::Call { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Where a helper serves: `--grpc-fd N` or `--listen unix:PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServeTarget {
    Fd(RawFd),
    Unix(PathBuf),
}

impl FromStr for ServeTarget {
    type Err = TransportError;
    /// Parses a `--listen` address.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("unix:") {
            Some(p) if !p.is_empty() => Ok(ServeTarget::Unix(PathBuf::from(p))),
            _ => Err(TransportError::ListenAddress(s.to_string())),
        }
    }
}

/// Serve `routes` on `target` until the caller hangs up (fd) or the process
/// is told to stop (unix socket).
pub async fn serve(target: ServeTarget, routes: Routes) -> Result<(), TransportError> {
    match target {
        ServeTarget::Fd(fd) => serve_on_fd(fd, routes).await,
        ServeTarget::Unix(path) => serve_listen(&path, routes).await,
    }
}

/// Serve exactly one connection on an inherited socket and return when the
/// peer closes it.
pub async fn serve_on_fd(fd: RawFd, routes: Routes) -> Result<(), TransportError> {
    let what = format!("fd {fd}");
    // Refuse a descriptor that is not a socket instead of failing obscurely.
    let st = nix::sys::stat::fstat(fd).map_err(|e| TransportError::Serve {
        what: what.clone(),
        source: std::io::Error::from(e),
    })?;
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(TransportError::Serve {
            what,
            source: std::io::Error::other(
                "not a socket; start helpers through podman or use --listen",
            ),
        });
    }
    // SAFETY: fd was handed to us at exec and nothing else owns it.
    let std_stream = unsafe { std::os::unix::net::UnixStream::from_raw_fd(fd) };
    let _ = nix::fcntl::fcntl(
        fd,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    );
    std_stream
        .set_nonblocking(true)
        .map_err(|source| TransportError::Serve {
            what: what.clone(),
            source,
        })?;
    let stream = tokio::net::UnixStream::from_std(std_stream)
        .map_err(|source| TransportError::Serve { what, source })?;
    // However the caller hung up (GOAWAY, reset, plain close), its going away
    // is this helper's normal end: there is nobody left to report to.
    if let Err(e) = serve_connection(stream, routes).await {
        debug!(error = %e, "caller connection ended");
    }
    Ok(())
}

async fn serve_connection(
    stream: tokio::net::UnixStream,
    routes: Routes,
) -> Result<(), TransportError> {
    let svc = TowerToHyperService::new(routes);
    hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(stream), svc)
        .await
        .map_err(|e| TransportError::Connection(e.to_string()))
}

/// Serve many connections on a unix socket (for tools other than podman)
/// until SIGTERM or SIGINT; the socket file is removed on the way out.
pub async fn serve_listen(path: &Path, routes: Routes) -> Result<(), TransportError> {
    let what = path.display().to_string();
    let serve_err = |source| TransportError::Serve {
        what: what.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(serve_err)?;
    }
    let listener = crate::unix_path::bind_private(path, |p| {
        crate::unix_path::SocketPath::new(p).and_then(|p| tokio::net::UnixListener::bind(p.path()))
    })
    .map_err(serve_err)?;
    debug!(socket = %what, "listening");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(serve_err)?;
    let result = loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let routes = routes.clone();
                    tokio::spawn(async move {
                        if let Err(e) = serve_connection(stream, routes).await {
                            debug!(error = %e, "connection ended with an error");
                        }
                    });
                }
                Err(e) => break Err(serve_err(e)),
            },
            _ = term.recv() => break Ok(()),
            _ = tokio::signal::ctrl_c() => break Ok(()),
        }
    };
    let _ = std::fs::remove_file(path);
    result
}

/// A running helper and the channel to it.
pub struct Helper {
    pub name: String,
    channel: Option<Channel>,
    child: crate::spawn::Child,
    pid: u32,
}

/// Start `program` as helper `name` with `args` (which should include
/// `serve --grpc-fd 3`) and connect a gRPC channel to it. The helper's stdin
/// is /dev/null and its stdout goes to our stderr.
pub async fn spawn_helper(
    name: &str,
    program: &Path,
    args: &[OsString],
) -> Result<Helper, TransportError> {
    spawn_helper_with(name, program, args, false).await
}

/// As [`spawn_helper`]; with `inherit_stdio` the helper gets our stdin,
/// stdout and stderr (a monitor passing them through to a container).
pub async fn spawn_helper_with(
    name: &str,
    program: &Path,
    args: &[OsString],
    inherit_stdio: bool,
) -> Result<Helper, TransportError> {
    spawn_helper_passing(name, program, args, inherit_stdio, None).await
}

/// Take ownership of descriptor `fd` inherited at exec (e.g. the one
/// [`spawn_helper_passing`] hands over as [`EXTRA_FD`]), checked to be open
/// and made close-on-exec so nothing the helper starts inherits it.
pub fn take_inherited_fd(fd: RawFd) -> Result<OwnedFd, TransportError> {
    let what = format!("inherited descriptor {fd}");
    nix::sys::stat::fstat(fd).map_err(|e| TransportError::Serve {
        what: what.clone(),
        source: e.into(),
    })?;
    // SAFETY: fd was handed to us at exec, fstat showed it open, and
    // nothing else in this process owns it.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    nix::fcntl::fcntl(
        owned.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )
    .map_err(|e| TransportError::Serve {
        what,
        source: e.into(),
    })?;
    Ok(owned)
}

/// The descriptor [`spawn_helper_passing`] hands over beside the gRPC one.
pub const EXTRA_FD: RawFd = 4;

/// As [`spawn_helper_with`], also handing the helper `extra` as fd
/// [`EXTRA_FD`] (e.g. a connection the helper serves from its start).
pub async fn spawn_helper_passing(
    name: &str,
    program: &Path,
    args: &[OsString],
    inherit_stdio: bool,
    extra: Option<std::os::fd::BorrowedFd<'_>>,
) -> Result<Helper, TransportError> {
    spawn_helper_env(name, program, args, inherit_stdio, extra, &[]).await
}

/// Where descriptors a monitor passes on to the container arrive
/// ([`spawn_helper_fds`]): this one and up, in order.
pub const PRESERVED_FDS_BASE: RawFd = 5;

/// As [`spawn_helper_passing`], with `env` added to the helper's
/// environment.
pub async fn spawn_helper_env(
    name: &str,
    program: &Path,
    args: &[OsString],
    inherit_stdio: bool,
    extra: Option<std::os::fd::BorrowedFd<'_>>,
    env: &[(&str, &str)],
) -> Result<Helper, TransportError> {
    let extra: Vec<_> = extra.map(|fd| (fd, EXTRA_FD)).into_iter().collect();
    spawn_helper_fds(name, program, args, inherit_stdio, &extra, env).await
}

/// As [`spawn_helper_env`], handing the helper each `(fd, target)` of
/// `extra` as descriptor `target` (above [`HELPER_FD`]).
pub async fn spawn_helper_fds(
    name: &str,
    program: &Path,
    args: &[OsString],
    inherit_stdio: bool,
    extra: &[(std::os::fd::BorrowedFd<'_>, RawFd)],
    env: &[(&str, &str)],
) -> Result<Helper, TransportError> {
    let started = Instant::now();
    let io_err = |what, source| TransportError::Io {
        name: name.to_string(),
        what,
        source,
    };
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| io_err("socketpair", e.into()))?;

    // Numbered above the slots they go to, so placing one cannot clobber
    // the other.
    let above = |fd: RawFd, what| {
        nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(10))
            // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor we own.
            .map(|n| unsafe { OwnedFd::from_raw_fd(n) })
            .map_err(|e| io_err(what, e.into()))
    };
    let theirs = above(theirs.as_raw_fd(), "duplicating the helper's socket")?;
    let extra = extra
        .iter()
        .map(|(fd, target)| {
            above(fd.as_raw_fd(), "duplicating the descriptor to pass").map(|d| (d, *target))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut fds = vec![(theirs.as_raw_fd(), HELPER_FD)];
    for (e, target) in &extra {
        fds.push((e.as_raw_fd(), *target));
    }
    let stdio = if inherit_stdio {
        crate::spawn::Stdio::Inherit
    } else {
        crate::spawn::Stdio::Quiet
    };
    let child = crate::spawn::spawn(program, args, stdio, &fds, env).map_err(|source| {
        TransportError::Spawn {
            name: name.to_string(),
            path: program.to_path_buf(),
            source,
        }
    })?;
    drop(theirs);
    drop(extra);
    let pid = child.id();
    let channel = channel_over(name, ours)?;
    debug!(helper = name, pid, path = %program.display(), elapsed_ms = ms(started), "spawned helper");
    Ok(Helper {
        name: name.to_string(),
        channel: Some(channel),
        child,
        pid,
    })
}

/// A tonic channel over an already connected stream socket.
pub fn channel_over(name: &str, sock: OwnedFd) -> Result<Channel, TransportError> {
    // SAFETY: we own sock and hand it over whole.
    let std_stream = unsafe { std::os::unix::net::UnixStream::from_raw_fd(sock.into_raw_fd()) };
    std_stream
        .set_nonblocking(true)
        .map_err(|source| TransportError::Io {
            name: name.to_string(),
            what: "setting the socket non-blocking",
            source,
        })?;
    let slot = std::sync::Arc::new(std::sync::Mutex::new(Some(std_stream)));
    let connector = tower::service_fn(move |_: Uri| {
        let taken = slot.lock().ok().and_then(|mut s| s.take());
        async move {
            let s = taken.ok_or_else(|| {
                std::io::Error::other(
                    "helper connection already used; helpers serve one connection",
                )
            })?;
            Ok::<_, std::io::Error>(TokioIo::new(tokio::net::UnixStream::from_std(s)?))
        }
    });
    Ok(Endpoint::from_static("http://helper.invalid").connect_with_connector_lazy(connector))
}

/// Connect to a helper serving on a unix socket (`HELPER serve --listen`);
/// paths longer than `sockaddr_un` holds are reached through their directory.
pub async fn connect_unix(path: &Path) -> Result<Channel, TransportError> {
    let p = path.to_path_buf();
    let connector = tower::service_fn(move |_: Uri| {
        let p = p.clone();
        async move { Ok::<_, std::io::Error>(TokioIo::new(crate::unix_path::connect_stream(&p).await?)) }
    });
    Endpoint::from_static("http://helper.invalid")
        .connect_with_connector(connector)
        .await
        .map_err(|source| TransportError::Channel {
            name: path.display().to_string(),
            source,
        })
}

impl Helper {
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether the helper process has already ended (reaped if so).
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// The channel to the helper; an error once [`Helper::finish`] hung up.
    pub fn channel(&self) -> Result<Channel, TransportError> {
        self.channel.clone().ok_or_else(|| {
            TransportError::Connection(format!("helper {} was already shut down", self.name))
        })
    }

    /// Run one RPC, logging it with its duration; a failure caused by the
    /// helper dying is reported as such, with its exit status.
    pub async fn call<T, F>(&mut self, method: &str, fut: F) -> Result<T, TransportError>
    where
        F: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let started = Instant::now();
        debug!(helper = %self.name, method, "call");
        match fut.await {
            Ok(resp) => {
                debug!(helper = %self.name, method, elapsed_ms = ms(started), "call done");
                Ok(resp.into_inner())
            }
            Err(status) => {
                debug!(helper = %self.name, method, elapsed_ms = ms(started), code = ?status.code(), "call failed");
                Err(self.explain(method, status).await)
            }
        }
    }

    /// Turn a failed call into an error that names the helper and, if it
    /// died, how.
    async fn explain(&mut self, method: &str, status: tonic::Status) -> TransportError {
        // A helper's own error statuses carry no source; a broken connection
        // (the helper died) carries the transport error that broke it. Only
        // then is it worth waiting for the helper's exit status.
        let transport_failure = std::error::Error::source(&status).is_some()
            || matches!(
                status.code(),
                tonic::Code::Unavailable | tonic::Code::Cancelled
            );
        if transport_failure {
            if let Ok(Ok(exit)) =
                tokio::time::timeout(Duration::from_millis(1000), self.child.wait()).await
            {
                return TransportError::Died {
                    name: self.name.clone(),
                    pid: self.pid,
                    method: method.to_string(),
                    how: describe_exit(exit),
                    detail: String::new(),
                };
            }
        }
        TransportError::Call {
            name: self.name.clone(),
            method: method.to_string(),
            code: crate::ErrorCode::of(&status),
            message: status.message().to_string(),
        }
    }

    /// Hang up and reap the helper. It exits on its own when the connection
    /// closes; one that has not exited after `grace` is killed.
    pub async fn finish(&mut self, grace: Duration) -> Result<ExitStatus, TransportError> {
        // Replacing the channel drops our only handle on the connection.
        // Dropping our only handle on the connection closes it.
        self.channel = None;
        let (name, pid, child) = (self.name.clone(), self.pid, &mut self.child);
        let started = Instant::now();
        let status = match tokio::time::timeout(grace, child.wait()).await {
            Ok(r) => r.map_err(|source| TransportError::Io {
                name: name.clone(),
                what: "waiting for exit",
                source,
            })?,
            Err(_) => {
                warn!(helper = %name, pid, "helper did not exit after its connection closed; killing it");
                let _ = child.start_kill();
                child.wait().await.map_err(|source| TransportError::Io {
                    name: name.clone(),
                    what: "waiting for exit",
                    source,
                })?
            }
        };
        debug!(helper = %name, pid, status = %describe_exit(status), elapsed_ms = ms(started), "helper exited");
        Ok(status)
    }
}

/// "exited with code 3", "was killed by signal 9 (SIGKILL)".
pub fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        format!("exited with code {code}")
    } else if let Some(sig) = status.signal() {
        let name = nix::sys::signal::Signal::try_from(sig)
            .map(|s| s.as_str())
            .unwrap_or("?");
        format!("was killed by signal {sig} ({name})")
    } else {
        "exited".to_string()
    }
}

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_parse() {
        assert_eq!(
            "unix:/run/x.sock".parse::<ServeTarget>().unwrap(),
            ServeTarget::Unix(PathBuf::from("/run/x.sock"))
        );
        assert!("tcp:1.2.3.4:5".parse::<ServeTarget>().is_err());
        assert!("unix:".parse::<ServeTarget>().is_err());
    }
}
