//! `_ping`, `version`, `info`, `events` and `system/df`.

use std::rc::Rc;

use http::{HeaderValue, Method, StatusCode};
use serde_json::{json, Value};

use super::errors::ApiResult;
use super::http::{ok_json, text, Resp};
use super::router::{method_not_allowed, not_found_route, Req};
use super::server::Service;
use super::{version as v, worker};

/// `GET|HEAD /_ping`: "OK", with the headers clients negotiate from.
pub fn ping(req: &Req) -> ApiResult<Resp> {
    if req.method != Method::GET && req.method != Method::HEAD {
        return Err(method_not_allowed(&req.method, &req.path));
    }
    let mut r = if req.method == Method::HEAD {
        super::http::empty(StatusCode::OK)
    } else {
        text(StatusCode::OK, "OK")
    };
    let h = r.headers_mut();
    h.insert("Cache-Control", HeaderValue::from_static("no-cache"));
    h.insert("Pragma", HeaderValue::from_static("no-cache"));
    h.insert("Docker-Experimental", HeaderValue::from_static("true"));
    h.insert("Libpod-Buildah-Version", HeaderValue::from_static(""));
    h.insert("BuildKit-Version", HeaderValue::from_static(""));
    h.insert("OSType", HeaderValue::from_static("linux"));
    Ok(r)
}

/// Podman's version document: Docker's fields and a Components list.
pub fn version_doc() -> Value {
    let client = crate::commands::version::client_block();
    let kernel = crate::host_info::kernel();
    // The component's API is libpod's (as Podman fills it); the
    // top-level ApiVersion is Docker's.
    let details = json!({
        "APIVersion": crate::compat::PODMAN_VERSION,
        "Arch": crate::host_info::go_arch(),
        "BuildTime": client["BuiltTime"],
        "Experimental": "false",
        "GitCommit": client["GitCommit"],
        "GoVersion": client["GoVersion"],
        "KernelVersion": kernel,
        "MinAPIVersion": format!("{}.{}.{}", v::LIBPOD_MINIMUM.0, v::LIBPOD_MINIMUM.1, v::LIBPOD_MINIMUM.2),
        "Os": "linux",
    });
    json!({
        "Platform": {"Name": format!("linux/{}/{}", crate::host_info::go_arch(), crate::host_info::distribution().distribution)},
        "Components": [{
            "Name": "Podman Engine",
            "Version": crate::compat::PODMAN_VERSION,
            "Details": details,
        }],
        "Version": crate::compat::PODMAN_VERSION,
        "ApiVersion": v::compat_current(),
        "MinAPIVersion": v::compat_minimum(),
        "GitCommit": client["GitCommit"],
        "GoVersion": client["GoVersion"],
        "Os": "linux",
        "Arch": crate::host_info::go_arch(),
        "KernelVersion": kernel,
        "BuildTime": client["BuiltTime"],
    })
}

pub async fn version(_s: &Rc<Service>, req: Req) -> ApiResult<Resp> {
    if req.method != Method::GET {
        return Err(method_not_allowed(&req.method, &req.path));
    }
    Ok(ok_json(&version_doc()))
}

pub async fn info(s: &Rc<Service>, req: Req) -> ApiResult<Resp> {
    if req.method != Method::GET {
        return Err(method_not_allowed(&req.method, &req.path));
    }
    let mut doc = worker::run(&s.engine, |engine| async move {
        crate::commands::info::document(&engine)
            .await
            .map_err(worker::engine_err)
    })
    .await?;
    doc["host"]["remoteSocket"] = serde_json::json!({"path": s.uri, "exists": true});
    if req.libpod {
        return Ok(ok_json(&doc));
    }
    Ok(ok_json(&docker_info(&s.engine, &doc)))
}

