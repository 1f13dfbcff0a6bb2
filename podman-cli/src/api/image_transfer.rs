//! Images in and out as archives and to registries: `GET /images/{name}/get`
//! and `/images/get?names=` (docker-archive), `POST /images/load`, and
//! `POST /images/{name}/push` with Docker's JSON progress stream.

use std::io::Write;
use std::rc::Rc;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::BodyExt;
use serde_json::json;

use super::errors::{ApiError, ApiResult};
use super::http::{ok_json, Resp};
use super::router::Req;
use super::server::Service;
use super::worker::{self, engine_err};

/// A staging directory for an archive (storage-helper empties the graph
/// root's tmp when it starts, so not there).
fn staging(
    engine: &crate::engine_config::EngineConfig,
    what: &str,
) -> ApiResult<crate::image::staging::Staging> {
    crate::image::staging::Staging::new(&engine.graph_root, what)
        .map_err(|e| ApiError::internal(format!("staging the archive: {e}")))
}

/// `GET /images/{name}/get`, `GET /images/get?names=A&names=B`.
pub async fn get(s: &Rc<Service>, names: Vec<String>) -> ApiResult<Resp> {
    if names.is_empty() {
        return Err(ApiError::bad_request("names parameter cannot be empty"));
    }
    let file = worker::run(&s.engine, move |engine| async move {
        let tmp = staging(&engine, "api-save")?;
        let path = tmp.join("archive.tar");
        crate::commands::save::save_to(&engine, &names, &[], "docker-archive", Some(&path), true)
            .await
            .map_err(engine_err)?;
        let f = std::fs::File::open(&path).map_err(|e| ApiError::internal(e.to_string()))?;
        let _ = std::fs::remove_file(&path);
        drop(tmp);
        Ok(f)
    })
    .await?;
    let (resp, tx) = super::http::stream(StatusCode::OK, "application/x-tar");
    super::http::forward_blocking(file, tx, 256 * 1024);
    Ok(resp)
}

/// `POST /images/load`: the body is an archive `podman load` reads.
pub async fn load(s: &Rc<Service>, req: Req) -> ApiResult<Resp> {
    let libpod = req.libpod;
    let quiet = req.query.flag("quiet")?;
    let tmp = staging(&s.engine, "api-load")?;
    let path = tmp.join("archive.tar");
    let mut f = std::fs::File::create(&path)
        .map_err(|e| ApiError::internal(format!("staging the archive: {e}")))?;
    let mut body = req.into_body();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::bad_request(format!("reading the archive: {e}")))?;
        if let Ok(data) = frame.into_data() {
            f.write_all(&data)
                .map_err(|e| ApiError::internal(format!("staging the archive: {e}")))?;
        }
    }
    drop(f);
    let loaded = worker::run(&s.engine, move |engine| async move {
        let args = crate::commands::load::LoadArgs {
            input: Some(path),
            quiet: true,
        };
        let r = crate::commands::load::load_images(&engine, &args).await;
        drop(tmp);
        r.map_err(|e| {
            let mut err = engine_err(e);
            if err.status == StatusCode::INTERNAL_SERVER_ERROR && err.message.contains("format") {
                err.status = StatusCode::BAD_REQUEST;
            }
            err
        })
    })
    .await?;
    if libpod {
        return Ok(ok_json(&json!({"Names": loaded})));
    }
    let stream: String = loaded
        .iter()
        .map(|n| format!("Loaded image: {n}\n"))
        .collect();
    let _ = quiet;
    Ok(ok_json(&json!({"stream": stream})))
}

/// `POST /images/{name}/push?tag=`: push to the registry the name says.
pub async fn push(s: &Rc<Service>, req: Req, name: &str) -> ApiResult<Resp> {
    let tag = req.query.get("tag").unwrap_or("").to_string();
    let dest = if tag.is_empty() || name.contains('@') {
        name.to_string()
    } else if let Some((repo, _)) = name.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
        format!("{repo}:{tag}")
    } else {
        format!("{name}:{tag}")
    };
    let tls_verify = req.query.bool("tlsVerify")?;
    let creds = req
        .header("X-Registry-Auth")
        .and_then(super::images::registry_auth)
        .map(|(u, p)| format!("{u}:{p}"));
    let (resp, tx) = super::http::stream(StatusCode::OK, "application/json");
    let image = name.to_string();
    worker::spawn(&s.engine, move |engine| async move {
        let line = |v: serde_json::Value| {
            let mut b = serde_json::to_vec(&v).unwrap_or_default();
            b.push(b'\n');
            Bytes::from(b)
        };
        let _ = tx
            .send(line(
                json!({"status": format!("The push refers to repository [{dest}]")}),
            ))
            .await;
        let digest_dir = match staging(&engine, "api-push") {
            Ok(d) => d,
            Err(e) => {
                let _ = tx
                    .send(line(
                        json!({"error": e.message, "errorDetail": {"message": e.message}}),
                    ))
                    .await;
                return;
            }
        };
        let args = crate::commands::push::PushArgs {
            image,
            destination: Some(dest.clone()),
            quiet: true,
            registry: crate::commands::pull::RegistryArgs {
                tls_verify,
                creds,
                authfile: None,
            },
            digestfile: Some(digest_dir.join("digest")),
            compression: Default::default(),
        };
        match crate::commands::push::run(&engine, &args).await {
            Ok(()) => {
                let digest = std::fs::read_to_string(digest_dir.join("digest")).unwrap_or_default();
                let tag = dest.rsplit_once(':').map(|(_, t)| t).unwrap_or("latest");
                let _ = tx
                    .send(line(json!({
                        "status": format!("{tag}: digest: {} size: 0", digest.trim()),
                        "aux": {"Tag": tag, "Digest": digest.trim(), "Size": 0},
                    })))
                    .await;
            }
            Err(e) => {
                let msg = crate::error::one_line(&e);
                let _ = tx
                    .send(line(json!({"error": msg, "errorDetail": {"message": msg}})))
                    .await;
            }
        }
    })?;
    Ok(resp)
}
