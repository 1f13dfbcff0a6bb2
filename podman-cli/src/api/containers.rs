//! Containers: the routes, and create, start, stop, kill, restart, wait,
//! remove, rename, pause/unpause, init and prune. What only reads them
//! (list, inspect, top, changes, export) is in [`super::container_views`];
//! attach and exec go through [`super::hijack`] and [`super::exec`].

use std::rc::Rc;

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{json, Value};

use super::container_views;
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
        (Method::GET, ["json"]) => container_views::list(s, req).await,
        (Method::POST, ["prune"]) => prune(s, req).await,
        (Method::GET, [id, "json"]) => container_views::inspect(s, req.libpod, id).await,
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
        (Method::GET, [id, "top"]) => container_views::top(s, &req, id).await,
        (Method::GET, [id, "stats"]) => super::stats::stats(s, &req, id).await,
        (Method::POST, [id, "rename"]) => rename(s, &req, id).await,
        (Method::POST, [id, "pause"]) => pause(s, id, true, req.libpod).await,
        (Method::POST, [id, "unpause"]) => pause(s, id, false, req.libpod).await,
        (Method::POST, [id, "init"]) if req.libpod => init(s, id).await,
        (Method::GET, [id, "changes"]) => container_views::changes(s, id).await,
        (Method::GET, [id, "export"]) => container_views::export(s, id).await,
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
