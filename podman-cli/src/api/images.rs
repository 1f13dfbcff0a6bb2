//! Images: list, pull (`/images/create` with Docker's JSON progress
//! stream), inspect, tag, remove, prune; search is refused (no registry
//! search here).

use std::collections::HashMap;
use std::rc::Rc;

use bytes::Bytes;
use http::{Method, StatusCode};
use proto::storage::v1::{Image, ListImagesRequest};
use serde_json::{json, Value};

use super::errors::{ApiError, ApiResult};
use super::http::{empty, ok_json, Resp};
use super::router::{not_found_route, Req};
use super::server::Service;
use super::worker;
use crate::engine_config::EngineConfig;
use crate::helper_procs;

/// `rest` is the path after `/images` (image names carry slashes).
pub async fn route(s: &Rc<Service>, req: Req, rest: &str) -> ApiResult<Resp> {
    let m = req.method.clone();
    match (m.clone(), rest) {
        (Method::GET, "/json") => list(s, req).await,
        (Method::POST, "/create") => create(s, req).await,
        (Method::POST, "/pull") if req.libpod => create(s, req).await,
        (Method::GET, "/search") => Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "searching registries is not supported by podman-rs: name the image's registry and pull it",
        )),
        (Method::POST, "/prune") => prune(s, req).await,
        (Method::POST, "/load") => super::image_transfer::load(s, req).await,
        (Method::GET, "/get") => {
            let names = req.query.all("names");
            super::image_transfer::get(s, names).await
        }
        (Method::GET, r) if r.ends_with("/get") && r.len() > 5 => {
            super::image_transfer::get(s, vec![r[1..r.len() - 4].to_string()]).await
        }
        (Method::POST, r) if r.ends_with("/push") && r.len() > 6 => {
            let name = r[1..r.len() - 5].to_string();
            super::image_transfer::push(s, req, &name).await
        }
        (Method::GET, r) if r.ends_with("/json") && r.len() > 6 => {
            inspect(s, req, &r[1..r.len() - 5]).await
        }
        (Method::GET, r) if r.ends_with("/exists") && req.libpod => {
            let name = r[1..r.len() - 7].to_string();
            match find_image(s, &name).await {
                Ok(_) => Ok(empty(StatusCode::NO_CONTENT)),
                Err(e) => Err(e),
            }
        }
        (Method::GET, r) if r.ends_with("/history") && r.len() > 9 => {
            history(s, &r[1..r.len() - 8]).await
        }
        (Method::POST, r) if r.ends_with("/tag") && r.len() > 5 => {
            tag(s, req, &r[1..r.len() - 4]).await
        }
        (Method::DELETE, r) if r.len() > 1 && !r[1..].ends_with('/') => {
            let name = if req.libpod {
                r[1..].strip_suffix("/remove").unwrap_or(&r[1..])
            } else {
                &r[1..]
            };
            remove(s, req.query.clone(), name.to_string(), req.libpod).await
        }
        _ => Err(not_found_route(&req.method, &req.path)),
    }
}

async fn find_image(s: &Rc<Service>, name: &str) -> ApiResult<Image> {
    let name = name.to_string();
    worker::run(&s.engine, move |engine| async move {
        find(&engine, &name).await
    })
    .await
}

pub async fn find(engine: &EngineConfig, name: &str) -> ApiResult<Image> {
    let mut st = helper_procs::storage(engine)
        .await
        .map_err(worker::engine_err)?;
    let r = crate::image::lookup::find(&mut st, name).await;
    let _ = st.close().await;
    r.map_err(|e| {
        if e.is_not_found() {
            ApiError::not_found(format!(
                "failed to find image {name}: {name}: image not known"
            ))
        } else {
            ApiError::internal(e.to_string())
        }
    })
}

pub fn docker_id(id: &str) -> String {
    if id.starts_with("sha256:") {
        id.to_string()
    } else {
        format!("sha256:{id}")
    }
}

