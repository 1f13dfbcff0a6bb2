//! What this host's cgroups can limit, probed as Podman's `sysinfo` does.

use std::path::Path;

/// What this host's cgroups can limit (Podman's `sysinfo`).
#[derive(Debug, Clone)]
pub struct HostCgroups {
    pub v2: bool,
    pub memory: bool,
    pub swap: bool,
    pub swappiness: bool,
    pub reservation: bool,
    pub oom_kill_disable: bool,
    pub cpu_shares: bool,
    pub cfs: bool,
    pub cpuset: bool,
    pub blkio_weight: bool,
    pub blkio_weight_device: bool,
    pub blkio_throttle: bool,
    /// The CPUs and memory nodes containers may use ("0-3", "0").
    pub cpus: String,
    pub mems: String,
}

impl HostCgroups {
    /// Probe /sys/fs/cgroup (v1: the controllers' root files; v2: the root's
    /// controllers, as Podman's checks assume they are delegated).
    pub fn probe() -> HostCgroups {
        let root = Path::new("/sys/fs/cgroup");
        let v2 = crate::host_info::cgroup_version() == "v2";
        let cpus = read_trim("/sys/devices/system/cpu/online");
        let mems = read_trim("/sys/devices/system/node/online");
        let mems = if mems.is_empty() { "0".into() } else { mems };
        if v2 {
            let ctl = crate::host_info::cgroup_controllers();
            let has = |c: &str| ctl.iter().any(|x| x == c);
            return HostCgroups {
                v2,
                memory: has("memory"),
                swap: has("memory"),
                swappiness: false,
                reservation: has("memory"),
                oom_kill_disable: false,
                cpu_shares: has("cpu"),
                cfs: has("cpu"),
                cpuset: has("cpuset"),
                blkio_weight: has("io"),
                blkio_weight_device: has("io"),
                blkio_throttle: has("io"),
                cpus,
                mems,
            };
        }
        let f = |p: &str| root.join(p).exists();
        HostCgroups {
            v2,
            memory: f("memory/memory.limit_in_bytes"),
            swap: f("memory/memory.memsw.limit_in_bytes"),
            swappiness: f("memory/memory.swappiness"),
            reservation: f("memory/memory.soft_limit_in_bytes"),
            oom_kill_disable: f("memory/memory.oom_control"),
            cpu_shares: f("cpu/cpu.shares"),
            cfs: f("cpu/cpu.cfs_quota_us"),
            cpuset: f("cpuset/cpuset.cpus"),
            blkio_weight: f("blkio/blkio.weight") || f("blkio/blkio.bfq.weight"),
            blkio_weight_device: f("blkio/blkio.weight_device")
                || f("blkio/blkio.bfq.weight_device"),
            blkio_throttle: f("blkio/blkio.throttle.read_bps_device"),
            cpus: {
                let c = read_trim("/sys/fs/cgroup/cpuset/cpuset.effective_cpus");
                if c.is_empty() {
                    cpus
                } else {
                    c
                }
            },
            mems: {
                let m = read_trim("/sys/fs/cgroup/cpuset/cpuset.effective_mems");
                if m.is_empty() {
                    mems
                } else {
                    m
                }
            },
        }
    }
}

fn read_trim(p: &str) -> String {
    std::fs::read_to_string(p)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
