//! A container's network namespace: none, host, another container's, or
//! bridge networks set up by net-setup (netns created first, then veths,
//! addresses, firewall rules and DNS records). Teardown tries every step.

use proto::netsetup::v1::{
    CreateNetnsRequest, PerNetworkOptions, PortMapping, RemoveNetnsRequest, SetupRequest,
    TeardownRequest,
};

use super::paths::ContainerPaths;
use crate::container::model::{ContainerConfig, ContainerState, NetworkMode};
use crate::engine_config::EngineConfig;
use crate::helper_procs;
use crate::spec::NetNs;

/// What setup produced.
pub struct NetResult {
    pub netns: NetNs,
    pub ips: Vec<String>,
    pub dns: Vec<String>,
    pub status: serde_json::Value,
    pub netns_path: String,
    /// The user namespace owning a netns made inside the container's own
    /// user namespace ([`super::userns_netns`]), held until the container
    /// has joined it.
    pub userns: Option<super::userns_netns::OwningUserns>,
}

pub(super) fn per_network(cfg: &ContainerConfig) -> Vec<PerNetworkOptions> {
    cfg.networks
        .iter()
        .enumerate()
        .map(|(i, n)| PerNetworkOptions {
            name: n.name.clone(),
            interface_name: if n.interface_name.is_empty() {
                format!("eth{i}")
            } else {
                n.interface_name.clone()
            },
            static_ips: n
                .static_ip
                .iter()
                .chain(n.static_ip6.iter())
                .cloned()
                .collect(),
            static_mac: n.static_mac.clone().unwrap_or_default(),
            aliases: cfg.network_aliases(&n.aliases),
        })
        .collect()
}

pub(super) fn port_mappings(cfg: &ContainerConfig) -> Vec<PortMapping> {
    cfg.ports
        .iter()
        .map(|p| PortMapping {
            host_ip: p.host_ip.clone(),
            host_port: p.host_port as u32,
            container_port: p.container_port as u32,
            protocol: p.protocol.clone(),
            range: p.range as u32,
        })
        .collect()
}

/// What setup reported, as podman keeps it in the container's state.
pub(super) fn status_json(r: &proto::netsetup::v1::SetupResponse) -> serde_json::Value {
    serde_json::json!(r
        .networks
        .iter()
        .map(|n| serde_json::json!({
            "network": n.network, "network_id": n.network_id, "interface": n.interface_name, "mac": n.mac_address, "bridge": n.bridge,
            "dns_server_ips": n.dns_server_ips,
            "addresses": n.addresses.iter().map(|a| serde_json::json!({"address": a.address, "gateway": a.gateway})).collect::<Vec<_>>(),
        }))
        .collect::<Vec<_>>())
}

/// Where the networks' DNS servers forward this container's other names:
/// containers.conf `dns_servers` then `--dns` (without `none`), as libpod
/// hands them to netavark; empty: the host's resolvers.
fn upstream_dns(engine: &EngineConfig, cfg: &ContainerConfig) -> Vec<String> {
    engine
        .containers
        .containers
        .dns_servers
        .iter()
        .chain(cfg.dns_servers.iter())
        .filter(|s| *s != "none")
        .cloned()
        .collect()
}

pub fn netns_path(cfg: &EngineConfig, id: &str) -> String {
    cfg.run_root
        .join("netns")
        .join(format!("netns-{id}"))
        .display()
        .to_string()
}

/// The mappings of a container that gets a user namespace of its own (not
/// one it joins): its netns is made inside it.
pub(super) fn own_userns(cfg: &ContainerConfig) -> Option<&crate::container::idmap::IdMappings> {
    let mode = &cfg.extra.userns;
    if mode.starts_with("ns:") || mode.starts_with("container:") {
        return None;
    }
    cfg.extra.idmap.as_ref()
}