/// Docker's ImageSummary for each image `filters` selects.
pub async fn list_docker(
    engine: &EngineConfig,
    filters: &[String],
    all: bool,
) -> ApiResult<Vec<Value>> {
    let mut st = helper_procs::storage(engine)
        .await
        .map_err(worker::engine_err)?;
    let req = ListImagesRequest { all };
    let listed = st
        .call(
            "ListImages",
            |mut c| async move { c.list_images(req).await },
        )
        .await;
    let _ = st.close().await;
    let images = listed.map_err(|e| worker::engine_err(e.into()))?.images;
    let images = crate::commands::images::select(filters, images)
        .map_err(|e| ApiError::bad_request(crate::error::one_line(&e)))?;
    let mut users: HashMap<String, usize> = HashMap::new();
    if let Ok(db) = crate::state::open_state(engine) {
        if let Ok(list) = crate::container::store::list(&db) {
            for (c, _) in list {
                *users.entry(c.image_id.clone()).or_default() += 1;
            }
        }
    }
    Ok(images
        .iter()
        .map(|i| summary(i, users.get(&i.id).copied().unwrap_or(0)))
        .collect())
}

fn summary(i: &Image, containers: usize) -> Value {
    let config = crate::image::view::config_json(i);
    let labels = match &config["config"]["Labels"] {
        Value::Object(m) if !m.is_empty() => Value::Object(m.clone()),
        _ => json!({}),
    };
    let tags = crate::image::view::tagged_names(i);
    json!({
        "Id": docker_id(&i.id),
        "ParentId": "",
        "RepoTags": if tags.is_empty() { json!(["<none>:<none>"]) } else { json!(tags) },
        "RepoDigests": crate::image::view::repo_digests(i),
        "Created": crate::image::view::created_unix(i),
        "Size": i.size,
        "SharedSize": 0,
        "VirtualSize": i.size,
        "Labels": labels,
        "Containers": containers,
        "Names": i.names,
        "Digest": i.digest,
        "Dangling": i.names.is_empty(),
    })
}

async fn list(s: &Rc<Service>, req: Req) -> ApiResult<Resp> {
    let mut filters = req.query.filters()?;
    // Docker's old `filter=NAME` parameter.
    if let Some(f) = req.query.get("filter").filter(|f| !f.is_empty()) {
        filters.push(format!("reference={f}"));
    }
    let all = req.query.flag("all")?;
    let v = worker::run(&s.engine, move |engine| async move {
        list_docker(&engine, &filters, all).await
    })
    .await?;
    Ok(ok_json(&v))
}

/// One line of Docker's pull progress.
fn progress(status: &str, id: Option<&str>) -> Bytes {
    let mut v = json!({"status": status});
    if let Some(id) = id {
        v["id"] = json!(id);
    }
    let mut b = serde_json::to_vec(&v).unwrap_or_default();
    b.push(b'\n');
    Bytes::from(b)
}

fn progress_error(msg: &str) -> Bytes {
    let mut b = serde_json::to_vec(&json!({"error": msg, "errorDetail": {"message": msg}}))
        .unwrap_or_default();
    b.push(b'\n');
    Bytes::from(b)
}

