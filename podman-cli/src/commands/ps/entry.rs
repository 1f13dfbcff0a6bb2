//! Podman's `ListContainer`: one container as `ps` knows it, from the
//! state database or from storage alone, with its JSON shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::container::filter;
use crate::container::model::{ContainerConfig, ContainerState, PortMapping, Status};
use crate::format::human;

/// Go's zero time as Unix seconds: Podman's StartedAt/ExitedAt when unset.
pub(super) const GO_ZERO_UNIX: i64 = -62_135_596_800;

/// Namespaces of a running container (`--ns`), inode numbers as text.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Namespaces {
    #[serde(rename = "Mnt", skip_serializing_if = "String::is_empty")]
    pub mnt: String,
    #[serde(rename = "Cgroup", skip_serializing_if = "String::is_empty")]
    pub cgroup: String,
    #[serde(rename = "Ipc", skip_serializing_if = "String::is_empty")]
    pub ipc: String,
    #[serde(rename = "Net", skip_serializing_if = "String::is_empty")]
    pub net: String,
    #[serde(rename = "Pidns", skip_serializing_if = "String::is_empty")]
    pub pidns: String,
    #[serde(rename = "Uts", skip_serializing_if = "String::is_empty")]
    pub uts: String,
    #[serde(rename = "User", skip_serializing_if = "String::is_empty")]
    pub user: String,
}

/// `ContainerSize`: the container's root filesystem (image + writable
/// layer) and its writable layer alone, in bytes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Size {
    #[serde(rename = "rootFsSize")]
    pub root_fs: i64,
    #[serde(rename = "rwSize")]
    pub rw: i64,
}

/// A port mapping as libnetwork's `types.PortMapping` marshals.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JsonPort {
    pub host_ip: String,
    pub container_port: u16,
    pub host_port: u16,
    pub range: u16,
    pub protocol: String,
}

/// Podman's `ListContainer`, with `ps --format json`'s field order (Go
/// marshals the embedded struct's fields, then the `Created` override).
/// It reads back what it writes: the remote client lists containers
/// through the service's `/libpod/containers/json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Entry {
    pub auto_remove: bool,
    pub command: Option<Vec<String>>,
    /// Filled in for JSON: the human creation time ("4 seconds ago").
    pub created_at: String,
    #[serde(rename = "CIDFile")]
    pub cid_file: String,
    pub exited: bool,
    pub exited_at: i64,
    pub exit_code: i32,
    pub exposed_ports: Option<BTreeMap<String, Vec<String>>>,
    #[serde(rename = "Id")]
    pub id: String,
    pub image: String,
    #[serde(rename = "ImageID")]
    pub image_id: String,
    pub is_infra: bool,
    pub labels: Option<BTreeMap<String, String>>,
    pub mounts: Vec<String>,
    pub names: Vec<String>,
    pub namespaces: Namespaces,
    pub networks: Vec<String>,
    pub pid: i32,
    pub pod: String,
    pub pod_name: String,
    pub ports: Option<Vec<JsonPort>>,
    pub restarts: u32,
    pub size: Option<Size>,
    pub started_at: i64,
    pub state: String,
    /// Filled in for JSON: the STATUS column's text.
    pub status: String,
    /// Unix seconds in JSON; kept in ns for sorting and templates.
    #[serde(
        rename = "Created",
        serialize_with = "ns_as_secs",
        deserialize_with = "secs_as_ns"
    )]
    pub created_ns: i64,
    /// Healthcheck status (Podman's ListContainer.Status before JSON).
    #[serde(skip)]
    pub health: String,
    #[serde(skip)]
    pub port_specs: Vec<PortMapping>,
}

fn secs_as_ns<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(i64::deserialize(d)?.saturating_mul(1_000_000_000))
}

