//! Volumes: list, create, inspect, remove, prune.

use std::collections::BTreeMap;
use std::rc::Rc;

use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::errors::{ApiError, ApiResult};
use super::http::{empty, json as json_resp, ok_json, read_json, Resp};
use super::router::{not_found_route, Req};
use super::server::Service;
use super::worker::{self, engine_err};
use crate::engine_config::EngineConfig;

pub async fn route(s: &Rc<Service>, req: Req, segs: &[&str]) -> ApiResult<Resp> {
    match (req.method.clone(), segs) {
        (Method::GET, [] | ["json"]) => list(s, req).await,
        (Method::POST, ["create"]) => create(s, req).await,
        (Method::POST, ["prune"]) => prune(s, req).await,
        (Method::GET, [name] | [name, "json"]) => inspect(s, name).await,
        (Method::GET, [name, "exists"]) if req.libpod => {
            inspect(s, name).await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        (Method::DELETE, [name]) => remove(s, &req, name).await,
        _ => Err(not_found_route(&req.method, &req.path)),
    }
}

/// Each volume's inspect document that `filters` select.
pub fn list_docker(engine: &EngineConfig, filters: &[String]) -> ApiResult<Vec<Value>> {
    let parsed = crate::volume::filter::parse(filters, false)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let db = crate::state::open_state(engine).map_err(engine_err)?;
    let (vols, _) = crate::commands::volume::select(&db, &parsed).map_err(engine_err)?;
    Ok(vols
        .iter()
        .map(|v| v.inspect_json(&engine.volume_path))
        .collect())
}

async fn list(s: &Rc<Service>, req: Req) -> ApiResult<Resp> {
    let filters = req.query.filters()?;
    let libpod = req.libpod;
    let v = worker::run(&s.engine, move |engine| async move {
        list_docker(&engine, &filters)
    })
    .await?;
    if libpod {
        return Ok(ok_json(&v));
    }
    Ok(ok_json(&json!({"Volumes": v, "Warnings": []})))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CreateBody {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Driver")]
    driver: String,
    #[serde(rename = "DriverOpts", alias = "Options")]
    opts: Option<BTreeMap<String, String>>,
    #[serde(rename = "Labels", alias = "Label")]
    labels: Option<BTreeMap<String, String>>,
}

async fn create(s: &Rc<Service>, req: Req) -> ApiResult<Resp> {
    let libpod = req.libpod;
    let b: CreateBody = read_json(req.into_body()).await?;
    let v = worker::run(&s.engine, move |engine| async move {
        let db = crate::state::open_state(&engine).map_err(engine_err)?;
        // Docker: creating a volume that exists answers the existing one.
        if !libpod && !b.name.is_empty() {
            if let Ok(v) = crate::volume::store::get(&db, &b.name) {
                return Ok((v.inspect_json(&engine.volume_path), false));
            }
        }
        let req = crate::volume::CreateRequest {
            name: b.name,
            driver: if b.driver.is_empty() {
                "local".into()
            } else {
                b.driver
            },
            labels: b.labels.unwrap_or_default(),
            options: b
                .opts
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            uid: None,
            gid: None,
            anonymous: false,
        };
        let v = crate::volume::create(&db, &engine.volume_path, &req).map_err(|e| {
            let mut err = engine_err(e.into());
            if err.message.contains("already exists") {
                err.status = StatusCode::CONFLICT;
            }
            err
        })?;
        Ok((v.inspect_json(&engine.volume_path), true))
    })
    .await?;
    Ok(json_resp(
        if v.1 {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        &v.0,
    ))
}

async fn inspect(s: &Rc<Service>, name: &str) -> ApiResult<Resp> {
    let name = name.to_string();
    let v = worker::run(&s.engine, move |engine| async move {
        let db = crate::state::open_state(&engine).map_err(engine_err)?;
        crate::volume::store::get(&db, &name)
            .map(|v| v.inspect_json(&engine.volume_path))
            .map_err(|e| engine_err(e.into()))
    })
    .await?;
    Ok(ok_json(&v))
}

async fn remove(s: &Rc<Service>, req: &Req, name: &str) -> ApiResult<Resp> {
    let force = req.query.flag("force")?;
    let t = req.query.int("timeout")?;
    let name = name.to_string();
    worker::run(&s.engine, move |engine| async move {
        crate::commands::volume::remove_one(&engine, &name, force, t)
            .await
            .map_err(engine_err)
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn prune(s: &Rc<Service>, req: Req) -> ApiResult<Resp> {
    let filters = req.query.filters()?;
    let libpod = req.libpod;
    let removed = worker::run(&s.engine, move |engine| async move {
        crate::commands::volume::prune_matching(&engine, &filters).map_err(engine_err)
    })
    .await?;
    if libpod {
        let v: Vec<Value> = removed
            .iter()
            .map(|n| json!({"Id": n, "Size": 0}))
            .collect();
        return Ok(ok_json(&v));
    }
    Ok(ok_json(
        &json!({"VolumesDeleted": removed, "SpaceReclaimed": 0}),
    ))
}
