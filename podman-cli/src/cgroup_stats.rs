//! A running container's resource use, read from its cgroup files (v1
//! controllers or the v2 unified hierarchy) and its network namespace, the
//! numbers `podman stats` computes from as libpod's runc cgroup manager
//! reads them.

use std::path::{Path, PathBuf};

use procfs::process::Process as ProcfsProcess;

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("container process {0} is gone")]
    Gone(i32),
    #[error("reading the cgroups of process {pid}: {source}")]
    Cgroups { pid: i32, source: procfs::ProcError },
    #[error("the container has no cgroup to read (process {0})")]
    NoCgroup(i32),
}

/// One reading; counters are cumulative since the cgroup was made.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// CPU time used, all CPUs, nanoseconds.
    pub cpu_ns: u64,
    /// Of which in the kernel.
    pub cpu_system_ns: u64,
    pub mem_usage: u64,
    /// The cgroup's memory limit, or 0 when unlimited.
    pub mem_limit: u64,
    pub pids: u64,
    pub block_read: u64,
    pub block_write: u64,
    pub net_rx: u64,
    pub net_tx: u64,
}

/// Where the container's cgroup lives.
enum Layout {
    /// v1: one directory per controller ("memory" -> dir).
    V1(Vec<(String, PathBuf)>),
    V2(PathBuf),
}

impl Layout {
    fn of(pid: i32) -> Result<Layout, StatsError> {
        let proc = ProcfsProcess::new(pid).map_err(|_| StatsError::Gone(pid))?;
        let groups = proc.cgroups().map_err(|source| match source {
            procfs::ProcError::NotFound(_) => StatsError::Gone(pid),
            source => StatsError::Cgroups { pid, source },
        })?;
        let mut v1 = Vec::new();
        let mut v2 = None;
        for g in groups.0 {
            let rel = g.pathname.trim_start_matches('/').to_string();
            if g.controllers.is_empty() {
                v2 = Some(rel);
                continue;
            }
            let mount = g.controllers.join(",");
            for c in &g.controllers {
                v1.push((
                    c.clone(),
                    Path::new("/sys/fs/cgroup").join(&mount).join(&rel),
                ));
            }
        }
        let has_v1 = v1.iter().any(|(c, d)| c == "memory" && d.is_dir());
        if has_v1 {
            return Ok(Layout::V1(v1));
        }
        match v2 {
            Some(rel) => {
                let dir = Path::new("/sys/fs/cgroup").join(rel);
                if dir.join("cgroup.procs").is_file() {
                    Ok(Layout::V2(dir))
                } else {
                    Err(StatsError::NoCgroup(pid))
                }
            }
            None => Err(StatsError::NoCgroup(pid)),
        }
    }

    fn v1_file(dirs: &[(String, PathBuf)], controller: &str, file: &str) -> Option<PathBuf> {
        dirs.iter()
            .find(|(c, _)| c == controller)
            .map(|(_, d)| d.join(file))
    }
}

fn read_u64(p: Option<PathBuf>) -> u64 {
    p.and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// "key value" lines (cpu.stat, memory.stat).
fn keyed(p: &Path, key: &str) -> u64 {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(' ')?;
            (k == key).then(|| v.trim().parse().ok()).flatten()
        })
        .unwrap_or(0)
}

/// v1 blkio.throttle.io_service_bytes_recursive: "8:0 Read 4096" lines.
fn blkio_v1(p: Option<PathBuf>) -> (u64, u64) {
    let text = p
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let (mut r, mut w) = (0, 0);
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if let [_, op, v] = f[..] {
            let v: u64 = v.parse().unwrap_or(0);
            match op.to_ascii_lowercase().as_str() {
                "read" => r += v,
                "write" => w += v,
                _ => {}
            }
        }
    }
    (r, w)
}

/// v2 io.stat: "8:0 rbytes=4096 wbytes=0 ..." lines.
fn io_v2(p: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(p).unwrap_or_default();
    let (mut r, mut w) = (0, 0);
    for l in text.lines() {
        for kv in l.split_whitespace().skip(1) {
            match kv.split_once('=') {
                Some(("rbytes", v)) => r += v.parse::<u64>().unwrap_or(0),
                Some(("wbytes", v)) => w += v.parse::<u64>().unwrap_or(0),
                _ => {}
            }
        }
    }
    (r, w)
}

