//! Networks: list, inspect, create, remove, connect, disconnect, prune.

use std::rc::Rc;

use http::{Method, StatusCode};
use proto::netsetup::v1::Network;
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
        (Method::GET, [name] | [name, "json"]) => inspect(s, &req, name).await,
        (Method::GET, [name, "exists"]) if req.libpod => {
            let name = name.to_string();
            worker::run(&s.engine, move |engine| async move {
                find(&engine, &name).await.map(|_| ())
            })
            .await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        (Method::DELETE, [name]) => remove(s, &req, name).await,
        (Method::POST, [name, "connect"]) => {
            let name = name.to_string();
            connect(s, req, name, true).await
        }
        (Method::POST, [name, "disconnect"]) => {
            let name = name.to_string();
            connect(s, req, name, false).await
        }
        _ => Err(not_found_route(&req.method, &req.path)),
    }
}

/// Docker's name for the default network is "bridge"; ours is podman's.
fn our_name(engine: &EngineConfig, name: &str) -> String {
    if name == "bridge" {
        engine
            .containers
            .network
            .default_network
            .clone()
            .unwrap_or_else(|| "podman".into())
    } else {
        name.to_string()
    }
}

async fn find(engine: &EngineConfig, name: &str) -> ApiResult<Network> {
    let name = our_name(engine, name);
    let list = crate::commands::network::list(engine, Vec::new())
        .await
        .map_err(engine_err)?;
    list.iter()
        .find(|n| n.name == name)
        .or_else(|| list.iter().find(|n| n.id == name))
        .or_else(|| {
            let m: Vec<&Network> = list.iter().filter(|n| n.id.starts_with(&name)).collect();
            (m.len() == 1).then(|| m[0])
        })
        .cloned()
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "unable to find network with name or ID {name}: network not found"
            ))
        })
}

/// Docker's NetworkResource.
fn docker_network(engine: &EngineConfig, n: &Network) -> Value {
    let containers: serde_json::Map<String, Value> =
        crate::commands::network::users(engine, &n.name, &n.id)
            .unwrap_or_default()
            .into_iter()
            .map(|(name, id)| (id, json!({"Name": name})))
            .collect();
    json!({
        "Name": n.name,
        "Id": n.id,
        "Created": n.created,
        "Scope": "local",
        "Driver": n.driver,
        "EnableIPv6": n.ipv6_enabled,
        "IPAM": {
            "Driver": "default",
            "Options": {},
            "Config": n.subnets.iter().map(|s| json!({"Subnet": s.subnet, "Gateway": s.gateway})).collect::<Vec<_>>(),
        },
        "Internal": n.internal,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": containers,
        "Options": n.options,
        "Labels": n.labels,
    })
}

