//! `podman ps` (`podman container ps|ls|list`), as Podman 5 prints it
//! (cmd/podman/containers/ps.go, pkg/ps/ps.go).
//!
//! Every container is read from the state database (its state refreshed
//! cheaply), filtered with [`crate::container::filter`], and becomes an
//! [`Entry`]: Podman's `ListContainer`. `--format json` prints entries with
//! Podman's JSON shape and field order; tables and templates see Podman's
//! `psReporter` fields (truncated IDs, a joined command, human times).
//! storage-helper is asked only for `--external` (containers that exist only
//! in storage) and `--size`.

use std::collections::{BTreeMap, HashMap};

use clap::Args;
use serde::Serialize;
use serde_json::{json, Value};

use crate::container::filter::{self, ContainerFilter, DbLookup, Scope, Subject};
use crate::container::model::{ContainerConfig, ContainerState, PortMapping, Status};
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::format::gotemplate::{self, Data};
use crate::format::{human, tabwriter};

#[derive(Debug, Clone, Args)]
pub struct PsArgs {
    /// Show all the containers, default is only running containers
    #[arg(short, long)]
    pub all: bool,
    /// Show containers in storage not controlled by Podman
    #[arg(long, alias = "storage")]
    pub external: bool,
    /// Filter output based on conditions given
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Pretty-print containers to JSON or using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Print the n last created containers (all states)
    #[arg(short = 'n', long, allow_negative_numbers = true)]
    pub last: Option<i64>,
    /// Act on the latest container podman is aware of
    #[arg(short, long)]
    pub latest: bool,
    /// Display namespace information
    #[arg(long = "ns", visible_alias = "namespace")]
    pub ns: bool,
    /// Display the extended information
    #[arg(long, alias = "notruncate")]
    pub no_trunc: bool,
    /// Print the ID and name of the pod the containers are associated with
    #[arg(short, long)]
    pub pod: bool,
    /// Print the numeric IDs of the containers only
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not print headers
    #[arg(long)]
    pub noheading: bool,
    /// Display the total file sizes
    #[arg(short, long)]
    pub size: bool,
    /// Sync container state with OCI runtime
    #[arg(long)]
    pub sync: bool,
    /// Watch the ps output on an interval in seconds
    #[arg(short, long, value_name = "SECONDS")]
    pub watch: Option<u64>,
    /// Sort output by: command, created, id, image, names, runningfor, size, status
    #[arg(long, value_name = "CHOICE")]
    pub sort: Option<String>,
}

const SORT_CHOICES: [&str; 8] = [
    "command",
    "created",
    "id",
    "image",
    "names",
    "runningfor",
    "size",
    "status",
];

/// Go's zero time as Unix seconds: Podman's StartedAt/ExitedAt when unset.
const GO_ZERO_UNIX: i64 = -62_135_596_800;

/// Namespaces of a running container (`--ns`), inode numbers as text.
#[derive(Debug, Clone, Default, Serialize)]
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
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Size {
    #[serde(rename = "rootFsSize")]
    pub root_fs: i64,
    #[serde(rename = "rwSize")]
    pub rw: i64,
}

/// A port mapping as libnetwork's `types.PortMapping` marshals.
#[derive(Debug, Clone, Serialize)]
pub struct JsonPort {
    pub host_ip: String,
    pub container_port: u16,
    pub host_port: u16,
    pub range: u16,
    pub protocol: String,
}

/// Podman's `ListContainer`, with `ps --format json`'s field order (Go
/// marshals the embedded struct's fields, then the `Created` override).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
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
    #[serde(rename = "Created", serialize_with = "ns_as_secs")]
    pub created_ns: i64,
    /// Healthcheck status (Podman's ListContainer.Status before JSON).
    #[serde(skip)]
    pub health: String,
    #[serde(skip)]
    pub port_specs: Vec<PortMapping>,
}

fn ns_as_secs<S: serde::Serializer>(ns: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(ns.div_euclid(1_000_000_000))
}

