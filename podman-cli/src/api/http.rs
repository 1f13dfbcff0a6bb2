//! The HTTP plumbing every handler shares: the response body (whole, or a
//! stream fed from a channel), JSON answers, query parameters, bounded
//! request bodies.

use std::collections::HashMap;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body::Frame;
use http_body_util::BodyExt;

use super::errors::{ApiError, ApiResult};

/// The most a JSON request body may hold (Docker's create bodies are a few
/// kB; this leaves room for long environments without reading unbounded
/// input into memory).
pub const JSON_BODY_LIMIT: usize = 4 << 20;

/// A response body: nothing, a whole buffer, or a stream of chunks a
/// producer sends (it learns the client left when a send fails).
pub enum Body {
    Empty,
    Full(Option<Bytes>),
    Stream(tokio::sync::mpsc::Receiver<Bytes>),
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            Body::Empty => Poll::Ready(None),
            Body::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(rx) => rx.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Empty => true,
            Body::Full(b) => b.is_none(),
            Body::Stream(_) => false,
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            Body::Empty => http_body::SizeHint::with_exact(0),
            Body::Full(Some(b)) => http_body::SizeHint::with_exact(b.len() as u64),
            Body::Full(None) => http_body::SizeHint::with_exact(0),
            Body::Stream(_) => http_body::SizeHint::default(),
        }
    }
}

pub type Resp = Response<Body>;

pub fn json(status: StatusCode, v: &impl serde::Serialize) -> Resp {
    let mut body = serde_json::to_vec(v).unwrap_or_else(|_| b"null".to_vec());
    body.push(b'\n');
    let mut r = Response::new(Body::Full(Some(Bytes::from(body))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub fn ok_json(v: &impl serde::Serialize) -> Resp {
    json(StatusCode::OK, v)
}

pub fn text(status: StatusCode, s: &'static str) -> Resp {
    let mut r = Response::new(Body::Full(Some(Bytes::from_static(s.as_bytes()))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

pub fn empty(status: StatusCode) -> Resp {
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = status;
    r
}

pub fn error(e: &ApiError) -> Resp {
    json(e.status, &e.body())
}

/// A streamed response and the sender that feeds it.
pub fn stream(
    status: StatusCode,
    content_type: &'static str,
) -> (Resp, tokio::sync::mpsc::Sender<Bytes>) {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let mut r = Response::new(Body::Stream(rx));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    (r, tx)
}

/// Forward `reader` into a streamed response's sender on a thread of its
/// own (a blocking read must not stall the service's loop), in chunks of
/// `chunk` bytes, until its end or until the client is gone.
pub fn forward_blocking<R: std::io::Read + Send + 'static>(
    mut reader: R,
    tx: tokio::sync::mpsc::Sender<Bytes>,
    chunk: usize,
) {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; chunk];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.blocking_send(Bytes::copy_from_slice(&buf[..n])).is_err() {
                        return;
                    }
                }
            }
        }
    });
}

/// A request's query parameters (the last of a repeated name wins, as
/// Go's `r.Form.Get` reads the first; Docker's clients send each once).
#[derive(Debug, Default, Clone)]
pub struct Query(pub HashMap<String, Vec<String>>);

impl Query {
    pub fn parse(q: Option<&str>) -> Query {
        let mut m: HashMap<String, Vec<String>> = HashMap::new();
        for pair in q.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            m.entry(decode(k)).or_default().push(decode(v));
        }
        Query(m)
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).and_then(|v| v.first()).map(String::as_str)
    }

    /// Every value of a repeated parameter.
    pub fn all(&self, k: &str) -> Vec<String> {
        self.0.get(k).cloned().unwrap_or_default()
    }

    /// Go's strconv.ParseBool, as Podman's schema decoder reads booleans.
    pub fn bool(&self, k: &str) -> ApiResult<Option<bool>> {
        match self.get(k) {
            None => Ok(None),
            Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(Some(true)),
            Some("" | "0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(Some(false)),
            Some(v) => Err(ApiError::bad_request(format!(
                "failed to parse parameters for {k}: invalid boolean {v:?}"
            ))),
        }
    }

    pub fn flag(&self, k: &str) -> ApiResult<bool> {
        Ok(self.bool(k)?.unwrap_or(false))
    }

    pub fn int(&self, k: &str) -> ApiResult<Option<i64>> {
        match self.get(k) {
            None | Some("") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                ApiError::bad_request(format!(
                    "failed to parse parameters for {k}: invalid integer {v:?}"
                ))
            }),
        }
    }

    /// Docker's `filters` parameter: a JSON object of name -> [values] (or
    /// the old name -> {value: true} form), flattened to `name=value`.
    pub fn filters(&self) -> ApiResult<Vec<String>> {
        let Some(raw) = self.get("filters").filter(|s| !s.is_empty()) else {
            return Ok(Vec::new());
        };
        let v: serde_json::Value = serde_json::from_str(raw)
            .map_err(|e| ApiError::bad_request(format!("failed to parse filters: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| ApiError::bad_request("failed to parse filters: not a JSON object"))?;
        let mut out = Vec::new();
        for (k, vals) in obj {
            match vals {
                serde_json::Value::Array(a) => {
                    for x in a {
                        out.push(format!("{k}={}", x.as_str().unwrap_or(&x.to_string())));
                    }
                }
                serde_json::Value::Object(m) => {
                    for (x, on) in m {
                        if on.as_bool().unwrap_or(false) {
                            out.push(format!("{k}={x}"));
                        }
                    }
                }
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "failed to parse filters: {k}: expected a list"
                    )))
                }
            }
        }
        Ok(out)
    }
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Read a request body of at most `limit` bytes.
pub async fn read_body(body: hyper::body::Incoming, limit: usize) -> ApiResult<Bytes> {
    let limited = http_body_util::Limited::new(body, limit);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body is larger than the limit of {limit} bytes"),
        )),
        Err(e) => Err(ApiError::bad_request(format!(
            "reading the request body: {e}"
        ))),
    }
}

/// A JSON request body (empty reads as `{}`).
pub async fn read_json<T: serde::de::DeserializeOwned>(
    body: hyper::body::Incoming,
) -> ApiResult<T> {
    let b = read_body(body, JSON_BODY_LIMIT).await?;
    let b: &[u8] = if b.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &b
    };
    serde_json::from_slice(b).map_err(|e| ApiError::bad_request(format!("Decode(): {e}")))
}

/// Go's decoder leaves a field alone on JSON `null`; clients (podman-py)
/// send null for what they leave unset. `#[serde(deserialize_with = "go_null")]`.
pub fn go_null<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
