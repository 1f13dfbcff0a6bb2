//! Setup: validate everything before touching anything, then apply (IPAM,
//! record, bridge, veth, addresses and routes in the netns, firewall, DNS);
//! if a step fails, undo what was done by running the teardown for the
//! container, and report the first error with any rollback problems.

use std::fs::File;
use std::net::IpAddr;

use ipnet::IpNet;
use std::path::PathBuf;
use std::time::Instant;

use tracing::debug;

use crate::context::Ctx;
use crate::dns;
use crate::error::{NetError, Result};
use crate::ipam::{self, Lease};
use crate::netlink::Netlink;
use crate::network_config::{self as nc, Network};
use crate::ports::{self, PortForward};
use crate::records::{self, Attachment, ContainerRecord};
use crate::sysctl;
use crate::types::{IpAddress, NetworkStatus, SetupRequest, SetupResult};
use common::file_lock::FileLock;

struct PlannedNet {
    net: Network,
    ifname: String,
    /// No interface name was asked for: `eth<position>`.
    default_ifname: bool,
    static_ips: Vec<IpAddr>,
    static_mac: Option<String>,
    aliases: Vec<String>,
}

struct Plan {
    container: String,
    name: String,
    netns_path: PathBuf,
    netns: File,
    nets: Vec<PlannedNet>,
    forwards: Vec<PortForward>,
    /// `--dns`: where the networks' DNS servers forward this container's queries.
    upstreams: Vec<IpAddr>,
}

pub async fn setup(ctx: &Ctx, req: SetupRequest) -> Result<SetupResult> {
    let started = Instant::now();
    let mut plan = validate(ctx, &req)?;
    debug!(container = %plan.container, elapsed_ms = started.elapsed().as_millis() as u64, "setup: validated");
    let lock = ctx.setup_lock().await?;
    let records = ctx.records();
    let base = match records.get(&plan.container)? {
        Some(r) if req.add_networks && r.complete => {
            add_to(&mut plan, &r)?;
            Some(r)
        }
        Some(r) => {
            let what = if r.complete {
                "is already set up"
            } else {
                "has a half-done setup (its setup was interrupted)"
            };
            return Err(NetError::AlreadyExists(format!(
                "network of container {} {what}: run teardown for it first",
                ipam::short(&plan.container)
            )));
        }
        None if req.add_networks => {
            return Err(NetError::FailedPrecondition(format!(
                "network of container {} is not set up: set it up before adding networks",
                ipam::short(&plan.container)
            )))
        }
        None => None,
    };
    let others: Vec<(String, Vec<PortForward>)> = records
        .all()?
        .into_iter()
        .map(|r| (r.container_id, r.forwards))
        .collect();
    ports::check_against(&plan.forwards, &others)?;
    for p in &plan.nets {
        for ip in &p.static_ips {
            ctx.ipam().check_static(&p.net, &plan.container, *ip)?;
        }
    }
    // A caller that holds the ports (bound sockets) would only find
    // its own reservation.
    if !req.ports_reserved {
        ports::check_host_free(&plan.forwards)?;
    }
    debug!(container = %plan.container, elapsed_ms = started.elapsed().as_millis() as u64, "setup: ports checked");
    match apply(ctx, &plan, &lock, started, base.as_ref()).await {
        Ok(res) => {
            debug!(container = %plan.container, elapsed_ms = started.elapsed().as_millis() as u64, "setup: done");
            Ok(res)
        }
        Err(e) => {
            debug!(container = %plan.container, error = %e, "setup failed; rolling back");
            let names: Vec<String> = plan.nets.iter().map(|p| p.net.name.clone()).collect();
            let rollback_errors = crate::teardown::teardown_locked(
                ctx,
                &lock,
                &plan.container,
                &names,
                base.is_some(),
                crate::teardown::Veths::Delete,
            )
            .await;
            Err(NetError::SetupFailed {
                error: Box::new(e),
                rollback_errors,
            })
        }
    }
}

