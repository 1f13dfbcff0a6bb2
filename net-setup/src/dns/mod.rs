//! Container DNS (aardvark-dns's job): per network with dns_enabled, a small
//! server on the bridge's gateway address, port 53, answering the names and
//! aliases of the containers on that network from a records file that
//! Setup and Teardown update. Names it does not know are forwarded (see
//! forward.rs), except inside the dns.podman domain (NXDOMAIN).

#[allow(unsafe_code)]
pub mod forward;
#[allow(unsafe_code)]
pub mod process;
#[allow(unsafe_code)]
pub mod server;
pub mod wire;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::state_files;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub names: Vec<String>,
    pub ips: Vec<IpAddr>,
    /// The container's own resolvers (`--dns`), asked for names that are
    /// not containers; empty: the host's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstreams: Vec<IpAddr>,
}

/// The records file of one network: container id -> names and addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Records {
    pub network: String,
    #[serde(default)]
    pub containers: BTreeMap<String, Entry>,
}

impl Records {
    /// Addresses for `name` (lower case, no trailing dot, with or without
    /// the dns.podman domain).
    pub fn lookup(&self, name: &str) -> Option<Vec<IpAddr>> {
        let short = name
            .strip_suffix(&format!(".{}", crate::network_config::DNS_DOMAIN))
            .unwrap_or(name);
        let ips: Vec<IpAddr> = self
            .containers
            .values()
            .filter(|e| e.names.iter().any(|n| n.eq_ignore_ascii_case(short)))
            .flat_map(|e| e.ips.iter().copied())
            .collect();
        (!ips.is_empty()).then_some(ips)
    }

    /// The own resolvers of the container at `ip` (None: not a container).
    pub fn upstreams_of(&self, ip: IpAddr) -> Option<&[IpAddr]> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.containers
            .values()
            .find(|e| e.ips.contains(&ip))
            .map(|e| e.upstreams.as_slice())
    }

    /// The container name for a reverse lookup.
    pub fn reverse(&self, ip: IpAddr) -> Option<String> {
        self.containers
            .values()
            .find(|e| e.ips.contains(&ip))
            .and_then(|e| e.names.first())
            .map(|n| format!("{n}.{}", crate::network_config::DNS_DOMAIN))
    }
}

/// Where a network's DNS files live: `<state>/dns/NAME.{json,pid,log}`.
pub struct DnsStore {
    dir: PathBuf,
}

impl DnsStore {
    pub fn new(state_dir: &Path) -> DnsStore {
        DnsStore {
            dir: state_dir.join("dns"),
        }
    }

    pub fn records_path(&self, network: &str) -> PathBuf {
        self.dir.join(format!("{network}.json"))
    }

    pub fn pid_path(&self, network: &str) -> PathBuf {
        self.dir.join(format!("{network}.pid"))
    }

    pub fn log_path(&self, network: &str) -> PathBuf {
        self.dir.join(format!("{network}.log"))
    }

    pub fn load(&self, network: &str) -> Result<Records> {
        Ok(
            state_files::read_json(&self.records_path(network))?.unwrap_or(Records {
                network: network.to_string(),
                ..Records::default()
            }),
        )
    }

    /// Add or replace a container's entry. Callers hold the setup lock.
    pub fn add(&self, network: &str, container: &str, entry: Entry) -> Result<()> {
        let mut r = self.load(network)?;
        r.containers.insert(container.to_string(), entry);
        state_files::write_json(&self.records_path(network), &r)
    }

    /// Drop a container's entry; returns how many containers remain.
    pub fn remove(&self, network: &str, container: &str) -> Result<usize> {
        let path = self.records_path(network);
        let mut r = self.load(network)?;
        if r.containers.remove(container).is_some() {
            state_files::write_json(&path, &r)?;
        }
        Ok(r.containers.len())
    }

    /// Forget the network's records and log (after its server was stopped).
    pub fn clear(&self, network: &str) -> Result<()> {
        state_files::remove_file_if_exists(&self.records_path(network))?;
        state_files::remove_file_if_exists(&self.pid_path(network))?;
        state_files::remove_file_if_exists(&self.log_path(network))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_names_aliases_and_domain() {
        let d = tempfile::tempdir().unwrap();
        let s = DnsStore::new(d.path());
        let e = Entry {
            names: vec!["c2".into(), "web".into()],
            ips: vec!["10.89.0.3".parse().unwrap()],
            upstreams: vec![],
        };
        s.add("n", "id2", e).unwrap();
        let r = s.load("n").unwrap();
        assert_eq!(r.lookup("web").unwrap()[0].to_string(), "10.89.0.3");
        assert!(r.lookup("c2.dns.podman").is_some() && r.lookup("C2").is_some());
        assert!(r.lookup("c3").is_none());
        assert_eq!(
            r.reverse("10.89.0.3".parse().unwrap()).unwrap(),
            "c2.dns.podman"
        );
        assert_eq!(s.remove("n", "id2").unwrap(), 0);
    }
}
