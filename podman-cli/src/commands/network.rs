//! `podman network create|ls|inspect|rm|prune|exists|connect|disconnect`.
//! net-setup owns the configurations and IPAM; podman knows which
//! containers use which network.

use std::collections::HashMap;

use clap::Args;
use proto::netsetup::v1::{
    CreateNetworkRequest, InspectNetworkRequest, LeaseRange, ListNetworksRequest, Network,
    NetworkExistsRequest, RemoveNetworkRequest, Subnet,
};
use serde_json::json;

use crate::container::model::NetworkAttachment;
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::error::ExitError;
use crate::helper_procs;

#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    pub name: Option<String>,
    /// Driver (bridge)
    #[arg(short, long, default_value = "bridge")]
    pub driver: String,
    /// Subnet in CIDR form (repeatable)
    #[arg(long)]
    pub subnet: Vec<String>,
    /// Gateway for the subnet (repeatable, in subnet order)
    #[arg(long)]
    pub gateway: Vec<String>,
    /// Allocate container IPs from this range (CIDR)
    #[arg(long)]
    pub ip_range: Vec<String>,
    /// Restrict external access from this network
    #[arg(long)]
    pub internal: bool,
    /// Enable IPv6
    #[arg(long)]
    pub ipv6: bool,
    /// Disable the network's DNS server
    #[arg(long)]
    pub disable_dns: bool,
    /// Labels (KEY=VALUE)
    #[arg(long)]
    pub label: Vec<String>,
    /// Driver options (mtu=..., isolate=...)
    #[arg(short, long = "opt")]
    pub opt: Vec<String>,
    /// Bridge interface name
    #[arg(long)]
    pub interface_name: Option<String>,
    /// Do not fail if the network exists
    #[arg(long)]
    pub ignore: bool,
}

#[derive(Debug, Clone, Args)]
pub struct LsArgs {
    /// Filter: name=, id=, driver=, label=
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Go template or json
    #[arg(long)]
    pub format: Option<String>,
    /// Print only network names
    #[arg(short, long)]
    pub quiet: bool,
    #[arg(short, long)]
    pub noheading: bool,
    #[arg(long)]
    pub no_trunc: bool,
}

#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    #[arg(required = true)]
    pub names: Vec<String>,
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct RmArgs {
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Remove the containers using the network too
    #[arg(short, long)]
    pub force: bool,
    /// Seconds to wait when stopping those containers; -1 (Podman's
    /// default): each container's own stop timeout
    #[arg(short = 't', long = "time", allow_negative_numbers = true)]
    pub time: Option<i64>,
}

#[derive(Debug, Clone, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Provide filter values (e.g. 'label=<key>=<value>')
    #[arg(long)]
    pub filter: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct NameArg {
    pub name: String,
}

#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    pub network: String,
    pub container: String,
    /// Network aliases
    #[arg(long)]
    pub alias: Vec<String>,
    /// Static IPv4 address
    #[arg(long)]
    pub ip: Option<String>,
    /// Static IPv6 address
    #[arg(long)]
    pub ip6: Option<String>,
    /// Static MAC address
    #[arg(long)]
    pub mac_address: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct DisconnectArgs {
    pub network: String,
    pub container: String,
    /// Force the container to disconnect from a network
    #[arg(short, long)]
    pub force: bool,
}

/// Podman's JSON for a network (netavark's config with a few extras).
pub fn network_json(n: &Network) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(&n.config_json).unwrap_or_else(|_| json!({}));
    if !v.is_object() {
        v = json!({});
    }
    v["name"] = json!(n.name);
    v["id"] = json!(n.id);
    v["driver"] = json!(n.driver);
    v["network_interface"] = json!(n.network_interface);
    v["created"] = json!(n.created);
    v["subnets"] = json!(n
        .subnets
        .iter()
        .map(|s| {
            let mut o = json!({"subnet": s.subnet, "gateway": s.gateway});
            if let Some(r) = &s.lease_range {
                o["lease_range"] = json!({"start_ip": r.start_ip, "end_ip": r.end_ip});
            }
            o
        })
        .collect::<Vec<_>>());
    v["ipv6_enabled"] = json!(n.ipv6_enabled);
    v["internal"] = json!(n.internal);
    v["dns_enabled"] = json!(n.dns_enabled);
    v["labels"] = json!(n.labels);
    v["options"] = json!(n.options);
    v["ipam_options"] = json!({"driver": "host-local"});
    v
}

