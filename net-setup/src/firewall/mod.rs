//! The firewall, one screen: the rules every attached container needs are
//! computed from the on-disk records ([`Desired`]) and a backend makes the
//! kernel match them in one step. nftables replaces its own table in one
//! atomic transaction; iptables (the fallback) rebuilds its own chains. So
//! setup, teardown and reload are the same operation, teardown removes
//! exactly what setup added, and `nft flush ruleset` is repaired by Reload.
//!
//! Layout (nftables, table `inet podman_rs`): base chains `forward`,
//! `postrouting`, `prerouting`, `output` dispatch to one chain pair per
//! active network (`nw_<id>_fwd`, `nw_<id>_nat`) and one chain per container
//! with published ports (`ct_<id>`).

mod iptables;
mod nft;

use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;

use ipnet::IpNet;

use crate::active::ActiveNetwork;
use crate::error::{NetError, Result};
use crate::ports::Proto;
use crate::records::ContainerRecord;
use common::file_lock::FileLock;

/// A network with at least one attached container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetRules {
    pub tag: String,
    pub bridge: String,
    pub subnets: Vec<IpNet>,
    pub internal: bool,
    pub isolate: bool,
}

/// One DNAT: host [host_ip]:host_port(+range) -> target:target_port(+range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dnat {
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub range: u16,
    pub protocol: Proto,
    pub target: IpAddr,
    pub target_port: u16,
}

/// One match of a DNAT as a firewall rule: a host port (or a range kept
/// whole, when both sides have the same ports) and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnatMatch {
    /// "80", or "8000" ..= "8009" as (8000, 8009).
    pub host_ports: (u32, u32),
    /// "10.0.0.2:80", "[fd00::2]:80", or only the address for a kept range.
    pub to: String,
}