fn now_secs() -> i64 {
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
fn title(s: &str) -> String {
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
    fn from_record(cfg: &ContainerConfig, st: &ContainerState) -> Entry {
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
    fn from_storage(c: &proto::storage::v1::Container, image_name: String) -> Entry {
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

    fn command_line(&self) -> String {
        self.command.as_deref().unwrap_or_default().join(" ")
    }

    /// The fields a `--format` template (and a table) sees, named as
    /// Podman's psReporter has them.
    fn template_row(&self, no_trunc: bool, labels: &[String], want: &Fields) -> Value {
        let short = |s: &str| {
            if no_trunc {
                s.to_string()
            } else {
                s.chars().take(12).collect()
            }
        };
        let ns = &self.namespaces;
        let mut row = serde_json::Map::new();
        // Only the fields the template names are computed (ps -a of many
        // containers with the default table stays cheap).
        let mut put = |key: &str, v: &dyn Fn() -> Value| {
            if want.has(key) {
                row.insert(key.to_string(), v());
            }
        };
        put("AutoRemove", &|| json!(self.auto_remove));
        put("CIDFile", &|| json!(self.cid_file));
        put("Command", &|| {
            let mut command = self.command_line();
            if !no_trunc && command.len() > 17 {
                let mut cut = 17;
                while !command.is_char_boundary(cut) {
                    cut -= 1;
                }
                command = format!("{}...", &command[..cut]);
            }
            json!(command)
        });
        put("Created", &|| json!(go_time(self.created_ns)));
        put("CreatedAt", &|| json!(go_time(self.created_ns)));
        put("CreatedHuman", &|| json!(self.created_human()));
        put("RunningFor", &|| json!(self.created_human()));
        put("ExitCode", &|| json!(self.exit_code));
        put("Exited", &|| json!(self.exited));
        put("ExitedAt", &|| json!(self.exited_at));
        put("ExposedPorts", &|| {
            json!(self.exposed_ports.clone().unwrap_or_default())
        });
        put("ID", &|| json!(short(&self.id)));
        put("Image", &|| json!(self.image));
        put("ImageID", &|| json!(short(&self.image_id)));
        put("IsInfra", &|| json!(self.is_infra));
        put("Labels", &|| json!(self.labels.clone().unwrap_or_default()));
        put("Mounts", &|| json!(self.mounts));
        put("Names", &|| {
            json!(self.names.first().cloned().unwrap_or_default())
        });
        put("Namespaces", &|| {
            json!({"Cgroup": ns.cgroup, "IPC": ns.ipc, "MNT": ns.mnt, "NET": ns.net,
                   "PIDNS": ns.pidns, "User": ns.user, "UTS": ns.uts})
        });
        put("Networks", &|| json!(self.networks.join(",")));
        put("Pid", &|| json!(self.pid));
        put("Pod", &|| json!(short(&self.pod)));
        put("PodName", &|| json!(self.pod_name));
        put("Ports", &|| {
            json!(ports_text(&self.port_specs, self.exposed_ports.as_ref()))
        });
        put("Restarts", &|| json!(self.restarts.to_string()));
        put("Size", &|| {
            json!(match self.size {
                Some(s) => format!(
                    "{} (virtual {})",
                    human::size(s.rw.max(0) as u64),
                    human::size(s.root_fs.max(0) as u64)
                ),
                None => String::new(),
            })
        });
        put("StartedAt", &|| json!(self.started_at));
        put("State", &|| json!(self.state));
        put("Status", &|| json!(self.status_text()));
        put("Cgroup", &|| json!(ns.cgroup));
        put("CGROUPNS", &|| json!(ns.cgroup));
        put("IPC", &|| json!(ns.ipc));
        put("MNT", &|| json!(ns.mnt));
        put("NET", &|| json!(ns.net));
        put("PIDNS", &|| json!(ns.pidns));
        put("User", &|| json!(ns.user));
        put("USERNS", &|| json!(ns.user));
        put("UTS", &|| json!(ns.uts));
        for (i, key) in labels.iter().enumerate() {
            let v = self
                .labels
                .as_ref()
                .and_then(|l| l.get(key))
                .cloned()
                .unwrap_or_default();
            row.insert(label_field(i), json!(v));
        }
        Value::Object(row)
    }
}

/// The top-level fields a template names (`.Field`), or all of them when
/// it uses the row itself (`{{json .}}`, `$`).
pub struct Fields(Option<std::collections::HashSet<String>>);

impl Fields {
    fn all() -> Fields {
        Fields(None)
    }

    fn of(template: &str) -> Fields {
        let mut names = std::collections::HashSet::new();
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            let Some(len) = rest[start..].find("}}") else {
                return Fields::all();
            };
            let action = &rest[start + 2..start + len];
            if action.contains('$') {
                return Fields::all();
            }
            let b = action.as_bytes();
            for (i, &c) in b.iter().enumerate() {
                if c != b'.' || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) {
                    continue;
                }
                let ident: String = action[i + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if ident.is_empty() {
                    if !b.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
                        // The row itself.
                        return Fields::all();
                    }
                } else {
                    names.insert(ident);
                }
            }
            rest = &rest[start + len + 2..];
        }
        Fields(Some(names))
    }

    fn has(&self, key: &str) -> bool {
        self.0.as_ref().is_none_or(|s| s.contains(key))
    }
}

fn label_field(i: usize) -> String {
    format!("PsLabel{i}")
}

/// Column headers of psReporter's fields (report.Headers with ps's
/// overrides).
fn header_row(labels: usize) -> Value {
    let mut h = json!({
        "AutoRemove": "AUTO REMOVE", "CIDFile": "CID FILE", "Command": "COMMAND",
        "Created": "CREATED", "CreatedAt": "CREATED AT", "CreatedHuman": "CREATED",
        "ExitCode": "EXIT CODE", "Exited": "EXITED", "ExitedAt": "EXITED AT",
        "ExposedPorts": "EXPOSED PORTS", "ID": "CONTAINER ID", "Image": "IMAGE",
        "ImageID": "IMAGE ID", "IsInfra": "IS INFRA", "Labels": "LABELS", "Mounts": "MOUNTS",
        "Names": "NAMES", "Namespaces": "NAMESPACES", "Networks": "NETWORKS", "Pid": "PID",
        "Pod": "POD ID", "PodName": "PODNAME", "Ports": "PORTS", "Restarts": "RESTARTS",
        "RunningFor": "RUNNING FOR", "Size": "SIZE", "StartedAt": "STARTED AT",
        "State": "STATE", "Status": "STATUS",
        "Cgroup": "CGROUPNS", "CGROUPNS": "CGROUPNS", "IPC": "IPC", "MNT": "MNT", "NET": "NET",
        "PIDNS": "PIDNS", "User": "USERNS", "USERNS": "USERNS", "UTS": "UTS",
    });
    for i in 0..labels {
        h[label_field(i)] = json!("LABEL");
    }
    h
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

fn check_flags(a: &PsArgs) -> anyhow::Result<()> {
    if a.last.is_some_and(|n| n >= 0) && a.latest {
        anyhow::bail!("last and latest are mutually exclusive");
    }
    if a.quiet && (a.size || a.ns) {
        anyhow::bail!("quiet conflicts with size and namespace");
    }
    if a.size && a.ns {
        anyhow::bail!("size and namespace options conflict");
    }
    if a.watch.is_some_and(|w| w > 0) && a.latest {
        anyhow::bail!("the watch and latest flags cannot be used together");
    }
    if let Some(s) = &a.sort {
        if !SORT_CHOICES.contains(&s.as_str()) {
            anyhow::bail!(
                "invalid argument {s:?} for \"--sort\" flag: {s:?} is not a valid value.  Choose from: \"{}\"",
                SORT_CHOICES.join(", ")
            );
        }
    }
    Ok(())
}

/// `entities.SortPsOutput`.
fn sort_entries(by: &str, list: &mut [Entry]) {
    match by {
        "command" => list.sort_by_key(|e| e.command_line()),
        "created" => list.sort_by_key(|e| e.created_ns),
        "id" => list.sort_by(|a, b| a.id.cmp(&b.id)),
        "image" => list.sort_by(|a, b| a.image.cmp(&b.image)),
        "names" => list.sort_by(|a, b| a.names.first().cmp(&b.names.first())),
        "runningfor" => list.sort_by_key(|e| e.started_at),
        "status" => list.sort_by(|a, b| a.state.cmp(&b.state)),
        "size" => list.sort_by_key(|e| e.size.map(|s| s.root_fs)),
        _ => {}
    }
}

/// `ps --format '{{ .Label "key" }}'` calls a method with an argument;
/// templates here see data only. Each such call becomes a field of its
/// own: (rewritten format, label keys in field order).
fn rewrite_label_calls(format: &str) -> (String, Vec<String>) {
    if !format.contains(".Label") {
        return (format.to_string(), Vec::new());
    }
    let re = regex::Regex::new(r#"\.Label\s+("(?:[^"\\]|\\.)*"|`[^`]*`)"#).expect("valid regex");
    let mut keys: Vec<String> = Vec::new();
    let out = re.replace_all(format, |c: &regex::Captures| {
        let lit = &c[1];
        let key = if lit.starts_with('`') {
            lit.trim_matches('`').to_string()
        } else {
            serde_json::from_str::<String>(lit)
                .unwrap_or_else(|_| lit.trim_matches('"').to_string())
        };
        let i = keys.iter().position(|k| *k == key).unwrap_or_else(|| {
            keys.push(key);
            keys.len() - 1
        });
        format!(".{}", label_field(i))
    });
    (out.into_owned(), keys)
}

/// report.IsJSON: `json`, `{{json}}`, `{{ json. }}`.
fn is_json(format: &str) -> bool {
    let f = format.trim();
    if f == "json" {
        return true;
    }
    f.strip_prefix("{{")
        .and_then(|x| x.strip_suffix("}}"))
        .map(|x| matches!(x.trim(), "json" | "json."))
        .unwrap_or(false)
}

/// Go's json.MarshalIndent escapes HTML characters.
fn go_json(v: &impl Serialize) -> anyhow::Result<String> {
    let s = serde_json::to_string_pretty(v)?;
    Ok(s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029"))
}

/// report's NormalizeFormat for a `table ` format: spaces separate columns.
fn normalize_table(body: &str) -> String {
    body.replace("\\t", "\t")
        .replace(' ', "\t")
        .replace("\\n", "\n")
}

/// Headers the simple way, for templates the header row cannot execute:
/// each action becomes its field's header.
fn plain_headers(body: &str, headers: &Value) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        let inner =
            rest[start + 2..start + end].trim_matches(|c: char| c == '-' || c.is_whitespace());
        let field = inner
            .split_whitespace()
            .find(|w| w.starts_with('.'))
            .unwrap_or(inner)
            .trim_start_matches('.');
        out.push_str(
            headers
                .get(field)
                .and_then(Value::as_str)
                .map(String::from)
                .unwrap_or_else(|| field.to_ascii_uppercase())
                .as_str(),
        );
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

/// What to print: the template (rows then headers) and whether it is a
/// table.
struct Output {
    template: gotemplate::Template,
    body: String,
    table: bool,
    headers: bool,
    labels: Vec<String>,
    fields: Fields,
    no_trunc: bool,
}

impl Output {
    fn new(a: &PsArgs, with_pod: bool) -> anyhow::Result<Output> {
        let default = a.format.as_deref().is_none_or(|f| f.trim() == "table");
        let (format, table, mut headers) = if default {
            let row = if a.ns {
                "{{.ID}}\t{{.Names}}\t{{.Pid}}\t{{.Namespaces.Cgroup}}\t{{.Namespaces.IPC}}\t{{.Namespaces.MNT}}\t{{.Namespaces.NET}}\t{{.Namespaces.PIDNS}}\t{{.Namespaces.User}}\t{{.Namespaces.UTS}}".to_string()
            } else {
                let mut r = "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedHuman}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}".to_string();
                if with_pod {
                    r.push_str("\t{{.Pod}}\t{{.PodName}}");
                }
                if a.size {
                    r.push_str("\t{{.Size}}");
                }
                r
            };
            (row, true, true)
        } else {
            let f = a.format.clone().unwrap_or_default();
            match f.strip_prefix("table ") {
                Some(body) => (body.to_string(), true, true),
                None => (f, false, false),
            }
        };
        if a.noheading {
            headers = false;
        }
        let format = format.replace(".Namespaces.", ".");
        let (format, labels) = rewrite_label_calls(&format);
        let body = if table && !default {
            normalize_table(&format)
        } else {
            format.replace("\\t", "\t").replace("\\n", "\n")
        };
        let body = body.trim_end_matches('\n').to_string();
        Ok(Output {
            template: gotemplate::Template::new("ps", &body)?
                .with_root_type("containers.psReporter"),
            fields: Fields::of(&body),
            body,
            table,
            headers,
            labels,
            no_trunc: a.no_trunc,
        })
    }

    fn render(&self, entries: &[Entry]) -> anyhow::Result<String> {
        // Each row is one execution: the output of each ends with a newline.
        fn line(mut s: String) -> String {
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s
        }
        let mut text = String::new();
        if self.headers {
            let h = [header_row(self.labels.len())];
            let header = match self.template.execute(Data::MapRows(&h)) {
                Ok(s) => line(s),
                Err(_) => plain_headers(&self.body, &h[0]) + "\n",
            };
            text.push_str(&header);
        }
        for e in entries {
            let row = e.template_row(self.no_trunc, &self.labels, &self.fields);
            text.push_str(&line(self.template.execute(Data::One(&row))?));
        }
        Ok(if self.table {
            tabwriter::tabwrite(&text, 12, 2, b' ')
        } else {
            text
        })
    }
}

/// Bytes of the files under `dir` (not following symlinks).
fn dir_size(dir: &std::path::Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.filter_map(|e| e.ok())
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            _ => 0,
        })
        .sum()
}

/// `/proc/PID/ns/NAME` -> the inode number in brackets.
fn namespace(pid: i32, name: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{name}"))
        .ok()
        .and_then(|l| {
            let s = l.to_string_lossy().into_owned();
            let start = s.find('[')?;
            let end = s.rfind(']')?;
            Some(s[start + 1..end].to_string())
        })
        .unwrap_or_default()
}

fn fill_namespaces(e: &mut Entry) {
    if e.pid <= 0 {
        return;
    }
    let pid = e.pid;
    e.namespaces = Namespaces {
        cgroup: namespace(pid, "cgroup"),
        ipc: namespace(pid, "ipc"),
        mnt: namespace(pid, "mnt"),
        net: namespace(pid, "net"),
        pidns: namespace(pid, "pid"),
        user: namespace(pid, "user"),
        uts: namespace(pid, "uts"),
    };
}

async fn network_list(engine: &EngineConfig) -> anyhow::Result<Vec<(String, String)>> {
    let mut net = crate::helper_procs::net(engine).await?;
    let r = net
        .call("ListNetworks", |mut c| async move {
            c.list_networks(proto::netsetup::v1::ListNetworksRequest { filters: vec![] })
                .await
        })
        .await;
    net.close().await?;
    Ok(r?.networks.into_iter().map(|n| (n.id, n.name)).collect())
}

/// Storage's view, for `--external` and `--size`.
struct StorageView {
    containers: Vec<proto::storage::v1::Container>,
    /// Image ID -> (first name, size).
    images: HashMap<String, (String, u64)>,
}

async fn storage_view(engine: &EngineConfig) -> anyhow::Result<StorageView> {
    let mut storage = crate::helper_procs::storage(engine).await?;
    let containers = crate::helper_procs::storage_containers(&mut storage).await;
    let images = if containers.is_ok() {
        storage
            .call("ListImages", |mut c| async move {
                c.list_images(proto::storage::v1::ListImagesRequest { all: true })
                    .await
            })
            .await
            .map(Some)
    } else {
        Ok(None)
    };
    storage.close().await?;
    let containers = containers?;
    let images = images?
        .map(|r| r.images)
        .unwrap_or_default()
        .into_iter()
        .map(|i| (i.id, (i.names.first().cloned().unwrap_or_default(), i.size)))
        .collect();
    Ok(StorageView { containers, images })
}

/// The containers to print, in Podman's order (`GetContainerLists`).
pub async fn list(engine: &EngineConfig, a: &PsArgs) -> anyhow::Result<Vec<Entry>> {
    let started = std::time::Instant::now();
    let filters = filter::parse(&a.filter)?;
    crate::lifecycle::reconcile::pending(engine).await;
    let mut records = Vec::new();
    let db = crate::state::open_state(engine)?;
    let all_records = store::list(&db)?;
    drop(db);
    for rec in all_records {
        let rec = crate::lifecycle::cleanup::refresh(engine, rec).await?;
        if rec.1.status != Status::Removing {
            records.push(rec);
        }
    }
    tracing::debug!(
        containers = records.len(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
        "listed containers"
    );
    let networks = if filter::needs_networks(&filters) {
        network_list(engine).await?
    } else {
        Vec::new()
    };
    let view = if a.external || a.size {
        Some(storage_view(engine).await?)
    } else {
        None
    };
    let db = crate::state::open_state(engine)?;
    let lookup = DbLookup { db: &db, networks };
    let ext_filter = if a.external {
        Some(ContainerFilter::new(&filters, &lookup, Scope::External)?)
    } else {
        None
    };
    let pod_filter = ContainerFilter::new(&filters, &lookup, Scope::Podman)?;
    drop(db);

    let last = if a.latest { Some(1) } else { a.last };
    let limit = last.filter(|n| *n > 0).map(|n| n as usize);
    // Docker's rule: a status filter lists every container it matches.
    let all = a.all || limit.is_some() || filters.iter().any(|(k, _)| k == "status");
    let mut kept: Vec<&(ContainerConfig, ContainerState)> = records
        .iter()
        .filter(|(c, s)| {
            (all || filter::podman_state(s) == "running") && pod_filter.matches(&Subject::new(c, s))
        })
        .collect();
    if let Some(n) = limit {
        kept.sort_by_key(|(c, _)| std::cmp::Reverse(c.created_ns));
        kept.truncate(n);
    }
    let mut entries: Vec<Entry> = kept
        .into_iter()
        .map(|(c, s)| {
            let mut e = Entry::from_record(c, s);
            if s.status == Status::Running {
                e.health = crate::lifecycle::health::status(engine, c);
            }
            e
        })
        .collect();
    if let (Some(view), Some(ext)) = (&view, &ext_filter) {
        let known: std::collections::HashSet<&str> =
            records.iter().map(|(c, _)| c.id.as_str()).collect();
        for sc in &view.containers {
            if known.contains(sc.id.as_str()) {
                continue;
            }
            let name = view
                .images
                .get(&sc.image_id)
                .map(|(n, _)| n.clone())
                .unwrap_or_default();
            let e = Entry::from_storage(sc, name);
            let cfg = ContainerConfig {
                id: e.id.clone(),
                name: e.names[0].clone(),
                image_name: e.image.clone(),
                image_id: e.image_id.clone(),
                cmd: vec!["storage".into()],
                created_ns: e.created_ns,
                ..Default::default()
            };
            let st = ContainerState::default();
            if ext.matches(&Subject {
                cfg: &cfg,
                st: &st,
                external: true,
            }) {
                entries.push(e);
            }
        }
    }
    entries.sort_by_key(|e| e.created_ns);
    if let Some(n) = limit {
        entries.truncate(n);
    }
    if let Some(view) = &view {
        if a.size {
            let uppers: HashMap<&str, (&str, &str)> = view
                .containers
                .iter()
                .map(|c| (c.id.as_str(), (c.upper_dir.as_str(), c.image_id.as_str())))
                .collect();
            for e in &mut entries {
                let (upper, image) = uppers.get(e.id.as_str()).copied().unwrap_or(("", ""));
                let rw = if upper.is_empty() {
                    0
                } else {
                    dir_size(std::path::Path::new(upper)) as i64
                };
                let image_size = view.images.get(image).map(|(_, s)| *s as i64).unwrap_or(0);
                e.size = Some(Size {
                    root_fs: image_size + rw,
                    rw,
                });
            }
        }
    }
    if a.ns {
        entries.iter_mut().for_each(fill_namespaces);
    }
    if entries.iter().any(|e| !e.pod.is_empty()) {
        // `{{.PodName}}`: the pods' names, one lookup each.
        let db = crate::state::open_state(engine)?;
        let mut names: HashMap<String, String> = HashMap::new();
        for e in entries.iter_mut().filter(|e| !e.pod.is_empty()) {
            if !names.contains_key(&e.pod) {
                let n = crate::pod::store::resolve(&db, &e.pod)
                    .map(|p| p.name)
                    .unwrap_or_default();
                names.insert(e.pod.clone(), n);
            }
            e.pod_name = names[&e.pod].clone();
        }
    }
    if let Some(by) = &a.sort {
        sort_entries(by, &mut entries);
    }
    Ok(entries)
}

pub async fn run(engine: &EngineConfig, a: &PsArgs) -> anyhow::Result<()> {
    check_flags(a)?;
    let format = a.format.as_deref();
    let with_pod = a.pod || format.is_some_and(|f| f.contains(".PodName"));
    // Parse the template before any work.
    let output = match format {
        Some(f) if is_json(f) => None,
        _ if a.quiet && format.is_none() => None,
        _ => Some(Output::new(a, with_pod)?),
    };
    if format.is_some_and(|f| f.contains(".Size")) && !a.size {
        tracing::error!("Size format requires --size option");
    }
    let mut entries = list(engine, a).await?;
    if format.is_some_and(is_json) {
        for e in &mut entries {
            e.created_at = e.created_human();
            e.status = e.status_text();
        }
        println!("{}", go_json(&entries)?);
        return Ok(());
    }
    let Some(output) = output else {
        let mut out = String::new();
        for e in &entries {
            if a.no_trunc {
                out.push_str(&e.id);
            } else {
                out.extend(e.id.chars().take(12));
            }
            out.push('\n');
        }
        print!("{out}");
        return Ok(());
    };
    match a.watch.filter(|w| *w > 0) {
        None => print!("{}", output.render(&entries)?),
        Some(secs) => {
            use std::io::Write;
            let tty = nix::unistd::isatty(libc::STDOUT_FILENO).unwrap_or(false);
            loop {
                let text = output.render(&entries)?;
                let mut stdout = std::io::stdout().lock();
                if tty {
                    stdout.write_all(b"\x1b[2J\x1b[1;1H")?;
                }
                stdout.write_all(text.as_bytes())?;
                stdout.flush()?;
                drop(stdout);
                tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
                entries = list(engine, a).await?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, name: &str, created: i64, state: &str) -> Entry {
        let cfg = ContainerConfig {
            id: id.into(),
            name: name.into(),
            created_ns: created,
            image_name: "quay.io/x/img:1".into(),
            image_id: "0123456789abcdef0123".into(),
            cmd: vec!["sleep".into(), "1000000000000000000".into()],
            ..Default::default()
        };
        let mut e = Entry::from_record(&cfg, &ContainerState::default());
        e.state = state.into();
        e
    }

    #[test]
    fn json_has_podmans_shape_and_order() {
        let mut e = entry("abc", "web", 1_700_000_000_123_456_789, "created");
        e.created_at = "1 second ago".into();
        e.status = e.status_text();
        let s = go_json(&vec![e]).unwrap();
        let keys: Vec<&str> = s
            .lines()
            .filter(|l| l.starts_with("    \""))
            .map(|l| l.trim().split('"').nth(1).unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "AutoRemove",
                "Command",
                "CreatedAt",
                "CIDFile",
                "Exited",
                "ExitedAt",
                "ExitCode",
                "ExposedPorts",
                "Id",
                "Image",
                "ImageID",
                "IsInfra",
                "Labels",
                "Mounts",
                "Names",
                "Namespaces",
                "Networks",
                "Pid",
                "Pod",
                "PodName",
                "Ports",
                "Restarts",
                "Size",
                "StartedAt",
                "State",
                "Status",
                "Created"
            ]
        );
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v[0]["Created"], 1_700_000_000);
        assert_eq!(v[0]["ExitedAt"], GO_ZERO_UNIX);
        assert_eq!(v[0]["Status"], "Created");
        assert_eq!(v[0]["Namespaces"], json!({}));
        assert_eq!(v[0]["Labels"], Value::Null);
        assert_eq!(v[0]["Command"], json!(["sleep", "1000000000000000000"]));
        assert!(go_json(&json!(["a<b>&"]))
            .unwrap()
            .contains("a\\u003cb\\u003e\\u0026"));
    }

    #[test]
    fn template_fields_are_psreporters() {
        let e = entry(
            "0123456789abcdef",
            "web",
            1_700_000_000_500_000_000,
            "running",
        );
        let row = e.template_row(false, &["k".into()], &Fields::all());
        assert_eq!(row["ID"], "0123456789ab");
        assert_eq!(row["ImageID"], "0123456789ab");
        assert_eq!(row["Command"], "sleep 10000000000...");
        assert_eq!(row["Created"], "2023-11-14 22:13:20.5 +0000 UTC");
        assert_eq!(row["PsLabel0"], "");
        assert_eq!(
            e.template_row(true, &[], &Fields::all())["ID"],
            "0123456789abcdef"
        );
        let only = Fields::of("{{.ID}} {{ json .Labels }} {{truncate .Names 1.5}}");
        let row = e.template_row(false, &[], &only);
        assert_eq!(row.as_object().unwrap().len(), 3, "{row}");
        assert!(Fields::of("{{json .}}").has("Status"));
        assert!(Fields::of("{{range $k, $v := .Labels}}{{$k}}{{end}}").has("Status"));
        assert_eq!(title("initialized"), "Initialized");
    }

    #[test]
    fn label_calls_become_fields() {
        let (f, keys) = rewrite_label_calls(
            r#"{{ .Label "mylabel" }} {{.Label "a"}} {{.Label "mylabel"|upper}}"#,
        );
        assert_eq!(f, "{{ .PsLabel0 }} {{.PsLabel1}} {{.PsLabel0|upper}}");
        assert_eq!(keys, ["mylabel", "a"]);
        let (f, keys) = rewrite_label_calls("{{.Labels}}");
        assert_eq!((f.as_str(), keys.len()), ("{{.Labels}}", 0));
    }

    #[test]
    fn ports_as_podman_prints_them() {
        let p = |hp: u16, cp: u16, r: u16| PortMapping {
            host_ip: String::new(),
            host_port: hp,
            container_port: cp,
            protocol: "tcp".into(),
            range: r,
        };
        let mut exposed = BTreeMap::new();
        for port in ["80", "8080", "8081", "8082", "9000"] {
            exposed.insert(port.to_string(), vec!["tcp".to_string()]);
        }
        exposed.insert("53".to_string(), vec!["udp".to_string()]);
        assert_eq!(
            ports_text(&[p(8000, 80, 1), p(2000, 2000, 3)], Some(&exposed)),
            "0.0.0.0:8000->80/tcp, 0.0.0.0:2000-2002->2000-2002/tcp, 8080-8082/tcp, 9000/tcp, 53/udp"
        );
        assert_eq!(ports_text(&[], None), "");
    }

    #[test]
    fn sorting_and_flags() {
        let mut list = vec![
            entry("b", "zed", 2, "running"),
            entry("a", "amy", 3, "exited"),
            entry("c", "bob", 1, "created"),
        ];
        sort_entries("names", &mut list);
        assert_eq!(
            list.iter().map(|e| e.id.as_str()).collect::<String>(),
            "acb"
        );
        sort_entries("created", &mut list);
        assert_eq!(
            list.iter().map(|e| e.id.as_str()).collect::<String>(),
            "cba"
        );
        sort_entries("status", &mut list);
        assert_eq!(
            list.iter().map(|e| e.id.as_str()).collect::<String>(),
            "cab"
        );
        let args = |extra: &[&str]| {
            use clap::Parser;
            #[derive(Parser)]
            struct T {
                #[command(flatten)]
                a: PsArgs,
            }
            let mut v = vec!["ps"];
            v.extend_from_slice(extra);
            T::parse_from(v).a
        };
        let err = |extra: &[&str]| check_flags(&args(extra)).unwrap_err().to_string();
        assert_eq!(
            err(&["--sort", "bogus"]),
            "invalid argument \"bogus\" for \"--sort\" flag: \"bogus\" is not a valid value.  Choose from: \"command, created, id, image, names, runningfor, size, status\""
        );
        assert_eq!(
            err(&["-l", "-n", "2"]),
            "last and latest are mutually exclusive"
        );
        assert_eq!(
            err(&["-q", "-s"]),
            "quiet conflicts with size and namespace"
        );
        assert_eq!(err(&["-s", "--ns"]), "size and namespace options conflict");
        assert_eq!(
            err(&["-w", "2", "-l"]),
            "the watch and latest flags cannot be used together"
        );
        assert!(check_flags(&args(&["--namespace", "--notruncate", "--storage"])).is_ok());
        assert!(is_json("json") && is_json(" {{ json }} ") && !is_json("{{json .}}"));
    }
}
