//! Setup/teardown requests and results as plain Rust values: what the gRPC
//! messages convert to and what the standalone `net-setup setup < JSON`
//! reads and prints.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkAttachment {
    pub name: String,
    pub interface_name: String,
    pub static_ips: Vec<String>,
    pub static_mac: String,
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PortMapping {
    pub host_ip: String,
    pub host_port: u32,
    pub container_port: u32,
    pub protocol: String,
    pub range: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SetupRequest {
    pub container_id: String,
    pub container_name: String,
    pub netns_path: String,
    pub networks: Vec<NetworkAttachment>,
    pub port_mappings: Vec<PortMapping>,
    pub dns_servers: Vec<String>,
    /// Attach these networks to a container set up already.
    pub add_networks: bool,
    /// The caller holds the mappings' host ports: do not probe them.
    pub ports_reserved: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TeardownRequest {
    pub container_id: String,
    pub netns_path: String,
    pub networks: Vec<NetworkAttachment>,
    pub port_mappings: Vec<PortMapping>,
    /// Detach only the networks listed.
    pub only_listed: bool,
    /// Remove the netns afterwards; its veths may go with it.
    pub remove_netns: bool,
}

impl From<SetupRequest> for TeardownRequest {
    fn from(s: SetupRequest) -> TeardownRequest {
        TeardownRequest {
            container_id: s.container_id,
            netns_path: s.netns_path,
            networks: s.networks,
            port_mappings: s.port_mappings,
            only_listed: s.add_networks,
            remove_netns: false,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpAddress {
    pub address: String,
    pub gateway: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkStatus {
    pub network: String,
    pub interface_name: String,
    pub addresses: Vec<IpAddress>,
    pub mac_address: String,
    pub host_interface: String,
    pub bridge: String,
    pub dns_server_ips: Vec<String>,
    pub dns_search_domains: Vec<String>,
    #[serde(default)]
    pub network_id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SetupResult {
    pub networks: Vec<NetworkStatus>,
}

// ---- gRPC conversions ----

use proto::netsetup::v1 as pb;

impl From<pb::PerNetworkOptions> for NetworkAttachment {
    fn from(p: pb::PerNetworkOptions) -> Self {
        NetworkAttachment {
            name: p.name,
            interface_name: p.interface_name,
            static_ips: p.static_ips,
            static_mac: p.static_mac,
            aliases: p.aliases,
        }
    }
}

impl From<pb::PortMapping> for PortMapping {
    fn from(p: pb::PortMapping) -> Self {
        PortMapping {
            host_ip: p.host_ip,
            host_port: p.host_port,
            container_port: p.container_port,
            protocol: p.protocol,
            range: p.range,
        }
    }
}

impl From<pb::SetupRequest> for SetupRequest {
    fn from(r: pb::SetupRequest) -> Self {
        SetupRequest {
            container_id: r.container_id,
            container_name: r.container_name,
            netns_path: r.netns_path,
            networks: r.networks.into_iter().map(Into::into).collect(),
            port_mappings: r.port_mappings.into_iter().map(Into::into).collect(),
            dns_servers: r.dns_servers,
            add_networks: r.add_networks,
            ports_reserved: r.ports_reserved,
        }
    }
}

impl From<pb::TeardownRequest> for TeardownRequest {
    fn from(r: pb::TeardownRequest) -> Self {
        TeardownRequest {
            container_id: r.container_id,
            netns_path: r.netns_path,
            networks: r.networks.into_iter().map(Into::into).collect(),
            port_mappings: r.port_mappings.into_iter().map(Into::into).collect(),
            only_listed: r.only_listed,
            remove_netns: r.remove_netns,
        }
    }
}

impl From<NetworkStatus> for pb::NetworkStatus {
    fn from(s: NetworkStatus) -> Self {
        pb::NetworkStatus {
            network: s.network,
            interface_name: s.interface_name,
            addresses: s
                .addresses
                .into_iter()
                .map(|a| pb::IpAddress {
                    address: a.address,
                    gateway: a.gateway,
                })
                .collect(),
            mac_address: s.mac_address,
            host_interface: s.host_interface,
            bridge: s.bridge,
            dns_server_ips: s.dns_server_ips,
            dns_search_domains: s.dns_search_domains,
            network_id: s.network_id,
        }
    }
}
