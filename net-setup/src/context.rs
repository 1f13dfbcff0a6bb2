//! Where net-setup keeps things and which firewall it drives: shared by the
//! gRPC service and the standalone subcommands.

use std::path::PathBuf;

use crate::active::ActiveStore;
use crate::config_store::{ConfigStore, HostNets};
use crate::dns::DnsStore;
use crate::error::Result;
use crate::firewall::{Desired, Firewall};
use crate::ipam::Ipam;
use crate::netlink::Netlink;
use crate::records::RecordStore;
use common::file_lock::FileLock;

pub struct Ctx {
    pub config_dir: PathBuf,
    pub state_dir: PathBuf,
    /// Host-wide state shared by every store: the leases of bridges.
    pub host_state_dir: PathBuf,
    pub firewall: Firewall,
    /// Port of the per-network DNS servers (53; tests may move it).
    pub dns_port: u16,
}

impl Ctx {
    pub fn configs(&self) -> ConfigStore {
        ConfigStore::new(&self.config_dir, &self.state_dir)
    }

    pub fn ipam(&self) -> Ipam {
        Ipam::new(&self.state_dir, &self.host_state_dir.join("ipam"))
    }

    pub fn records(&self) -> RecordStore {
        RecordStore::new(&self.state_dir)
    }

    pub fn dns(&self) -> DnsStore {
        DnsStore::new(&self.state_dir)
    }

    /// The lock serialising kernel changes (bridges, veths, firewall, DNS
    /// servers) of this state dir. IPAM has its own per-network locks.
    /// Waits on a blocking thread, so other requests of this process keep
    /// running meanwhile.
    pub async fn setup_lock(&self) -> Result<FileLock> {
        let path = self.state_dir.join("setup.lock");
        tokio::task::spawn_blocking(move || crate::state_files::lock(&path))
            .await
            .map_err(|e| {
                crate::error::NetError::FailedPrecondition(format!(
                    "waiting for the setup lock: {e}"
                ))
            })?
    }

    pub fn active(&self) -> ActiveStore {
        ActiveStore::new(&self.state_dir)
    }

    /// Make the firewall match the records on disk (active networks and
    /// containers). Callers hold the setup lock. When what the records ask
    /// for is what was last applied, nothing runs: a container without
    /// published ports on an active network changes no rule. `force`
    /// (Reload) applies anyway, for rules someone else flushed.
    pub async fn apply_firewall(&self, lock: &FileLock, force: bool) -> Result<Desired> {
        let desired = Desired::from_state(&self.active().all()?, &self.records().all()?);
        let mark = self.state_dir.join("firewall.applied");
        let fingerprint = format!(
            "{:016x}\n",
            crate::ids::fnv64(format!("{:?}{desired:?}", self.firewall).as_bytes())
        );
        if !force && std::fs::read_to_string(&mark).is_ok_and(|m| m == fingerprint) {
            tracing::debug!("firewall unchanged");
            return Ok(desired);
        }
        // Forget the old mark first: a failed or killed apply must not look done.
        crate::state_files::remove_file_if_exists(&mark)?;
        self.firewall.apply(&desired, lock).await?;
        if desired.is_empty() {
            return Ok(desired);
        }
        // The run root's state: it goes with a reboot, as the rules do.
        common::atomic_file::write_atomic(
            &mark,
            fingerprint.as_bytes(),
            common::atomic_file::Durability::NoSync,
        )
        .map_err(|e| crate::error::NetError::io(e.op, e.path, e.source))?;
        Ok(desired)
    }

    /// The host's routes, addresses and interface names (for CreateNetwork).
    pub async fn host_nets(&self) -> Result<HostNets> {
        let nl = Netlink::host()?;
        let nets = nl.host_networks().await?;
        let links = nl.links().await?.into_iter().map(|l| l.name).collect();
        Ok(HostNets { nets, links })
    }
}