/// `network connect`: the planned networks join `base`'s. A network it is
/// on already is refused; unnamed interfaces take the next free ethN.
fn add_to(plan: &mut Plan, base: &ContainerRecord) -> Result<()> {
    if !plan.forwards.is_empty() {
        return Err(NetError::InvalidArgument(
            "adding networks keeps the container's port mappings: send none".into(),
        ));
    }
    let mut used: Vec<String> = base
        .attachments
        .iter()
        .map(|a| a.interface_name.clone())
        .collect();
    for p in plan.nets.iter().filter(|p| !p.default_ifname) {
        used.push(p.ifname.clone());
    }
    for p in &mut plan.nets {
        if base.attachments.iter().any(|a| a.network == p.net.name) {
            return Err(NetError::AlreadyExists(format!(
                "container {} is already attached to network {}",
                ipam::short(&plan.container),
                p.net.name
            )));
        }
        if p.default_ifname {
            let free = (0..).map(|i| format!("eth{i}")).find(|n| !used.contains(n));
            p.ifname = free.unwrap_or_default();
            used.push(p.ifname.clone());
        } else if base
            .attachments
            .iter()
            .any(|a| a.interface_name == p.ifname)
        {
            return Err(NetError::AlreadyExists(format!(
                "interface {} exists in container {}: give the network another interface name",
                p.ifname,
                ipam::short(&plan.container)
            )));
        }
    }
    Ok(())
}