/// `POST /images/create?fromImage=NAME&tag=TAG` (and libpod's
/// `/images/pull?reference=`): pull, streaming Docker's progress lines.
async fn create(s: &Rc<Service>, req: Req) -> ApiResult<Resp> {
    let q = &req.query;
    if q.get("fromSrc").is_some_and(|v| !v.is_empty()) {
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "importing an image from a tarball (fromSrc) is not supported by this service: use `podman import`",
        ));
    }
    let from = if req.libpod {
        q.get("reference").unwrap_or("")
    } else {
        q.get("fromImage").unwrap_or("")
    };
    if from.is_empty() {
        return Err(ApiError::bad_request(if req.libpod {
            "reference parameter cannot be empty"
        } else {
            "fromImage parameter cannot be empty"
        }));
    }
    let tag = q.get("tag").unwrap_or("");
    let name = if tag.is_empty() || from.contains('@') {
        from.to_string()
    } else if tag.starts_with("sha256:") {
        format!("{from}@{tag}")
    } else {
        format!("{from}:{tag}")
    };
    let mut opts = crate::image::pull_options::PullOptions {
        quiet: true,
        tls_verify: q.bool("tlsVerify")?,
        ..Default::default()
    };
    if let Some(p) = q.get("platform").filter(|p| !p.is_empty()) {
        opts.set_platform(p)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    if let Some(auth) = req.header("X-Registry-Auth") {
        if let Some((u, p)) = registry_auth(auth) {
            opts.username = u;
            opts.password = p;
        }
    }
    let libpod = req.libpod;
    let (resp, tx) = super::http::stream(StatusCode::OK, "application/json");
    worker::spawn(&s.engine, move |engine| async move {
        if !libpod {
            let _ = tx
                .send(progress(&format!("Trying to pull {name}..."), None))
                .await;
        }
        match crate::image::pull::pull(&engine, &name, &opts).await {
            Ok(img) => {
                let lines = if libpod {
                    let mut b = serde_json::to_vec(
                        &json!({"id": img.id, "images": [img.id], "stream": ""}),
                    )
                    .unwrap_or_default();
                    b.push(b'\n');
                    vec![Bytes::from(b)]
                } else {
                    vec![
                        progress(&format!("Digest: {}", img.digest), None),
                        progress(&format!("Status: Downloaded newer image for {name}"), None),
                        progress("Download complete", Some(&img.id[..12.min(img.id.len())])),
                    ]
                };
                for l in lines {
                    if tx.send(l).await.is_err() {
                        return;
                    }
                }
            }
            Err(e) => {
                let msg = crate::error::one_line(&e);
                let _ = if libpod {
                    let mut b = serde_json::to_vec(&json!({"error": msg, "stream": ""}))
                        .unwrap_or_default();
                    b.push(b'\n');
                    tx.send(Bytes::from(b)).await
                } else {
                    tx.send(progress_error(&msg)).await
                };
            }
        }
    })?;
    Ok(resp)
}

/// X-Registry-Auth: base64url JSON `{"username": ..., "password": ...}`.
pub fn registry_auth(h: &str) -> Option<(String, String)> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(h.trim())
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(h.trim()))
        .ok()?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    let u = v["username"].as_str().unwrap_or("").to_string();
    let p = v["password"].as_str().unwrap_or("").to_string();
    (!u.is_empty()).then_some((u, p))
}

async fn inspect(s: &Rc<Service>, req: Req, name: &str) -> ApiResult<Resp> {
    let name = name.to_string();
    let libpod = req.libpod;
    let doc = worker::run(&s.engine, move |engine| async move {
        let img = find(&engine, &name).await?;
        let mut doc = crate::image::view::inspect(&img, &engine.storage_driver, &engine.graph_root);
        if !libpod {
            doc["Id"] = json!(docker_id(&img.id));
            if doc["RepoTags"].is_null() {
                doc["RepoTags"] = json!([]);
            }
            if doc["RepoDigests"].is_null() {
                doc["RepoDigests"] = json!([]);
            }
            doc["Container"] = json!("");
            doc["ContainerConfig"] = doc["Config"].clone();
            doc["DockerVersion"] = json!("");
            doc["VirtualSize"] = doc["Size"].clone();
            doc["Metadata"] = json!({"LastTagTime": "0001-01-01T00:00:00Z"});
        }
        Ok(doc)
    })
    .await?;
    Ok(ok_json(&doc))
}

async fn history(s: &Rc<Service>, name: &str) -> ApiResult<Resp> {
    let name = name.to_string();
    let doc = worker::run(&s.engine, move |engine| async move {
        let img = find(&engine, &name).await?;
        let config = crate::image::view::config_json(&img);
        let manifest: Value = serde_json::from_slice(&img.manifest).unwrap_or_default();
        let mut sizes = manifest["layers"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|l| l["size"].as_u64().unwrap_or(0));
        let hist = config["history"].as_array().cloned().unwrap_or_default();
        let n = hist.len();
        let tags = crate::image::view::tagged_names(&img);
        let mut out: Vec<Value> = hist
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let empty = h["empty_layer"].as_bool().unwrap_or(false);
                let size = if empty { 0 } else { sizes.next().unwrap_or(0) };
                let last = i + 1 == n;
                json!({
                    "Id": if last { docker_id(&img.id) } else { "<missing>".into() },
                    "Created": common::time::parse_rfc3339_secs(h["created"].as_str().unwrap_or("")).unwrap_or(0),
                    "CreatedBy": h["created_by"].as_str().unwrap_or(""),
                    "Tags": if last { json!(tags) } else { Value::Null },
                    "Size": size,
                    "Comment": h["comment"].as_str().unwrap_or(""),
                })
            })
            .collect();
        // Newest first, as Docker lists history.
        out.reverse();
        Ok(out)
    })
    .await?;
    Ok(ok_json(&doc))
}

