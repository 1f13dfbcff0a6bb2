//! The netsetup.v1 gRPC service.

use std::path::PathBuf;

use proto::common::v1::InfoRequest;
use proto::netsetup::v1::{net_setup_server::NetSetup, InfoResponse, Tool};
use tonic::{Request, Response, Status};

pub struct NetSetupService {
    pub config_dir: PathBuf,
}

fn tool(t: crate::firewall_tools::Tool) -> Tool {
    Tool { available: t.available, path: t.path, version: t.version, usable: t.usable.unwrap_or(false), error: t.error }
}

#[tonic::async_trait]
impl NetSetup for NetSetupService {
    async fn info(&self, req: Request<InfoRequest>) -> Result<Response<InfoResponse>, Status> {
        let i = crate::info::gather(&self.config_dir, req.into_inner().probe).await;
        Ok(Response::new(InfoResponse {
            identity: Some(proto::identity("net-setup", env!("CARGO_PKG_VERSION"))),
            nftables: Some(tool(i.nftables)),
            iptables: Some(tool(i.iptables)),
            firewall_backend: i.firewall_backend,
            ipv4_forwarding: i.ipv4_forwarding,
            ipv6_forwarding: i.ipv6_forwarding,
            config_dir: i.config_dir,
        }))
    }
}
