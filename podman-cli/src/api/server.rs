//! The accept loop: one task per connection on a single-threaded runtime,
//! the idle timer (`--time`), and the end on SIGINT/SIGTERM.

use std::cell::Cell;
use std::convert::Infallible;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;

use super::listen::{self, Bound};
use crate::engine_config::EngineConfig;

/// What `podman system service` asks for.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// Seconds without a connection before the service ends; 0 = never.
    pub idle_secs: u64,
    pub uri: Option<String>,
    /// `--cors`: the Access-Control-Allow-Origin every answer carries.
    pub cors: Option<String>,
    /// `--tls-cert`/`--tls-key` (and `--tls-client-ca`): HTTPS.
    pub tls: Option<super::tls::TlsFiles>,
}

/// What every request handler reaches.
pub struct Service {
    pub engine: Arc<EngineConfig>,
    /// What the service listens on, as it was asked for (`info` reports
    /// it as host.remoteSocket.path).
    pub uri: String,
    pub exec: super::exec::Sessions,
    pub cors: Option<http::HeaderValue>,
    activity: Activity,
}

impl Service {
    /// Held by work that outlives its request (a hijacked stream): the
    /// service is busy while any guard lives.
    pub fn busy(&self) -> BusyGuard {
        self.activity.enter()
    }
}

#[derive(Clone, Default)]
struct Activity {
    active: Rc<Cell<usize>>,
    changed: Rc<tokio::sync::Notify>,
}

pub struct BusyGuard(Activity);

impl Activity {
    fn enter(&self) -> BusyGuard {
        self.active.set(self.active.get() + 1);
        BusyGuard(self.clone())
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.active.set(self.0.active.get().saturating_sub(1));
        self.0.changed.notify_one();
    }
}

enum Listener {
    Unix(tokio::net::UnixListener),
    Tcp(tokio::net::TcpListener),
}

/// Serve until idle for `opts.idle_secs` or signalled.
pub async fn serve(engine: EngineConfig, opts: ServiceOptions) -> anyhow::Result<()> {
    let cors = match &opts.cors {
        Some(c) => {
            tracing::debug!("CORS Headers were set to {c:?}");
            Some(
                http::HeaderValue::from_str(c)
                    .map_err(|_| anyhow::anyhow!("--cors {c:?}: not a valid HTTP header value"))?,
            )
        }
        None => {
            tracing::debug!("CORS Headers were not set");
            None
        }
    };
    let tls = match &opts.tls {
        Some(f) => Some(tokio_rustls::TlsAcceptor::from(super::tls::server_config(
            f,
        )?)),
        None => None,
    };
    let bound = listen::bind(opts.uri.as_deref(), tls.is_some())?;
    tracing::info!("API service listening on {}", bound.describe());
    let uri = opts.uri.clone().unwrap_or_else(|| bound.describe());
    let (listener, socket_path) = match bound {
        Bound::Unix { listener, path } => {
            listener.set_nonblocking(true)?;
            (
                Listener::Unix(tokio::net::UnixListener::from_std(listener)?),
                path,
            )
        }
        Bound::Tcp(l) => {
            l.set_nonblocking(true)?;
            (Listener::Tcp(tokio::net::TcpListener::from_std(l)?), None)
        }
    };
    let local = tokio::task::LocalSet::new();
    let result = local
        .run_until(accept_loop(
            Arc::new(engine),
            listener,
            uri,
            opts.idle_secs,
            cors,
            tls,
        ))
        .await;
    if let Some(p) = socket_path {
        let _ = std::fs::remove_file(p);
    }
    result
}

async fn accept_loop(
    engine: Arc<EngineConfig>,
    listener: Listener,
    uri: String,
    idle_secs: u64,
    cors: Option<http::HeaderValue>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let activity = Activity::default();
    let service = Rc::new(Service {
        engine,
        uri,
        exec: super::exec::Sessions::default(),
        cors,
        activity: activity.clone(),
    });
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let idle = (idle_secs > 0).then(|| Duration::from_secs(idle_secs));
    loop {
        // The idle clock runs only while nothing is connected.
        let deadline = match idle {
            Some(d) if activity.active.get() == 0 => Some(tokio::time::Instant::now() + d),
            _ => None,
        };
        let timeout = async {
            match deadline {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
            _ = timeout => {
                tracing::info!("API service idle for {idle_secs}s: exiting");
                return Ok(());
            }
            // Re-arm the idle clock when the last connection ends.
            _ = activity.changed.notified() => continue,
            conn = accept(&listener) => {
                match conn {
                    Ok(stream) => {
                        let guard = activity.enter();
                        let service = service.clone();
                        let tls = tls.clone();
                        tokio::task::spawn_local(async move {
                            match tls {
                                Some(t) => match t.accept(stream).await {
                                    Ok(s) => serve_connection(service, s).await,
                                    Err(e) => tracing::debug!("API connection: TLS handshake: {e}"),
                                },
                                None => serve_connection(service, stream).await,
                            }
                            drop(guard);
                        });
                    }
                    Err(e) => {
                        tracing::warn!("API service: accepting a connection: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
    }
}

/// A connection on either kind of listener.
type Stream = Box<dyn Conn>;

trait Conn: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static> Conn for T {}

async fn accept(l: &Listener) -> std::io::Result<Stream> {
    match l {
        Listener::Unix(l) => l.accept().await.map(|(s, _)| Box::new(s) as Stream),
        Listener::Tcp(l) => l.accept().await.map(|(s, _)| Box::new(s) as Stream),
    }
}

async fn serve_connection<S>(service: Rc<Service>, stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |req| {
        let service = service.clone();
        async move { Ok::<_, Infallible>(super::router::handle(service, req).await) }
    });
    let mut b = hyper::server::conn::http1::Builder::new();
    b.keep_alive(true);
    // Go's net/http sends canonical header names (Access-Control-Allow-
    // Origin); clients and scripts that read the raw answer match them.
    b.title_case_headers(true);
    let r = b
        .serve_connection(TokioIo::new(stream), svc)
        .with_upgrades()
        .await;
    if let Err(e) = r {
        tracing::debug!("API connection ended: {e}");
    }
}
