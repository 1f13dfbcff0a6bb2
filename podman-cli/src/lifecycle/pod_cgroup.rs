//! A pod's cgroup (cgroupfs manager): the parent of its members' cgroups,
//! made with the pod's resource limits (`pod create --memory`, `--cpus`,
//! ...) before a member starts, so the limits hold for the pod as a whole,
//! as Podman applies them; taken away when the pod stops or is removed.

use std::path::{Path, PathBuf};

use crate::container::model::Resources;

const ROOT: &str = "/sys/fs/cgroup";

fn write(dir: &Path, file: &str, value: &str) -> anyhow::Result<()> {
    let p = dir.join(file);
    std::fs::write(&p, value)
        .map_err(|e| anyhow::anyhow!("setting the pod's limit {} to {value:?}: {e}", p.display()))
}

/// Make `rel` (and the directories above it) under `base`; a v1 cpuset
/// directory gets its parent's CPUs and memory nodes where it has none
/// (the kernel refuses tasks in an empty cpuset).
fn make(base: &Path, rel: &str, cpuset: bool) -> anyhow::Result<PathBuf> {
    let mut cur = base.to_path_buf();
    for part in rel.split('/').filter(|p| !p.is_empty()) {
        let parent = cur.clone();
        cur.push(part);
        if !cur.exists() {
            std::fs::create_dir(&cur).or_else(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    Ok(())
                } else {
                    Err(anyhow::anyhow!("making cgroup {}: {e}", cur.display()))
                }
            })?;
        }
        if cpuset {
            for f in ["cpuset.cpus", "cpuset.mems"] {
                let mine = std::fs::read_to_string(cur.join(f)).unwrap_or_default();
                if mine.trim().is_empty() {
                    let theirs = std::fs::read_to_string(parent.join(f)).unwrap_or_default();
                    write(&cur, f, theirs.trim())?;
                }
            }
        }
    }
    Ok(cur)
}

fn device_lines(list: &[crate::container::model::DeviceRate]) -> Vec<String> {
    list.iter()
        .map(|d| format!("{}:{} {}", d.major, d.minor, d.rate))
        .collect()
}

/// Make the pod's cgroup at `rel` with `r`'s limits (nothing to do when
/// the pod has none: the runtime makes the directories for its members).
pub fn ensure(rel: &str, r: &Resources) -> anyhow::Result<()> {
    if *r == Resources::default() {
        return Ok(());
    }
    if crate::host_info::cgroup_version() == "v2" {
        return ensure_v2(rel, r);
    }
    let root = Path::new(ROOT);
    if r.memory.is_some() || r.memory_swap.is_some() || r.memory_reservation.is_some() {
        let d = make(&root.join("memory"), rel, false)?;
        if let Some(m) = r.memory {
            write(&d, "memory.limit_in_bytes", &m.to_string())?;
        }
        // memsw only where swap accounting is on (Podman drops it with a
        // warning at parse time otherwise); it must not be below memory.
        if let Some(s) = r.memory_swap {
            if d.join("memory.memsw.limit_in_bytes").exists() {
                write(&d, "memory.memsw.limit_in_bytes", &s.to_string())?;
            }
        }
        if let Some(m) = r.memory_reservation {
            write(&d, "memory.soft_limit_in_bytes", &m.to_string())?;
        }
    }
    if r.cpu_shares.is_some() || r.cpu_quota.is_some() {
        let d = make(&root.join("cpu"), rel, false)?;
        if let Some(s) = r.cpu_shares {
            write(&d, "cpu.shares", &s.to_string())?;
        }
        if let Some(p) = r.cpu_period {
            write(&d, "cpu.cfs_period_us", &p.to_string())?;
        }
        if let Some(q) = r.cpu_quota {
            write(&d, "cpu.cfs_quota_us", &q.to_string())?;
        }
    }
    if !r.cpuset_cpus.is_empty() || !r.cpuset_mems.is_empty() {
        let d = make(&root.join("cpuset"), rel, true)?;
        if !r.cpuset_mems.is_empty() {
            write(&d, "cpuset.mems", &r.cpuset_mems)?;
        }
        if !r.cpuset_cpus.is_empty() {
            write(&d, "cpuset.cpus", &r.cpuset_cpus)?;
        }
    }
    let blkio = r.blkio_weight.is_some()
        || !r.blkio_weight_device.is_empty()
        || !r.throttle_read_bps.is_empty()
        || !r.throttle_write_bps.is_empty()
        || !r.throttle_read_iops.is_empty()
        || !r.throttle_write_iops.is_empty();
    if blkio {
        let d = make(&root.join("blkio"), rel, false)?;
        let (weight, weight_device) = if d.join("blkio.weight").exists() {
            ("blkio.weight", "blkio.weight_device")
        } else {
            ("blkio.bfq.weight", "blkio.bfq.weight_device")
        };
        if let Some(w) = r.blkio_weight {
            write(&d, weight, &w.to_string())?;
        }
        for w in &r.blkio_weight_device {
            write(
                &d,
                weight_device,
                &format!("{}:{} {}", w.major, w.minor, w.weight),
            )?;
        }
        for (file, list) in [
            ("blkio.throttle.read_bps_device", &r.throttle_read_bps),
            ("blkio.throttle.write_bps_device", &r.throttle_write_bps),
            ("blkio.throttle.read_iops_device", &r.throttle_read_iops),
            ("blkio.throttle.write_iops_device", &r.throttle_write_iops),
        ] {
            for line in device_lines(list) {
                write(&d, file, &line)?;
            }
        }
    }
    Ok(())
}

