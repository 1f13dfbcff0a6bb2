//! Networks whose bridge and firewall chains exist on the host. A bridge
//! and its network's rules are made by the first container's setup and
//! kept (a container that follows pays for its veth only, and its teardown
//! for nothing else): they go with `network rm`. The record under
//! `<state>/active/<network>.json` is what the firewall rebuilds the
//! network's chains from, with or without containers on it.

use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::{NetError, Result};
use crate::network_config::Network;
use crate::state_files;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveNetwork {
    pub network: String,
    pub network_id: String,
    pub bridge: String,
    pub subnets: Vec<IpNet>,
    pub internal: bool,
    pub isolate: bool,
}

impl ActiveNetwork {
    pub fn of(net: &Network) -> ActiveNetwork {
        ActiveNetwork {
            network: net.name.clone(),
            network_id: net.id.clone(),
            bridge: net.network_interface.clone(),
            subnets: net.subnets.iter().map(|s| s.subnet).collect(),
            internal: net.internal,
            isolate: net.isolate(),
        }
    }
}

pub struct ActiveStore {
    dir: PathBuf,
}

impl ActiveStore {
    pub fn new(state_dir: &Path) -> ActiveStore {
        ActiveStore {
            dir: state_dir.join("active"),
        }
    }

    fn path(&self, network: &str) -> PathBuf {
        self.dir.join(format!("{network}.json"))
    }

    /// Record `net` as active; whether the record is new or changed.
    pub fn put(&self, net: &Network) -> Result<bool> {
        let a = ActiveNetwork::of(net);
        if state_files::read_json::<ActiveNetwork>(&self.path(&a.network))?.as_ref() == Some(&a) {
            return Ok(false);
        }
        state_files::write_json(&self.path(&a.network), &a)?;
        Ok(true)
    }

    pub fn remove(&self, network: &str) -> Result<bool> {
        common::atomic_file::remove_stale_temps(&self.path(network));
        let removed = state_files::remove_file_if_exists(&self.path(network))?;
        // The directory goes with its last record: nothing is left of a
        // store whose networks were all removed.
        let _ = std::fs::remove_dir(&self.dir);
        Ok(removed)
    }

    pub fn all(&self) -> Result<Vec<ActiveNetwork>> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(NetError::io("reading", &self.dir, e)),
        };
        let mut out = Vec::new();
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().and_then(|x| x.to_str()) == Some("json") {
                if let Some(a) = state_files::read_json::<ActiveNetwork>(&p)? {
                    out.push(a);
                }
            }
        }
        out.sort_by(|a, b| a.bridge.cmp(&b.bridge));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_is_idempotent_and_remove_takes_the_dir() {
        let dir = tempfile::tempdir().unwrap();
        let s = ActiveStore::new(dir.path());
        let net = Network::default_network();
        assert!(s.put(&net).unwrap());
        assert!(!s.put(&net).unwrap());
        assert_eq!(s.all().unwrap().len(), 1);
        assert!(s.remove(&net.name).unwrap());
        assert!(!dir.path().join("active").exists());
    }
}
