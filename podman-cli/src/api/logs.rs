//! Output streams: container logs (multiplexed unless the container has a
//! terminal) and events.

use std::rc::Rc;

use bytes::Bytes;
use http::StatusCode;
use serde_json::{json, Value};

use super::errors::{ApiError, ApiResult};
use super::http::Resp;
use super::router::Req;
use super::server::Service;
use super::worker::{self, engine_err};
use crate::container::store;

/// Docker's multiplexed stream frame: stream (1 stdout, 2 stderr), three
/// zero bytes, the big-endian length, the payload.
pub fn frame(stream: u8, payload: &[u8]) -> Bytes {
    let mut b = Vec::with_capacity(8 + payload.len());
    b.push(stream);
    b.extend_from_slice(&[0, 0, 0]);
    b.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    b.extend_from_slice(payload);
    Bytes::from(b)
}

/// `GET /containers/{id}/logs`: the k8s-file log, multiplexed unless the
/// container has a terminal; `follow` streams until it exits.
pub async fn logs(s: &Rc<Service>, req: &Req, id: &str) -> ApiResult<Resp> {
    use crate::container::k8s_log;
    let q = &req.query;
    let follow = q.flag("follow")?;
    let (want_out, want_err) = (q.flag("stdout")?, q.flag("stderr")?);
    if !want_out && !want_err && !req.libpod {
        return Err(ApiError::bad_request(
            "you must choose at least one stream: set stdout or stderr",
        ));
    }
    let (want_out, want_err) = if req.libpod && !want_out && !want_err {
        (true, true)
    } else {
        (want_out, want_err)
    };
    let timestamps = q.flag("timestamps")?;
    let tail = match q.get("tail") {
        None | Some("" | "all") => None,
        Some(t) => Some(t.parse::<i64>().map_err(|_| {
            ApiError::bad_request(format!("failed to parse parameters for tail: {t:?}"))
        })?)
        .filter(|t| *t >= 0),
    };
    let since = q
        .get("since")
        .filter(|v| !v.is_empty() && *v != "0")
        .map(|v| crate::commands::logs::parse_time("since", v, true))
        .transpose()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let until = q
        .get("until")
        .filter(|v| !v.is_empty() && *v != "0")
        .map(|v| crate::commands::logs::parse_time("until", v, false))
        .transpose()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let id = id.to_string();
    let cfg = worker::run(&s.engine, {
        let id = id.clone();
        move |engine| async move {
            let db = crate::state::open_state(&engine).map_err(engine_err)?;
            let (cfg, _) = store::resolve(&db, &id).map_err(|e| engine_err(e.into()))?;
            if !crate::container::log_config::writes_file(&cfg.log_driver) {
                return Err(ApiError::internal(format!(
                    "this container is using the '{}' log driver, cannot read logs: this container is not logging output",
                    cfg.log_driver
                )));
            }
            Ok(cfg)
        }
    })
    .await?;
    let tty = cfg.terminal;
    let content_type = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    let (resp, tx) = super::http::stream(StatusCode::OK, content_type);
    worker::spawn(&s.engine, move |engine| async move {
        let in_window = |r: &k8s_log::Record<'_>| {
            if since.is_none() && until.is_none() {
                return true;
            }
            let t = r.unix_nanos();
            since.is_none_or(|s| t > s) && until.is_none_or(|u| t < u)
        };
        let render = |r: &k8s_log::Record<'_>, out: &mut Vec<Bytes>| {
            if (r.stderr && !want_err) || (!r.stderr && !want_out) {
                return;
            }
            let mut line = Vec::with_capacity(r.text.len() + 40);
            if timestamps {
                line.extend_from_slice(&r.time);
                line.push(b' ');
            }
            line.extend_from_slice(&r.text);
            line.push(b'\n');
            out.push(if tty {
                Bytes::from(line)
            } else {
                frame(if r.stderr { 2 } else { 1 }, &line)
            });
        };
        let path = cfg.log_path.clone();
        let mut partial = k8s_log::Partial::default();
        let mut offset = 0u64;
        let mut pending = Vec::new();
        if let Ok(file) = std::fs::File::open(&path) {
            let mut skip = match tail {
                Some(n) => {
                    let mut total = 0usize;
                    let _ =
                        k8s_log::read_records(&file, 0, &mut k8s_log::Partial::default(), |r| {
                            total += usize::from(in_window(r))
                        });
                    total.saturating_sub(n as usize)
                }
                None => 0,
            };
            offset = k8s_log::read_records(&file, 0, &mut partial, |r| {
                if !in_window(r) {
                    return;
                }
                if skip > 0 {
                    skip -= 1;
                    return;
                }
                render(r, &mut pending);
            })
            .unwrap_or(0);
        }
        for b in pending.drain(..) {
            if tx.send(b).await.is_err() {
                return;
            }
        }
        if !follow {
            return;
        }
        let Ok(watcher) = crate::commands::logs::LogWatcher::new() else {
            return;
        };
        let paths = crate::lifecycle::paths::ContainerPaths::new(&engine, &cfg.id);
        let _ = std::fs::create_dir_all(&paths.exit_dir);
        if !path.exists() {
            let _ = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path);
        }
        if watcher.add(&path, &paths.exit_dir).is_err() {
            return;
        }
        loop {
            let active = match crate::state::open_state(&engine)
                .ok()
                .and_then(|db| store::resolve(&db, &cfg.id).ok())
            {
                Some(rec) => match crate::lifecycle::cleanup::refresh(&engine, rec).await {
                    Ok((_, st)) => st.status.is_active(),
                    Err(_) => false,
                },
                None => false,
            };
            let mut got = 0usize;
            if let Ok(f) = std::fs::File::open(&path) {
                offset = k8s_log::read_records(&f, offset, &mut partial, |r| {
                    got += 1;
                    if in_window(r) {
                        render(r, &mut pending);
                    }
                })
                .unwrap_or(offset);
            }
            for b in pending.drain(..) {
                if tx.send(b).await.is_err() {
                    return;
                }
            }
            if !active && got == 0 {
                return;
            }
            if tx.is_closed() {
                return;
            }
            if watcher.wait(std::time::Duration::from_millis(500)).is_err() {
                return;
            }
        }
    })?;
    Ok(resp)
}