impl Dnat {
    /// The rules this mapping needs: one, one range, or one per port when
    /// the range moves to other ports.
    pub fn matches(&self) -> Vec<DnatMatch> {
        let to = |port: u32| match self.target {
            IpAddr::V4(t) => format!("{t}:{port}"),
            IpAddr::V6(t) => format!("[{t}]:{port}"),
        };
        let first = self.host_port as u32;
        let last = first + self.range as u32 - 1;
        if self.range <= 1 {
            vec![DnatMatch {
                host_ports: (first, first),
                to: to(self.target_port as u32),
            }]
        } else if self.host_port == self.target_port {
            vec![DnatMatch {
                host_ports: (first, last),
                to: self.target.to_string(),
            }]
        } else {
            (0..self.range as u32)
                .map(|i| DnatMatch {
                    host_ports: (first + i, first + i),
                    to: to(self.target_port as u32 + i),
                })
                .collect()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtrRules {
    pub tag: String,
    pub dnats: Vec<Dnat>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    pub networks: Vec<NetRules>,
    pub containers: Vec<CtrRules>,
}

impl Desired {
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty() && self.containers.is_empty()
    }

    /// The rules of every active network (kept while the network exists)
    /// and of every container record.
    pub fn from_state(active: &[ActiveNetwork], records: &[ContainerRecord]) -> Desired {
        let mut d = Desired::default();
        for a in active {
            if !crate::network_config::is_valid_ifname(&a.bridge) {
                tracing::warn!(network = %a.network, bridge = %a.bridge, "active record names an invalid bridge; no rules for it");
                continue;
            }
            if !d.networks.iter().any(|n| n.bridge == a.bridge) {
                d.networks.push(NetRules {
                    tag: chain_tag(&a.network_id, 12),
                    bridge: a.bridge.clone(),
                    subnets: a.subnets.clone(),
                    internal: a.internal,
                    isolate: a.isolate,
                });
            }
        }
        for r in records {
            for a in &r.attachments {
                // Setup validated the bridge name; a record edited on disk
                // must still not put rule text of its own into the table.
                if !crate::network_config::is_valid_ifname(&a.bridge) {
                    tracing::warn!(container = %r.container_id, bridge = %a.bridge, "record names an invalid bridge; no rules for it");
                    continue;
                }
                if !d.networks.iter().any(|n| n.bridge == a.bridge) {
                    d.networks.push(NetRules {
                        tag: chain_tag(&a.network_id, 12),
                        bridge: a.bridge.clone(),
                        subnets: a.subnets.clone(),
                        internal: a.internal,
                        isolate: a.isolate,
                    });
                }
            }
            let mut dnats = Vec::new();
            for f in &r.forwards {
                for v4 in [true, false] {
                    let Some((target, _)) = r.forward_target(v4) else {
                        continue;
                    };
                    if f.host_ip.is_some_and(|h| h.is_ipv4() != v4) {
                        continue;
                    }
                    dnats.push(Dnat {
                        host_ip: f.host_ip,
                        host_port: f.host_port,
                        range: f.range.max(1),
                        protocol: f.protocol,
                        target,
                        target_port: f.container_port,
                    });
                }
            }
            if !dnats.is_empty() {
                d.containers.push(CtrRules {
                    tag: chain_tag(&r.container_id, 64),
                    dnats,
                });
            }
        }
        d.networks.sort_by(|a, b| a.bridge.cmp(&b.bridge));
        d
    }
}

/// A name fragment safe in nft and iptables chain names.
pub fn chain_tag(id: &str, max: usize) -> String {
    id.chars()
        .take(max)
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The backend in use.
#[derive(Debug, Clone)]
pub enum Firewall {
    Nftables {
        table: String,
    },
    Iptables {
        prefix: String,
    },
    /// Neither tool works: networking without NAT or port forwards.
    None,
}

impl Firewall {
    /// `choice`: auto | nftables | iptables | none. The table (chain prefix)
    /// is `podman_rs` for the default state dir and gets a suffix derived
    /// from any other, so separate stores never rewrite each other's rules.
    pub fn select(choice: &str, state_dir: &Path) -> Result<Firewall> {
        let suffix = if state_dir == Path::new(crate::DEFAULT_STATE_DIR) {
            String::new()
        } else {
            format!(
                "{:08x}",
                crate::ids::fnv64(state_dir.as_os_str().as_encoded_bytes()) as u32
            )
        };
        let table = if suffix.is_empty() {
            "podman_rs".to_string()
        } else {
            format!("podman_rs_{suffix}")
        };
        let prefix = if suffix.is_empty() {
            "PODMANRS".to_string()
        } else {
            format!("PRS{}", &suffix[..6])
        };
        let has = |t: &str| common::paths::which(t).is_some();
        match choice {
            "nftables" | "nft" => Ok(Firewall::Nftables { table }),
            "iptables" => Ok(Firewall::Iptables { prefix }),
            "none" => Ok(Firewall::None),
            "auto" | "" if has("nft") => Ok(Firewall::Nftables { table }),
            "auto" | "" if has("iptables-restore") => Ok(Firewall::Iptables { prefix }),
            "auto" | "" => Ok(Firewall::None),
            other => Err(NetError::InvalidArgument(format!(
                "firewall driver {other:?} is unknown: use auto, nftables, iptables or none"
            ))),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Firewall::Nftables { .. } => "nftables",
            Firewall::Iptables { .. } => "iptables",
            Firewall::None => "none",
        }
    }

    /// Make the kernel's rules (ours only) equal `desired`. `lock` (the
    /// caller's setup lock) is inherited by the firewall tools, so if this
    /// process is killed the lock stays held until they are gone too.
    pub async fn apply(&self, desired: &Desired, lock: &FileLock) -> Result<()> {
        let started = std::time::Instant::now();
        let tool = ToolRunner {
            hold: lock.file().as_raw_fd(),
        };
        let res = match self {
            Firewall::Nftables { table } => nft::apply(&tool, table, desired).await,
            Firewall::Iptables { prefix } => iptables::apply(&tool, prefix, desired).await,
            Firewall::None if desired.containers.is_empty() => Ok(()),
            Firewall::None => Err(NetError::FailedPrecondition(
                "publishing ports needs nftables or iptables, and neither works here: install nftables".to_string(),
            )),
        };
        tracing::debug!(
            backend = self.name(),
            networks = desired.networks.len(),
            containers = desired.containers.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "firewall applied"
        );
        res
    }
}

/// How firewall tools are started: they die with us (PR_SET_PDEATHSIG) and
/// hold a copy of the setup lock while they live, so a teardown that
/// follows a killed setup cannot race a still-running `nft`.
struct ToolRunner {
    hold: RawFd,
}

impl ToolRunner {
    /// Run `prog` with `input` on stdin; its stdout, or its stderr on failure.
    async fn run(
        &self,
        backend: &'static str,
        prog: &str,
        args: &[&str],
        input: &str,
    ) -> Result<String> {
        let err = |m: String| NetError::Firewall {
            backend,
            message: m,
        };
        let hold = self.hold;
        let mut cmd = tokio::process::Command::new(prog);
        cmd.args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                ) < 0
                    || libc::fcntl(hold, libc::F_SETFD, 0) < 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| err(format!("cannot run {prog}: {e}")))?;
        finish(child, backend, prog, args, input).await
    }
}

async fn finish(
    mut child: tokio::process::Child,
    backend: &'static str,
    prog: &str,
    args: &[&str],
    input: &str,
) -> Result<String> {
    use tokio::io::AsyncWriteExt;
    let err = |m: String| NetError::Firewall {
        backend,
        message: m,
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .await
            .map_err(|e| err(format!("writing to {prog}: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| err(format!("waiting for {prog}: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr)
            .trim()
            .replace('\n', " ");
        return Err(err(format!("{prog} {} failed: {stderr}", args.join(" "))));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
