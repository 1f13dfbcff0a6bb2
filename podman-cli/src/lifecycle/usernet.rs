//! `--network slirp4netns[:OPTS]` and `--network pasta[:OPTS]`: podman makes
//! the container's netns (as for bridges) and net-setup starts the tool on
//! it; teardown has net-setup stop the tool, then the netns goes.

use proto::netsetup::v1::{
    CreateNetnsRequest, RemoveNetnsRequest, TeardownUserNetRequest, UserNetRequest,
};

use super::network::{netns_path, own_userns, port_mappings, NetResult};
use crate::container::model::ContainerConfig;
use crate::engine_config::EngineConfig;
use crate::helper_procs;
use crate::spec::NetNs;

pub async fn setup(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    tool: &str,
    options: &[String],
) -> anyhow::Result<NetResult> {
    let path = netns_path(engine, &cfg.id);
    let mut opts: Vec<String> = Vec::new();
    if tool == "pasta" {
        // containers.conf's pasta_options come before the mode's own.
        opts.extend(engine.containers.network.pasta_options.iter().cloned());
    }
    opts.extend(options.iter().cloned());
    let mut net = helper_procs::net(engine).await?;
    let mut userns = None;
    let result = async {
        // A container with a user namespace of its own gets its netns made
        // inside it, so exec can join both (see userns_netns); the tool,
        // run by root of the host, may enter it all the same.
        match own_userns(cfg) {
            Some(m) => userns = Some(super::userns_netns::create(std::path::Path::new(&path), m)?),
            None => {
                let req = CreateNetnsRequest { path: path.clone() };
                net.call(
                    "CreateNetns",
                    |mut c| async move { c.create_netns(req).await },
                )
                .await?;
            }
        }
        let req = UserNetRequest {
            container_id: cfg.id.clone(),
            netns_path: path.clone(),
            tool: tool.to_string(),
            options: opts,
            port_mappings: port_mappings(cfg),
            helper_dirs: engine.containers.engine.helper_binaries_dir.clone(),
        };
        match net
            .call("SetupUserNet", |mut c| async move {
                c.setup_user_net(req).await
            })
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
                // The tool's own complaint (a bad option, a missing
                // binary) is the message; it names the tool already.
                Err(match e {
                    proto::transport::TransportError::Call { message, .. } => {
                        anyhow::anyhow!("setting up {tool}: {message}")
                    }
                    other => anyhow::Error::from(other),
                })
            }
        }
    }
    .await;
    net.close().await?;
    let r = result?;
    let ips: Vec<String> = r
        .addresses
        .iter()
        .map(|a| a.address.split('/').next().unwrap_or("").to_string())
        .collect();
    // Kept in the state as a bridge network's status is, under the mode's
    // name, so inspect and /etc/hosts read one shape.
    let status = serde_json::json!([{
        "network": tool, "network_id": tool, "interface": r.interface_name,
        "mac": r.mac_address, "bridge": "", "host_ip": r.host_ip, "pid": r.pid,
        "addresses": r.addresses.iter().map(|a| serde_json::json!({"address": a.address, "gateway": a.gateway})).collect::<Vec<_>>(),
    }]);
    Ok(NetResult {
        netns: NetNs::Path(path.clone()),
        ips,
        dns: r.dns_server_ips,
        status,
        netns_path: path,
        userns,
    })
}

/// Stop the tool, then remove the netns; both are tried.
pub async fn teardown(
    engine: &EngineConfig,
    container_id: &str,
    netns: &str,
) -> anyhow::Result<()> {
    let mut net = helper_procs::net(engine).await?;
    let mut errors = Vec::new();
    let req = TeardownUserNetRequest {
        container_id: container_id.to_string(),
    };
    if let Err(e) = net
        .call("TeardownUserNet", |mut c| async move {
            c.teardown_user_net(req).await
        })
        .await
    {
        errors.push(e.to_string());
    }
    if !netns.is_empty() {
        let req = RemoveNetnsRequest {
            path: netns.to_string(),
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
    }
    net.close().await?;
    if !errors.is_empty() {
        anyhow::bail!("{}", errors.join("; "));
    }
    Ok(())
}