impl Entry {
    /// After reading an entry back: the port mappings its table shows.
    pub fn with_port_specs(mut self) -> Entry {
        self.port_specs = self
            .ports
            .iter()
            .flatten()
            .map(|p| PortMapping {
                host_ip: p.host_ip.clone(),
                host_port: p.host_port,
                container_port: p.container_port,
                protocol: p.protocol.clone(),
                range: p.range,
            })
            .collect();
        self
    }
}

fn ns_as_secs<S: serde::Serializer>(ns: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(ns.div_euclid(1_000_000_000))
}

pub(super) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn secs_or_zero(ns: i64) -> i64 {
    if ns == 0 {
        GO_ZERO_UNIX
    } else {
        ns.div_euclid(1_000_000_000)
    }
}

/// Go's `strings.Title` for a one-word state.
pub(super) fn title(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// `units.HumanDuration(time.Since(t))` for Unix seconds `t`.
fn since_secs(t: i64) -> String {
    human::duration((now_secs() - t).max(0))
}

/// Go's `time.Time.String()` of Unix nanoseconds (UTC, as every time we
/// print): `2006-01-02 15:04:05.999999999 +0000 UTC`.
pub fn go_time(ns: i64) -> String {
    let (y, mo, d, h, mi, s) = common::time::utc(ns.div_euclid(1_000_000_000));
    let frac = ns.rem_euclid(1_000_000_000);
    let frac = if frac == 0 {
        String::new()
    } else {
        format!(".{frac:09}").trim_end_matches('0').to_string()
    };
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}{frac} +0000 UTC")
}

impl Entry {
    pub(super) fn from_record(cfg: &ContainerConfig, st: &ContainerState) -> Entry {
        let state = filter::podman_state(st);
        let alive = matches!(
            st.status,
            Status::Running | Status::Paused | Status::Stopping
        ) || state == "initialized";
        let mut exposed: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for e in &cfg.exposed_ports {
            let (port, proto) = e.split_once('/').unwrap_or((e, "tcp"));
            if port.parse::<u16>().is_ok() {
                exposed
                    .entry(port.to_string())
                    .or_default()
                    .push(proto.to_string());
            }
        }
        Entry {
            auto_remove: cfg.auto_remove,
            command: (!cfg.cmd.is_empty()).then(|| cfg.cmd.clone()),
            created_at: String::new(),
            cid_file: cfg
                .annotations
                .get("io.podman.annotations.cid-file")
                .cloned()
                .unwrap_or_default(),
            exited: filter::has_exited(st),
            exited_at: secs_or_zero(st.finished_ns),
            exit_code: st.exit_code,
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            id: cfg.id.clone(),
            image: cfg.image_name.clone(),
            image_id: cfg.image_id.clone(),
            is_infra: cfg.extra.pod_infra,
            labels: (!cfg.labels.is_empty()).then(|| cfg.labels.clone()),
            mounts: cfg.mounts.iter().map(|m| m.destination.clone()).collect(),
            names: vec![cfg.name.clone()],
            namespaces: Namespaces::default(),
            networks: match cfg.network_mode {
                crate::container::model::NetworkMode::Bridge => {
                    cfg.networks.iter().map(|n| n.name.clone()).collect()
                }
                _ => Vec::new(),
            },
            pid: if alive { st.pid } else { 0 },
            pod: cfg.extra.pod.clone(),
            pod_name: String::new(),
            ports: (!cfg.ports.is_empty()).then(|| {
                cfg.ports
                    .iter()
                    .map(|p| JsonPort {
                        host_ip: p.host_ip.clone(),
                        container_port: p.container_port,
                        host_port: p.host_port,
                        range: p.range,
                        protocol: p.protocol.clone(),
                    })
                    .collect()
            }),
            restarts: st.restart_count,
            size: None,
            started_at: secs_or_zero(st.started_ns),
            state: state.to_string(),
            status: String::new(),
            created_ns: cfg.created_ns,
            health: String::new(),
            port_specs: cfg.ports.clone(),
        }
    }

