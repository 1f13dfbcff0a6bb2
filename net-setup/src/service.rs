//! The netsetup.v1 gRPC service: thin conversions over the same core the
//! standalone subcommands use.

use std::path::Path;
use std::sync::Arc;

use proto::common::v1::InfoRequest;
use proto::netsetup::v1 as pb;
use proto::netsetup::v1::net_setup_server::NetSetup;
use tonic::{Request, Response, Status};

use crate::config_store::{CreateSpec, SubnetSpec};
use crate::context::Ctx;
use crate::network_config::Network;

pub struct NetSetupService {
    pub ctx: Arc<Ctx>,
}

fn tool(t: crate::firewall_tools::ToolStatus) -> pb::Tool {
    pb::Tool {
        available: t.available,
        path: t.path,
        version: t.version,
        usable: t.usable.unwrap_or(false),
        error: t.error,
    }
}

pub fn network_to_pb(n: &Network) -> pb::Network {
    pb::Network {
        name: n.name.clone(),
        id: n.id.clone(),
        driver: n.driver.clone(),
        network_interface: n.network_interface.clone(),
        subnets: n
            .subnets
            .iter()
            .map(|s| pb::Subnet {
                subnet: s.subnet.to_string(),
                gateway: s.gateway().to_string(),
                lease_range: s.lease_range.as_ref().map(|r| pb::LeaseRange {
                    start_ip: r.start_ip.map(|i| i.to_string()).unwrap_or_default(),
                    end_ip: r.end_ip.map(|i| i.to_string()).unwrap_or_default(),
                }),
            })
            .collect(),
        ipv6_enabled: n.ipv6_enabled,
        internal: n.internal,
        dns_enabled: n.dns_enabled,
        labels: n.labels.clone().into_iter().collect(),
        options: n.options.clone().into_iter().collect(),
        created: n.created.clone(),
        config_json: n.to_json(),
        is_default: n.is_default(),
    }
}

fn spec_from_pb(r: pb::CreateNetworkRequest) -> CreateSpec {
    CreateSpec {
        name: r.name,
        driver: r.driver,
        network_interface: r.network_interface,
        subnets: r
            .subnets
            .into_iter()
            .map(|s| {
                let (start_ip, end_ip) = s
                    .lease_range
                    .map(|l| (l.start_ip, l.end_ip))
                    .unwrap_or_default();
                SubnetSpec {
                    subnet: s.subnet,
                    gateway: s.gateway,
                    start_ip,
                    end_ip,
                }
            })
            .collect(),
        ipv6_enabled: r.ipv6_enabled,
        internal: r.internal,
        dns_enabled: r.dns_enabled,
        labels: r.labels.into_iter().collect(),
        options: r.options.into_iter().collect(),
        ignore_if_exists: r.ignore_if_exists,
    }
}

/// Create a network (shared with the CLI): validation needs the host's routes.
pub async fn create_network(ctx: &Ctx, spec: &CreateSpec) -> crate::error::Result<Network> {
    let host = ctx.host_nets().await?;
    ctx.configs().create(spec, &host)
}

/// Remove a network and forget its leases (shared with the CLI).
pub async fn remove_network(ctx: &Ctx, name: &str, force: bool) -> crate::error::Result<Network> {
    let net = ctx.configs().find(name)?;
    let users = ctx.ipam().users(&net)?;
    let removed = ctx.configs().remove(&net.name, force, &users)?;
    ctx.ipam().remove_network(&removed)?;
    let lock = ctx.setup_lock().await?;
    crate::teardown::remove_network_links(ctx, &lock, &removed.name, &removed.network_interface)
        .await?;
    Ok(removed)
}

pub fn list_networks(ctx: &Ctx, filters: &[String]) -> crate::error::Result<Vec<Network>> {
    let mut out = Vec::new();
    for n in ctx.configs().list()? {
        if crate::config_store::matches_filters(&n, filters)? {
            out.push(n);
        }
    }
    Ok(out)
}

