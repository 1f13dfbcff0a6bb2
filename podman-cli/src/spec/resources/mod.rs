//! Resource limits of `run`/`create` (`--memory`, `--cpus`, `--cpuset-cpus`,
//! `--blkio-weight`, `--device-read-bps`, ...): parsed as Podman's
//! specgenutil does, checked against what this host's cgroups offer as
//! Podman's `verifyContainerResources` does (v1 and v2), and written into
//! the spec's `linux.resources`; the runtime applies them.

mod devices;
mod host;
mod oci;

pub use host::HostCgroups;
pub use oci::{apply, inspect_fields};

use crate::container::model::Resources;
use devices::{cpu_list, throttle_device, weight_device};

/// The flags as given (unparsed text; create validates).
#[derive(Debug, Clone, Default)]
pub struct ResourceFlags {
    pub memory: Option<String>,
    pub memory_reservation: Option<String>,
    pub memory_swap: Option<String>,
    pub memory_swappiness: Option<String>,
    pub kernel_memory: Option<String>,
    pub oom_kill_disable: bool,
    pub cpus: Option<String>,
    pub cpu_shares: Option<String>,
    pub cpu_period: Option<String>,
    pub cpu_quota: Option<String>,
    pub cpu_rt_period: Option<String>,
    pub cpu_rt_runtime: Option<String>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub blkio_weight: Option<String>,
    pub blkio_weight_device: Vec<String>,
    pub device_read_bps: Vec<String>,
    pub device_write_bps: Vec<String>,
    pub device_read_iops: Vec<String>,
    pub device_write_iops: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    /// pflag's text for a number flag given something else.
    #[error("invalid argument {value:?} for \"{flag}\" flag: {reason}")]
    Number {
        value: String,
        flag: &'static str,
        reason: String,
    },
    #[error("invalid value for {what}: {err}")]
    Size {
        what: &'static str,
        err: common::units::SizeError,
    },
    /// Podman's own words for a check it makes (see usage).
    #[error("{0}")]
    Check(String),
    #[error("{0}")]
    Device(String),
}
fn uint(flag: &'static str, v: &str) -> Result<u64, ResourceError> {
    v.parse().map_err(|_| ResourceError::Number {
        value: v.into(),
        flag,
        reason: format!("strconv.ParseUint: parsing {v:?}: invalid syntax"),
    })
}

fn int(flag: &'static str, v: &str) -> Result<i64, ResourceError> {
    v.parse().map_err(|_| ResourceError::Number {
        value: v.into(),
        flag,
        reason: format!("strconv.ParseInt: parsing {v:?}: invalid syntax"),
    })
}

fn ram(what: &'static str, v: &str) -> Result<i64, ResourceError> {
    common::units::ram_in_bytes(v).map_err(|err| ResourceError::Size { what, err })
}

