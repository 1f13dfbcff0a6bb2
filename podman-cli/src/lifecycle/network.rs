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

fn per_network(cfg: &ContainerConfig) -> Vec<PerNetworkOptions> {
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
            aliases: n.aliases.clone(),
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
fn status_json(r: &proto::netsetup::v1::SetupResponse) -> serde_json::Value {
    serde_json::json!(r
        .networks
        .iter()
        .map(|n| serde_json::json!({
            "network": n.network, "network_id": n.network_id, "interface": n.interface_name, "mac": n.mac_address, "bridge": n.bridge,
            "addresses": n.addresses.iter().map(|a| serde_json::json!({"address": a.address, "gateway": a.gateway})).collect::<Vec<_>>(),
        }))
        .collect::<Vec<_>>())
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
fn own_userns(cfg: &ContainerConfig) -> Option<&crate::container::idmap::IdMappings> {
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
                    dns_servers: cfg.dns_servers.clone(),
                    add_networks: false,
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
    let mut errors = Vec::new();
    let req = TeardownRequest {
        container_id: cfg.id.clone(),
        netns_path: st.netns_path.clone(),
        networks: per_network(cfg),
        port_mappings: port_mappings(cfg),
        only_listed: false,
    };
    if let Err(e) = net
        .call("Teardown", |mut c| async move { c.teardown(req).await })
        .await
    {
        errors.push(e.to_string());
    }
    crate::kill_point::reached("net-teardown-after-teardown");
    let req = RemoveNetnsRequest {
        path: st.netns_path.clone(),
    };
    if let Err(e) = net
        .call(
            "RemoveNetns",
            |mut c| async move { c.remove_netns(req).await },
        )
        .await
    {
        errors.push(e.to_string());
    }
    net.close().await?;
    if !errors.is_empty() {
        anyhow::bail!(
            "tearing down the network of {}: {}",
            cfg.name,
            errors.join("; ")
        );
    }
    Ok(())
}

/// `network connect`: add a network to a container's, and for a running
/// container set up just that network.
pub async fn connect(
    engine: &EngineConfig,
    container: &str,
    att: crate::container::model::NetworkAttachment,
) -> anyhow::Result<()> {
    change(engine, container, att, Change::Connect).await
}

/// `network disconnect`: drop a network from a container's, and for a
/// running container tear down just that network. `force` is Docker's:
/// a container not connected is not an error, and the record of a network
/// that no longer exists is dropped from a stopped container.
pub async fn disconnect(
    engine: &EngineConfig,
    container: &str,
    network: &str,
    force: bool,
) -> anyhow::Result<()> {
    let att = crate::container::model::NetworkAttachment {
        name: network.to_string(),
        ..Default::default()
    };
    change(engine, container, att, Change::Disconnect { force }).await
}

#[derive(Clone, Copy)]
enum Change {
    Connect,
    Disconnect { force: bool },
}

async fn change(
    engine: &EngineConfig,
    container: &str,
    att: crate::container::model::NetworkAttachment,
    how: Change,
) -> anyhow::Result<()> {
    let attach = matches!(how, Change::Connect);
    let force = matches!(how, Change::Disconnect { force: true });
    let db = crate::state::open_state(engine)?;
    let (cfg, _) = crate::container::store::resolve(&db, container)?;
    let paths = ContainerPaths::new(engine, &cfg.id);
    let _lock = super::paths::ContainerLock::acquire(&paths)?;
    let (mut cfg, mut st) = crate::container::store::resolve(&db, &cfg.id)?;
    if cfg.network_mode != NetworkMode::Bridge {
        anyhow::bail!("container {} does not use bridge networking: it cannot be connected to or disconnected from networks", cfg.name);
    }
    // Check the network exists (and use its canonical name).
    let mut net = helper_procs::net(engine).await?;
    let req = proto::netsetup::v1::InspectNetworkRequest {
        name: att.name.clone(),
    };
    let nw = net
        .call("InspectNetwork", |mut c| async move {
            c.inspect_network(req).await
        })
        .await;
    let nw = match nw {
        Ok(n) => n,
        Err(e) => {
            net.close().await?;
            if e.code() == Some(proto::ErrorCode::NotFound) && force {
                return forget_missing_network(&db, cfg, &st, &att.name);
            }
            if e.code() == Some(proto::ErrorCode::NotFound) {
                // libpod's words and exit code (125) for a missing network.
                anyhow::bail!(
                    "unable to find network with name or ID {}: network not found",
                    att.name
                );
            }
            return Err(e.into());
        }
    };
    let pos = cfg.networks.iter().position(|n| n.name == nw.name);
    let running = st.status.is_active() && !st.netns_path.is_empty();
    let result = async {
        let before = cfg.networks.clone();
        if attach {
            if pos.is_some() {
                // libpod's words (define.ErrNetworkConnected).
                anyhow::bail!(
                    "container {} is already connected to network {}: network is already connected",
                    cfg.id,
                    nw.name
                );
            }
            cfg.networks
                .push(crate::container::model::NetworkAttachment {
                    name: nw.name.clone(),
                    ..att
                });
        } else {
            let Some(i) = pos else {
                if force {
                    return Ok(false);
                }
                // libpod names the container as it was given.
                anyhow::bail!(
                    "container {container} is not connected to network {}",
                    nw.name
                )
            };
            cfg.networks.remove(i);
        }
        if running && attach {
            // Only the new network: the container's other interfaces,
            // addresses and routes stay as they are.
            let added = ContainerConfig {
                networks: cfg.networks[cfg.networks.len() - 1..].to_vec(),
                ..cfg.clone()
            };
            let req = SetupRequest {
                container_id: cfg.id.clone(),
                container_name: cfg.name.clone(),
                netns_path: st.netns_path.clone(),
                // net-setup names it: the next free ethN.
                networks: per_network(&added)
                    .into_iter()
                    .map(|o| PerNetworkOptions {
                        interface_name: String::new(),
                        ..o
                    })
                    .collect(),
                port_mappings: Vec::new(),
                dns_servers: cfg.dns_servers.clone(),
                add_networks: true,
            };
            let r = net
                .call("Setup", |mut c| async move { c.setup(req).await })
                .await?;
            let mut all = st.network_status.as_array().cloned().unwrap_or_default();
            all.extend(status_json(&r).as_array().cloned().unwrap_or_default());
            st.network_status = serde_json::Value::Array(all);
        } else if running {
            let gone = ContainerConfig {
                networks: before
                    .iter()
                    .filter(|n| n.name == nw.name)
                    .cloned()
                    .collect(),
                ..cfg.clone()
            };
            let req = TeardownRequest {
                container_id: cfg.id.clone(),
                netns_path: st.netns_path.clone(),
                networks: per_network(&gone),
                port_mappings: Vec::new(),
                only_listed: true,
            };
            net.call("Teardown", |mut c| async move { c.teardown(req).await })
                .await?;
            if let Some(all) = st.network_status.as_array_mut() {
                all.retain(|x| x["network"] != nw.name.as_str());
            }
        }
        anyhow::Ok(true)
    }
    .await;
    net.close().await?;
    if !result? {
        return Ok(());
    }
    crate::container::store::update_config(&db, &cfg)?;
    crate::container::store::update_state(&db, &cfg.id, &st)?;
    crate::events::network_container(
        &cfg,
        if attach { "connect" } else { "disconnect" },
        &nw.name,
    );
    Ok(())
}

/// A forced disconnect from a network whose file is gone: drop it from a
/// stopped container's record (there is no configuration left to tear a
/// running container's interface down with).
fn forget_missing_network(
    db: &crate::state::State,
    mut cfg: ContainerConfig,
    st: &ContainerState,
    name: &str,
) -> anyhow::Result<()> {
    let Some(i) = cfg.networks.iter().position(|n| n.name == name) else {
        return Ok(());
    };
    if st.status.is_active() {
        anyhow::bail!(
            "network {name} no longer exists and container {} is running: stop it before disconnecting it",
            cfg.name
        );
    }
    cfg.networks.remove(i);
    crate::container::store::update_config(db, &cfg)?;
    crate::events::network_container(&cfg, "disconnect", name);
    Ok(())
}
