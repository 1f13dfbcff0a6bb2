//! Serving the gRPC API on the inherited fd-3 connection and on unix
//! listeners (`--listen`, `<socket_dir>/<id>/monitor.sock`), with a gentle
//! shutdown: the listeners go first, connections still open may finish
//! their conversation (a Kill followed by a Wait) for a short while, then
//! they are closed gracefully so in-flight calls still get their answer.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};
use tonic::service::Routes;
use tracing::debug;

pub struct Server {
    /// Listeners stop accepting.
    closing: watch::Sender<bool>,
    /// Connections shut down (GOAWAY, in-flight calls finish).
    shutdown: watch::Sender<bool>,
    /// Every connection holds a clone; all dropped means all are done.
    tracker: Mutex<Option<mpsc::Sender<()>>>,
    all_done: tokio::sync::Mutex<mpsc::Receiver<()>>,
    sockets: Mutex<Vec<(PathBuf, Option<crate::sockets::FileId>)>>,
}

impl Default for Server {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(1);
        Server {
            closing: watch::Sender::new(false),
            shutdown: watch::Sender::new(false),
            tracker: Mutex::new(Some(tx)),
            all_done: tokio::sync::Mutex::new(rx),
            sockets: Mutex::new(Vec::new()),
        }
    }
}

impl Server {
    fn token(&self) -> Option<mpsc::Sender<()>> {
        self.tracker.lock().ok().and_then(|t| t.clone())
    }

    /// Serve one connection; the handle finishes when it closes.
    pub fn serve_stream(&self, stream: UnixStream, routes: Routes) -> tokio::task::JoinHandle<()> {
        let token = self.token();
        let shutdown = self.shutdown.subscribe();
        tokio::spawn(serve_connection(stream, routes, shutdown, token))
    }

    /// Accept connections on `listener` (bound at `path`, removed at shutdown).
    pub fn serve_listener(&self, listener: UnixListener, path: PathBuf, routes: Routes) {
        if let Ok(mut s) = self.sockets.lock() {
            s.push((path.clone(), crate::sockets::file_id(&path)));
        }
        let tracker = self.token();
        let mut closing = self.closing.subscribe();
        let conn_shutdown = self.shutdown.clone();
        debug!(socket = %path.display(), "serving gRPC");
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = crate::fdio::until_true(&mut closing) => break,
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => {
                            tokio::spawn(serve_connection(stream, routes.clone(), conn_shutdown.subscribe(), tracker.clone()));
                        }
                        Err(e) => {
                            debug!(socket = %path.display(), error = %e, "accept failed");
                            break;
                        }
                    },
                }
            }
        });
    }

    /// Stop accepting and remove the socket files; give open connections
    /// up to `linger` to hang up, then shut them down gracefully (in-flight
    /// calls finish, at most `grace`).
    pub async fn shutdown(&self, linger: Duration, grace: Duration) {
        self.closing.send_replace(true);
        for (p, id) in self.sockets.lock().map(|s| s.clone()).unwrap_or_default() {
            crate::sockets::remove_if_same(&p, id);
        }
        if let Ok(mut t) = self.tracker.lock() {
            t.take();
        }
        let mut done = self.all_done.lock().await;
        if tokio::time::timeout(linger, done.recv()).await.is_ok() {
            return;
        }
        debug!("closing the connections still open");
        self.shutdown.send_replace(true);
        if tokio::time::timeout(grace, done.recv()).await.is_err() {
            debug!("connections still open after the grace period");
        }
    }
}

async fn serve_connection(
    stream: UnixStream,
    routes: Routes,
    mut shutdown: watch::Receiver<bool>,
    _token: Option<mpsc::Sender<()>>,
) {
    let svc = TowerToHyperService::new(routes);
    let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = crate::fdio::until_true(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        debug!(error = %e, "connection ended with an error");
    }
    crate::footprint::soon();
}
