//! Containers as the API shows them: list, inspect, top, changes and
//! export. The lifecycle verbs are in [`super::containers`].

use std::rc::Rc;

use http::StatusCode;
use serde_json::{json, Value};

use super::errors::{ApiError, ApiResult};
use super::http::{ok_json, Resp};
use super::router::Req;
use super::server::Service;
use super::worker::{self, engine_err};
use crate::container::store;
use crate::engine_config::EngineConfig;

/// Docker's container summaries (`GET /containers/json`).
pub async fn list_docker(
    engine: &EngineConfig,
    all: bool,
    filters: &[String],
    size: bool,
) -> ApiResult<Vec<Value>> {
    let entries = list_entries(engine, all, filters, size, None).await?;
    Ok(entries.iter().map(docker_summary).collect())
}

async fn list_entries(
    engine: &EngineConfig,
    all: bool,
    filters: &[String],
    size: bool,
    last: Option<i64>,
) -> ApiResult<Vec<crate::commands::ps::Entry>> {
    let a = crate::commands::ps::PsArgs {
        all,
        external: false,
        filter: filters.to_vec(),
        format: None,
        last,
        latest: false,
        ns: false,
        no_trunc: true,
        pod: false,
        quiet: false,
        noheading: false,
        size,
        sync: false,
        watch: None,
        sort: None,
    };
    crate::commands::ps::list(engine, &a).await.map_err(|e| {
        let mut err = engine_err(e);
        if err.status == StatusCode::INTERNAL_SERVER_ERROR && err.message.contains("filter") {
            err.status = StatusCode::BAD_REQUEST;
        }
        err
    })
}

fn docker_summary(e: &crate::commands::ps::Entry) -> Value {
    let ports: Vec<Value> = e
        .ports
        .as_deref()
        .unwrap_or_default()
        .iter()
        .flat_map(|p| {
            (0..p.range.max(1)).map(move |i| {
                json!({
                    "IP": p.host_ip,
                    "PrivatePort": p.container_port + i,
                    "PublicPort": p.host_port + i,
                    "Type": p.protocol,
                })
            })
        })
        .collect();
    let networks: serde_json::Map<String, Value> = e
        .networks
        .iter()
        .map(|n| (n.clone(), json!({"NetworkID": n})))
        .collect();
    let mut v = json!({
        "Id": e.id,
        "Names": e.names.iter().map(|n| format!("/{n}")).collect::<Vec<_>>(),
        "Image": e.image,
        "ImageID": super::images::docker_id(&e.image_id),
        "Command": e.command.as_deref().unwrap_or_default().join(" "),
        "Created": e.created_ns / 1_000_000_000,
        "Ports": ports,
        "Labels": e.labels.clone().unwrap_or_default(),
        "State": docker_state(&e.state),
        "Status": e.status_text(),
        "HostConfig": {"NetworkMode": e.networks.first().cloned().unwrap_or_else(|| "default".into())},
        "NetworkSettings": {"Networks": networks},
        "Mounts": e.mounts.iter().map(|m| json!({"Destination": m})).collect::<Vec<_>>(),
    });
    if let Some(sz) = &e.size {
        v["SizeRw"] = json!(sz.rw);
        v["SizeRootFs"] = json!(sz.root_fs);
    }
    v
}

/// Docker's state words for Podman's.
pub fn docker_state(s: &str) -> &str {
    match s {
        "configured" | "initialized" => "created",
        "stopped" => "exited",
        "stopping" => "running",
        other => other,
    }
}

pub(super) async fn list(s: &Rc<Service>, req: Req) -> ApiResult<Resp> {
    let q = &req.query;
    let filters = q.filters()?;
    let all = q.flag("all")?;
    let size = q.flag("size")?;
    let limit = q.int("limit")?.filter(|l| *l > 0);
    let libpod = req.libpod;
    let v = worker::run(&s.engine, move |engine| async move {
        let mut entries =
            list_entries(&engine, all || limit.is_some(), &filters, size, limit).await?;
        if libpod {
            for e in &mut entries {
                e.created_at = e.created_human();
                e.status = e.status_text();
            }
            return serde_json::to_value(&entries).map_err(|e| ApiError::internal(e.to_string()));
        }
        Ok(Value::Array(entries.iter().map(docker_summary).collect()))
    })
    .await?;
    Ok(ok_json(&v))
}

/// Podman's inspect document of one container.
pub async fn inspect_doc(engine: &EngineConfig, name: &str) -> ApiResult<Value> {
    let db = crate::state::open_state(engine).map_err(engine_err)?;
    let rec = store::resolve(&db, name).map_err(|e| engine_err(e.into()))?;
    drop(db);
    let (c, st) = crate::lifecycle::cleanup::refresh(engine, rec)
        .await
        .map_err(engine_err)?;
    let mut storage = crate::helper_procs::storage(engine)
        .await
        .map_err(engine_err)?;
    let req = proto::storage::v1::GetContainerRequest { id: c.id.clone() };
    let layer = storage
        .call("GetContainer", |mut cl| async move {
            cl.get_container(req).await
        })
        .await
        .ok();
    let _ = storage.close().await;
    let mut doc = crate::container::inspect_doc::container_json(
        &c,
        &st,
        &engine.storage_driver,
        layer.as_ref(),
        engine
            .containers
            .network
            .default_network
            .as_deref()
            .unwrap_or("podman"),
    );
    crate::lifecycle::health::inspect_fields(engine, &c, &mut doc);
    doc["ExecIDs"] = json!(crate::lifecycle::paths::exec_ids(engine, &c, &st));
    doc["Mounts"] = crate::volume::attach::inspect_mounts(engine, &c);
    crate::container::inspect_order::podman_order(&mut doc);
    Ok(doc)
}

