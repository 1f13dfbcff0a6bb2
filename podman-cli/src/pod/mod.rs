//! What podman records about a pod: its configuration (fixed at `pod
//! create`) in the state database's `pods` table; its members are the
//! containers whose `pod_id` names it. A pod's status is computed from its
//! containers' statuses each time, as libpod does.

pub mod infra_image;
pub mod store;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::container::model::{PortMapping, Status};

/// The namespaces a pod can share (`--share`), in Podman's order.
pub const SHAREABLE: &[&str] = &["cgroup", "ipc", "net", "pid", "uts"];

/// Podman's default `--share`.
pub const DEFAULT_SHARE: &[&str] = &["ipc", "net", "uts"];

/// Fixed at `pod create`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PodConfig {
    pub id: String,
    pub name: String,
    pub created_ns: i64,
    /// The hostname of the shared UTS namespace (the pod's name unless
    /// `--hostname`).
    pub hostname: String,
    pub labels: BTreeMap<String, String>,
    /// "continue" or "stop".
    pub exit_policy: String,
    /// Shared namespaces, Podman's names ("ipc", "net", "uts", ...).
    pub share: Vec<String>,
    /// Whether the pod has an infra container.
    pub infra: bool,
    pub infra_id: String,
    /// The cgroup members run under (cgroupfs manager).
    pub cgroup_parent: String,
    /// The command line that made the pod.
    pub create_command: Vec<String>,
    /// Settings of the infra container, for `pod inspect`.
    pub ports: Vec<PortMapping>,
    pub networks: Vec<String>,
    pub host_network: bool,
    pub dns_servers: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    pub add_hosts: Vec<String>,
    /// `--restart` applied to containers that give none.
    pub restart_policy: String,
    /// `--userns`: the infra container's user namespace, which members
    /// join unless they ask for another ("": the host's).
    pub userns: String,
    /// Limits on the pod's cgroup (`pod create --memory`, `--cpus`, ...).
    pub resources: crate::container::model::Resources,
}

impl PodConfig {
    pub fn shares(&self, ns: &str) -> bool {
        self.share.iter().any(|s| s == ns)
    }
}

/// libpod's pod statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodStatus {
    Created,
    Running,
    Degraded,
    Paused,
    Exited,
    Stopped,
    Error,
}

impl PodStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PodStatus::Created => "Created",
            PodStatus::Running => "Running",
            PodStatus::Degraded => "Degraded",
            PodStatus::Paused => "Paused",
            PodStatus::Exited => "Exited",
            PodStatus::Stopped => "Stopped",
            PodStatus::Error => "Error",
        }
    }
}

/// The pod's status from its containers' (libpod's
/// `createPodStatusResults`).
pub fn status_of(ctrs: &[Status]) -> PodStatus {
    let n = ctrs.len();
    if n == 0 {
        return PodStatus::Created;
    }
    let (mut stopped, mut running, mut paused, mut errored) = (0, 0, 0, 0);
    for s in ctrs {
        match s {
            Status::Exited | Status::Stopped => stopped += 1,
            Status::Running => running += 1,
            Status::Paused => paused += 1,
            Status::Created | Status::Configured => {}
            Status::Stopping | Status::Removing => errored += 1,
        }
    }
    if running == n {
        PodStatus::Running
    } else if running > 0 {
        PodStatus::Degraded
    } else if paused == n {
        PodStatus::Paused
    } else if stopped == n {
        PodStatus::Exited
    } else if stopped > 0 {
        PodStatus::Stopped
    } else if errored > 0 {
        PodStatus::Error
    } else {
        PodStatus::Created
    }
}

/// `--share` as given: a comma list, `+` to add to the defaults, `none`.
pub fn parse_share(given: Option<&str>) -> Result<Vec<String>, String> {
    let Some(s) = given else {
        return Ok(DEFAULT_SHARE.iter().map(|s| s.to_string()).collect());
    };
    let (mut out, list): (Vec<String>, &str) = match s.strip_prefix('+') {
        Some(rest) => (DEFAULT_SHARE.iter().map(|s| s.to_string()).collect(), rest),
        None => (Vec::new(), s),
    };
    for ns in list.split(',').filter(|x| !x.is_empty()) {
        if ns == "none" {
            return Ok(Vec::new());
        }
        if !SHAREABLE.contains(&ns) {
            return Err(format!(
                "invalid kernel namespace to share: {ns}. Options are: cgroup, ipc, net, pid, uts or none"
            ));
        }
        if !out.iter().any(|x| x == ns) {
            out.push(ns.to_string());
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_status_follows_libpod() {
        use Status::*;
        assert_eq!(status_of(&[]), PodStatus::Created);
        assert_eq!(status_of(&[Running, Running]), PodStatus::Running);
        assert_eq!(status_of(&[Running, Exited]), PodStatus::Degraded);
        assert_eq!(status_of(&[Paused, Paused]), PodStatus::Paused);
        assert_eq!(status_of(&[Exited, Stopped]), PodStatus::Exited);
        assert_eq!(status_of(&[Exited, Created]), PodStatus::Stopped);
        assert_eq!(status_of(&[Created, Configured]), PodStatus::Created);
    }

    #[test]
    fn share_parses_as_podman() {
        assert_eq!(parse_share(None).unwrap(), ["ipc", "net", "uts"]);
        assert_eq!(parse_share(Some("ipc")).unwrap(), ["ipc"]);
        assert_eq!(
            parse_share(Some("+pid")).unwrap(),
            ["ipc", "net", "pid", "uts"]
        );
        assert!(parse_share(Some("none")).unwrap().is_empty());
        assert_eq!(
            parse_share(Some("bogus")).unwrap_err(),
            "invalid kernel namespace to share: bogus. Options are: cgroup, ipc, net, pid, uts or none"
        );
    }
}
