//! Did the OOM killer strike the container? The kernel counts OOM kills per
//! memory cgroup (`oom_kill` in cgroup v1's memory.oom_control and v2's
//! memory.events); the monitor notes the count when the container starts and
//! compares after it exits. No watcher thread or eventfd while idle.

use std::path::{Path, PathBuf};

pub struct OomCounter {
    file: Option<PathBuf>,
    baseline: u64,
}

impl OomCounter {
    /// Note the OOM-kill count of `pid`'s memory cgroup. A process that
    /// is gone already (an allocation that fast is OOM-killed within a
    /// millisecond of `runc run`) is found through the bundle's
    /// cgroupsPath instead: the runtime made that cgroup for this
    /// container, so its count started at 0.
    pub fn baseline(pid: i32, bundle: &Path) -> OomCounter {
        let root = Path::new("/sys/fs/cgroup");
        if let Some(file) = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
            .ok()
            .and_then(|s| counter_file(&s, root))
        {
            let baseline = read_count(&file).unwrap_or(0);
            tracing::debug!(pid, file = ?file, baseline, "OOM counter");
            return OomCounter {
                file: Some(file),
                baseline,
            };
        }
        let file = spec_cgroups_path(bundle).and_then(|p| {
            let listing = if root.join("memory").is_dir() {
                format!("1:memory:{p}\n")
            } else {
                format!("0::{p}\n")
            };
            counter_file(&listing, root)
        });
        tracing::debug!(pid, file = ?file, "OOM counter from the bundle");
        OomCounter { file, baseline: 0 }
    }

    /// Whether the count grew since [`OomCounter::baseline`].
    pub fn killed(&self) -> bool {
        self.file
            .as_deref()
            .and_then(read_count)
            .is_some_and(|n| n > self.baseline)
    }
}

/// The file holding the `oom_kill` count for a /proc/PID/cgroup listing.
fn counter_file(proc_cgroup: &str, root: &Path) -> Option<PathBuf> {
    let mut v2 = None;
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let rel = path.trim_start_matches('/');
        if controllers.split(',').any(|c| c == "memory") {
            return Some(root.join("memory").join(rel).join("memory.oom_control"));
        }
        if controllers.is_empty() {
            // Unified hierarchy: at the root on a pure v2 host, under unified/ on a hybrid one.
            let base = if root.join("cgroup.controllers").exists() {
                root.to_path_buf()
            } else {
                root.join("unified")
            };
            v2 = Some(base.join(rel).join("memory.events"));
        }
    }
    v2
}

/// The spec's linux.cgroupsPath when it is a cgroupfs path (a systemd
/// "slice:prefix:name" names no directory).
fn spec_cgroups_path(bundle: &Path) -> Option<String> {
    let text = std::fs::read_to_string(bundle.join("config.json")).ok()?;
    let spec: serde_json::Value = serde_json::from_str(&text).ok()?;
    let p = spec["linux"]["cgroupsPath"].as_str()?;
    (p.starts_with('/') && !p.contains(':')).then(|| p.to_string())
}

fn read_count(file: &Path) -> Option<u64> {
    let s = std::fs::read_to_string(file).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_v1_memory_controller_first() {
        let s = "12:pids:/x\n4:memory:/podman-rs-test/c1\n0::/x\n";
        assert_eq!(
            counter_file(s, Path::new("/sys/fs/cgroup")).unwrap(),
            Path::new("/sys/fs/cgroup/memory/podman-rs-test/c1/memory.oom_control")
        );
    }

    #[test]
    fn the_bundle_names_the_cgroup_of_a_process_already_gone() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("config.json"),
            r#"{"linux":{"cgroupsPath":"/podman-rs/libpod-abc"}}"#,
        )
        .unwrap();
        assert_eq!(
            spec_cgroups_path(d.path()).as_deref(),
            Some("/podman-rs/libpod-abc")
        );
        std::fs::write(
            d.path().join("config.json"),
            r#"{"linux":{"cgroupsPath":"machine.slice:libpod:abc"}}"#,
        )
        .unwrap();
        assert_eq!(spec_cgroups_path(d.path()), None);
    }

    #[test]
    fn reads_oom_kill_count() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("memory.events");
        std::fs::write(&f, "low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\n").unwrap();
        assert_eq!(read_count(&f), Some(2));
    }
}