fn pairs(list: &[String], flag: &str) -> anyhow::Result<HashMap<String, String>> {
    list.iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None if flag == "--label" => Ok((kv.clone(), String::new())),
            None => Err(anyhow::anyhow!("invalid {flag} {kv:?}: expected KEY=VALUE")),
        })
        .collect()
}

/// Containers (name, id) attached to network `name`.
pub fn users(engine: &EngineConfig, name: &str, id: &str) -> anyhow::Result<Vec<(String, String)>> {
    users_where(engine, name, id, false)
}

/// The containers on a network; with `running_only`, those whose network
/// is set up now (what `network inspect` lists, as Podman).
pub(crate) fn users_where(
    engine: &EngineConfig,
    name: &str,
    id: &str,
    running_only: bool,
) -> anyhow::Result<Vec<(String, String)>> {
    let db = crate::state::open_state(engine)?;
    Ok(store::list(&db)?
        .into_iter()
        .filter(|(_, st)| !running_only || (st.status.is_active() && !st.netns_path.is_empty()))
        .filter(|(c, _)| {
            c.networks
                .iter()
                .any(|n| n.name == name || (!id.is_empty() && n.name == id))
        })
        .map(|(c, _)| (c.name, c.id))
        .collect())
}

/// `network inspect`'s `containers`: each running container on network
/// `name`, by id, with its interfaces there (libpod's NetworkContainerInfo).
pub fn running_on(
    engine: &EngineConfig,
    name: &str,
) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let db = crate::state::open_state(engine)?;
    // Go maps, so keys in order (JSON objects keep insertion order).
    let mut out = std::collections::BTreeMap::new();
    for (c, st) in store::list(&db)? {
        if !st.status.is_active() || st.netns_path.is_empty() {
            continue;
        }
        if !c.networks.iter().any(|n| n.name == name) {
            continue;
        }
        let mut ifaces = std::collections::BTreeMap::new();
        for s in st.network_status.as_array().into_iter().flatten() {
            if s["network"] != name {
                continue;
            }
            let subnets: Vec<serde_json::Value> = s["addresses"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    let mut o = json!({"ipnet": a["address"]});
                    if a["gateway"].as_str().is_some_and(|g| !g.is_empty()) {
                        o["gateway"] = a["gateway"].clone();
                    }
                    o
                })
                .collect();
            let iface = s["interface"].as_str().unwrap_or("").to_string();
            ifaces.insert(iface, json!({"subnets": subnets, "mac_address": s["mac"]}));
        }
        out.insert(c.id, json!({"name": c.name, "interfaces": ifaces}));
    }
    Ok(out.into_iter().collect())
}

/// `podman network exists`: exit 0 or 1.
pub async fn exists(engine: &EngineConfig, a: &NameArg) -> anyhow::Result<()> {
    let mut net = helper_procs::net(engine).await?;
    let req = NetworkExistsRequest {
        name: a.name.clone(),
    };
    let r = net
        .call("NetworkExists", |mut c| async move {
            c.network_exists(req).await
        })
        .await;
    net.close().await?;
    if r?.exists {
        Ok(())
    } else {
        Err(ExitError {
            code: crate::error::EXIT_NO_SUCH_OBJECT,
            source: anyhow::anyhow!(""),
        }
        .into())
    }
}

pub async fn create(engine: &EngineConfig, a: &CreateArgs) -> anyhow::Result<()> {
    println!("{}", create_network(engine, a).await?.name);
    Ok(())
}

