//! Containers: create, list, inspect, start, stop, kill, restart, wait,
//! remove, logs, top, rename, pause/unpause, prune, changes, export.
//! Attach and exec go through [`super::hijack`] and [`super::exec`].

use std::rc::Rc;

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{json, Value};

use super::errors::{ApiError, ApiResult};
use super::http::{empty, json as json_resp, ok_json, read_json, Resp};
use super::router::{not_found_route, Req};
use super::server::Service;
use super::worker::{self, engine_err};
use crate::container::store;
use crate::engine_config::EngineConfig;

pub async fn route(s: &Rc<Service>, req: Req, segs: &[&str]) -> ApiResult<Resp> {
    let m = req.method.clone();
    match (m, segs) {
        (Method::POST, ["create"]) => create(s, req).await,
        (Method::GET, ["json"]) => list(s, req).await,
        (Method::POST, ["prune"]) => prune(s, req).await,
        (Method::GET, [id, "json"]) => inspect(s, req.libpod, id).await,
        (Method::GET, [id, "exists"]) if req.libpod => {
            let id = id.to_string();
            worker::run(&s.engine, move |engine| async move {
                let db = crate::state::open_state(&engine).map_err(engine_err)?;
                store::resolve(&db, &id)
                    .map(|_| ())
                    .map_err(|e| engine_err(e.into()))
            })
            .await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        (Method::POST, [id, "start"]) => start(s, id).await,
        (Method::POST, [id, "stop"]) => stop(s, &req, id).await,
        (Method::POST, [id, "kill"]) => kill(s, &req, id).await,
        (Method::POST, [id, "restart"]) => restart(s, &req, id).await,
        (Method::POST, [id, "wait"]) => wait(s, &req, id).await,
        (Method::DELETE, [id]) => remove(s, &req, id).await,
        (Method::GET, [id, "logs"]) => super::logs::logs(s, &req, id).await,
        (Method::GET, [id, "top"]) => top(s, &req, id).await,
        (Method::GET, [id, "stats"]) => super::stats::stats(s, &req, id).await,
        (Method::POST, [id, "rename"]) => rename(s, &req, id).await,
        (Method::POST, [id, "pause"]) => pause(s, id, true, req.libpod).await,
        (Method::POST, [id, "unpause"]) => pause(s, id, false, req.libpod).await,
        (Method::POST, [id, "init"]) if req.libpod => init(s, id).await,
        (Method::GET, [id, "changes"]) => changes(s, id).await,
        (Method::GET, [id, "export"]) => export(s, id).await,
        (Method::POST, [id, "attach"]) => {
            let id = id.to_string();
            super::hijack::attach(s, req, id).await
        }
        (Method::GET | Method::HEAD | Method::PUT, [id, "archive"]) => {
            let id = id.to_string();
            super::archive::route(s, req, &id).await
        }
        (Method::POST, [id, "resize"]) => super::hijack::resize_container(s, &req, id).await,
        (Method::POST, [id, "exec"]) => {
            let id = id.to_string();
            super::exec::create(s, req, id).await
        }
        _ => Err(not_found_route(&req.method, &req.path)),
    }
}

async fn create(s: &Rc<Service>, req: Req) -> ApiResult<Resp> {
    let name = req.query.get("name").map(str::to_string);
    if req.libpod {
        return super::libpod::create_container(s, req).await;
    }
    let body: super::create_body::CreateBody = read_json(req.into_body()).await?;
    let opts = body.into_options(name)?;
    let id = create_with(s, opts).await?;
    Ok(json_resp(
        StatusCode::CREATED,
        &json!({"Id": id, "Warnings": []}),
    ))
}

/// Run the CLI's create; a missing image is Docker's 404 (the client pulls).
pub async fn create_with(
    s: &Rc<Service>,
    opts: crate::lifecycle::create_options::CreateOptions,
) -> ApiResult<String> {
    worker::run(&s.engine, move |engine| async move {
        if opts.pull == "never" {
            // Docker's answer names the image as given.
            super::images::find(&engine, &opts.image)
                .await
                .map_err(|e| match e.status {
                    StatusCode::NOT_FOUND => {
                        ApiError::not_found(format!("No such image: {}", opts.image))
                    }
                    _ => e,
                })?;
        }
        let cfg = crate::lifecycle::create::create(&engine, &opts)
            .await
            .map_err(|e| {
                let mut err = engine_err(e);
                if err.message.contains("already in use") {
                    err.status = StatusCode::CONFLICT;
                }
                err
            })?;
        Ok(cfg.id)
    })
    .await
}

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

async fn list(s: &Rc<Service>, req: Req) -> ApiResult<Resp> {
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
    // Docker's StopSignal is a name.
    if let Some(n) = doc["Config"]["StopSignal"].as_i64() {
        let name = nix::sys::signal::Signal::try_from(n as i32)
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|_| n.to_string());
        doc["Config"]["StopSignal"] = json!(name);
    }
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

async fn inspect(s: &Rc<Service>, libpod: bool, id: &str) -> ApiResult<Resp> {
    let id = id.to_string();
    let doc = worker::run(&s.engine, move |engine| async move {
        inspect_doc(&engine, &id).await
    })
    .await?;
    let mut doc = if libpod { doc } else { docker_inspect(doc) };
    if let Some(cid) = doc["Id"].as_str().map(str::to_string) {
        let execs = s.exec.of_container(&cid);
        if !execs.is_empty() {
            doc["ExecIDs"] = json!(execs);
        }
    }
    Ok(ok_json(&doc))
}

/// Whether the container runs now.
async fn is_running(engine: &EngineConfig, id: &str) -> ApiResult<bool> {
    let db = crate::state::open_state(engine).map_err(engine_err)?;
    let rec = store::resolve(&db, id).map_err(|e| engine_err(e.into()))?;
    drop(db);
    let (_, st) = crate::lifecycle::cleanup::refresh(engine, rec)
        .await
        .map_err(engine_err)?;
    Ok(st.status.is_active())
}

async fn start(s: &Rc<Service>, id: &str) -> ApiResult<Resp> {
    let id = id.to_string();
    let started = worker::run(&s.engine, move |engine| async move {
        if is_running(&engine, &id).await? {
            return Ok(false);
        }
        crate::lifecycle::start::start(&engine, &id)
            .await
            .map_err(engine_err)?;
        Ok(true)
    })
    .await?;
    Ok(empty(if started {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_MODIFIED
    }))
}

fn timeout(req: &Req) -> ApiResult<Option<u32>> {
    let t = match req.query.int("t")? {
        Some(t) => Some(t),
        None => req.query.int("timeout")?,
    };
    Ok(t.map(|t| if t < 0 { u32::MAX } else { t as u32 }))
}

async fn stop(s: &Rc<Service>, req: &Req, id: &str) -> ApiResult<Resp> {
    let t = timeout(req)?;
    let id = id.to_string();
    let stopped = worker::run(&s.engine, move |engine| async move {
        if !is_running(&engine, &id).await? {
            return Ok(false);
        }
        crate::lifecycle::stop::stop(&engine, &id, t)
            .await
            .map_err(engine_err)?;
        Ok(true)
    })
    .await?;
    // Docker answers a stop of a stopped container 304 (libpod: 204).
    Ok(empty(if stopped || req.libpod {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_MODIFIED
    }))
}

async fn kill(s: &Rc<Service>, req: &Req, id: &str) -> ApiResult<Resp> {
    let sig_name = req.query.get("signal").unwrap_or("KILL").to_string();
    let sig = crate::container::parse::signal(&sig_name)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let id = id.to_string();
    worker::run(&s.engine, move |engine| async move {
        crate::lifecycle::stop::kill(&engine, &id, sig)
            .await
            .map(|_| ())
            .map_err(|e| {
                let mut err = engine_err(e);
                if err.message.contains("state improper") {
                    err.status = StatusCode::CONFLICT;
                }
                err
            })
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn restart(s: &Rc<Service>, req: &Req, id: &str) -> ApiResult<Resp> {
    let t = timeout(req)?;
    let id = id.to_string();
    worker::run(&s.engine, move |engine| async move {
        crate::lifecycle::stop::stop(&engine, &id, t)
            .await
            .map_err(engine_err)?;
        let cfg = crate::lifecycle::start::start(&engine, &id)
            .await
            .map_err(engine_err)?;
        crate::events::container(&cfg, "restart");
        Ok(())
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `POST /containers/{id}/wait?condition=not-running|next-exit|removed`.
async fn wait(s: &Rc<Service>, req: &Req, id: &str) -> ApiResult<Resp> {
    let cond = req
        .query
        .get("condition")
        .filter(|c| !c.is_empty())
        .unwrap_or(if req.libpod { "stopped" } else { "not-running" })
        .to_string();
    if !matches!(
        cond.as_str(),
        "not-running" | "next-exit" | "removed" | "stopped" | "exited"
    ) {
        return Err(ApiError::bad_request(format!(
            "invalid condition {cond:?}: use not-running, next-exit or removed"
        )));
    }
    let id = id.to_string();
    let libpod = req.libpod;
    // Answer at once with the status line, so a client that waits before
    // it starts the container (`docker run`) sees the wait is set up; the
    // body follows at the exit.
    let (resp, tx) = super::http::stream(StatusCode::OK, "application/json");
    // Checked before answering: a missing container is a 404.
    {
        let id = id.clone();
        worker::run(&s.engine, move |engine| async move {
            let db = crate::state::open_state(&engine).map_err(engine_err)?;
            store::resolve(&db, &id)
                .map(|_| ())
                .map_err(|e| engine_err(e.into()))
        })
        .await?;
    }
    worker::spawn(&s.engine, move |engine| async move {
        let r = match cond.as_str() {
            "next-exit" => crate::commands::wait::wait_next_exit(&engine, &id).await,
            "removed" => crate::commands::wait::wait_removed(&engine, &id).await,
            _ => crate::commands::wait::wait_for(&engine, &id).await,
        };
        let body = match (r, libpod) {
            (Ok(code), true) => json!(code),
            (Ok(code), false) => json!({"StatusCode": code, "Error": null}),
            (Err(e), _) => {
                json!({"StatusCode": -1, "Error": {"Message": crate::error::one_line(&e)}})
            }
        };
        let mut b = serde_json::to_vec(&body).unwrap_or_default();
        b.push(b'\n');
        let _ = tx.send(Bytes::from(b)).await;
    })?;
    Ok(resp)
}

async fn remove(s: &Rc<Service>, req: &Req, id: &str) -> ApiResult<Resp> {
    let force = req.query.flag("force")?;
    let volumes = req.query.flag("v")? || req.query.flag("volumes")?;
    let t = timeout(req)?;
    let id = id.to_string();
    let libpod = req.libpod;
    let full_id = worker::run(&s.engine, move |engine| async move {
        let db = crate::state::open_state(&engine).map_err(engine_err)?;
        let (cfg, st) = store::resolve(&db, &id).map_err(|e| engine_err(e.into()))?;
        drop(db);
        if st.status.is_active() && !force {
            return Err(ApiError::conflict(format!(
                "cannot remove container {} as it is running - running or paused containers cannot be removed without force: container state improper",
                cfg.id
            )));
        }
        crate::lifecycle::remove::remove_any(&engine, &cfg.id, force, t.or(Some(0)), volumes)
            .await
            .map_err(engine_err)?;
        Ok(cfg.id)
    })
    .await?;
    if libpod {
        return Ok(ok_json(
            &json!([{"Id": full_id, "Err": null, "RawInput": full_id}]),
        ));
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn top(s: &Rc<Service>, req: &Req, id: &str) -> ApiResult<Resp> {
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
        let table = crate::commands::top::table_of_many(&[(st.pid, cfg.id.clone())], &ps_args)
            .map_err(engine_err)?;
        let mut lines = table.lines();
        let titles: Vec<String> = lines.next().map(split_columns).unwrap_or_default();
        let n = titles.len();
        let procs: Vec<Vec<String>> = lines
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let mut cols = split_columns(l);
                // The last column (the command) keeps its spaces.
                if cols.len() > n && n > 0 {
                    let rest = cols.split_off(n - 1).join(" ");
                    cols.push(rest);
                }
                cols
            })
            .collect();
        Ok(json!({"Titles": titles, "Processes": procs}))
    })
    .await?;
    Ok(ok_json(&v))
}

fn split_columns(l: &str) -> Vec<String> {
    l.split_whitespace().map(str::to_string).collect()
}

async fn rename(s: &Rc<Service>, req: &Req, id: &str) -> ApiResult<Resp> {
    let name = req.query.get("name").unwrap_or("").to_string();
    if name.is_empty() {
        return Err(ApiError::bad_request("name parameter cannot be empty"));
    }
    let id = id.to_string();
    worker::run(&s.engine, move |engine| async move {
        let a = crate::commands::rename::RenameArgs {
            container: id,
            new_name: name,
        };
        crate::commands::rename::run(&engine, &a)
            .await
            .map_err(|e| {
                let mut err = engine_err(e);
                if err.message.contains("in use") {
                    err.status = StatusCode::CONFLICT;
                }
                err
            })
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn pause(s: &Rc<Service>, id: &str, on: bool, _libpod: bool) -> ApiResult<Resp> {
    let id = id.to_string();
    worker::run(&s.engine, move |engine| async move {
        crate::lifecycle::pause::pause(&engine, &id, on)
            .await
            .map(|_| ())
            .map_err(|e| {
                let mut err = engine_err(e);
                if err.message.contains("state improper") || err.message.contains("not running") {
                    err.status = StatusCode::CONFLICT;
                }
                err
            })
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn init(s: &Rc<Service>, id: &str) -> ApiResult<Resp> {
    let id = id.to_string();
    worker::run(&s.engine, move |engine| async move {
        let a = crate::commands::targets::NamesArgs {
            containers: vec![id],
            all: false,
            latest: false,
        };
        crate::commands::init::run(&engine, &a)
            .await
            .map_err(engine_err)
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn changes(s: &Rc<Service>, id: &str) -> ApiResult<Resp> {
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
async fn export(s: &Rc<Service>, id: &str) -> ApiResult<Resp> {
    let id = id.to_string();
    let (resp, tx) = super::http::stream(StatusCode::OK, "application/x-tar");
    // The export writes to a pipe; a thread forwards it to the response.
    let (r, w) = nix::unistd::pipe().map_err(|e| ApiError::internal(e.to_string()))?;
    worker::spawn(&s.engine, move |engine| async move {
        if let Err(e) = crate::commands::export::export_to(&engine, &id, w).await {
            tracing::warn!("export of {id}: {e:#}");
        }
    })?;
    std::thread::spawn(move || {
        use std::io::Read;
        let mut f = std::fs::File::from(r);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match f.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.blocking_send(Bytes::copy_from_slice(&buf[..n])).is_err() {
                        return;
                    }
                }
            }
        }
    });
    Ok(resp)
}

async fn prune(s: &Rc<Service>, req: Req) -> ApiResult<Resp> {
    let filters = req.query.filters()?;
    let libpod = req.libpod;
    let removed = worker::run(&s.engine, move |engine| async move {
        crate::commands::container_prune::prune(&engine, &filters)
            .await
            .map_err(engine_err)
    })
    .await?;
    if libpod {
        let v: Vec<Value> = removed
            .iter()
            .map(|(id, size)| json!({"Id": id, "Size": size, "Err": null}))
            .collect();
        return Ok(ok_json(&v));
    }
    let space: u64 = removed.iter().map(|(_, s)| *s).sum();
    let ids: Vec<&String> = removed.iter().map(|(id, _)| id).collect();
    Ok(ok_json(
        &json!({"ContainersDeleted": ids, "SpaceReclaimed": space}),
    ))
}