async fn list(s: &Rc<Service>, req: Req) -> ApiResult<Resp> {
    let filters = req.query.filters()?;
    let libpod = req.libpod;
    let v = worker::run(&s.engine, move |engine| async move {
        let nets = crate::commands::network::list(&engine, filters)
            .await
            .map_err(|e| {
                let mut err = engine_err(e);
                if err.message.contains("filter") {
                    err.status = StatusCode::BAD_REQUEST;
                }
                err
            })?;
        Ok(nets
            .iter()
            .map(|n| {
                if libpod {
                    crate::commands::network::network_json(n)
                } else {
                    docker_network(&engine, n)
                }
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(ok_json(&v))
}

async fn inspect(s: &Rc<Service>, req: &Req, name: &str) -> ApiResult<Resp> {
    let name = name.to_string();
    let libpod = req.libpod;
    let v = worker::run(&s.engine, move |engine| async move {
        let n = find(&engine, &name).await?;
        Ok(if libpod {
            let mut v = crate::commands::network::network_json(&n);
            v["containers"] = serde_json::Value::Object(
                crate::commands::network::running_on(&engine, &n.name).map_err(engine_err)?,
            );
            v
        } else {
            docker_network(&engine, &n)
        })
    })
    .await?;
    Ok(ok_json(&v))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CreateBody {
    #[serde(rename = "Name", alias = "name")]
    name: String,
    #[serde(rename = "Driver", alias = "driver")]
    driver: String,
    #[serde(rename = "Internal", alias = "internal")]
    internal: bool,
    #[serde(rename = "EnableIPv6", alias = "ipv6_enabled")]
    ipv6: bool,
    #[serde(rename = "CheckDuplicate")]
    check_duplicate: bool,
    #[serde(rename = "IPAM")]
    ipam: Option<Ipam>,
    #[serde(rename = "Options", alias = "options")]
    options: Option<std::collections::BTreeMap<String, String>>,
    #[serde(rename = "Labels", alias = "labels")]
    labels: Option<std::collections::BTreeMap<String, String>>,
    #[serde(alias = "dns_enabled")]
    dns_enabled: Option<bool>,
    network_interface: String,
    subnets: Option<Vec<LibpodSubnet>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Ipam {
    #[serde(rename = "Config")]
    config: Option<Vec<IpamConfig>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct IpamConfig {
    #[serde(rename = "Subnet")]
    subnet: String,
    #[serde(rename = "Gateway")]
    gateway: String,
    #[serde(rename = "IPRange")]
    ip_range: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LibpodSubnet {
    subnet: String,
    gateway: String,
}

async fn create(s: &Rc<Service>, req: Req) -> ApiResult<Resp> {
    let libpod = req.libpod;
    let b: CreateBody = read_json(req.into_body()).await?;
    if b.name.is_empty() && !libpod {
        return Err(ApiError::bad_request(
            "network name must be given: Name is required",
        ));
    }
    let mut a = crate::commands::network::CreateArgs {
        name: Some(b.name.clone()).filter(|n| !n.is_empty()),
        driver: if b.driver.is_empty() {
            "bridge".into()
        } else {
            b.driver.clone()
        },
        subnet: vec![],
        gateway: vec![],
        ip_range: vec![],
        internal: b.internal,
        ipv6: b.ipv6,
        disable_dns: b.dns_enabled == Some(false),
        label: b
            .labels
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        opt: b
            .options
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        interface_name: Some(b.network_interface).filter(|n| !n.is_empty()),
        ignore: false,
    };
    for c in b.ipam.and_then(|i| i.config).unwrap_or_default() {
        if c.subnet.is_empty() {
            continue;
        }
        a.subnet.push(c.subnet);
        if !c.gateway.is_empty() {
            a.gateway.push(c.gateway);
        }
        if !c.ip_range.is_empty() {
            a.ip_range.push(c.ip_range);
        }
    }
    for sn in b.subnets.unwrap_or_default() {
        a.subnet.push(sn.subnet);
        if !sn.gateway.is_empty() {
            a.gateway.push(sn.gateway);
        }
    }
    let _ = b.check_duplicate;
    let n = worker::run(&s.engine, move |engine| async move {
        crate::commands::network::create_network(&engine, &a)
            .await
            .map_err(|e| {
                let mut err = engine_err(e);
                if err.message.contains("exists") {
                    err.status = StatusCode::CONFLICT;
                }
                err
            })
    })
    .await?;
    if libpod {
        return Ok(ok_json(&crate::commands::network::network_json(&n)));
    }
    Ok(json_resp(
        StatusCode::CREATED,
        &json!({"Id": n.id, "Warning": ""}),
    ))
}

async fn remove(s: &Rc<Service>, req: &Req, name: &str) -> ApiResult<Resp> {
    let force = req.query.flag("force")?;
    let t = req.query.int("timeout")?.map(|t| t.max(0) as u32);
    let name = name.to_string();
    let libpod = req.libpod;
    let removed = worker::run(&s.engine, move |engine| async move {
        let n = find(&engine, &name).await?;
        crate::commands::network::remove_network(&engine, &n.name, force, t)
            .await
            .map_err(engine_err)
    })
    .await?;
    if libpod {
        return Ok(ok_json(&json!([{"Name": removed, "Err": null}])));
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

/// Docker's NetworkConnect (libpod's adds `aliases`). Unknown fields are
/// passed over, as Go's decoder does.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ConnectBody {
    #[serde(rename = "Container", alias = "container")]
    container: String,
    #[serde(rename = "EndpointConfig")]
    endpoint: Option<super::create_body::EndpointSettings>,
    aliases: Option<Vec<String>>,
    static_ips: Option<Vec<String>>,
    static_mac: Option<String>,
    interface_name: Option<String>,
}

/// Docker's NetworkDisconnect.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DisconnectBody {
    #[serde(rename = "Container", alias = "container")]
    container: String,
    #[serde(rename = "Force", alias = "force")]
    force: bool,
}

async fn connect(s: &Rc<Service>, req: Req, name: String, attach: bool) -> ApiResult<Resp> {
    if !attach {
        return disconnect(s, req, name).await;
    }
    let b: ConnectBody = read_json(req.into_body()).await?;
    if b.container.is_empty() {
        return Err(ApiError::bad_request("Container must be given"));
    }
    let mut aliases = b.aliases.unwrap_or_default();
    let mut ips = b.static_ips.unwrap_or_default();
    let mut mac = b.static_mac.filter(|s| !s.is_empty());
    if let Some(ep) = b.endpoint {
        aliases.extend(ep.aliases.unwrap_or_default());
        if let Some(i) = ep.ipam_config {
            ips.extend([i.ipv4_address, i.ipv6_address]);
        }
        mac = mac.or(Some(ep.mac_address).filter(|s| !s.is_empty()));
    }
    ips.retain(|s| !s.is_empty());
    let mut ip = None;
    let mut ip6 = None;
    for a in ips {
        let slot = match a.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(_)) => &mut ip,
            Ok(std::net::IpAddr::V6(_)) => &mut ip6,
            Err(_) => {
                return Err(ApiError::bad_request(format!(
                    "{a:?} is not an IP address: give static IPs as 10.88.0.5 or fd00::5"
                )))
            }
        };
        if slot.is_some() {
            return Err(ApiError::bad_request(format!(
                "more than one static IP of {a}'s family: give at most one IPv4 and one IPv6 address"
            )));
        }
        *slot = Some(a);
    }
    let interface_name = b.interface_name.unwrap_or_default();
    worker::run(&s.engine, move |engine| async move {
        let n = find(&engine, &name).await?;
        let att = crate::container::model::NetworkAttachment {
            name: n.name.clone(),
            aliases,
            static_ip: ip,
            static_mac: mac,
            static_ip6: ip6,
            interface_name,
        };
        crate::lifecycle::network::connect(&engine, &b.container, att)
            .await
            .map_err(engine_err)
    })
    .await?;
    Ok(empty(StatusCode::OK))
}

async fn disconnect(s: &Rc<Service>, req: Req, name: String) -> ApiResult<Resp> {
    let b: DisconnectBody = read_json(req.into_body()).await?;
    if b.container.is_empty() {
        return Err(ApiError::bad_request("Container must be given"));
    }
    worker::run(&s.engine, move |engine| async move {
        // A forced disconnect may name a network whose file is gone.
        let name = match find(&engine, &name).await {
            Ok(n) => n.name,
            Err(e) if b.force && e.status == StatusCode::NOT_FOUND => our_name(&engine, &name),
            Err(e) => return Err(e),
        };
        crate::lifecycle::network::disconnect(&engine, &b.container, &name, b.force)
            .await
            .map_err(engine_err)
    })
    .await?;
    Ok(empty(StatusCode::OK))
}

async fn prune(s: &Rc<Service>, req: Req) -> ApiResult<Resp> {
    let filters = req.query.filters()?;
    let libpod = req.libpod;
    let removed = worker::run(&s.engine, move |engine| async move {
        crate::commands::network::prune_networks_matching(&engine, &filters)
            .await
            .map_err(engine_err)
    })
    .await?;
    if libpod {
        let v: Vec<Value> = removed
            .iter()
            .map(|n| json!({"Name": n, "Error": null}))
            .collect();
        return Ok(ok_json(&v));
    }
    Ok(ok_json(&json!({"NetworksDeleted": removed})))
}
