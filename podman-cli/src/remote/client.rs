//! The remote client's HTTP/1.1 connection to a `podman system service`:
//! over a unix socket, plain TCP, or TCP with TLS (mutual when the
//! connection names a client certificate). One connection per request,
//! as short CLI commands need no pool.

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use super::Target;

/// The libpod API version this client asks for.
pub const API_PREFIX: &str = "/v5.0.0/libpod";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Podman's words, so scripts that match them keep working.
    #[error("unable to connect to Podman socket: Cannot connect to Podman. Please verify your connection to the Linux system using `podman system connection list`, or try `podman machine init` and `podman machine start` to manage a new Linux VM: {0}")]
    Connect(String),
    #[error("talking to {uri}: {why}")]
    Http { uri: String, why: String },
    /// The service's own error message, with its HTTP status.
    #[error("{message}")]
    Api { status: StatusCode, message: String },
}

pub struct Response {
    pub body: hyper::body::Incoming,
}

impl Response {
    pub async fn bytes(self) -> Result<Bytes, ClientError> {
        self.body
            .collect()
            .await
            .map(|c| c.to_bytes())
            .map_err(|e| ClientError::Http {
                uri: String::new(),
                why: e.to_string(),
            })
    }

    pub async fn json(self) -> Result<Value, ClientError> {
        let b = self.bytes().await?;
        serde_json::from_slice(&b).map_err(|e| ClientError::Http {
            uri: String::new(),
            why: format!("the answer is not JSON: {e}"),
        })
    }

    /// The next chunk of a streamed body; `None` at its end.
    pub async fn chunk(&mut self) -> Option<Result<Bytes, ClientError>> {
        loop {
            let frame = match self.body.frame().await? {
                Ok(f) => f,
                Err(e) => {
                    return Some(Err(ClientError::Http {
                        uri: String::new(),
                        why: e.to_string(),
                    }))
                }
            };
            if let Ok(data) = frame.into_data() {
                return Some(Ok(data));
            }
        }
    }
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

async fn connect(t: &Target) -> Result<Box<dyn Io>, ClientError> {
    match &t.endpoint {
        super::Endpoint::Unix(path) => tokio::net::UnixStream::connect(path)
            .await
            .map(|s| Box::new(s) as Box<dyn Io>)
            .map_err(|e| {
                ClientError::Connect(format!(
                    "dial unix {}: connect: {}",
                    path.display(),
                    crate::error::go_errno_text(nix::errno::Errno::from_raw(
                        e.raw_os_error().unwrap_or(0)
                    ))
                ))
            }),
        super::Endpoint::Tcp { host, port } => {
            let tcp = tokio::net::TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(|e| {
                    ClientError::Connect(format!(
                        "dial tcp {host}:{port}: connect: {}",
                        crate::error::go_errno_text(nix::errno::Errno::from_raw(
                            e.raw_os_error().unwrap_or(0)
                        ))
                    ))
                })?;
            let Some(tls) = &t.tls else {
                return Ok(Box::new(tcp));
            };
            let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|e| ClientError::Connect(format!("{host}: {e}")))?;
            let stream = tokio_rustls::TlsConnector::from(tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| ClientError::Connect(format!("tls: {e}")))?;
            Ok(Box::new(stream))
        }
    }
}

/// One request; `body` is sent as JSON when given.
pub async fn request(
    t: &Target,
    method: Method,
    path_and_query: &str,
    body: Option<&Value>,
) -> Result<Response, ClientError> {
    request_with(t, method, path_and_query, body, &[]).await
}

/// [`request`] with extra headers.
pub async fn request_with(
    t: &Target,
    method: Method,
    path_and_query: &str,
    body: Option<&Value>,
    headers: &[(&str, String)],
) -> Result<Response, ClientError> {
    let resp = send(t, method, path_and_query, body, headers).await?;
    Ok(Response {
        body: resp.into_body(),
    })
}

/// The connection an attach or exec start takes over (Docker's hijack):
/// raw or multiplexed stream both ways.
pub type Hijacked = TokioIo<hyper::upgrade::Upgraded>;

/// POST `path_and_query` asking to take over the connection.
pub async fn upgrade(
    t: &Target,
    path_and_query: &str,
    body: Option<&Value>,
) -> Result<Hijacked, ClientError> {
    let headers = [
        ("Connection", "Upgrade".to_string()),
        ("Upgrade", "tcp".to_string()),
    ];
    let resp = send(t, Method::POST, path_and_query, body, &headers).await?;
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Err(ClientError::Http {
            uri: t.uri.clone(),
            why: format!(
                "{path_and_query}: the service answered {} instead of taking over the connection",
                resp.status()
            ),
        });
    }
    hyper::upgrade::on(resp)
        .await
        .map(TokioIo::new)
        .map_err(|e| ClientError::Http {
            uri: t.uri.clone(),
            why: e.to_string(),
        })
}

async fn send(
    t: &Target,
    method: Method,
    path_and_query: &str,
    body: Option<&Value>,
    headers: &[(&str, String)],
) -> Result<http::Response<hyper::body::Incoming>, ClientError> {
    let started = std::time::Instant::now();
    let io = connect(t).await?;
    let http_err = |e: hyper::Error| ClientError::Http {
        uri: t.uri.clone(),
        why: e.to_string(),
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(http_err)?;
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    let data = body
        .map(|b| Bytes::from(serde_json::to_vec(b).expect("json body")))
        .unwrap_or_default();
    let mut req = Request::builder()
        .method(method.clone())
        .uri(format!("{API_PREFIX}{path_and_query}"))
        .header(http::header::HOST, "d")
        .header(http::header::USER_AGENT, "PodmanRS-remote");
    if body.is_some() {
        req = req.header(http::header::CONTENT_TYPE, "application/json");
    }
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    let req = req.body(Full::new(data)).map_err(|e| ClientError::Http {
        uri: t.uri.clone(),
        why: e.to_string(),
    })?;
    let resp = sender.send_request(req).await.map_err(http_err)?;
    let status = resp.status();
    tracing::debug!(
        %method,
        path = path_and_query,
        status = status.as_u16(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
        "remote call"
    );
    if status.is_client_error() || status.is_server_error() {
        let r = Response {
            body: resp.into_body(),
        };
        let v = r.json().await.unwrap_or(Value::Null);
        let message = v["message"]
            .as_str()
            .or_else(|| v["cause"].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| format!("{status}"));
        return Err(ClientError::Api { status, message });
    }
    Ok(resp)
}

/// A GET answered with JSON.
pub async fn get_json(t: &Target, path_and_query: &str) -> Result<Value, ClientError> {
    request(t, Method::GET, path_and_query, None)
        .await?
        .json()
        .await
}