#[tonic::async_trait]
impl NetSetup for NetSetupService {
    async fn info(&self, req: Request<InfoRequest>) -> Result<Response<pb::InfoResponse>, Status> {
        let i = crate::info::gather(&self.ctx, req.into_inner().probe).await;
        Ok(Response::new(pb::InfoResponse {
            identity: Some(proto::identity("net-setup", env!("CARGO_PKG_VERSION"))),
            nftables: Some(tool(i.nftables)),
            iptables: Some(tool(i.iptables)),
            firewall_backend: i.firewall_backend,
            ipv4_forwarding: i.ipv4_forwarding,
            ipv6_forwarding: i.ipv6_forwarding,
            config_dir: i.config_dir,
            state_dir: i.state_dir,
        }))
    }

    async fn create_network(
        &self,
        req: Request<pb::CreateNetworkRequest>,
    ) -> Result<Response<pb::Network>, Status> {
        let spec = spec_from_pb(req.into_inner());
        let net = create_network(&self.ctx, &spec).await?;
        Ok(Response::new(network_to_pb(&net)))
    }

    async fn list_networks(
        &self,
        req: Request<pb::ListNetworksRequest>,
    ) -> Result<Response<pb::ListNetworksResponse>, Status> {
        let nets = list_networks(&self.ctx, &req.into_inner().filters)?;
        Ok(Response::new(pb::ListNetworksResponse {
            networks: nets.iter().map(network_to_pb).collect(),
        }))
    }

    async fn inspect_network(
        &self,
        req: Request<pb::InspectNetworkRequest>,
    ) -> Result<Response<pb::Network>, Status> {
        let net = self.ctx.configs().find(&req.into_inner().name)?;
        Ok(Response::new(network_to_pb(&net)))
    }

    async fn remove_network(
        &self,
        req: Request<pb::RemoveNetworkRequest>,
    ) -> Result<Response<pb::RemoveNetworkResponse>, Status> {
        let r = req.into_inner();
        let net = remove_network(&self.ctx, &r.name, r.force).await?;
        Ok(Response::new(pb::RemoveNetworkResponse {
            name: net.name,
            id: net.id,
        }))
    }