/// Docker's ContainerJSON from Podman's inspect document.
pub fn docker_inspect(mut doc: Value) -> Value {
    if let Some(n) = doc["Name"].as_str().map(|n| format!("/{n}")) {
        doc["Name"] = json!(n);
    }
    if let Some(i) = doc["Image"].as_str().map(super::images::docker_id) {
        doc["Image"] = json!(i);
    }
    if let Some(st) = doc["State"]["Status"]
        .as_str()
        .map(|s| docker_state(s).to_string())
    {
        doc["State"]["Status"] = json!(st);
    }
    // StopSignal is a name in libpod's document already, as Docker's.
    // Docker's clients read logs only from drivers they know; the
    // k8s-file log is what a create asking for json-file gets.
    if doc["HostConfig"]["LogConfig"]["Type"] == "k8s-file" {
        doc["HostConfig"]["LogConfig"]["Type"] = json!("json-file");
    }
    if doc["ExecIDs"].is_null() {
        doc["ExecIDs"] = json!([]);
    }
    doc
}

pub(super) async fn inspect(s: &Rc<Service>, libpod: bool, id: &str) -> ApiResult<Resp> {
    let id = id.to_string();
    let doc = worker::run(&s.engine, move |engine| async move {
        inspect_doc(&engine, &id).await
    })
    .await?;
    let mut doc = if libpod { doc } else { docker_inspect(doc) };
    if let Some(cid) = doc["Id"].as_str().map(str::to_string) {
        // The API's sessions (made before they start) with their full
        // IDs, then those running under another client (8-character IDs).
        let mut execs = s.exec.of_container(&cid);
        let running: Vec<String> = doc["ExecIDs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        for r in running {
            if !execs.iter().any(|e| e.starts_with(&r)) {
                execs.push(r);
            }
        }
        doc["ExecIDs"] = json!(execs);
    }
    Ok(ok_json(&doc))
}

pub(super) async fn top(s: &Rc<Service>, req: &Req, id: &str) -> ApiResult<Resp> {
    let ps_args: Vec<String> = req
        .query
        .get("ps_args")
        .map(|a| a.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let id = id.to_string();
    let v = worker::run(&s.engine, move |engine| async move {
        let db = crate::state::open_state(&engine).map_err(engine_err)?;
        let rec = store::resolve(&db, &id).map_err(|e| engine_err(e.into()))?;
        drop(db);
        let (cfg, st) = crate::lifecycle::cleanup::refresh(&engine, rec)
            .await
            .map_err(engine_err)?;
        if !st.status.is_active() {
            return Err(ApiError::conflict(format!(
                "top can only be used on running containers: {} is {}: container state improper",
                cfg.name,
                st.status.as_str()
            )));
        }
        // As libpod: what is no descriptor of ours goes to ps(1), whose
        // lines are one cell each (they hold no tabs).
        let lines = if crate::commands::top::descriptors_known(&ps_args) {
            crate::commands::top::lines_of_many(&[(st.pid, cfg.id.clone())], &ps_args)
                .map_err(engine_err)?
        } else {
            crate::commands::top::ps_in_container(&engine, &cfg, &st, &ps_args)
                .await
                .map_err(engine_err)?
                .lines()
                .map(str::to_string)
                .collect()
        };
        let mut rows = lines
            .iter()
            .map(|l| l.split('\t').map(str::to_string).collect::<Vec<_>>());
        let titles = rows.next().unwrap_or_default();
        let procs: Vec<Vec<String>> = rows.collect();
        Ok(json!({"Titles": titles, "Processes": procs}))
    })
    .await?;
    Ok(ok_json(&v))
}

pub(super) async fn changes(s: &Rc<Service>, id: &str) -> ApiResult<Resp> {
    let id = id.to_string();
    let v = worker::run(&s.engine, move |engine| async move {
        let list = crate::commands::diff::changes(&engine, &id)
            .await
            .map_err(engine_err)?;
        Ok(list
            .into_iter()
            .map(|(kind, path)| {
                let k = match kind {
                    'C' => 0,
                    'A' => 1,
                    _ => 2,
                };
                json!({"Path": path, "Kind": k})
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(ok_json(&v))
}

/// `GET /containers/{id}/export`: the root file system as a tar stream.
pub(super) async fn export(s: &Rc<Service>, id: &str) -> ApiResult<Resp> {
    let id = id.to_string();
    let (resp, tx) = super::http::stream(StatusCode::OK, "application/x-tar");
    // The export writes to a pipe; a thread forwards it to the response.
    let (r, w) = nix::unistd::pipe().map_err(|e| ApiError::internal(e.to_string()))?;
    worker::spawn(&s.engine, move |engine| async move {
        if let Err(e) = crate::commands::export::export_to(&engine, &id, w).await {
            tracing::warn!("export of {id}: {e:#}");
        }
    })?;
    super::http::forward_blocking(std::fs::File::from(r), tx, 64 * 1024);
    Ok(resp)
}
