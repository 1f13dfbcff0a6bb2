//! The resource-limit flags of `run`/`create` (`--memory`, `--cpus`,
//! `--blkio-weight`, ...). Values stay text here: spec::resources parses
//! them with Podman's errors.

use clap::Args;

use crate::spec::resources::ResourceFlags;

#[derive(Debug, Clone, Default, Args)]
pub struct ResourceArgs {
    /// Memory limit (format: <number>[<unit>], where unit = b (bytes), k (kibibytes), m (mebibytes), or g (gibibytes))
    #[arg(short = 'm', long, value_name = "MEMORY")]
    pub memory: Option<String>,
    /// Memory soft limit (format: <number>[<unit>], where unit = b (bytes), k (kibibytes), m (mebibytes), or g (gibibytes))
    #[arg(long = "memory-reservation", value_name = "MEMORY")]
    pub memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "MEMORY-SWAP")]
    pub memory_swap: Option<String>,
    /// Tune container memory swappiness (0 to 100, or -1 for system default)
    #[arg(long = "memory-swappiness", value_name = "INT")]
    pub memory_swappiness: Option<String>,
    /// Kernel memory limit: no longer supported, a no-op with a warning as in Podman
    #[arg(long = "kernel-memory", value_name = "MEMORY", hide = true)]
    pub kernel_memory: Option<String>,
    /// Disable OOM Killer
    #[arg(long = "oom-kill-disable", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub oom_kill_disable: Option<bool>,
    /// Number of CPUs. The default is 0.000 which means no limit
    #[arg(long, value_name = "CPUS")]
    pub cpus: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares", value_name = "SHARES")]
    pub cpu_shares: Option<String>,
    /// Limit the CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period", value_name = "PERIOD")]
    pub cpu_period: Option<String>,
    /// Limit the CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", value_name = "QUOTA")]
    pub cpu_quota: Option<String>,
    /// Limit the CPU real-time period in microseconds
    #[arg(long = "cpu-rt-period", value_name = "PERIOD")]
    pub cpu_rt_period: Option<String>,
    /// Limit the CPU real-time runtime in microseconds
    #[arg(long = "cpu-rt-runtime", value_name = "RUNTIME")]
    pub cpu_rt_runtime: Option<String>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "CPUS")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes (MEMs) in which to allow execution (0-3, 0,1). Only effective on NUMA systems.
    #[arg(long = "cpuset-mems", value_name = "NODES")]
    pub cpuset_mems: Option<String>,
    /// Block IO weight (relative weight) accepts a weight value between 10 and 1000.
    #[arg(long = "blkio-weight", value_name = "WEIGHT")]
    pub blkio_weight: Option<String>,
    /// Block IO weight (relative device weight, format: DEVICE_NAME:WEIGHT)
    #[arg(long = "blkio-weight-device", value_name = "DEVICE_NAME:WEIGHT")]
    pub blkio_weight_device: Vec<String>,
    /// Limit read rate (bytes per second) from a device (e.g. --device-read-bps=/dev/sda:1mb)
    #[arg(long = "device-read-bps", value_name = "DEVICE:RATE")]
    pub device_read_bps: Vec<String>,
    /// Limit write rate (bytes per second) to a device (e.g. --device-write-bps=/dev/sda:1mb)
    #[arg(long = "device-write-bps", value_name = "DEVICE:RATE")]
    pub device_write_bps: Vec<String>,
    /// Limit read rate (IO per second) from a device (e.g. --device-read-iops=/dev/sda:1000)
    #[arg(long = "device-read-iops", value_name = "DEVICE:RATE")]
    pub device_read_iops: Vec<String>,
    /// Limit write rate (IO per second) to a device (e.g. --device-write-iops=/dev/sda:1000)
    #[arg(long = "device-write-iops", value_name = "DEVICE:RATE")]
    pub device_write_iops: Vec<String>,
}

impl ResourceArgs {
    pub fn flags(&self) -> ResourceFlags {
        let a = self.clone();
        ResourceFlags {
            memory: a.memory,
            memory_reservation: a.memory_reservation,
            memory_swap: a.memory_swap,
            memory_swappiness: a.memory_swappiness,
            kernel_memory: a.kernel_memory,
            oom_kill_disable: a.oom_kill_disable.unwrap_or(false),
            cpus: a.cpus,
            cpu_shares: a.cpu_shares,
            cpu_period: a.cpu_period,
            cpu_quota: a.cpu_quota,
            cpu_rt_period: a.cpu_rt_period,
            cpu_rt_runtime: a.cpu_rt_runtime,
            cpuset_cpus: a.cpuset_cpus,
            cpuset_mems: a.cpuset_mems,
            blkio_weight: a.blkio_weight,
            blkio_weight_device: a.blkio_weight_device,
            device_read_bps: a.device_read_bps,
            device_write_bps: a.device_write_bps,
            device_read_iops: a.device_read_iops,
            device_write_iops: a.device_write_iops,
        }
    }
}

/// The limits `pod create` takes (Podman's subset): they apply to the
/// pod's cgroup, which its containers live under.
#[derive(Debug, Clone, Default, Args)]
pub struct PodResourceArgs {
    /// Memory limit of the pod (format: <number>[<unit>], where unit = b (bytes), k (kibibytes), m (mebibytes), or g (gibibytes))
    #[arg(short = 'm', long, value_name = "MEMORY")]
    pub memory: Option<String>,
    /// Swap limit of the pod equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "MEMORY-SWAP")]
    pub memory_swap: Option<String>,
    /// Number of CPUs of the pod. The default is 0.000 which means no limit
    #[arg(long, value_name = "CPUS")]
    pub cpus: Option<String>,
    /// CPU shares of the pod (relative weight)
    #[arg(short = 'c', long = "cpu-shares", value_name = "SHARES")]
    pub cpu_shares: Option<String>,
    /// CPUs in which the pod may run (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "CPUS")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes (MEMs) in which the pod may run (0-3, 0,1). Only effective on NUMA systems.
    #[arg(long = "cpuset-mems", value_name = "NODES")]
    pub cpuset_mems: Option<String>,
    /// Block IO weight of the pod (relative weight) accepts a weight value between 10 and 1000.
    #[arg(long = "blkio-weight", value_name = "WEIGHT")]
    pub blkio_weight: Option<String>,
    /// Block IO weight of the pod (relative device weight, format: DEVICE_NAME:WEIGHT)
    #[arg(long = "blkio-weight-device", value_name = "DEVICE_NAME:WEIGHT")]
    pub blkio_weight_device: Vec<String>,
    /// Limit the pod's read rate (bytes per second) from a device (e.g. --device-read-bps=/dev/sda:1mb)
    #[arg(long = "device-read-bps", value_name = "DEVICE:RATE")]
    pub device_read_bps: Vec<String>,
    /// Limit the pod's write rate (bytes per second) to a device (e.g. --device-write-bps=/dev/sda:1mb)
    #[arg(long = "device-write-bps", value_name = "DEVICE:RATE")]
    pub device_write_bps: Vec<String>,
}

impl PodResourceArgs {
    pub fn flags(&self) -> ResourceFlags {
        let a = self.clone();
        ResourceFlags {
            memory: a.memory,
            memory_swap: a.memory_swap,
            cpus: a.cpus,
            cpu_shares: a.cpu_shares,
            cpuset_cpus: a.cpuset_cpus,
            cpuset_mems: a.cpuset_mems,
            blkio_weight: a.blkio_weight,
            blkio_weight_device: a.blkio_weight_device,
            device_read_bps: a.device_read_bps,
            device_write_bps: a.device_write_bps,
            ..Default::default()
        }
    }
}