/// Parse the flags and check them against the host. Returns the limits and
/// Podman's warnings (printed on stderr by the caller) for limits this host
/// cannot apply, which are dropped as Podman drops them.
pub fn parse(
    f: &ResourceFlags,
    host: &HostCgroups,
) -> Result<(Resources, Vec<String>), ResourceError> {
    let mut r = Resources::default();
    let mut warnings = Vec::new();
    if let Some(v) = &f.memory {
        let ml = ram("memory", v)?;
        if ml > 0 {
            r.memory = Some(ml);
            if f.memory_swap.is_none() {
                r.memory_swap = Some(2 * ml);
            }
        }
    }
    if let Some(v) = &f.memory_reservation {
        r.memory_reservation = Some(ram("memory", v)?);
    }
    if let Some(v) = &f.memory_swap {
        if v != "-1" {
            r.memory_swap = Some(ram("memory", v)?);
        }
    }
    if let Some(v) = &f.memory_swappiness {
        let n = int("--memory-swappiness", v)?;
        if n >= 0 {
            r.memory_swappiness = Some(n as u64);
        }
    }
    if f.kernel_memory.is_some() {
        // Podman logs this one (logrus), unlike its create warnings.
        tracing::warn!("The --kernel-memory flag is no longer supported. This flag is a noop.");
    }
    r.oom_kill_disable = f.oom_kill_disable;
    if let Some(v) = &f.cpus {
        let cpus: f64 = v
            .parse()
            .ok()
            .filter(|c: &f64| c.is_finite())
            .ok_or_else(|| ResourceError::Number {
                value: v.clone(),
                flag: "--cpus",
                reason: format!("strconv.ParseFloat: parsing {v:?}: invalid syntax"),
            })?;
        if cpus < 0.0 {
            return Err(ResourceError::Check(format!(
                "invalid --cpus {v}: the number of CPUs cannot be negative"
            )));
        }
        // Podman accepts more CPUs than the host has (the quota is only
        // a ceiling; upstream 280-update sets --cpus 5 on small hosts).
        if cpus > 0.0 {
            // Podman's CoresToPeriodAndQuota.
            r.cpu_period = Some(100_000);
            r.cpu_quota = Some((cpus * 100_000.0) as i64);
        }
    }
    if let Some(v) = &f.cpu_shares {
        let n = uint("-c, --cpu-shares", v)?;
        if n > 0 {
            r.cpu_shares = Some(n);
        }
    }
    if let Some(v) = &f.cpu_period {
        let n = uint("--cpu-period", v)?;
        if n > 0 {
            r.cpu_period = Some(n);
        }
    }
    if let Some(v) = &f.cpu_quota {
        let n = int("--cpu-quota", v)?;
        if n > 0 {
            r.cpu_quota = Some(n);
        }
    }
    if let Some(v) = &f.cpu_rt_period {
        let n = uint("--cpu-rt-period", v)?;
        if n > 0 {
            r.cpu_rt_period = Some(n);
        }
    }
    if let Some(v) = &f.cpu_rt_runtime {
        let n = int("--cpu-rt-runtime", v)?;
        if n > 0 {
            r.cpu_rt_runtime = Some(n);
        }
    }
    r.cpuset_cpus = f.cpuset_cpus.clone().unwrap_or_default();
    r.cpuset_mems = f.cpuset_mems.clone().unwrap_or_default();
    if let Some(v) = &f.blkio_weight {
        let n: u16 = v.parse().map_err(|_| {
            ResourceError::Check(format!(
                "invalid value for blkio-weight: strconv.ParseUint: parsing {v:?}: invalid syntax"
            ))
        })?;
        r.blkio_weight = Some(n);
    }
    for d in &f.blkio_weight_device {
        r.blkio_weight_device.push(weight_device(d)?);
    }
    for (list, out, iops) in [
        (&f.device_read_bps, &mut r.throttle_read_bps, false),
        (&f.device_write_bps, &mut r.throttle_write_bps, false),
        (&f.device_read_iops, &mut r.throttle_read_iops, true),
        (&f.device_write_iops, &mut r.throttle_write_iops, true),
    ] {
        for d in list {
            out.push(throttle_device(d, iops)?);
        }
    }
    verify(&mut r, host, &mut warnings)?;
    Ok((r, warnings))
}

