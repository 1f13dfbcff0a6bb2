//! `network connect` / `disconnect`, as libpod does them: the container's
//! network list changes; a running container also gets (or loses) that one
//! interface, its /etc/hosts lines and its network's nameserver, and its
//! other interfaces, routes and port mappings stay as they are.

use proto::netsetup::v1::{PerNetworkOptions, SetupRequest, TeardownRequest};

use super::network::{per_network, status_json};
use super::paths::ContainerPaths;
use crate::container::model::{
    ContainerConfig, ContainerState, NetworkAttachment, NetworkMode, Status,
};
use crate::engine_config::EngineConfig;
use crate::helper_procs;

/// Connect (`attach`) or disconnect a container; see [`change`].
pub async fn connect(
    engine: &EngineConfig,
    container: &str,
    att: NetworkAttachment,
) -> anyhow::Result<()> {
    change(engine, container, att, true, false).await
}

/// `network disconnect`. `force` is Docker's: a container not connected is
/// no error, the record of a network that no longer exists is dropped from
/// a stopped container, and a running container's interface that cannot be
/// torn down is dropped anyway.
pub async fn disconnect(
    engine: &EngineConfig,
    container: &str,
    network: &str,
    force: bool,
) -> anyhow::Result<()> {
    let att = NetworkAttachment {
        name: network.to_string(),
        ..Default::default()
    };
    change(engine, container, att, false, force).await
}

