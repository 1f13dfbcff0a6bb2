//! libpod's own endpoints beyond the shared families: container create
//! from a SpecGenerator and the pods.

use std::collections::BTreeMap;
use std::rc::Rc;

use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::errors::{ApiError, ApiResult};
use super::http::{empty, json as json_resp, ok_json, read_json, Resp};
use super::router::{not_found_route, Req};
use super::server::Service;
use super::spec_generator::{publish_flag, PortMap, SpecGenerator};
use super::worker::{self, engine_err};

/// `POST /libpod/containers/create`.
pub async fn create_container(s: &Rc<Service>, req: Req) -> ApiResult<Resp> {
    let body: Value = read_json(req.into_body()).await?;
    super::spec_fields::check(&body)?;
    let spec: SpecGenerator = serde_json::from_value(body)
        .map_err(|e| ApiError::bad_request(format!("Decode(): {e}")))?;
    let opts = spec.into_options()?;
    let id = super::containers::create_with(s, opts).await?;
    Ok(json_resp(
        StatusCode::CREATED,
        &json!({"Id": id, "Warnings": []}),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PodSpec {
    name: String,
    labels: BTreeMap<String, String>,
    hostname: String,
    no_infra: bool,
    portmappings: Vec<PortMap>,
    share: Vec<String>,
}

pub async fn pods(s: &Rc<Service>, req: Req, segs: &[&str]) -> ApiResult<Resp> {
    match (req.method.clone(), segs) {
        (Method::GET, ["json"]) => list_pods(s).await,
        (Method::POST, ["create"]) => create_pod(s, req).await,
        (Method::GET, [name, "json"]) => {
            let name = name.to_string();
            let v = worker::run(&s.engine, move |engine| async move {
                let db = crate::state::open_state(&engine).map_err(engine_err)?;
                let pod = crate::pod::store::resolve(&db, &name)
                    .map_err(|e| ApiError::not_found(e.to_string()))?;
                let members =
                    crate::pod::store::members(&db, &pod.id).map_err(|e| engine_err(e.into()))?;
                Ok(crate::commands::pod_ps::inspect_doc(&pod, &members))
            })
            .await?;
            Ok(ok_json(&v))
        }
        (Method::GET, [name, "exists"]) => {
            let name = name.to_string();
            worker::run(&s.engine, move |engine| async move {
                let db = crate::state::open_state(&engine).map_err(engine_err)?;
                crate::pod::store::resolve(&db, &name)
                    .map(|_| ())
                    .map_err(|e| ApiError::not_found(e.to_string()))
            })
            .await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        (
            Method::POST,
            [name, verb @ ("start" | "stop" | "kill" | "pause" | "unpause" | "restart")],
        ) => {
            let (name, verb) = (name.to_string(), verb.to_string());
            let t = req.query.int("t")?.map(|t| t.max(0) as u32);
            let sig = crate::container::parse::signal(req.query.get("signal").unwrap_or("KILL"))
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            let id = worker::run(&s.engine, move |engine| async move {
                use crate::lifecycle::pod_ops;
                let r = match verb.as_str() {
                    "start" => pod_ops::start(&engine, &name).await,
                    "stop" => pod_ops::stop(&engine, &name, t).await,
                    "kill" => pod_ops::kill(&engine, &name, sig).await,
                    "pause" => pod_ops::pause(&engine, &name, true).await,
                    "unpause" => pod_ops::pause(&engine, &name, false).await,
                    _ => match pod_ops::stop(&engine, &name, t).await {
                        Ok(_) => pod_ops::start(&engine, &name).await,
                        Err(e) => Err(e),
                    },
                };
                r.map(|p| p.id).map_err(|e| {
                    if pod_ops::is_no_such_pod(&e) {
                        ApiError::not_found(crate::error::one_line(&e))
                    } else {
                        engine_err(e)
                    }
                })
            })
            .await?;
            Ok(ok_json(&json!({"Id": id, "Errs": []})))
        }
        (Method::DELETE, [name]) => {
            let name = name.to_string();
            let force = req.query.flag("force")?;
            let t = req.query.int("timeout")?.map(|t| t.max(0) as u32);
            let id = worker::run(&s.engine, move |engine| async move {
                crate::lifecycle::pod_ops::remove(&engine, &name, force, t)
                    .await
                    .map(|p| p.id)
                    .map_err(|e| {
                        if crate::lifecycle::pod_ops::is_no_such_pod(&e) {
                            ApiError::not_found(crate::error::one_line(&e))
                        } else {
                            engine_err(e)
                        }
                    })
            })
            .await?;
            Ok(ok_json(&json!({"Id": id, "Err": null})))
        }
        _ => Err(not_found_route(&req.method, &req.path)),
    }
}

async fn list_pods(s: &Rc<Service>) -> ApiResult<Resp> {
    let v = worker::run(&s.engine, move |engine| async move {
        let db = crate::state::open_state(&engine).map_err(engine_err)?;
        let pods = crate::pod::store::list(&db).map_err(|e| engine_err(e.into()))?;
        drop(db);
        let mut out = Vec::new();
        for p in pods {
            let members = crate::lifecycle::pod_ops::refreshed(&engine, &p)
                .await
                .map_err(engine_err)?;
            out.push(crate::commands::pod_ps::report(&p, &members));
        }
        Ok(Value::Array(out))
    })
    .await?;
    Ok(ok_json(&v))
}

async fn create_pod(s: &Rc<Service>, req: Req) -> ApiResult<Resp> {
    let spec: PodSpec = read_json(req.into_body()).await?;
    let publish = spec.portmappings.iter().map(publish_flag).collect();
    let o = crate::lifecycle::pod::PodCreateOptions {
        name: Some(spec.name).filter(|n| !n.is_empty()),
        publish,
        infra: !spec.no_infra,
        hostname: Some(spec.hostname).filter(|h| !h.is_empty()),
        labels: spec
            .labels
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        share: (!spec.share.is_empty()).then(|| spec.share.join(",")),
        ..Default::default()
    };
    let id = worker::run(&s.engine, move |engine| async move {
        crate::lifecycle::pod::create(&engine, &o)
            .await
            .map(|p| p.id)
            .map_err(|e| {
                let mut err = engine_err(e);
                if err.message.contains("in use") || err.message.contains("exists") {
                    err.status = StatusCode::CONFLICT;
                }
                err
            })
    })
    .await?;
    Ok(json_resp(StatusCode::CREATED, &json!({"Id": id})))
}