/// Bytes received and sent on every interface but `lo` of the network
/// namespace `pid` is in.
fn net_io(pid: i32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default();
    let (mut rx, mut tx) = (0, 0);
    for l in text.lines().skip(2) {
        let Some((name, rest)) = l.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = rest
            .split_whitespace()
            .map(|n| n.parse().unwrap_or(0))
            .collect();
        if f.len() >= 9 {
            rx += f[0];
            tx += f[8];
        }
    }
    (rx, tx)
}

/// The counters of a v2 cgroup directory.
fn read_v2(dir: &Path, s: &mut Sample) {
    s.cpu_ns = keyed(&dir.join("cpu.stat"), "usage_usec") * 1000;
    s.cpu_system_ns = keyed(&dir.join("cpu.stat"), "system_usec") * 1000;
    s.mem_usage = read_u64(Some(dir.join("memory.current")));
    // "max" does not parse: no limit.
    s.mem_limit = read_u64(Some(dir.join("memory.max")));
    s.pids = read_u64(Some(dir.join("pids.current")));
    (s.block_read, s.block_write) = io_v2(&dir.join("io.stat"));
}

/// Read the container whose init is `pid`. `own_netns`: whether it has a
/// network namespace of its own (host networking reports no network I/O,
/// as Podman).
pub fn sample(pid: i32, own_netns: bool) -> Result<Sample, StatsError> {
    let mut s = Sample::default();
    match Layout::of(pid)? {
        Layout::V1(dirs) => {
            let f = |c: &str, file: &str| Layout::v1_file(&dirs, c, file);
            s.cpu_ns = read_u64(f("cpuacct", "cpuacct.usage"));
            s.cpu_system_ns = read_u64(f("cpuacct", "cpuacct.usage_sys"));
            s.mem_usage = read_u64(f("memory", "memory.usage_in_bytes"));
            s.mem_limit = read_u64(f("memory", "memory.limit_in_bytes"));
            s.pids = read_u64(f("pids", "pids.current"));
            (s.block_read, s.block_write) =
                blkio_v1(f("blkio", "blkio.throttle.io_service_bytes_recursive"));
        }
        Layout::V2(dir) => read_v2(&dir, &mut s),
    }
    if own_netns {
        (s.net_rx, s.net_tx) = net_io(pid);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_io_lines_add_up() {
        let dir = tempfile::tempdir().unwrap();
        let v1 = dir.path().join("v1");
        std::fs::write(
            &v1,
            "8:0 Read 4096\n8:0 Write 512\n8:16 Read 1\n8:0 Sync 9\nTotal 4609\n",
        )
        .unwrap();
        assert_eq!(blkio_v1(Some(v1)), (4097, 512));
        let v2 = dir.path().join("v2");
        std::fs::write(
            &v2,
            "8:0 rbytes=100 wbytes=20 rios=1 wios=1\n8:16 rbytes=1 wbytes=2\n",
        )
        .unwrap();
        assert_eq!(io_v2(&v2), (101, 22));
    }

    /// A v2 cgroup directory as the kernel writes it (this machine has v1
    /// controllers only, so v2 is read from files made here).
    #[test]
    fn a_v2_cgroup_reads_as_podman_counts_it() {
        let dir = tempfile::tempdir().unwrap();
        let w = |f: &str, t: &str| std::fs::write(dir.path().join(f), t).unwrap();
        w(
            "cpu.stat",
            "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\n",
        );
        w("memory.current", "4096000\n");
        w("memory.max", "max\n");
        w("pids.current", "3\n");
        w(
            "io.stat",
            "8:0 rbytes=100 wbytes=20 rios=1 wios=1 dbytes=0 dios=0\n",
        );
        let mut s = Sample::default();
        read_v2(dir.path(), &mut s);
        assert_eq!(
            s,
            Sample {
                cpu_ns: 1_500_000,
                cpu_system_ns: 500_000,
                mem_usage: 4_096_000,
                mem_limit: 0,
                pids: 3,
                block_read: 100,
                block_write: 20,
                ..Default::default()
            }
        );
        w("memory.max", "67108864\n");
        read_v2(dir.path(), &mut s);
        assert_eq!(s.mem_limit, 64 << 20);
    }

    #[test]
    fn this_process_can_be_read() {
        let me = std::process::id() as i32;
        match sample(me, true) {
            Ok(s) => assert!(s.cpu_ns > 0 || s.mem_usage > 0, "{s:?}"),
            Err(StatsError::NoCgroup(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
}