fn validate(ctx: &Ctx, req: &SetupRequest) -> Result<Plan> {
    records::validate_container_id(&req.container_id)?;
    if !req.container_name.is_empty() {
        validate_dns_name("container name", &req.container_name)?;
    }
    if req.netns_path.is_empty() {
        return Err(NetError::InvalidArgument(
            "netns path is empty: pass the container's network namespace (--netns)".into(),
        ));
    }
    let netns_path = PathBuf::from(&req.netns_path);
    let netns = crate::netns::open(&netns_path)?;
    let configs = ctx.configs();
    let mut nets: Vec<PlannedNet> = Vec::new();
    for (i, a) in req.networks.iter().enumerate() {
        if a.name.is_empty() {
            return Err(NetError::InvalidArgument(format!(
                "network #{} has no name",
                i + 1
            )));
        }
        let net = configs.find(&a.name)?;
        if nets.iter().any(|p| p.net.name == net.name) {
            return Err(NetError::InvalidArgument(format!(
                "network {} is given twice: attach it once",
                net.name
            )));
        }
        let ifname = if a.interface_name.is_empty() {
            format!("eth{i}")
        } else {
            a.interface_name.clone()
        };
        nc::validate_ifname("container interface name", &ifname)?;
        if ifname == "lo" || nets.iter().any(|p| p.ifname == ifname) {
            return Err(NetError::InvalidArgument(format!(
                "interface name {ifname} is used twice: give each network its own"
            )));
        }
        let mut static_ips = Vec::new();
        for s in &a.static_ips {
            let ip = crate::subnet::parse_ip("static IP", s)?;
            if !net.subnets.iter().any(|sub| sub.subnet.contains(&ip)) {
                let subnets: Vec<String> =
                    net.subnets.iter().map(|s| s.subnet.to_string()).collect();
                return Err(NetError::InvalidArgument(format!(
                    "requested IP {ip} is not in any subnet of network {} ({}): choose an address inside it",
                    net.name,
                    subnets.join(", ")
                )));
            }
            static_ips.push(ip);
        }
        let static_mac = match a.static_mac.trim() {
            "" => None,
            m => Some(ipam::normalize_mac(m)?),
        };
        for alias in &a.aliases {
            validate_dns_name("network alias", alias)?;
        }
        nets.push(PlannedNet {
            net,
            default_ifname: a.interface_name.is_empty(),
            ifname,
            static_ips,
            static_mac,
            aliases: a.aliases.clone(),
        });
    }
    let forwards = ports::validate(&req.port_mappings)?;
    if !forwards.is_empty() {
        if !nets.iter().any(|p| !p.net.internal) {
            return Err(NetError::InvalidArgument(
                "publishing ports needs a network that is not internal: attach one or drop the port mappings".into(),
            ));
        }
        if matches!(ctx.firewall, crate::firewall::Firewall::None) {
            return Err(NetError::FailedPrecondition(
                "publishing ports needs nftables or iptables: install nftables".into(),
            ));
        }
    }
    let upstreams = req
        .dns_servers
        .iter()
        .map(|s| {
            s.parse::<IpAddr>().map_err(|_| {
                NetError::InvalidArgument(format!("dns server {s:?} is not an IP address"))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Plan {
        upstreams,
        container: req.container_id.clone(),
        name: req.container_name.clone(),
        netns_path,
        netns,
        nets,
        forwards,
    })
}

fn validate_dns_name(what: &str, n: &str) -> Result<()> {
    let ok = !n.is_empty()
        && n.len() <= 253
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !n.starts_with(['.', '-']);
    if !ok {
        return Err(NetError::InvalidArgument(format!(
            "{what} {n:?} is not usable as a DNS name: use letters, digits, '-', '_' and '.'"
        )));
    }
    Ok(())
}

async fn apply(
    ctx: &Ctx,
    plan: &Plan,
    lock: &FileLock,
    started: Instant,
    base: Option<&ContainerRecord>,
) -> Result<SetupResult> {
    let ms = || started.elapsed().as_millis() as u64;
    // 1. Addresses and MACs.
    let mut atts: Vec<Attachment> = Vec::new();
    let mut leases: Vec<Lease> = Vec::new();
    for p in &plan.nets {
        let lease = ctx.ipam().allocate(
            &p.net,
            &plan.container,
            &p.static_ips,
            p.static_mac.as_deref(),
        )?;
        let mut a = Attachment::new(
            &p.net,
            &p.ifname,
            &records::host_veth_name(&plan.container, &p.net.name),
        );
        a.ips = lease.ips.clone();
        a.mac = lease.mac.clone();
        a.aliases = p.aliases.clone();
        atts.push(a);
        leases.push(lease);
    }
    debug!(container = %plan.container, elapsed_ms = ms(), "setup: addresses allocated");
    // 2. The record, before the kernel is touched: teardown finds all of it.
    // Adding networks: the container's others stay as they are.
    let first = base.map_or(0, |b| b.attachments.len());
    let mut record = match base {
        Some(b) => {
            let mut r = b.clone();
            r.complete = false;
            r.attachments.extend(atts);
            r
        }
        None => ContainerRecord {
            container_id: plan.container.clone(),
            container_name: plan.name.clone(),
            netns_path: plan.netns_path.display().to_string(),
            complete: false,
            attachments: atts,
            forwards: plan.forwards.clone(),
        },
    };
    ctx.records().put(&record)?;
    // 3. Host side: forwarding, bridges, veths.
    if plan.nets.iter().any(|p| !p.net.internal) {
        sysctl::enable_ipv4_forwarding()?;
        if plan
            .nets
            .iter()
            .any(|p| !p.net.internal && p.net.subnets.iter().any(|s| s.subnet.addr().is_ipv6()))
        {
            sysctl::enable_ipv6_forwarding()?;
        }
    }
    let host = Netlink::host()?;
    for (p, a) in plan.nets.iter().zip(&record.attachments[first..]) {
        // Recorded before the bridge is made: `network rm` finds it.
        ctx.active().put(&p.net)?;
        let bridge = ensure_bridge(&host, &p.net).await?;
        // The container's mappings (a connected network inherits them)
        // reach it from the host's loopback through this bridge.
        if !record.forwards.is_empty() && !p.net.internal {
            sysctl::enable_route_localnet(&p.net.network_interface)?;
        }
        let mac = ipam::parse_mac(&a.mac)?;
        let create = || {
            host.create_veth(
                &a.host_veth,
                bridge,
                p.net.mtu(),
                &a.interface_name,
                mac,
                &plan.netns,
            )
        };
        match create().await {
            Err(NetError::AlreadyExists(_)) if remove_stale_veth(&host, &a.host_veth).await? => {
                create().await?
            }
            r => r?,
        }
    }
    debug!(container = %plan.container, elapsed_ms = ms(), "setup: bridges and veths ready");
    // 4. Container side: loopback, addresses, routes.
    let inner = Netlink::in_netns(&plan.netns)?;
    if let Some(lo) = inner.link("lo").await? {
        inner.set_up(lo.index).await?;
    }
    // A container that has a default route keeps it.
    let mut default_route_done = base.is_some_and(|b| {
        b.attachments
            .iter()
            .any(|a| !a.internal && !a.gateways.is_empty())
    });
    for (p, a) in plan.nets.iter().zip(&record.attachments[first..]) {
        let link = inner.link(&a.interface_name).await?.ok_or_else(|| {
            NetError::netlink(
                format!("interface {} in the container", a.interface_name),
                "missing after creation",
            )
        })?;
        for ip in &a.ips {
            inner.ensure_address(link.index, *ip).await?;
        }
        inner.set_up(link.index).await?;
        if !p.net.internal && !p.net.no_default_route() && !default_route_done {
            for s in &p.net.subnets {
                inner.add_default_route(s.gateway(), p.net.metric()).await?;
            }
            default_route_done = true;
        }
    }
    debug!(container = %plan.container, elapsed_ms = ms(), "setup: container interfaces configured");
    // 5. Firewall (every record, this one included).
    ctx.apply_firewall(lock, false).await?;
    debug!(container = %plan.container, elapsed_ms = ms(), "setup: firewall applied");
    // 6. DNS.
    let store = ctx.dns();
    for (p, a) in plan.nets.iter().zip(&record.attachments[first..]) {
        if !p.net.dns_enabled {
            continue;
        }
        let mut names: Vec<String> = Vec::new();
        if !plan.name.is_empty() {
            names.push(plan.name.clone());
        }
        names.extend(a.aliases.iter().cloned());
        let ips = a.ips.iter().map(|n| n.addr()).collect();
        let upstreams = plan.upstreams.clone();
        store.add(
            &p.net.name,
            &plan.container,
            dns::Entry {
                names,
                ips,
                upstreams,
            },
        )?;
        dns::process::ensure_running(
            &store,
            &p.net.name,
            &a.gateways,
            &a.subnets,
            ctx.dns_port,
            lock,
        )
        .await?;
    }
    debug!(container = %plan.container, elapsed_ms = ms(), "setup: dns ready");
    record.complete = true;
    ctx.records().put(&record)?;
    Ok(result(&record.attachments[first..], plan))
}

/// A veth of this container's host name left by its last teardown: its
/// namespace was released and the kernel has not deleted it yet (or a
/// process still holds that namespace). The name is the container's own
/// and the container has no record, so the link is stale: it goes now.
/// True when there was one (a veth) to delete.
async fn remove_stale_veth(host: &Netlink, name: &str) -> Result<bool> {
    match host.link(name).await? {
        Some(l) if l.kind == Some(netlink_packet_route::link::InfoKind::Veth) => {
            debug!(
                veth = name,
                "deleting the stale veth of this container's last run"
            );
            host.delete_link(name).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// The bridge's index, creating it (with its gateway addresses, up) if needed.
async fn ensure_bridge(nl: &Netlink, net: &Network) -> Result<u32> {
    let name = &net.network_interface;
    let index = match nl.link(name).await? {
        Some(l) if l.kind != Some(netlink_packet_route::link::InfoKind::Bridge) => {
            return Err(NetError::AlreadyExists(format!(
                "interface {name} exists and is not a bridge: remove it or give network {} another interface",
                net.name
            )))
        }
        Some(l) => l.index,
        None => nl.create_bridge(name, net.mtu(), ipam::parse_mac(&ipam::generate_mac()?)?).await?,
    };
    let all = nl.all_addresses().await?;
    let have: Vec<IpNet> = all
        .iter()
        .filter(|(i, _)| *i == index)
        .map(|(_, a)| *a)
        .collect();
    for s in &net.subnets {
        let gw = s.gateway_net();
        if !have.contains(&gw) {
            nl.ensure_address(index, gw).await?;
        }
    }
    nl.set_up(index).await?;
    for (other, addr, subnet) in subnet_clashes(net, index, &all) {
        let link = nl
            .link_name(other)
            .await?
            .unwrap_or_else(|| format!("#{other}"));
        tracing::warn!("{}", clash_warning(net, subnet, &link, addr));
    }
    Ok(index)
}

/// Addresses on links other than the bridge `bridge` that overlap a
/// subnet of `net` (another tool's bridge, e.g. CNI's `cni-podman0` on
/// 10.88.0.0/16): the host routes the subnet through one of them only.
fn subnet_clashes(net: &Network, bridge: u32, addrs: &[(u32, IpNet)]) -> Vec<(u32, IpNet, IpNet)> {
    let mut out = Vec::new();
    for s in &net.subnets {
        for (i, a) in addrs {
            let theirs = a.trunc();
            if *i != bridge && (s.subnet.contains(&theirs) || theirs.contains(&s.subnet)) {
                out.push((*i, *a, s.subnet));
            }
        }
    }
    out
}

fn clash_warning(net: &Network, subnet: IpNet, link: &str, addr: IpNet) -> String {
    format!(
        "network {}: subnet {subnet} is also on interface {link} ({addr}), so the host may route \
         the containers' traffic through {link} and not bridge {}: remove {link} if nothing uses it \
         (ip link delete {link}), or give network {} another subnet",
        net.name, net.network_interface, net.name
    )
}

fn result(attachments: &[Attachment], plan: &Plan) -> SetupResult {
    let networks = attachments
        .iter()
        .zip(&plan.nets)
        .map(|(a, p)| NetworkStatus {
            network: a.network.clone(),
            network_id: p.net.id.clone(),
            interface_name: a.interface_name.clone(),
            addresses: a
                .ips
                .iter()
                .map(|ip| IpAddress {
                    address: ip.to_string(),
                    gateway: a
                        .gateways
                        .iter()
                        .find(|g| g.is_ipv4() == ip.addr().is_ipv4())
                        .map(|g| g.to_string())
                        .unwrap_or_default(),
                })
                .collect(),
            mac_address: a.mac.clone(),
            host_interface: a.host_veth.clone(),
            bridge: a.bridge.clone(),
            dns_server_ips: if p.net.dns_enabled {
                a.gateways.iter().map(|g| g.to_string()).collect()
            } else {
                vec![]
            },
            dns_search_domains: if p.net.dns_enabled {
                vec![nc::DNS_DOMAIN.to_string()]
            } else {
                vec![]
            },
        })
        .collect();
    SetupResult { networks }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_links_address_in_the_subnet_is_a_clash() {
        let mut net = Network::default_network();
        net.name = "podman".into();
        net.network_interface = "podman0".into();
        let subnet: IpNet = "10.88.0.0/16".parse().unwrap();
        let addrs: Vec<(u32, IpNet)> = vec![
            (7, "10.88.0.1/16".parse().unwrap()),    // our bridge
            (9, "10.88.0.1/16".parse().unwrap()),    // cni-podman0
            (3, "10.88.5.1/24".parse().unwrap()),    // inside the subnet
            (4, "10.0.0.0/8".parse().unwrap()),      // around it
            (5, "192.168.1.10/24".parse().unwrap()), // elsewhere
        ];
        net.subnets = vec![crate::network_config::Subnet {
            subnet,
            gateway: None,
            lease_range: None,
        }];
        let got: Vec<u32> = subnet_clashes(&net, 7, &addrs)
            .iter()
            .map(|c| c.0)
            .collect();
        assert_eq!(got, [9, 3, 4]);
        let w = clash_warning(&net, subnet, "cni-podman0", addrs[1].1);
        assert!(!w.contains('\n'), "one line: {w}");
        assert!(
            w.contains("subnet 10.88.0.0/16 is also on interface cni-podman0 (10.88.0.1/16)")
                && w.contains("ip link delete cni-podman0")
                && w.contains("give network podman another subnet"),
            "{w}"
        );
    }
}