async fn tag(s: &Rc<Service>, req: Req, name: &str) -> ApiResult<Resp> {
    let repo = req.query.get("repo").unwrap_or("").to_string();
    if repo.is_empty() {
        return Err(ApiError::bad_request("repo parameter cannot be empty"));
    }
    let t = req
        .query
        .get("tag")
        .filter(|t| !t.is_empty())
        .unwrap_or("latest");
    let new_name = format!("{repo}:{t}");
    let name = name.to_string();
    worker::run(&s.engine, move |engine| async move {
        let args = crate::commands::tag::TagArgs {
            image: name,
            names: vec![new_name],
        };
        crate::commands::tag::run(&engine, &args)
            .await
            .map_err(worker::engine_err)
    })
    .await?;
    Ok(empty(StatusCode::CREATED))
}

async fn remove(
    s: &Rc<Service>,
    q: super::http::Query,
    name: String,
    libpod: bool,
) -> ApiResult<Resp> {
    let force = q.flag("force")?;
    let lines = worker::run(&s.engine, move |engine| async move {
        let args = crate::commands::rmi::RmiArgs {
            images: vec![name],
            all: false,
            force,
            ignore: false,
        };
        let mut lines = Vec::new();
        crate::commands::rmi::remove_images(&engine, &args, &mut lines)
            .await
            .map_err(worker::engine_err)?;
        Ok(lines)
    })
    .await?;
    if libpod {
        let (mut untagged, mut deleted) = (Vec::new(), Vec::new());
        for l in &lines {
            if let Some(u) = l.strip_prefix("Untagged: ") {
                untagged.push(u.to_string());
            } else if let Some(d) = l.strip_prefix("Deleted: ") {
                deleted.push(d.to_string());
            }
        }
        return Ok(ok_json(
            &json!({"Untagged": untagged, "Deleted": deleted, "Errors": [], "ExitCode": 0}),
        ));
    }
    let report: Vec<Value> = lines
        .iter()
        .filter_map(|l| {
            if let Some(u) = l.strip_prefix("Untagged: ") {
                Some(json!({"Untagged": u}))
            } else {
                l.strip_prefix("Deleted: ")
                    .map(|d| json!({"Deleted": docker_id(d)}))
            }
        })
        .collect();
    Ok(ok_json(&report))
}

async fn prune(s: &Rc<Service>, req: Req) -> ApiResult<Resp> {
    let mut filters = req.query.filters()?;
    // Docker: dangling=false means every unused image.
    let mut all = req.query.flag("all")?;
    filters.retain(|f| match f.as_str() {
        "dangling=false" | "dangling=0" => {
            all = true;
            false
        }
        "dangling=true" | "dangling=1" => false,
        _ => true,
    });
    let libpod = req.libpod;
    let removed = worker::run(&s.engine, move |engine| async move {
        crate::commands::image_prune::prune_matching(&engine, all, &filters)
            .await
            .map_err(worker::engine_err)
    })
    .await?;
    if libpod {
        let v: Vec<Value> = removed
            .iter()
            .map(|(id, size)| json!({"Id": id, "Size": size}))
            .collect();
        return Ok(ok_json(&v));
    }
    let space: u64 = removed.iter().map(|(_, s)| s).sum();
    let deleted: Vec<Value> = removed
        .iter()
        .map(|(id, _)| json!({"Deleted": docker_id(id)}))
        .collect();
    Ok(ok_json(
        &json!({"ImagesDeleted": deleted, "SpaceReclaimed": space}),
    ))
}
