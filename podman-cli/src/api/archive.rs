//! `GET|HEAD|PUT /containers/{id}/archive?path=`: files out of and into a
//! container as tar streams, through `podman cp`'s own copy (its `-`
//! end on a pipe instead of stdio).

use std::io::Write;
use std::rc::Rc;

use base64::Engine;
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;

use super::errors::{ApiError, ApiResult};
use super::http::{empty, Resp};
use super::router::Req;
use super::server::Service;
use super::worker::{self, engine_err};

/// Go's os.FileMode bits for a directory and a symlink.
const GO_MODE_DIR: u32 = 1 << 31;

fn stat_header(path: &str, st: &proto::storage::v1::CopyStatResponse) -> String {
    let name = std::path::Path::new(path.trim_end_matches('/'))
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "/".into());
    let mut mode = st.mode & 0o7777;
    if st.is_dir {
        mode |= GO_MODE_DIR;
    }
    let v = json!({
        "name": name,
        "size": st.size,
        "mode": mode,
        "mtime": common::time::rfc3339_secs(st.mtime_unix),
        "linkTarget": if st.link_target == path { String::new() } else { st.link_target.clone() },
    });
    base64::engine::general_purpose::STANDARD.encode(v.to_string())
}

async fn stat(s: &Rc<Service>, id: &str, path: &str) -> ApiResult<String> {
    let (id, path) = (id.to_string(), path.to_string());
    worker::run(&s.engine, move |engine| async move {
        match crate::commands::cp::stat_in_container(&engine, &id, &path).await {
            Ok(Ok(st)) => Ok(stat_header(&path, &st)),
            Ok(Err(msg)) => Err(ApiError::not_found(format!(
                "{path:?} could not be found on container {id}: {msg}"
            ))),
            Err(e) => Err(engine_err(e)),
        }
    })
    .await
}

fn with_stat(mut r: Resp, header: &str) -> Resp {
    if let Ok(v) = HeaderValue::from_str(header) {
        r.headers_mut().insert("X-Docker-Container-Path-Stat", v);
    }
    r
}

pub async fn route(s: &Rc<Service>, req: Req, id: &str) -> ApiResult<Resp> {
    let path = req.query.get("path").unwrap_or("").to_string();
    if path.is_empty() {
        return Err(ApiError::bad_request("path parameter cannot be empty"));
    }
    match req.method {
        Method::HEAD => {
            let h = stat(s, id, &path).await?;
            Ok(with_stat(empty(StatusCode::OK), &h))
        }
        Method::GET => get(s, id, &path).await,
        Method::PUT => put(s, req, id, &path).await,
        _ => Err(super::router::method_not_allowed(&req.method, &req.path)),
    }
}

async fn get(s: &Rc<Service>, id: &str, path: &str) -> ApiResult<Resp> {
    let header = stat(s, id, path).await?;
    let (resp, tx) = super::http::stream(StatusCode::OK, "application/x-tar");
    let (r, w) = nix::unistd::pipe().map_err(|e| ApiError::internal(e.to_string()))?;
    let a = crate::commands::cp::CpArgs {
        source: format!("{id}:{path}"),
        destination: "-".into(),
        archive: true,
        overwrite: false,
        extract: false,
        pause: true,
    };
    worker::spawn(&s.engine, move |engine| async move {
        if let Err(e) = crate::commands::cp::copy_with_stream(&engine, &a, w).await {
            tracing::warn!("archive of {}: {e:#}", a.source);
        }
    })?;
    super::http::forward_blocking(std::fs::File::from(r), tx, 64 * 1024);
    Ok(with_stat(resp, &header))
}

async fn put(s: &Rc<Service>, req: Req, id: &str, path: &str) -> ApiResult<Resp> {
    let (r, w) = nix::unistd::pipe().map_err(|e| ApiError::internal(e.to_string()))?;
    let a = crate::commands::cp::CpArgs {
        source: "-".into(),
        destination: format!("{id}:{path}"),
        archive: true,
        overwrite: !req.query.flag("noOverwriteDirNonDir")?,
        extract: false,
        pause: true,
    };
    // The body goes into the pipe from a thread (blocking writes), fed by
    // this task; the copy reads the other end.
    let (btx, brx) = std::sync::mpsc::sync_channel::<Bytes>(8);
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::File::from(w);
        for chunk in brx {
            if f.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let done = worker::run(&s.engine, move |engine| async move {
        crate::commands::cp::copy_with_stream(&engine, &a, r)
            .await
            .map_err(|e| {
                let mut err = engine_err(e);
                if err.message.contains("could not be found") {
                    err.status = StatusCode::NOT_FOUND;
                } else if err.status == StatusCode::INTERNAL_SERVER_ERROR {
                    err.status = StatusCode::BAD_REQUEST;
                }
                err
            })
    });
    let mut body = req.into_body();
    let feed = async move {
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            if let Ok(data) = frame.into_data() {
                let tx = btx.clone();
                // A full channel blocks briefly: the writer thread drains it.
                if tokio::task::spawn_blocking(move || tx.send(data))
                    .await
                    .map_or(true, |r| r.is_err())
                {
                    break;
                }
            }
        }
    };
    let (result, ()) = tokio::join!(done, feed);
    let _ = writer.join();
    result?;
    Ok(empty(StatusCode::OK))
}