/// cgroup v2: the controllers enabled down to the pod's directory, then
/// the unified files (Podman's conversions: shares to weight, swap as
/// what is beyond memory).
fn ensure_v2(rel: &str, r: &Resources) -> anyhow::Result<()> {
    let root = Path::new(ROOT);
    let wanted = ["cpu", "cpuset", "memory", "io"];
    let available = std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
    let enable: Vec<String> = wanted
        .iter()
        .filter(|c| available.split_whitespace().any(|a| a == **c))
        .map(|c| format!("+{c}"))
        .collect();
    let mut cur = root.to_path_buf();
    for part in rel.split('/').filter(|p| !p.is_empty()) {
        // Controllers must be on in a parent before a child can use them.
        for e in &enable {
            let _ = std::fs::write(cur.join("cgroup.subtree_control"), e);
        }
        cur.push(part);
        if let Err(e) = std::fs::create_dir(&cur) {
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                anyhow::bail!("making cgroup {}: {e}", cur.display());
            }
        }
    }
    for e in &enable {
        let _ = std::fs::write(cur.join("cgroup.subtree_control"), e);
    }
    let d = cur;
    if let Some(m) = r.memory {
        write(&d, "memory.max", &m.to_string())?;
        if let Some(s) = r.memory_swap {
            write(&d, "memory.swap.max", &(s - m).max(0).to_string())?;
        }
    }
    if let Some(m) = r.memory_reservation {
        write(&d, "memory.low", &m.to_string())?;
    }
    if let Some(q) = r.cpu_quota {
        write(
            &d,
            "cpu.max",
            &format!("{q} {}", r.cpu_period.unwrap_or(100_000)),
        )?;
    }
    if let Some(s) = r.cpu_shares {
        let weight = 1 + (s.saturating_sub(2) * 9999) / 262_142;
        write(&d, "cpu.weight", &weight.to_string())?;
    }
    if !r.cpuset_cpus.is_empty() {
        write(&d, "cpuset.cpus", &r.cpuset_cpus)?;
    }
    if !r.cpuset_mems.is_empty() {
        write(&d, "cpuset.mems", &r.cpuset_mems)?;
    }
    if let Some(w) = r.blkio_weight {
        let file = if d.join("io.bfq.weight").exists() {
            "io.bfq.weight"
        } else {
            "io.weight"
        };
        write(&d, file, &format!("default {w}"))?;
    }
    let mut io: std::collections::BTreeMap<(i64, i64), Vec<String>> = Default::default();
    for (key, list) in [
        ("rbps", &r.throttle_read_bps),
        ("wbps", &r.throttle_write_bps),
        ("riops", &r.throttle_read_iops),
        ("wiops", &r.throttle_write_iops),
    ] {
        for dev in list {
            io.entry((dev.major, dev.minor))
                .or_default()
                .push(format!("{key}={}", dev.rate));
        }
    }
    for ((major, minor), limits) in io {
        write(
            &d,
            "io.max",
            &format!("{major}:{minor} {}", limits.join(" ")),
        )?;
    }
    Ok(())
}

/// The pod's cgroup directories: the v2 one, or one per v1 hierarchy,
/// deepest first (a member's empty leftover directory included). A
/// directory whose last tasks are still being reaped answers EBUSY for a
/// moment after they exit, so that is retried briefly, as runc does; one
/// still busy after that, or absent, is left alone.
pub fn remove(rel: &str) {
    let rel = rel.trim_start_matches('/');
    if rel.is_empty() {
        return;
    }
    let root = Path::new(ROOT);
    let mut dirs = vec![root.join(rel)];
    if let Ok(hierarchies) = std::fs::read_dir(root) {
        dirs.extend(hierarchies.flatten().map(|d| d.path().join(rel)));
    }
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        if let Err(e) = remove_tree(dir) {
            tracing::debug!(dir = %dir.display(), error = %e, "the pod's cgroup stays");
        }
    }
}

/// Remove `dir` and the cgroup directories below it, children first.
fn remove_tree(dir: &Path) -> std::io::Result<()> {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&e.path())?;
            }
        }
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e)
                if e.raw_os_error() == Some(libc::EBUSY)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(100));
            }
            Err(e) => return Err(e),
        }
    }
}