/// Create the network `a` describes; net-setup's answer.
pub async fn create_network(engine: &EngineConfig, a: &CreateArgs) -> anyhow::Result<Network> {
    if a.gateway.len() > a.subnet.len() || a.ip_range.len() > a.subnet.len() {
        anyhow::bail!("every --gateway and --ip-range needs a --subnet before it");
    }
    let subnets = a
        .subnet
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let lease_range = a.ip_range.get(i).map(|r| cidr_range(r)).transpose()?;
            Ok(Subnet {
                subnet: s.clone(),
                gateway: a.gateway.get(i).cloned().unwrap_or_default(),
                lease_range,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Checked here as libpod checks it, so the line reads as Podman's;
    // net-setup checks again, as it trusts no caller.
    if let Some(n) = a
        .name
        .as_deref()
        .filter(|n| !common::names::is_valid_name(n))
    {
        anyhow::bail!(
            "network name {n} invalid: {}",
            common::names::NAME_RULE_ERROR
        );
    }
    let req = CreateNetworkRequest {
        name: a.name.clone().unwrap_or_default(),
        driver: a.driver.clone(),
        network_interface: a.interface_name.clone().unwrap_or_default(),
        subnets,
        ipv6_enabled: a.ipv6,
        internal: a.internal,
        dns_enabled: Some(!a.disable_dns),
        labels: pairs(&a.label, "--label")?,
        options: pairs(&a.opt, "--opt")?,
        ignore_if_exists: a.ignore,
    };
    let mut net = helper_procs::net(engine).await?;
    let r = net
        .call("CreateNetwork", |mut c| async move {
            c.create_network(req).await
        })
        .await;
    net.close().await?;
    // What the user asked for is refused in Podman's words (net-setup
    // writes them), without the helper call around them.
    let r = r.map_err(|e| match e {
        proto::transport::TransportError::Call {
            code: proto::ErrorCode::AlreadyExists | proto::ErrorCode::InvalidArgument,
            message,
            ..
        } => anyhow::anyhow!(message),
        e => e.into(),
    })?;
    crate::events::network("create", &r.name, &r.id, &r.driver);
    Ok(r)
}

/// `10.89.0.128/25` -> its first and last host addresses.
fn cidr_range(cidr: &str) -> anyhow::Result<LeaseRange> {
    let bad = || {
        anyhow::anyhow!("invalid --ip-range {cidr:?}: expected an IPv4 CIDR such as 10.89.0.128/25")
    };
    let (ip, len) = cidr.split_once('/').ok_or_else(bad)?;
    let ip: std::net::Ipv4Addr = ip.parse().map_err(|_| bad())?;
    let len: u32 = len.parse().ok().filter(|l| *l <= 32).ok_or_else(bad)?;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let net = u32::from(ip) & mask;
    let last = net | !mask;
    let (start, end) = if len >= 31 {
        (net, last)
    } else {
        (net + 1, last - 1)
    };
    Ok(LeaseRange {
        start_ip: std::net::Ipv4Addr::from(start).to_string(),
        end_ip: std::net::Ipv4Addr::from(end).to_string(),
    })
}

pub async fn list(engine: &EngineConfig, filters: Vec<String>) -> anyhow::Result<Vec<Network>> {
    let mut net = helper_procs::net(engine).await?;
    let req = ListNetworksRequest { filters };
    let r = net
        .call(
            "ListNetworks",
            |mut c| async move { c.list_networks(req).await },
        )
        .await;
    net.close().await?;
    Ok(r?.networks)
}

pub async fn ls(engine: &EngineConfig, a: &LsArgs) -> anyhow::Result<()> {
    let nets = list(engine, a.filter.clone()).await?;
    print_ls(nets.iter().map(network_json).collect(), a)
}

/// `network ls` output from the networks' documents ([`network_json`]),
/// here or from a service.
pub fn print_ls(docs: Vec<serde_json::Value>, a: &LsArgs) -> anyhow::Result<()> {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    if a.quiet {
        for n in &docs {
            println!("{}", text(&n["name"]));
        }
        return Ok(());
    }
    if a.format.as_deref() == Some("json") {
        println!("{}", serde_json::to_string_pretty(&docs)?);
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = docs
        .iter()
        .map(|n| {
            let mut v = n.clone();
            // `id` is `.ID` in templates (Go field names).
            let id = text(&n["id"]);
            v["id"] = json!(if a.no_trunc {
                id
            } else {
                id.chars().take(12).collect()
            });
            v
        })
        .collect();
    let headers: HashMap<&str, &str> = [("ID", "NETWORK ID")].into_iter().collect();
    let out = crate::format::table::render_rows(
        a.format
            .as_deref()
            .unwrap_or("table {{.ID}}\t{{.Name}}\t{{.Driver}}"),
        &rows,
        &headers,
        a.noheading,
    )?;
    print!("{out}");
    Ok(())
}

pub async fn inspect(engine: &EngineConfig, a: &InspectArgs) -> anyhow::Result<()> {
    let mut net = helper_procs::net(engine).await?;
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for n in &a.names {
        let req = InspectNetworkRequest { name: n.clone() };
        match net
            .call("InspectNetwork", |mut c| async move {
                c.inspect_network(req).await
            })
            .await
        {
            Ok(nw) => {
                let mut v = network_json(&nw);
                v["containers"] = json!(running_on(engine, &nw.name)?);
                docs.push(v);
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    net.close().await?;
    crate::format::print_inspect(&docs, a.format.as_deref())?;
    if !errors.is_empty() {
        anyhow::bail!("{}", errors.join("; "));
    }
    Ok(())
}

pub async fn rm(engine: &EngineConfig, a: &RmArgs) -> anyhow::Result<()> {
    // A start that died may hold a lease on the network.
    crate::lifecycle::reconcile::pending(engine).await;
    let mut errors = Vec::new();
    for name in &a.names {
        let r = remove_network(
            engine,
            name,
            a.force,
            a.time.and_then(|t| u32::try_from(t).ok()),
        )
        .await
        .map(|removed| println!("{removed}"));
        if let Err(e) = r {
            // As Podman: --force makes a missing network no error.
            if a.force && crate::error::exit_code(&e) == crate::error::EXIT_NO_SUCH_OBJECT {
                continue;
            }
            errors.push(e);
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(crate::error::one_line)
                .collect::<Vec<_>>()
                .join("; ")
        )),
    }
}

/// Remove one network (`force`: its containers first, stopped within
/// `time`); the name removed.
pub async fn remove_network(
    engine: &EngineConfig,
    name: &str,
    force: bool,
    time: Option<u32>,
) -> anyhow::Result<String> {
    let mut net = helper_procs::net(engine).await?;
    let req = InspectNetworkRequest {
        name: name.to_string(),
    };
    let nw = net
        .call("InspectNetwork", |mut c| async move {
            c.inspect_network(req).await
        })
        .await;
    net.close().await?;
    let nw = nw.map_err(|e| no_such_network(name, e))?;
    let using = users(engine, &nw.name, &nw.id)?;
    if !using.is_empty() {
        if !force {
            return Err(ExitError {
                code: crate::error::EXIT_STATE_IMPROPER,
                source: anyhow::anyhow!(
                    "\"{}\" has associated containers with it ({}): use -f to forcibly delete containers and pods: network is being used",
                    nw.name,
                    using.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                ),
            }
            .into());
        }
        for (_, id) in &using {
            crate::lifecycle::remove::remove_with_timeout(engine, id, true, time).await?;
        }
    }
    let mut net = helper_procs::net(engine).await?;
    let req = RemoveNetworkRequest {
        name: nw.name.clone(),
        force,
    };
    let r = net
        .call("RemoveNetwork", |mut c| async move {
            c.remove_network(req).await
        })
        .await;
    net.close().await?;
    // Another `network rm` may have removed it since the lookup.
    let removed = r.map_err(|e| no_such_network(name, e))?.name;
    crate::events::network("remove", &nw.name, &nw.id, &nw.driver);
    Ok(removed)
}

/// Podman's error, and exit code 1, for `network rm` of a network that
/// does not exist (or no longer does); other failures as they are.
fn no_such_network(name: &str, e: proto::transport::TransportError) -> anyhow::Error {
    if e.code() == Some(proto::ErrorCode::NotFound) {
        return ExitError {
            code: crate::error::EXIT_NO_SUCH_OBJECT,
            source: anyhow::anyhow!(
                "unable to find network with name or ID {name}: network not found"
            ),
        }
        .into();
    }
    e.into()
}

pub async fn prune(engine: &EngineConfig, a: &PruneArgs) -> anyhow::Result<()> {
    prune_filters(&a.filter)?;
    if !a.force
        && !super::prompt::confirm(
            "WARNING! This will remove all networks not used by at least one container.\nAre you sure you want to continue? [y/N] ",
        )?
    {
        return Ok(());
    }
    for name in prune_networks_matching(engine, &a.filter).await? {
        println!("{name}");
    }
    Ok(())
}

/// Remove every network but the default one that no container uses;
/// returns their names.
pub async fn prune_networks(engine: &EngineConfig) -> anyhow::Result<Vec<String>> {
    prune_networks_matching(engine, &[]).await
}

/// The filters network prune takes (Podman's): `label=` (matched by
/// net-setup's list) and `until=` (the network's creation time); the
/// `until` bound in nanoseconds, if given.
fn prune_filters(filters: &[String]) -> anyhow::Result<(Vec<String>, Option<i64>)> {
    let mut labels = Vec::new();
    let mut until = None;
    for f in filters {
        match f.split_once('=') {
            Some(("label", _)) => labels.push(f.clone()),
            Some(("until", v)) => {
                until = Some(crate::timestamp::go_timestamp_ns(
                    v,
                    common::time::now_nanos(),
                )?)
            }
            _ => {
                let key = f.split_once('=').map_or(f.as_str(), |(k, _)| k);
                anyhow::bail!("{key} is an invalid filter for network prune: use label= or until=")
            }
        }
    }
    Ok((labels, until))
}

/// [`prune_networks`] of the networks `filters` select.
pub async fn prune_networks_matching(
    engine: &EngineConfig,
    filters: &[String],
) -> anyhow::Result<Vec<String>> {
    let (labels, until) = prune_filters(filters)?;
    let mut removed = Vec::new();
    for n in list(engine, labels).await? {
        if n.is_default || n.name == "podman" || !users(engine, &n.name, &n.id)?.is_empty() {
            continue;
        }
        if let Some(until) = until {
            // Made at or after the bound: kept (unknown times are kept too).
            match common::time::parse_rfc3339(&n.created) {
                Ok(t) if t < until => {}
                _ => continue,
            }
        }
        let mut net = helper_procs::net(engine).await?;
        let req = RemoveNetworkRequest {
            name: n.name.clone(),
            force: false,
        };
        let r = net
            .call("RemoveNetwork", |mut c| async move {
                c.remove_network(req).await
            })
            .await;
        net.close().await?;
        r?;
        crate::events::network("remove", &n.name, &n.id, &n.driver);
        removed.push(n.name);
    }
    Ok(removed)
}

pub async fn connect(engine: &EngineConfig, a: &ConnectArgs) -> anyhow::Result<()> {
    let att = NetworkAttachment {
        name: a.network.clone(),
        aliases: a.alias.clone(),
        static_ip: a.ip.clone(),
        static_ip6: a.ip6.clone(),
        static_mac: a.mac_address.clone(),
        ..Default::default()
    };
    crate::lifecycle::network::connect(engine, &a.container, att).await
}

pub async fn disconnect(engine: &EngineConfig, a: &DisconnectArgs) -> anyhow::Result<()> {
    crate::lifecycle::network::disconnect(engine, &a.container, &a.network, a.force).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn ip_ranges_become_lease_ranges() {
        let r = super::cidr_range("10.89.0.128/25").unwrap();
        assert_eq!(
            (r.start_ip.as_str(), r.end_ip.as_str()),
            ("10.89.0.129", "10.89.0.254")
        );
        assert!(super::cidr_range("10.89.0.0").is_err());
    }
}