/// Podman's `verifyContainerResources`: drop (with a warning) what the host
/// cannot limit; refuse what cannot be right.
fn verify(
    r: &mut Resources,
    host: &HostCgroups,
    warnings: &mut Vec<String>,
) -> Result<(), ResourceError> {
    let check = |m: &str| Err(ResourceError::Check(m.into()));
    if host.v2 {
        if r.cpu_rt_period.take().is_some() {
            warnings.push("Realtime period not supported on cgroups V2 systems".into());
        }
        if r.cpu_rt_runtime.take().is_some() {
            warnings.push("Realtime runtime not supported on cgroups V2 systems".into());
        }
    }
    if r.memory.is_some() && !host.memory {
        warnings.push("Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.".into());
        r.memory = None;
        r.memory_swap = None;
    }
    if r.memory.is_some() && r.memory_swap.is_some() && !host.swap {
        warnings.push("Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.".into());
        r.memory_swap = None;
    }
    if let (Some(m), Some(s)) = (r.memory, r.memory_swap) {
        if s < m {
            return check("minimum memoryswap limit should be larger than memory limit, see usage");
        }
    }
    if r.memory.is_none() && r.memory_swap.is_some() {
        return check(
            "you should always set a memory limit when using a memoryswap limit, see usage",
        );
    }
    if let Some(s) = r.memory_swappiness {
        if !host.swappiness {
            warnings.push("Your kernel does not support memory swappiness capabilities, or the cgroup is not mounted. Memory swappiness discarded.".into());
            r.memory_swappiness = None;
        } else if s > 100 {
            return check(&format!(
                "invalid value: {s}, valid memory swappiness range is 0-100"
            ));
        }
    }
    if r.memory_reservation.is_some() && !host.reservation {
        warnings.push("Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation discarded.".into());
        r.memory_reservation = None;
    }
    if let (Some(m), Some(res)) = (r.memory, r.memory_reservation) {
        if m < res {
            return check(
                "minimum memory limit cannot be less than memory reservation limit, see usage",
            );
        }
    }
    if r.oom_kill_disable && !host.oom_kill_disable {
        warnings
            .push("Your kernel does not support OomKillDisable. OomKillDisable discarded.".into());
        r.oom_kill_disable = false;
    }
    if r.cpu_shares.is_some() && !host.cpu_shares {
        warnings.push("Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.".into());
        r.cpu_shares = None;
    }
    if r.cpu_period.is_some() && !host.cfs {
        warnings.push("Your kernel does not support CPU cfs period or the cgroup is not mounted. Period discarded.".into());
        r.cpu_period = None;
    }
    if let Some(p) = r.cpu_period {
        if !(1000..=1_000_000).contains(&p) {
            return check(
                "CPU cfs period cannot be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
            );
        }
    }
    if r.cpu_quota.is_some() && !host.cfs {
        warnings.push("Your kernel does not support CPU cfs quota or the cgroup is not mounted. Quota discarded.".into());
        r.cpu_quota = None;
    }
    if let Some(q) = r.cpu_quota {
        if q < 1000 {
            return check("CPU cfs quota cannot be less than 1ms (i.e. 1000)");
        }
    }
    if (!r.cpuset_cpus.is_empty() || !r.cpuset_mems.is_empty()) && !host.cpuset {
        warnings.push(
            "Your kernel does not support cpuset or the cgroup is not mounted. CPUset discarded."
                .into(),
        );
        r.cpuset_cpus.clear();
        r.cpuset_mems.clear();
    }
    if !r.cpuset_cpus.is_empty() {
        let want = cpu_list(&r.cpuset_cpus).ok_or_else(|| {
            ResourceError::Check(format!("invalid value {} for cpuset cpus", r.cpuset_cpus))
        })?;
        let have = cpu_list(&host.cpus).unwrap_or_default();
        if !want.iter().all(|c| have.contains(c)) {
            return check(&format!(
                "requested CPUs are not available - requested {}, available: {}",
                r.cpuset_cpus, host.cpus
            ));
        }
    }
    if !r.cpuset_mems.is_empty() {
        let want = cpu_list(&r.cpuset_mems).ok_or_else(|| {
            ResourceError::Check(format!("invalid value {} for cpuset mems", r.cpuset_mems))
        })?;
        let have = cpu_list(&host.mems).unwrap_or_default();
        if !want.iter().all(|c| have.contains(c)) {
            return check(&format!(
                "requested memory nodes are not available - requested {}, available: {}",
                r.cpuset_mems, host.mems
            ));
        }
    }
    if r.blkio_weight.is_some() && !host.blkio_weight {
        warnings.push("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.".into());
        r.blkio_weight = None;
    }
    if let Some(w) = r.blkio_weight {
        if !(10..=1000).contains(&w) {
            return check("range of blkio weight is from 10 to 1000");
        }
    }
    if !r.blkio_weight_device.is_empty() && !host.blkio_weight_device {
        warnings.push("Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.".into());
        r.blkio_weight_device.clear();
    }
    if !host.blkio_throttle {
        for (list, msg) in [
            (&mut r.throttle_read_bps, "Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. Block I/O BPS read limit discarded"),
            (&mut r.throttle_write_bps, "Your kernel does not support BPS Block I/O write limit or the cgroup is not mounted. Block I/O BPS write limit discarded."),
            (&mut r.throttle_read_iops, "Your kernel does not support IOPS Block read limit or the cgroup is not mounted. Block I/O IOPS read limit discarded."),
            (&mut r.throttle_write_iops, "Your kernel does not support IOPS Block I/O write limit or the cgroup is not mounted. Block I/O IOPS write limit discarded."),
        ] {
            if !list.is_empty() {
                warnings.push(msg.into());
                list.clear();
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn host() -> HostCgroups {
        HostCgroups {
            v2: false,
            memory: true,
            swap: true,
            swappiness: true,
            reservation: true,
            oom_kill_disable: true,
            cpu_shares: true,
            cfs: true,
            cpuset: true,
            blkio_weight: false,
            blkio_weight_device: false,
            blkio_throttle: true,
            cpus: "0-1".into(),
            mems: "0".into(),
        }
    }

    fn flags(f: impl FnOnce(&mut ResourceFlags)) -> ResourceFlags {
        let mut r = ResourceFlags::default();
        f(&mut r);
        r
    }

    #[test]
    fn memory_gets_twice_the_swap_as_podman() {
        let (r, w) = parse(&flags(|f| f.memory = Some("64m".into())), &host()).unwrap();
        assert_eq!(r.memory, Some(64 << 20));
        assert_eq!(r.memory_swap, Some(128 << 20));
        assert!(w.is_empty());
        let (r, _) = parse(
            &flags(|f| {
                f.memory = Some("64m".into());
                f.memory_swap = Some("-1".into());
            }),
            &host(),
        )
        .unwrap();
        assert_eq!(r.memory_swap, None);
    }

    #[test]
    fn podmans_checks() {
        let err = |f: ResourceFlags| parse(&f, &host()).unwrap_err().to_string();
        assert_eq!(
            err(flags(|f| f.memory = Some("10x".into()))),
            "invalid value for memory: invalid suffix: 'x'"
        );
        assert_eq!(
            err(flags(|f| {
                f.memory = Some("64m".into());
                f.memory_swap = Some("32m".into());
            })),
            "minimum memoryswap limit should be larger than memory limit, see usage"
        );
        assert_eq!(
            err(flags(|f| f.memory_swap = Some("32m".into()))),
            "you should always set a memory limit when using a memoryswap limit, see usage"
        );
        assert_eq!(
            err(flags(|f| f.cpuset_cpus = Some("5".into()))),
            "requested CPUs are not available - requested 5, available: 0-1"
        );
        assert_eq!(
            err(flags(|f| f.cpuset_cpus = Some("a".into()))),
            "invalid value a for cpuset cpus"
        );
        assert_eq!(
            err(flags(|f| f.cpu_period = Some("10".into()))),
            "CPU cfs period cannot be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
        );
        assert_eq!(
            err(flags(|f| f.cpu_shares = Some("x".into()))),
            "invalid argument \"x\" for \"-c, --cpu-shares\" flag: strconv.ParseUint: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            err(flags(|f| f.memory_swappiness = Some("101".into()))),
            "invalid value: 101, valid memory swappiness range is 0-100"
        );
        assert_eq!(
            err(flags(|f| f.device_read_bps = vec!["sda:1mb".into()])),
            "bad format for device path: sda:1mb"
        );
    }

    #[test]
    fn cpus_become_period_and_quota() {
        let (r, _) = parse(&flags(|f| f.cpus = Some("0.5".into())), &host()).unwrap();
        assert_eq!((r.cpu_period, r.cpu_quota), (Some(100_000), Some(50_000)));
        let mut hc = json!({});
        inspect_fields(&r, &mut hc);
        assert_eq!(hc["NanoCpus"], json!(500_000_000));
    }

    #[test]
    fn unsupported_limits_are_dropped_with_podmans_warning() {
        let (r, w) = parse(&flags(|f| f.blkio_weight = Some("300".into())), &host()).unwrap();
        assert_eq!(r.blkio_weight, None);
        assert_eq!(w, vec!["Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.".to_string()]);
    }

    #[test]
    fn spec_carries_the_limits() {
        let (r, _) = parse(
            &flags(|f| {
                f.memory = Some("6m".into());
                f.cpu_shares = Some("512".into());
                f.cpuset_cpus = Some("0".into());
            }),
            &host(),
        )
        .unwrap();
        let mut res = json!({});
        apply(&r, &mut res);
        assert_eq!(res["memory"]["limit"], json!(6 << 20));
        assert_eq!(res["cpu"]["shares"], json!(512));
        assert_eq!(res["cpu"]["cpus"], json!("0"));
    }

    /// A cgroup v2 host as HostCgroups::probe sees one with the memory,
    /// cpu, cpuset and io controllers delegated.
    #[test]
    fn a_v2_host_drops_what_v2_has_not_with_podmans_warnings() {
        let v2 = HostCgroups {
            v2: true,
            swappiness: false,
            oom_kill_disable: false,
            blkio_weight: true,
            blkio_weight_device: true,
            ..host()
        };
        let (r, w) = parse(
            &flags(|f| {
                f.memory = Some("64m".into());
                f.memory_swappiness = Some("10".into());
                f.cpu_rt_period = Some("1000".into());
                f.oom_kill_disable = true;
                f.blkio_weight = Some("300".into());
            }),
            &v2,
        )
        .unwrap();
        assert_eq!((r.memory, r.memory_swap), (Some(64 << 20), Some(128 << 20)));
        assert_eq!(r.memory_swappiness, None);
        assert_eq!(r.cpu_rt_period, None);
        assert!(!r.oom_kill_disable);
        assert_eq!(r.blkio_weight, Some(300));
        assert_eq!(
            w,
            vec![
                "Realtime period not supported on cgroups V2 systems".to_string(),
                "Your kernel does not support memory swappiness capabilities, or the cgroup is not mounted. Memory swappiness discarded.".into(),
                "Your kernel does not support OomKillDisable. OomKillDisable discarded.".into(),
            ]
        );
    }
}
