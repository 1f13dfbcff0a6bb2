//! `podman pod ps` (Podman's ListPodsReport: columns, filters, sorting)
//! and `podman pod inspect` (libpod's InspectPodData).

use std::collections::HashMap;

use clap::Args;
use serde_json::{json, Value};

use crate::container::model::ContainerState;
use crate::container::store::Record;
use crate::engine_config::EngineConfig;
use crate::format::human;
use crate::lifecycle::pod_ops;
use crate::pod::{status_of, store as pods, PodConfig};

#[derive(Debug, Clone, Args)]
pub struct PsArgs {
    /// Pretty-print pods to JSON or using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Filter output based on conditions given
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Display the names of the containers in the pod
    #[arg(long)]
    pub ctr_names: bool,
    /// Display the IDs of the containers in the pod
    #[arg(long)]
    pub ctr_ids: bool,
    /// Display the statuses of the containers in the pod
    #[arg(long)]
    pub ctr_status: bool,
    /// Display the cgroup and namespace of the pod
    #[arg(long = "ns")]
    pub namespace: bool,
    /// Do not print headers
    #[arg(short, long)]
    pub noheading: bool,
    /// Do not truncate pod and container IDs
    #[arg(long)]
    pub no_trunc: bool,
    /// Print only the pod IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Sort by created, id, name, number or status
    #[arg(long, default_value = "created")]
    pub sort: String,
    /// Show the latest pod only
    #[arg(short, long)]
    pub latest: bool,
}

#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    pub pods: Vec<String>,
    /// Format the output using a Go template or json
    #[arg(short, long)]
    pub format: Option<String>,
    /// Inspect the latest pod
    #[arg(short, long)]
    pub latest: bool,
}

fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

fn status_word(st: &ContainerState) -> &'static str {
    st.status.as_str()
}

fn rfc3339(ns: i64) -> String {
    common::time::rfc3339_nanos(ns)
}

/// One pod's JSON for `pod ps --format json` (ListPodsReport), which the
/// service's `/libpod/pods/json` answers too; the listing below reads it.
pub fn report(pod: &PodConfig, members: &[Record]) -> Value {
    let statuses: Vec<_> = members.iter().map(|(_, s)| s.status).collect();
    json!({
        "Cgroup": pod.cgroup_parent,
        "Containers": members.iter().map(|(c, s)| json!({
            "Id": c.id,
            "Names": c.name,
            "Status": status_word(s),
            "RestartCount": s.restart_count,
        })).collect::<Vec<_>>(),
        "Created": rfc3339(pod.created_ns),
        "Id": pod.id,
        "InfraId": pod.infra_id,
        "Name": pod.name,
        "Namespace": "",
        "Networks": networks(pod),
        "Status": status_of(&statuses).as_str(),
        "Labels": pod.labels,
    })
}

fn networks(pod: &PodConfig) -> Vec<String> {
    if pod.infra_id.is_empty() || pod.host_network {
        return Vec::new();
    }
    if pod.networks.is_empty() {
        vec!["podman".to_string()]
    } else {
        pod.networks.clone()
    }
}

fn strings(v: &Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

fn text<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_default()
}