    async fn network_exists(
        &self,
        req: Request<pb::NetworkExistsRequest>,
    ) -> Result<Response<pb::NetworkExistsResponse>, Status> {
        match self.ctx.configs().find(&req.into_inner().name) {
            Ok(n) => Ok(Response::new(pb::NetworkExistsResponse {
                exists: true,
                name: n.name,
                id: n.id,
            })),
            Err(crate::error::NetError::NotFound(_)) => {
                Ok(Response::new(pb::NetworkExistsResponse::default()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn create_netns(
        &self,
        req: Request<pb::CreateNetnsRequest>,
    ) -> Result<Response<pb::CreateNetnsResponse>, Status> {
        let path = req.into_inner().path;
        crate::netns::create(Path::new(&path)).await?;
        Ok(Response::new(pb::CreateNetnsResponse { path }))
    }

    async fn remove_netns(
        &self,
        req: Request<pb::RemoveNetnsRequest>,
    ) -> Result<Response<pb::RemoveNetnsResponse>, Status> {
        crate::netns::remove(Path::new(&req.into_inner().path))?;
        Ok(Response::new(pb::RemoveNetnsResponse {}))
    }

    async fn setup(
        &self,
        req: Request<pb::SetupRequest>,
    ) -> Result<Response<pb::SetupResponse>, Status> {
        let res = crate::setup::setup(&self.ctx, req.into_inner().into()).await?;
        Ok(Response::new(pb::SetupResponse {
            networks: res.networks.into_iter().map(Into::into).collect(),
        }))
    }

    async fn teardown(
        &self,
        req: Request<pb::TeardownRequest>,
    ) -> Result<Response<pb::TeardownResponse>, Status> {
        crate::teardown::teardown(&self.ctx, req.into_inner().into()).await?;
        Ok(Response::new(pb::TeardownResponse {}))
    }

    async fn setup_user_net(
        &self,
        req: Request<pb::UserNetRequest>,
    ) -> Result<Response<pb::UserNetResponse>, Status> {
        let r =
            crate::usernet::setup(&self.ctx.state_dir, user_net_request(req.into_inner())?).await?;
        Ok(Response::new(pb::UserNetResponse {
            addresses: r
                .addresses
                .into_iter()
                .map(|(address, gateway)| pb::IpAddress { address, gateway })
                .collect(),
            dns_server_ips: r.dns_server_ips,
            host_ip: r.host_ip,
            pid: r.pid,
            interface_name: r.interface_name,
            mac_address: r.mac_address,
        }))
    }

    async fn teardown_user_net(
        &self,
        req: Request<pb::TeardownUserNetRequest>,
    ) -> Result<Response<pb::TeardownResponse>, Status> {
        crate::usernet::teardown(&self.ctx.state_dir, &req.into_inner().container_id)?;
        Ok(Response::new(pb::TeardownResponse {}))
    }

    async fn reload(
        &self,
        req: Request<pb::ReloadRequest>,
    ) -> Result<Response<pb::ReloadResponse>, Status> {
        let r = req.into_inner();
        let mode = if r.teardown_all {
            ReloadMode::TeardownAll
        } else if r.release_idle_networks {
            ReloadMode::ReleaseIdle
        } else {
            ReloadMode::Reapply
        };
        let (containers, networks) = reload(&self.ctx, mode).await?;
        Ok(Response::new(pb::ReloadResponse {
            containers,
            networks,
            firewall_backend: self.ctx.firewall.name().to_string(),
        }))
    }
}

/// What [`reload`] does besides re-applying the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReloadMode {
    /// Only re-apply (`network reload`).
    Reapply,
    /// Forget the networks no container is on first: a network's chains
    /// otherwise stay for its next container.
    ReleaseIdle,
    /// Tear down every recorded container, then forget every network: the
    /// store's table goes (`system reset`, after podman removed all its
    /// containers; a record left then has no container to end it).
    TeardownAll,
}

/// Re-apply every firewall rule from disk; (containers, networks) counts.
pub async fn reload(ctx: &Ctx, mode: ReloadMode) -> crate::error::Result<(u32, u32)> {
    let mut failed = Vec::new();
    if mode == ReloadMode::TeardownAll {
        // Each teardown takes the setup lock itself.
        for rec in ctx.records().all()? {
            let id = rec.container_id.clone();
            let req = crate::types::TeardownRequest {
                container_id: rec.container_id,
                netns_path: rec.netns_path,
                networks: Vec::new(),
                port_mappings: Vec::new(),
                only_listed: false,
                remove_netns: true,
            };
            if let Err(e) = crate::teardown::teardown(ctx, req).await {
                tracing::warn!(container = %id, error = %e, "reset: tearing down a left record");
                failed.push(e.to_string());
            }
        }
    }
    let lock = ctx.setup_lock().await?;
    let all = ctx.records().all()?;
    if mode != ReloadMode::Reapply {
        let in_use: std::collections::HashSet<&str> = all
            .iter()
            .flat_map(|r| r.attachments.iter().map(|a| a.network.as_str()))
            .collect();
        for a in ctx.active().all()? {
            if mode == ReloadMode::TeardownAll || !in_use.contains(a.network.as_str()) {
                ctx.active().remove(&a.network)?;
            }
        }
    }
    let records = all.len() as u32;
    let d = ctx.apply_firewall(&lock, true).await?;
    if !failed.is_empty() {
        return Err(crate::error::NetError::FailedPrecondition(format!(
            "the firewall rules are gone, but tearing down what was left failed: {}",
            failed.join("; ")
        )));
    }
    Ok((records, d.networks.len() as u32))
}

fn user_net_request(r: pb::UserNetRequest) -> crate::error::Result<crate::usernet::Request> {
    Ok(crate::usernet::Request {
        container_id: r.container_id,
        netns_path: r.netns_path.into(),
        tool: crate::usernet::Tool::parse(&r.tool)?,
        options: r.options,
        ports: r.port_mappings.into_iter().map(Into::into).collect(),
        helper_dirs: r.helper_dirs.into_iter().map(Into::into).collect(),
    })
}