    /// A container only storage knows (`ListStorageContainer`).
    pub(super) fn from_storage(c: &proto::storage::v1::Container, image_name: String) -> Entry {
        Entry {
            auto_remove: false,
            command: Some(vec!["storage".into()]),
            created_at: String::new(),
            cid_file: String::new(),
            exited: false,
            exited_at: GO_ZERO_UNIX,
            exit_code: 0,
            exposed_ports: None,
            id: c.id.clone(),
            image: image_name,
            image_id: c.image_id.clone(),
            is_infra: false,
            labels: None,
            mounts: Vec::new(),
            // Our storage records carry no names.
            names: vec!["unknown".into()],
            namespaces: Namespaces::default(),
            networks: Vec::new(),
            pid: 0,
            pod: String::new(),
            pod_name: String::new(),
            ports: None,
            restarts: 0,
            size: None,
            started_at: GO_ZERO_UNIX,
            state: "storage".into(),
            status: String::new(),
            created_ns: c.created_unix * 1_000_000_000,
            health: String::new(),
            port_specs: Vec::new(),
        }
    }

    /// psReporter.Status(): the STATUS column.
    pub fn status_text(&self) -> String {
        let mut s = match self.state.as_str() {
            "running" => format!("Up {}", since_secs(self.started_at)),
            "exited" | "stopped" => format!(
                "Exited ({}) {} ago",
                self.exit_code,
                since_secs(self.exited_at)
            ),
            other => title(other),
        };
        if !self.health.is_empty() {
            s = format!("{s} ({})", self.health);
        }
        s
    }

    pub fn created_human(&self) -> String {
        let secs = (now_secs() * 1_000_000_000 - self.created_ns).max(0) / 1_000_000_000;
        format!("{} ago", human::duration(secs))
    }

    pub(super) fn command_line(&self) -> String {
        self.command.as_deref().unwrap_or_default().join(" ")
    }
}

/// psReporter.Ports(): published ports, then exposed ones not published
/// (consecutive ones as ranges).
pub fn ports_text(
    ports: &[PortMapping],
    exposed: Option<&BTreeMap<String, Vec<String>>>,
) -> String {
    let mut parts = Vec::new();
    let mut published = std::collections::HashSet::new();
    for p in ports {
        let ip = if p.host_ip.is_empty() {
            "0.0.0.0"
        } else {
            &p.host_ip
        };
        if p.range > 1 {
            parts.push(format!(
                "{ip}:{}-{}->{}-{}/{}",
                p.host_port,
                p.host_port + p.range - 1,
                p.container_port,
                p.container_port + p.range - 1,
                p.protocol
            ));
        } else {
            parts.push(format!(
                "{ip}:{}->{}/{}",
                p.host_port, p.container_port, p.protocol
            ));
        }
        for i in 0..p.range.max(1) {
            published.insert((p.container_port + i, p.protocol.clone()));
        }
    }
    let mut exp: Vec<(String, u16)> = exposed
        .into_iter()
        .flatten()
        .flat_map(|(port, protos)| {
            let n: u16 = port.parse().unwrap_or(0);
            protos.iter().map(move |p| (p.clone(), n))
        })
        .collect();
    exp.sort();
    let mut prev: Option<(String, u16, u16)> = None;
    let flush = |p: &(String, u16, u16), parts: &mut Vec<String>| {
        if p.2 > 0 {
            parts.push(format!("{}-{}/{}", p.1, p.1 + p.2, p.0));
        } else {
            parts.push(format!("{}/{}", p.1, p.0));
        }
    };
    for (proto, num) in exp {
        if published.contains(&(num, proto.clone())) {
            continue;
        }
        if let Some(p) = prev.as_mut() {
            if p.0 == proto && u32::from(p.1) + u32::from(p.2) + 1 == u32::from(num) {
                p.2 += 1;
                continue;
            }
            let done = p.clone();
            flush(&done, &mut parts);
        }
        prev = Some((proto, num, 0));
    }
    if let Some(p) = prev {
        flush(&p, &mut parts);
    }
    parts.join(", ")
}