/// A report's members.
fn members_of(r: &Value) -> &[Value] {
    r["Containers"].as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn joined(r: &Value, f: impl Fn(&Value) -> String) -> String {
    members_of(r).iter().map(f).collect::<Vec<_>>().join(",")
}

fn created_secs(r: &Value) -> i64 {
    common::time::parse_rfc3339_secs(text(r, "Created")).unwrap_or(0)
}

/// One row for templates (psReporter: truncated IDs, human times).
fn row(r: &Value, no_trunc: bool) -> Value {
    let t = |id: &str| if no_trunc { id.to_string() } else { short(id) };
    let mut v = r.clone();
    v["Id"] = json!(t(text(r, "Id")));
    v["InfraID"] = json!(t(text(r, "InfraId")));
    v["Created"] = json!(human::since(created_secs(r)));
    v["NumberOfContainers"] = json!(members_of(r).len());
    v["ContainerNames"] = json!(joined(r, |c| text(c, "Names").to_string()));
    v["ContainerIds"] = json!(joined(r, |c| t(text(c, "Id"))));
    v["ContainerStatuses"] = json!(joined(r, |c| text(c, "Status").to_string()));
    v["Networks"] = json!(strings(&r["Networks"]).join(","));
    let labels: std::collections::BTreeMap<String, String> =
        serde_json::from_value(r["Labels"].clone()).unwrap_or_default();
    v["Labels"] = json!(crate::format::report::format_labels(&labels));
    v
}

/// Podman's pod filters: the same key ORs, different keys AND.
fn matches(filters: &[(String, String)], r: &Value) -> anyhow::Result<bool> {
    let mut by_key: HashMap<&str, Vec<&str>> = HashMap::new();
    for (k, v) in filters {
        by_key.entry(k.as_str()).or_default().push(v.as_str());
    }
    let members = members_of(r);
    for (k, vals) in by_key {
        let any = |f: &dyn Fn(&str) -> anyhow::Result<bool>| -> anyhow::Result<bool> {
            for v in &vals {
                if f(v)? {
                    return Ok(true);
                }
            }
            Ok(false)
        };
        let regex = |pat: &str, s: &str| -> anyhow::Result<bool> {
            Ok(regex::Regex::new(pat)
                .map_err(|e| anyhow::anyhow!("invalid filter regex {pat:?}: {e}"))?
                .is_match(s))
        };
        // Podman's FilterID: hex is an ID prefix, anything else a regex.
        let id_match = |v: &str, id: &str| -> anyhow::Result<bool> {
            if v.chars().all(|c| c.is_ascii_hexdigit()) {
                Ok(id.starts_with(&v.to_ascii_lowercase()))
            } else {
                regex(v, id)
            }
        };
        let any_member = |v: &str, key: &str, by_id: bool| -> anyhow::Result<bool> {
            for c in members {
                let hit = if by_id {
                    id_match(v, text(c, key))?
                } else {
                    regex(v, text(c, key))?
                };
                if hit {
                    return Ok(true);
                }
            }
            Ok(false)
        };
        let ok = match k {
            "id" => any(&|v| id_match(v, text(r, "Id")))?,
            "name" => any(&|v| regex(v, text(r, "Name")))?,
            "label" => any(&|v| {
                Ok(match v.split_once('=') {
                    Some((lk, lv)) => r["Labels"][lk].as_str() == Some(lv),
                    None => r["Labels"].get(v).is_some(),
                })
            })?,
            "status" => {
                let valid = [
                    "stopped", "running", "paused", "exited", "dead", "created", "degraded",
                ];
                for v in &vals {
                    if !valid.contains(v) {
                        anyhow::bail!("{v} is not a valid status");
                    }
                }
                let s = text(r, "Status").to_ascii_lowercase();
                vals.contains(&s.as_str())
            }
            "ctr-names" => any(&|v| any_member(v, "Names", false))?,
            "ctr-ids" => any(&|v| any_member(v, "Id", true))?,
            "ctr-status" => any(&|v| Ok(members.iter().any(|c| text(c, "Status") == v)))?,
            "ctr-number" => any(&|v| {
                let n: usize = v.parse().map_err(|_| {
                    anyhow::anyhow!("invalid ctr-number filter {v:?}: give a number")
                })?;
                Ok(members.len() == n)
            })?,
            "network" => any(&|v| Ok(strings(&r["Networks"]).iter().any(|n| n == v)))?,
            other => anyhow::bail!("{other} is an invalid filter"),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn parse_filters(a: &PsArgs) -> anyhow::Result<Vec<(String, String)>> {
    let filters: Vec<(String, String)> = a
        .filter
        .iter()
        .map(|f| {
            f.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| anyhow::anyhow!("invalid filter {f:?}: expected KEY=VALUE"))
        })
        .collect::<Result<_, _>>()?;
    if !["created", "id", "name", "number", "status"].contains(&a.sort.as_str()) {
        anyhow::bail!(
            "invalid option for --sort, options are: created, id, name, number, or status"
        );
    }
    Ok(filters)
}

pub async fn ps(engine: &EngineConfig, a: &PsArgs) -> anyhow::Result<()> {
    parse_filters(a)?;
    let db = crate::state::open_state(engine)?;
    let mut reports = Vec::new();
    for pod in pods::list(&db)? {
        let members = pod_ops::refreshed(engine, &pod).await?;
        reports.push(report(&pod, &members));
    }
    print(a, reports)
}

/// The listing of `reports` (ListPodsReport each, oldest first) as `a`
/// asks: the local store's pods or a service's.
pub fn print(a: &PsArgs, reports: Vec<Value>) -> anyhow::Result<()> {
    let filters = parse_filters(a)?;
    let mut list = Vec::new();
    for r in reports {
        if matches(&filters, &r)? {
            list.push(r);
        }
    }
    if a.latest {
        list = list.pop().into_iter().collect();
    }
    match a.sort.as_str() {
        "id" => list.sort_by(|x, y| text(x, "Id").cmp(text(y, "Id"))),
        "name" => list.sort_by(|x, y| text(x, "Name").cmp(text(y, "Name"))),
        "number" => list.sort_by_key(|x| members_of(x).len()),
        "status" => list.sort_by(|x, y| text(x, "Status").cmp(text(y, "Status"))),
        _ => list.sort_by(|x, y| text(y, "Created").cmp(text(x, "Created"))),
    }
    if a.quiet {
        for r in &list {
            let id = text(r, "Id");
            println!(
                "{}",
                if a.no_trunc {
                    id.to_string()
                } else {
                    short(id)
                }
            );
        }
        return Ok(());
    }
    if a.format.as_deref().map(str::trim) == Some("json") {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    // `{{ .Label "key" }}`: each call reads a field of its own.
    let (label_format, label_keys) =
        crate::format::report::rewrite_label_calls(a.format.as_deref().unwrap_or_default());
    let rows: Vec<Value> = list
        .iter()
        .map(|r| {
            let mut v = row(r, a.no_trunc);
            for (i, key) in label_keys.iter().enumerate() {
                v[crate::format::report::label_field(i)] =
                    json!(r["Labels"][key].as_str().unwrap_or_default());
            }
            v
        })
        .collect();
    let headers: HashMap<&str, &str> = [
        ("ID", "POD ID"),
        ("InfraID", "INFRA ID"),
        ("NumberOfContainers", "# OF CONTAINERS"),
        ("ContainerIds", "IDS"),
        ("ContainerNames", "NAMES"),
        ("ContainerStatuses", "STATUS"),
    ]
    .into_iter()
    .collect();
    let format = match &a.format {
        Some(_) => label_format,
        None => {
            let mut cols = vec![
                "{{.ID}}",
                "{{.Name}}",
                "{{.Status}}",
                "{{.Created}}",
                "{{.InfraID}}",
            ];
            if a.ctr_ids {
                cols.push("{{.ContainerIds}}");
            }
            if a.ctr_names {
                cols.push("{{.ContainerNames}}");
            }
            if a.ctr_status {
                cols.push("{{.ContainerStatuses}}");
            }
            if a.namespace {
                cols.push("{{.Cgroup}}");
                cols.push("{{.Namespace}}");
            }
            if !a.ctr_ids && !a.ctr_names && !a.ctr_status {
                cols.push("{{.NumberOfContainers}}");
            }
            format!("table {}", cols.join("\t"))
        }
    };
    print!(
        "{}",
        crate::format::table::render_rows(&format, &rows, &headers, a.noheading)?
    );
    Ok(())
}

/// libpod's InspectPodData for one pod.
pub fn inspect_doc(pod: &PodConfig, members: &[Record]) -> Value {
    let statuses: Vec<_> = members.iter().map(|(_, s)| s.status).collect();
    let mut ports = serde_json::Map::new();
    for p in &pod.ports {
        for i in 0..p.range.max(1) {
            ports.insert(
                format!("{}/{}", p.container_port + i, p.protocol),
                json!([{"HostIp": p.host_ip, "HostPort": (p.host_port + i).to_string()}]),
            );
        }
    }
    let mut doc = json!({
        "Id": pod.id,
        "Name": pod.name,
        "Created": rfc3339(pod.created_ns),
        "CreateCommand": pod.create_command,
        "ExitPolicy": pod.exit_policy,
        "State": status_of(&statuses).as_str(),
        "Hostname": pod.hostname,
        "CreateCgroup": true,
        "CgroupParent": pod.cgroup_parent,
        "CgroupPath": pod.cgroup_parent,
        "CreateInfra": pod.infra,
        "SharedNamespaces": pod.share,
        "NumContainers": members.len(),
        "Containers": members.iter().map(|(c, s)| json!({
            "Id": c.id, "Name": c.name, "State": status_word(s),
        })).collect::<Vec<_>>(),
        "LockNumber": 0,
    });
    if !pod.labels.is_empty() {
        doc["Labels"] = json!(pod.labels);
    }
    // The pod's limits, under libpod's names (each only when set).
    let r = &pod.resources;
    let throttle = |l: &[crate::container::model::DeviceRate]| {
        l.iter()
            .map(|d| json!({"Path": d.path, "Rate": d.rate}))
            .collect::<Vec<_>>()
    };
    for (key, v) in [
        ("cpu_period", r.cpu_period.map(|v| json!(v))),
        ("cpu_quota", r.cpu_quota.map(|v| json!(v))),
        ("cpu_shares", r.cpu_shares.map(|v| json!(v))),
        (
            "cpuset_cpus",
            (!r.cpuset_cpus.is_empty()).then(|| json!(r.cpuset_cpus)),
        ),
        (
            "cpuset_mems",
            (!r.cpuset_mems.is_empty()).then(|| json!(r.cpuset_mems)),
        ),
        ("memory_limit", r.memory.map(|v| json!(v))),
        ("memory_swap", r.memory_swap.map(|v| json!(v))),
        ("blkio_weight", r.blkio_weight.map(|v| json!(v))),
        (
            "blkio_weight_device",
            (!r.blkio_weight_device.is_empty()).then(|| {
                json!(r
                    .blkio_weight_device
                    .iter()
                    .map(|d| json!({"Path": d.path, "Weight": d.weight}))
                    .collect::<Vec<_>>())
            }),
        ),
        (
            "device_read_bps",
            (!r.throttle_read_bps.is_empty()).then(|| json!(throttle(&r.throttle_read_bps))),
        ),
        (
            "device_write_bps",
            (!r.throttle_write_bps.is_empty()).then(|| json!(throttle(&r.throttle_write_bps))),
        ),
    ] {
        if let Some(v) = v {
            doc[key] = v;
        }
    }
    if !pod.restart_policy.is_empty() {
        doc["RestartPolicy"] = json!(pod.restart_policy);
    }
    if pod.infra {
        doc["InfraContainerID"] = json!(pod.infra_id);
        doc["InfraConfig"] = json!({
            "PortBindings": ports,
            "HostNetwork": pod.host_network,
            "StaticIP": "",
            "StaticMAC": "",
            "NoManageResolvConf": false,
            "DNSServer": pod.dns_servers,
            "DNSSearch": pod.dns_search,
            "DNSOption": pod.dns_options,
            "NoManageHostname": false,
            "NoManageHosts": false,
            "HostAdd": pod.add_hosts,
            "HostsFile": "",
            "Networks": networks(pod),
            "NetworkOptions": null,
            "pid_ns": if pod.shares("pid") { "pod" } else { "private" },
            "userns": "host",
            "uts_ns": if pod.shares("uts") { "pod" } else { "private" },
        });
    }
    doc
}

pub async fn inspect(engine: &EngineConfig, a: &InspectArgs) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    let mut names = a.pods.clone();
    if a.latest {
        if !names.is_empty() {
            anyhow::bail!("--latest and pods cannot be used together");
        }
        names.extend(pods::list(&db)?.pop().map(|p| p.id));
    }
    if names.is_empty() {
        anyhow::bail!("you must provide at least one name or id");
    }
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for n in &names {
        match pods::resolve(&db, n) {
            Ok(pod) => {
                let members = pod_ops::refreshed(engine, &pod).await?;
                docs.push(inspect_doc(&pod, &members));
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    crate::format::print_inspect(&docs, a.format.as_deref())?;
    if !errors.is_empty() {
        anyhow::bail!("{}", errors.join("; "));
    }
    Ok(())
}