/// `GET /events`: events from the events file, as Docker's messages
/// (libpod: Podman's own), following until the client leaves unless
/// `stream=false`.
pub async fn events_stream(s: &Rc<Service>, req: Req) -> ApiResult<Resp> {
    let q = &req.query;
    let stream = q.bool("stream")?.unwrap_or(true);
    let filters = q.filters()?;
    let since = q.get("since").unwrap_or("").to_string();
    let until = q.get("until").unwrap_or("").to_string();
    let libpod = req.libpod;
    let f = crate::events::filter::Filters::parse(&filters, &since, &until)
        .map_err(ApiError::bad_request)?;
    let (resp, tx) = super::http::stream(StatusCode::OK, "application/json");
    worker::spawn(&s.engine, move |_engine| async move {
        let follow = stream && until.is_empty();
        let Some(cfg) = crate::events::config() else {
            return;
        };
        let started = common::time::now_nanos();
        let from_end = since.is_empty();
        let Ok(mut reader) =
            crate::events::logfile::Reader::open(&cfg.path, from_end && follow, started)
        else {
            return;
        };
        loop {
            let lines = match reader.read_new(false) {
                Ok(l) => l,
                Err(_) => return,
            };
            for line in lines {
                let crate::events::logfile::Line::Event(ev) = line else {
                    continue;
                };
                if !f.matches(&ev) {
                    continue;
                }
                let v = if libpod {
                    serde_json::to_value(&ev).unwrap_or_default()
                } else {
                    docker_event(&ev)
                };
                let mut b = serde_json::to_vec(&v).unwrap_or_default();
                b.push(b'\n');
                if tx.send(Bytes::from(b)).await.is_err() {
                    return;
                }
            }
            if !follow || tx.is_closed() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })?;
    Ok(resp)
}

fn docker_event(ev: &crate::events::record::Event) -> Value {
    let v = serde_json::to_value(ev).unwrap_or_default();
    let kind = v["Type"].as_str().unwrap_or("container").to_string();
    let action = v["Status"].as_str().unwrap_or("").to_string();
    let id = v["ID"].as_str().unwrap_or("").to_string();
    let mut attrs = v["Attributes"].as_object().cloned().unwrap_or_default();
    if let Some(n) = v["Name"].as_str() {
        attrs.insert("name".into(), json!(n));
    }
    if let Some(i) = v["Image"].as_str() {
        attrs.insert("image".into(), json!(i));
    }
    let nanos = v["timeNano"].as_i64().unwrap_or(0);
    json!({
        "status": action,
        "id": id,
        "from": v["Image"],
        "Type": kind,
        "Action": action,
        "Actor": {"ID": id, "Attributes": attrs},
        "scope": "local",
        "time": nanos / 1_000_000_000,
        "timeNano": nanos,
    })
}