/// Docker's `/info` from Podman's info document, as Podman's compat
/// handler fills it.
fn docker_info(engine: &crate::engine_config::EngineConfig, d: &Value) -> Value {
    let host = &d["host"];
    let store = &d["store"];
    let cs = &store["containerStore"];
    let dist = &host["distribution"];
    let runtime = host["ociRuntime"]["name"].as_str().unwrap_or("runc");
    let runtimes: serde_json::Map<String, Value> = host["ociRuntimes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| Some((r["name"].as_str()?.to_string(), json!({"path": r["path"]}))))
                .collect()
        })
        .unwrap_or_default();
    let driver_status: Vec<Value> = store["graphStatus"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| json!([k, v])).collect())
        .unwrap_or_default();
    json!({
        "ID": "",
        "Containers": cs["number"],
        "ContainersRunning": cs["running"],
        "ContainersPaused": cs["paused"],
        "ContainersStopped": cs["stopped"],
        "Images": store["imageStore"]["number"],
        "Driver": store["graphDriverName"],
        "DriverStatus": driver_status,
        "Plugins": {"Volume": ["local"], "Network": ["bridge"], "Authorization": null, "Log": ["k8s-file", "none", "passthrough"]},
        "MemoryLimit": true,
        "SwapLimit": true,
        "KernelMemory": false,
        "CpuCfsPeriod": true,
        "CpuCfsQuota": true,
        "CPUShares": true,
        "CPUSet": true,
        "PidsLimit": true,
        "IPv4Forwarding": host["networkBackendInfo"]["ipv4Forwarding"],
        "BridgeNfIptables": false,
        "BridgeNfIp6tables": false,
        "Debug": engine.log_level == "debug" || engine.log_level == "trace",
        "NFd": count_dir("/proc/self/fd"),
        "OomKillDisable": false,
        "NGoroutines": 0,
        "SystemTime": common::time::now_rfc3339(),
        "LoggingDriver": host["logDriver"],
        "CgroupDriver": host["cgroupManager"],
        "CgroupVersion": host["cgroupVersion"].as_str().map(|v| v.trim_start_matches('v')).unwrap_or("1"),
        "NEventsListener": 0,
        "KernelVersion": host["kernel"],
        "OperatingSystem": format!("{} {}", dist["distribution"].as_str().unwrap_or(""), dist["version"].as_str().unwrap_or("")).trim().to_string(),
        "OSVersion": dist["version"],
        "OSType": "linux",
        "Architecture": host["arch"],
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {"IndexConfigs": {}, "InsecureRegistryCIDRs": [], "Mirrors": []},
        "NCPU": host["cpus"],
        "MemTotal": host["memTotal"],
        "GenericResources": null,
        "DockerRootDir": store["graphRoot"],
        "HttpProxy": std::env::var("HTTP_PROXY").unwrap_or_default(),
        "HttpsProxy": std::env::var("HTTPS_PROXY").unwrap_or_default(),
        "NoProxy": std::env::var("NO_PROXY").unwrap_or_default(),
        "Name": host["hostname"],
        "Labels": [],
        "ExperimentalBuild": true,
        "ServerVersion": crate::compat::PODMAN_VERSION,
        "Runtimes": runtimes,
        "DefaultRuntime": runtime,
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": false, "Error": "", "RemoteManagers": null},
        "LiveRestoreEnabled": false,
        "Isolation": "",
        "InitBinary": "",
        "ContainerdCommit": {"ID": "", "Expected": ""},
        "RuncCommit": {"ID": "", "Expected": ""},
        "InitCommit": {"ID": "", "Expected": ""},
        "SecurityOptions": security_options(host),
        "ProductLicense": "Apache-2.0",
        "Warnings": [],
    })
}

fn security_options(host: &Value) -> Vec<String> {
    let mut v = Vec::new();
    if host["security"]["seccompEnabled"]
        .as_bool()
        .unwrap_or(false)
    {
        v.push(format!(
            "name=seccomp,profile={}",
            host["security"]["seccompProfilePath"]
                .as_str()
                .unwrap_or("default")
        ));
    }
    v
}

fn count_dir(p: &str) -> usize {
    std::fs::read_dir(p).map(|d| d.count()).unwrap_or(0)
}

/// `GET /events`: the events file, followed unless `stream=false`.
pub async fn events(s: &Rc<Service>, req: Req) -> ApiResult<Resp> {
    if req.method != Method::GET {
        return Err(method_not_allowed(&req.method, &req.path));
    }
    super::logs::events_stream(s, req).await
}

pub async fn route(s: &Rc<Service>, req: Req, segs: &[&str]) -> ApiResult<Resp> {
    match (req.method.clone(), segs) {
        (Method::GET, ["df"]) => df(s, req).await,
        (Method::GET, ["info"]) => info(s, req).await,
        (Method::GET, ["events"]) => events(s, req).await,
        (Method::GET, ["version"]) => version(s, req).await,
        _ => Err(not_found_route(&req.method, &req.path)),
    }
}

/// `GET /system/df`: images, containers and volumes with their sizes.
async fn df(s: &Rc<Service>, _req: Req) -> ApiResult<Resp> {
    let doc = worker::run(&s.engine, |engine| async move {
        let images = super::images::list_docker(&engine, &[], true).await?;
        let containers = super::container_views::list_docker(&engine, true, &[], true).await?;
        let volumes = super::volumes::list_docker(&engine, &[])?;
        let layers: i64 = images.iter().map(|i| i["Size"].as_i64().unwrap_or(0)).sum();
        Ok(json!({
            "LayersSize": layers,
            "Images": images,
            "Containers": containers,
            "Volumes": volumes,
            "BuildCache": [],
        }))
    })
    .await?;
    Ok(ok_json(&doc))
}
