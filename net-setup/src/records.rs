//! What Setup applied for each container, on disk under the state dir, so
//! Teardown can undo it even after the kernel state was partly flushed or
//! the setting-up process was killed, and Reload can re-create every
//! firewall rule. A record is written before the kernel is touched
//! (`complete: false`) and marked complete at the end.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::{NetError, Result};
use crate::network_config::Network;
use crate::ports::PortForward;
use crate::state_files;

/// One network a container is attached to, with the network's attributes
/// the firewall needs (so rules can be rebuilt without the config file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub network: String,
    pub network_id: String,
    pub bridge: String,
    pub subnets: Vec<IpNet>,
    pub gateways: Vec<IpAddr>,
    pub internal: bool,
    pub isolate: bool,
    pub dns_enabled: bool,
    pub interface_name: String,
    pub host_veth: String,
    pub ips: Vec<IpNet>,
    pub mac: String,
    pub aliases: Vec<String>,
}

impl Attachment {
    pub fn new(net: &Network, interface_name: &str, host_veth: &str) -> Attachment {
        Attachment {
            network: net.name.clone(),
            network_id: net.id.clone(),
            bridge: net.network_interface.clone(),
            subnets: net.subnets.iter().map(|s| s.subnet).collect(),
            gateways: net.subnets.iter().map(|s| s.gateway()).collect(),
            internal: net.internal,
            isolate: net.isolate(),
            dns_enabled: net.dns_enabled,
            interface_name: interface_name.to_string(),
            host_veth: host_veth.to_string(),
            ips: Vec::new(),
            mac: String::new(),
            aliases: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub container_id: String,
    pub container_name: String,
    pub netns_path: String,
    /// False while Setup is still applying (or was killed doing so).
    pub complete: bool,
    pub attachments: Vec<Attachment>,
    pub forwards: Vec<PortForward>,
}

impl ContainerRecord {
    /// The container address port forwards go to (first non-internal
    /// network), per address family.
    pub fn forward_target(&self, v4: bool) -> Option<(IpAddr, &Attachment)> {
        self.attachments
            .iter()
            .filter(|a| !a.internal)
            .find_map(|a| {
                a.ips
                    .iter()
                    .find(|ip| ip.addr().is_ipv4() == v4)
                    .map(|ip| (ip.addr(), a))
            })
    }
}

pub struct RecordStore {
    dir: PathBuf,
}

impl RecordStore {
    pub fn new(state_dir: &Path) -> RecordStore {
        RecordStore {
            dir: state_dir.join("containers"),
        }
    }

    fn path(&self, container: &str) -> PathBuf {
        self.dir.join(format!("{container}.json"))
    }

    pub fn get(&self, container: &str) -> Result<Option<ContainerRecord>> {
        state_files::read_json(&self.path(container))
    }

    pub fn put(&self, r: &ContainerRecord) -> Result<()> {
        state_files::write_json(&self.path(&r.container_id), r)
    }

    pub fn remove(&self, container: &str) -> Result<bool> {
        common::atomic_file::remove_stale_temps(&self.path(container));
        state_files::remove_file_if_exists(&self.path(container))
    }

    /// Every record; unreadable ones are reported, not skipped silently.
    pub fn all(&self) -> Result<Vec<ContainerRecord>> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(NetError::io("reading", &self.dir, e)),
        };
        let mut out = Vec::new();
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().and_then(|x| x.to_str()) == Some("json") {
                if let Some(r) = state_files::read_json::<ContainerRecord>(&p)? {
                    out.push(r);
                }
            }
        }
        out.sort_by(|a, b| a.container_id.cmp(&b.container_id));
        Ok(out)
    }
}

/// A container id becomes a file name, a chain name and part of an
/// interface name: letters, digits, '_', '.', '-' only.
pub fn validate_container_id(id: &str) -> Result<()> {
    if !common::names::is_valid_id(id, 128) {
        return Err(NetError::InvalidArgument(format!(
            "container id {id:?} is invalid: use 1-128 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )));
    }
    Ok(())
}

/// The host end of a container's veth on a network: stable, so Teardown can
/// find it without a record.
pub fn host_veth_name(container: &str, network: &str) -> String {
    let h = crate::ids::fnv64(format!("{container}\0{network}").as_bytes());
    format!("veth{:08x}", (h ^ (h >> 32)) as u32)
}
