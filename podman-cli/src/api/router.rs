//! Routing: the optional `/v{version}` prefix (checked against the tree it
//! names), `/libpod/` for Podman's own tree, then the resource families.
//! Image names carry slashes, so image routes match on their suffix.

use std::rc::Rc;

use http::{HeaderValue, Method, Request, StatusCode};
use hyper::body::Incoming;

use super::errors::{ApiError, ApiResult};
use super::http::{error, Query, Resp};
use super::server::Service;
use super::{containers, exec, images, libpod, networks, system, version, volumes};

/// One request as handlers see it.
pub struct Req {
    pub method: Method,
    /// The path without its version prefix (and without `/libpod`).
    pub path: String,
    pub query: Query,
    pub libpod: bool,
    pub inner: Request<Incoming>,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner.headers().get(name).and_then(|v| v.to_str().ok())
    }
    pub fn into_body(self) -> Incoming {
        self.inner.into_body()
    }
}

/// Split `/v1.41/containers/json` into the version and the rest.
fn split_version(path: &str) -> (Option<&str>, &str) {
    if let Some(rest) = path.strip_prefix("/v") {
        if rest.starts_with(|c: char| c.is_ascii_digit()) {
            let (v, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            return (Some(v), tail);
        }
    }
    (None, path)
}

pub async fn handle(service: Rc<Service>, req: Request<Incoming>) -> Resp {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let raw_path = req.uri().path().to_string();
    let mut resp = match route(&service, req).await {
        Ok(r) => r,
        Err(e) => error(&e),
    };
    tracing::debug!(%method, path = %raw_path, status = resp.status().as_u16(), elapsed_ms = started.elapsed().as_secs_f64() * 1e3, "API request");
    let h = resp.headers_mut();
    h.insert("API-Version", HeaderValue::from_static("1.41"));
    h.insert(
        "Libpod-API-Version",
        HeaderValue::from_static(crate::compat::PODMAN_VERSION),
    );
    if let Ok(v) =
        HeaderValue::from_str(&format!("Libpod/{} (linux)", crate::compat::PODMAN_VERSION))
    {
        h.insert("Server", v);
    }
    if let Some(origin) = &service.cors {
        h.insert("Access-Control-Allow-Origin", origin.clone());
        h.insert("Access-Control-Allow-Headers", HeaderValue::from_static("Origin, X-Requested-With, Content-Type, Accept, X-Registry-Auth, Connection, Upgrade, X-Registry-Config"));
        h.insert(
            "Access-Control-Allow-Methods",
            HeaderValue::from_static("HEAD, GET, POST, DELETE, PUT, OPTIONS"),
        );
    }
    resp
}

async fn route(service: &Rc<Service>, inner: Request<Incoming>) -> ApiResult<Resp> {
    let full = percent_encoding::percent_decode_str(inner.uri().path())
        .decode_utf8_lossy()
        .into_owned();
    let (ver, rest) = split_version(&full);
    let (libpod, rest) = match rest.strip_prefix("/libpod") {
        Some(r) if r.is_empty() || r.starts_with('/') => (true, r.to_string()),
        _ => (false, rest.to_string()),
    };
    if let Some(v) = ver {
        version::check(v, libpod)?;
    }
    let req = Req {
        method: inner.method().clone(),
        path: rest.trim_end_matches('/').to_string(),
        query: Query::parse(inner.uri().query()),
        libpod,
        inner,
    };
    let path = req.path.clone();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let m = req.method.clone();
    match segs.first().copied().unwrap_or("") {
        "_ping" => system::ping(&req),
        "version" => system::version(service, req).await,
        "info" => system::info(service, req).await,
        "events" => system::events(service, req).await,
        "system" => system::route(service, req, &segs[1..]).await,
        "images" => images::route(service, req, &path["/images".len()..]).await,
        "containers" => containers::route(service, req, &segs[1..]).await,
        "exec" => exec::route(service, req, &segs[1..]).await,
        "networks" => networks::route(service, req, &segs[1..]).await,
        "volumes" => volumes::route(service, req, &segs[1..]).await,
        "pods" if req.libpod => libpod::pods(service, req, &segs[1..]).await,
        _ => Err(not_found_route(&m, &path)),
    }
}

pub fn not_found_route(method: &Method, path: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no route for {method} {path}: not found"),
    )
}

pub fn method_not_allowed(method: &Method, path: &str) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {path}"),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_prefix() {
        assert_eq!(
            super::split_version("/v1.41/containers/json"),
            (Some("1.41"), "/containers/json")
        );
        assert_eq!(super::split_version("/_ping"), (None, "/_ping"));
        assert_eq!(super::split_version("/volumes"), (None, "/volumes"));
        assert_eq!(
            super::split_version("/v5.4.0/libpod/info"),
            (Some("5.4.0"), "/libpod/info")
        );
    }
}