pub async fn setup(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    _paths: &ContainerPaths,
) -> anyhow::Result<NetResult> {
    match &cfg.network_mode {
        NetworkMode::None => Ok(NetResult {
            netns: NetNs::New,
            ips: vec![],
            dns: vec![],
            status: serde_json::Value::Null,
            netns_path: String::new(),
            userns: None,
        }),
        NetworkMode::Host => Ok(NetResult {
            netns: NetNs::Host,
            ips: vec![],
            dns: vec![],
            status: serde_json::Value::Null,
            netns_path: String::new(),
            userns: None,
        }),
        NetworkMode::Container(other) => {
            let db = crate::state::open_state(engine)?;
            let (oc, os) = crate::container::store::resolve(&db, other)?;
            if !os.status.is_active() || os.pid <= 0 {
                anyhow::bail!(
                    "container {} is not running: start it before joining its network namespace",
                    oc.name
                );
            }
            // Joining a container on the host's network is the host's
            // network (no net.* sysctls, the host's names).
            let netns = if oc.network_mode == NetworkMode::Host {
                NetNs::Host
            } else if os.netns_path.is_empty() {
                NetNs::Path(format!("/proc/{}/ns/net", os.pid))
            } else {
                NetNs::Path(os.netns_path.clone())
            };
            Ok(NetResult {
                netns,
                ips: vec![],
                dns: vec![],
                status: serde_json::Value::Null,
                netns_path: String::new(),
                userns: None,
            })
        }
        NetworkMode::Path(p) => {
            if !std::path::Path::new(p).exists() {
                anyhow::bail!("cannot find specified network namespace path {p:?}: create it first (ip netns add NAME makes /run/netns/NAME)");
            }
            Ok(NetResult {
                netns: NetNs::Path(p.clone()),
                ips: vec![],
                dns: vec![],
                status: serde_json::Value::Null,
                netns_path: String::new(),
                userns: None,
            })
        }
        NetworkMode::Slirp4netns(_) | NetworkMode::Pasta(_) => {
            let (tool, opts) = cfg.network_mode.user_mode_tool().unwrap_or(("", &[]));
            super::usernet::setup(engine, cfg, tool, opts).await
        }
        NetworkMode::Bridge => {
            let path = netns_path(engine, &cfg.id);
            let mut net = helper_procs::net(engine).await?;
            let mut userns = None;
            let result = async {
                match own_userns(cfg) {
                    Some(m) => {
                        userns = Some(super::userns_netns::create(std::path::Path::new(&path), m)?)
                    }
                    None => {
                        let req = CreateNetnsRequest { path: path.clone() };
                        net.call(
                            "CreateNetns",
                            |mut c| async move { c.create_netns(req).await },
                        )
                        .await?;
                    }
                }
                crate::kill_point::reached("net-after-netns");
                let req = SetupRequest {
                    container_id: cfg.id.clone(),
                    container_name: cfg.name.clone(),
                    netns_path: path.clone(),
                    networks: per_network(cfg),
                    port_mappings: port_mappings(cfg),
                    dns_servers: upstream_dns(engine, cfg),
                    add_networks: false,
                    ports_reserved: super::port_reserve::holds_ports(engine, cfg),
                };
                match net
                    .call("Setup", |mut c| async move { c.setup(req).await })
                    .await
                {
                    Ok(r) => Ok(r),
                    Err(e) => {
                        let req = RemoveNetnsRequest { path: path.clone() };
                        let _ = net
                            .call(
                                "RemoveNetns",
                                |mut c| async move { c.remove_netns(req).await },
                            )
                            .await;
                        Err(anyhow::Error::from(e))
                    }
                }
            }
            .await;
            net.close().await?;
            let r = result?;
            let ips: Vec<String> = r
                .networks
                .iter()
                .flat_map(|n| {
                    n.addresses
                        .iter()
                        .map(|a| a.address.split('/').next().unwrap_or("").to_string())
                })
                .collect();
            let dns: Vec<String> = r
                .networks
                .iter()
                .flat_map(|n| n.dns_server_ips.iter().cloned())
                .collect();
            let status = status_json(&r);
            Ok(NetResult {
                netns: NetNs::Path(path.clone()),
                ips,
                dns,
                status,
                netns_path: path,
                userns,
            })
        }
    }
}

/// Undo setup; every step is tried and every error reported.
pub async fn teardown(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    st: &ContainerState,
) -> anyhow::Result<()> {
    if cfg.network_mode.user_mode_tool().is_some() {
        return super::usernet::teardown(engine, &cfg.id, &st.netns_path)
            .await
            .map_err(|e| anyhow::anyhow!("tearing down the network of {}: {e}", cfg.name));
    }
    if cfg.network_mode != NetworkMode::Bridge || st.netns_path.is_empty() {
        return Ok(());
    }
    let mut net = helper_procs::net(engine).await?;
    // The netns goes in the same call: with no process left in it, its
    // veths go with it, deleted by the kernel after this returns.
    let req = TeardownRequest {
        container_id: cfg.id.clone(),
        netns_path: st.netns_path.clone(),
        networks: per_network(cfg),
        port_mappings: port_mappings(cfg),
        only_listed: false,
        remove_netns: true,
    };
    let r = net
        .call("Teardown", |mut c| async move { c.teardown(req).await })
        .await;
    crate::kill_point::reached("net-teardown-after-teardown");
    net.close().await?;
    r.map_err(|e| anyhow::anyhow!("tearing down the network of {}: {e}", cfg.name))?;
    Ok(())
}

pub use super::net_connect::{connect, disconnect};