/// Change a container's networks (`force`: [`disconnect`]'s).
async fn change(
    engine: &EngineConfig,
    container: &str,
    att: NetworkAttachment,
    attach: bool,
    force: bool,
) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    let (cfg, _) = crate::container::store::resolve(&db, container)?;
    let paths = ContainerPaths::new(engine, &cfg.id);
    let _lock = super::paths::ContainerLock::acquire(&paths)?;
    let (mut cfg, mut st) = crate::container::store::resolve(&db, &cfg.id)?;
    if cfg.network_mode != NetworkMode::Bridge {
        anyhow::bail!(
            "container {} uses network mode {:?}, not bridge: only bridge containers can be connected to or disconnected from networks",
            cfg.name,
            cfg.network_mode.name()
        );
    }
    for (what, ip, v6) in [
        ("--ip", &att.static_ip, false),
        ("--ip6", &att.static_ip6, true),
    ] {
        if let Some(ip) = ip {
            match ip.parse::<std::net::IpAddr>() {
                Ok(a) if a.is_ipv6() == v6 => {}
                _ => anyhow::bail!(
                    "{what} {ip:?} is not an IPv{} address: give one like {}",
                    if v6 { 6 } else { 4 },
                    if v6 { "fd00::5" } else { "10.89.0.5" }
                ),
            }
        }
    }
    // The network must exist; the container keeps its canonical name.
    let mut net = helper_procs::net(engine).await?;
    let req = proto::netsetup::v1::InspectNetworkRequest {
        name: att.name.clone(),
    };
    let nw = match net
        .call("InspectNetwork", |mut c| async move {
            c.inspect_network(req).await
        })
        .await
    {
        Ok(n) => n,
        Err(e) => {
            net.close().await?;
            if e.code() == Some(proto::ErrorCode::NotFound) && force && !attach {
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
        if attach {
            if pos.is_some() {
                // Docker compatibility (libpod): connecting a container that
                // is not running or created to a network it is on is a no-op.
                if !matches!(st.status, Status::Running | Status::Created) {
                    return Ok(false);
                }
                // libpod's words (define.ErrNetworkConnected).
                anyhow::bail!(
                    "container {} is already connected to network {}: network is already connected",
                    cfg.id,
                    nw.name
                );
            }
            cfg.networks.push(NetworkAttachment {
                name: nw.name.clone(),
                ..att
            });
            if running {
                attach_running(&mut net, &cfg, &mut st, &paths).await?;
            }
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
            let gone = cfg.networks.remove(i);
            if running {
                let r = detach_running(&mut net, &cfg, &mut st, &paths, gone).await;
                if let Err(e) = r {
                    if !force {
                        return Err(e);
                    }
                    eprintln!(
                        "WARN[0000] disconnecting {} from {} anyway (--force): {e:#}",
                        cfg.name, nw.name
                    );
                }
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

/// Set up the container's last network in its running netns.
async fn attach_running(
    net: &mut helper_procs::Session<helper_procs::NetClient>,
    cfg: &ContainerConfig,
    st: &mut ContainerState,
    paths: &ContainerPaths,
) -> anyhow::Result<()> {
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
                interface_name: added.networks[0].interface_name.clone(),
                ..o
            })
            .collect(),
        // The container's mappings stay in net-setup's record and follow
        // its networks.
        port_mappings: Vec::new(),
        dns_servers: cfg.dns_servers.clone(),
        add_networks: true,
        ports_reserved: false,
    };
    let r = net
        .call("Setup", |mut c| async move { c.setup(req).await })
        .await?;
    let status = status_json(&r);
    let mut all = st.network_status.as_array().cloned().unwrap_or_default();
    all.extend(status.as_array().cloned().unwrap_or_default());
    st.network_status = serde_json::Value::Array(all);
    let ips = addresses(&status);
    let dns: Vec<String> = r
        .networks
        .iter()
        .flat_map(|n| n.dns_server_ips.iter().cloned())
        .collect();
    edit_files(paths, cfg, &ips, &dns, true)
}

/// Tear down one network of a running container.
async fn detach_running(
    net: &mut helper_procs::Session<helper_procs::NetClient>,
    cfg: &ContainerConfig,
    st: &mut ContainerState,
    paths: &ContainerPaths,
    gone: NetworkAttachment,
) -> anyhow::Result<()> {
    let name = gone.name.clone();
    let gone_cfg = ContainerConfig {
        networks: vec![gone],
        ..cfg.clone()
    };
    let req = TeardownRequest {
        container_id: cfg.id.clone(),
        netns_path: st.netns_path.clone(),
        networks: per_network(&gone_cfg),
        port_mappings: Vec::new(),
        only_listed: true,
        remove_netns: false,
    };
    net.call("Teardown", |mut c| async move { c.teardown(req).await })
        .await?;
    let mut old = Vec::new();
    if let Some(all) = st.network_status.as_array_mut() {
        old = all
            .iter()
            .filter(|x| x["network"] == name.as_str())
            .cloned()
            .collect();
        all.retain(|x| x["network"] != name.as_str());
    }
    let old = serde_json::Value::Array(old);
    let ips = addresses(&old);
    // A network's DNS server listens on its gateways.
    let dns: Vec<String> = old
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|n| n["addresses"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["gateway"].as_str().map(String::from))
        .filter(|g| !g.is_empty())
        .collect();
    edit_files(paths, cfg, &ips, &dns, false)
}

/// The bare addresses in a network status list.
fn addresses(status: &serde_json::Value) -> Vec<String> {
    status
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|n| n["addresses"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| {
            a["address"]
                .as_str()
                .map(|s| s.split('/').next().unwrap_or("").to_string())
        })
        .collect()
}

/// Add or remove the container's own /etc/hosts lines for `ips` and the
/// nameservers `dns` in resolv.conf. The files are bind-mounted into the
/// running container, so they are rewritten in place (same inode).
fn edit_files(
    paths: &ContainerPaths,
    cfg: &ContainerConfig,
    ips: &[String],
    dns: &[String],
    add: bool,
) -> anyhow::Result<()> {
    let mut names = vec![cfg.hostname.clone()];
    if !cfg.name.is_empty() && cfg.name != cfg.hostname {
        names.push(cfg.name.clone());
    }
    let hosts = paths.bundle.join("hosts");
    if !cfg.extra.no_hosts {
        rewrite(&hosts, |text| hosts_edit(text, ips, &names, add))?;
    }
    if !cfg.dns_servers.iter().any(|s| s == "none") {
        rewrite(&paths.bundle.join("resolv.conf"), |text| {
            resolv_edit(text, dns, add)
        })?;
    }
    Ok(())
}

/// The files are shared with pod members and `container:` joiners, whose
/// edits take the same lock ([`super::files::edit_in_place`]).
fn rewrite(path: &std::path::Path, f: impl FnOnce(&str) -> String) -> anyhow::Result<()> {
    match super::files::edit_in_place(path, |text| {
        let new = f(text);
        (new != text).then_some(new)
    }) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        r => r.map_err(|e| anyhow::anyhow!("editing {}: {e}", path.display())),
    }
}

/// libpod's etchosts.Add/Remove: one `IP\tNAMES` line per address.
fn hosts_edit(text: &str, ips: &[String], names: &[String], add: bool) -> String {
    let ours = |l: &str| {
        let mut f = l.split_whitespace();
        let ip = f.next().unwrap_or("");
        ips.iter().any(|i| i == ip) && f.any(|n| names.iter().any(|m| m == n))
    };
    let mut out: String = text
        .lines()
        .filter(|l| !ours(l))
        .map(|l| format!("{l}\n"))
        .collect();
    if add {
        for ip in ips {
            out.push_str(&format!("{ip}\t{}\n", names.join(" ")));
        }
    }
    out
}

/// libpod's resolvconf.Add (new nameservers first) and Remove.
fn resolv_edit(text: &str, dns: &[String], add: bool) -> String {
    let is_listed = |l: &str| {
        let mut f = l.split_whitespace();
        f.next() == Some("nameserver") && f.next().is_some_and(|ip| dns.iter().any(|d| d == ip))
    };
    let kept: Vec<&str> = text.lines().filter(|l| !is_listed(l)).collect();
    let mut out = String::new();
    let mut placed = !add;
    for l in &kept {
        if !placed && l.starts_with("nameserver") {
            for d in dns {
                out.push_str(&format!("nameserver {d}\n"));
            }
            placed = true;
        }
        out.push_str(l);
        out.push('\n');
    }
    if !placed {
        for d in dns {
            out.push_str(&format!("nameserver {d}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_lines_of_a_network_come_and_go() {
        let names = vec!["h".to_string(), "c".to_string()];
        let text = "127.0.0.1\tlocalhost\n10.0.0.2\th c\n10.0.0.2\tother\n";
        let out = hosts_edit(text, &["10.0.0.2".into()], &names, false);
        assert_eq!(out, "127.0.0.1\tlocalhost\n10.0.0.2\tother\n");
        let out = hosts_edit(&out, &["10.0.1.5".into()], &names, true);
        assert!(out.ends_with("10.0.1.5\th c\n"));
    }

    #[test]
    fn nameservers_are_added_first_and_removed() {
        let text = "search dns.podman\nnameserver 10.0.0.1\noptions ndots:1\n";
        let out = resolv_edit(text, &["10.0.1.1".into()], true);
        assert_eq!(
            out,
            "search dns.podman\nnameserver 10.0.1.1\nnameserver 10.0.0.1\noptions ndots:1\n"
        );
        let out = resolv_edit(&out, &["10.0.0.1".into()], false);
        assert_eq!(
            out,
            "search dns.podman\nnameserver 10.0.1.1\noptions ndots:1\n"
        );
    }
}
