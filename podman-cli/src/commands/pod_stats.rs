//! `podman pod stats`: resource use of the running containers of pods,
//! read from their cgroups (v1 controllers or the v2 unified hierarchy)
//! and their network namespace's /proc/PID/net/dev, in Podman's columns.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use serde_json::{json, Value};

use crate::container::model::Status;
use crate::engine_config::EngineConfig;
use crate::format::human;
use crate::lifecycle::pod_ops;
use crate::pod::store as pods;

#[derive(Debug, Clone, Args)]
pub struct StatsArgs {
    pub pods: Vec<String>,
    /// Show the containers of all pods (the default when no pod is named)
    #[arg(short, long)]
    pub all: bool,
    /// Show the latest pod only
    #[arg(short, long)]
    pub latest: bool,
    /// Pretty-print container statistics to JSON or using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Print one sample and exit
    #[arg(long)]
    pub no_stream: bool,
    /// Do not clear the terminal between samples
    #[arg(long)]
    pub no_reset: bool,
}

/// One container's counters at one moment.
#[derive(Debug, Clone, Default)]
struct Sample {
    cpu_ns: u64,
    mem: u64,
    mem_limit: u64,
    pids: u64,
    blk_read: u64,
    blk_write: u64,
    net_rx: u64,
    net_tx: u64,
}

fn read_u64(p: &Path) -> Option<u64> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// The container's cgroup directory per v1 controller ("" for v2).
fn cgroup_dirs(pid: i32) -> HashMap<String, PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    let mut out = HashMap::new();
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrls, path) = (f.next(), f.next().unwrap_or(""), f.next().unwrap_or(""));
        let rel = path.trim_start_matches('/');
        if ctrls.is_empty() {
            let unified = Path::new("/sys/fs/cgroup/unified").join(rel);
            let root = Path::new("/sys/fs/cgroup").join(rel);
            let dir = if root.join("memory.current").exists() {
                root
            } else {
                unified
            };
            out.insert(String::new(), dir);
        } else {
            for c in ctrls.split(',') {
                out.insert(
                    c.to_string(),
                    Path::new("/sys/fs/cgroup").join(ctrls).join(rel),
                );
            }
        }
    }
    out
}

fn host_memory() -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .unwrap_or(0)
}

fn sample(pid: i32) -> Sample {
    let dirs = cgroup_dirs(pid);
    let mut s = Sample::default();
    let host = host_memory();
    if let Some(mem) = dirs.get("memory") {
        s.mem = read_u64(&mem.join("memory.usage_in_bytes")).unwrap_or(0);
        s.mem_limit = read_u64(&mem.join("memory.limit_in_bytes")).unwrap_or(host);
        s.cpu_ns = dirs
            .get("cpuacct")
            .and_then(|d| read_u64(&d.join("cpuacct.usage")))
            .unwrap_or(0);
        s.pids = dirs
            .get("pids")
            .and_then(|d| read_u64(&d.join("pids.current")))
            .unwrap_or(0);
        if let Some(b) = dirs.get("blkio") {
            let t = std::fs::read_to_string(b.join("blkio.throttle.io_service_bytes"))
                .unwrap_or_default();
            for l in t.lines() {
                let f: Vec<&str> = l.split_whitespace().collect();
                if let [_, op, n] = f.as_slice() {
                    let n: u64 = n.parse().unwrap_or(0);
                    match *op {
                        "Read" => s.blk_read += n,
                        "Write" => s.blk_write += n,
                        _ => {}
                    }
                }
            }
        }
    } else if let Some(d) = dirs.get("") {
        s.mem = read_u64(&d.join("memory.current")).unwrap_or(0);
        s.mem_limit = read_u64(&d.join("memory.max")).unwrap_or(host);
        s.pids = read_u64(&d.join("pids.current")).unwrap_or(0);
        let cpu = std::fs::read_to_string(d.join("cpu.stat")).unwrap_or_default();
        s.cpu_ns = cpu
            .lines()
            .find_map(|l| l.strip_prefix("usage_usec "))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|us| us * 1000)
            .unwrap_or(0);
        let io = std::fs::read_to_string(d.join("io.stat")).unwrap_or_default();
        for kv in io.split_whitespace() {
            if let Some(v) = kv.strip_prefix("rbytes=") {
                s.blk_read += v.parse::<u64>().unwrap_or(0);
            } else if let Some(v) = kv.strip_prefix("wbytes=") {
                s.blk_write += v.parse::<u64>().unwrap_or(0);
            }
        }
    }
    if s.mem_limit == 0 || (s.mem_limit > host && host > 0) {
        s.mem_limit = host;
    }
    let net = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default();
    for l in net.lines().skip(2) {
        let Some((iface, rest)) = l.split_once(':') else {
            continue;
        };
        if iface.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = rest
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        if f.len() >= 9 {
            s.net_rx += f[0];
            s.net_tx += f[8];
        }
    }
    s
}

/// go-units `BytesSize`: binary units, 4 significant digits.
fn iec(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    let digits = if v >= 100.0 {
        1
    } else if v >= 10.0 {
        2
    } else {
        3
    };
    let mut s = format!("{v:.digits$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{s}{}", UNITS[i])
}

/// One row: Podman's pod stats fields.
fn row(pod: &str, id: &str, name: &str, s: &Sample, cpu: f64) -> Value {
    let pair = |a: u64, b: u64| format!("{} / {}", human::size_compact(a), human::size_compact(b));
    let mem_pct = if s.mem_limit > 0 {
        s.mem as f64 * 100.0 / s.mem_limit as f64
    } else {
        0.0
    };
    json!({
        "Pod": pod.chars().take(12).collect::<String>(),
        "CID": id.chars().take(12).collect::<String>(),
        "Name": name,
        "CPU": format!("{cpu:.2}%"),
        "MemUsage": pair(s.mem, s.mem_limit),
        "MemUsageBytes": format!("{} / {}", iec(s.mem), iec(s.mem_limit)),
        "Mem": format!("{mem_pct:.2}%"),
        "NetIO": pair(s.net_rx, s.net_tx),
        "BlockIO": pair(s.blk_read, s.blk_write),
        "PIDS": s.pids.to_string(),
    })
}

pub async fn stats(engine: &EngineConfig, a: &StatsArgs) -> anyhow::Result<()> {
    if a.all && (!a.pods.is_empty() || a.latest) {
        anyhow::bail!("--all, --latest and pods cannot be used together");
    }
    let db = crate::state::open_state(engine)?;
    let chosen = if a.pods.is_empty() {
        let all = pods::list(&db)?;
        if a.latest {
            all.into_iter().last().into_iter().collect()
        } else {
            all
        }
    } else {
        a.pods
            .iter()
            .map(|n| pods::resolve(&db, n))
            .collect::<Result<Vec<_>, _>>()?
    };
    let headers: HashMap<&str, &str> = [
        ("Pod", "POD"),
        ("CID", "CID"),
        ("Name", "NAME"),
        ("CPU", "CPU %"),
        ("MemUsage", "MEM USAGE/ LIMIT"),
        ("MemUsageBytes", "MEM USAGE/ LIMIT"),
        ("Mem", "MEM %"),
        ("NetIO", "NET IO"),
        ("BlockIO", "BLOCK IO"),
        ("PIDS", "PIDS"),
    ]
    .into_iter()
    .collect();
    let format = a.format.clone().unwrap_or_else(|| {
        "table {{.Pod}}\t{{.CID}}\t{{.Name}}\t{{.CPU}}\t{{.MemUsage}}\t{{.Mem}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDS}}".into()
    });
    let tty = nix::unistd::isatty(libc::STDOUT_FILENO).unwrap_or(false);
    // CPU %: usage over wall time, since the container started for the
    // first sample, since the previous one after.
    let mut previous: HashMap<String, (u64, Instant)> = HashMap::new();
    loop {
        let mut rows = Vec::new();
        for pod in &chosen {
            for (c, st) in pod_ops::refreshed(engine, pod).await? {
                if st.status != Status::Running || st.pid <= 0 {
                    continue;
                }
                let s = sample(st.pid);
                let now = Instant::now();
                let cpu = match previous.get(&c.id) {
                    Some((ns, at)) => {
                        let wall = now.duration_since(*at).as_nanos() as f64;
                        s.cpu_ns.saturating_sub(*ns) as f64 * 100.0 / wall.max(1.0)
                    }
                    None => {
                        let up = common::time::now_nanos() - st.started_ns;
                        s.cpu_ns as f64 * 100.0 / (up.max(1) as f64)
                    }
                };
                previous.insert(c.id.clone(), (s.cpu_ns, now));
                rows.push(row(&pod.id, &c.id, &c.name, &s, cpu));
            }
        }
        let out = if format.trim() == "json" {
            format!("{}\n", serde_json::to_string_pretty(&rows)?)
        } else {
            crate::format::table::render_rows(&format, &rows, &headers, false)?
        };
        if !a.no_stream && tty && !a.no_reset {
            print!("\x1b[2J\x1b[H");
        }
        print!("{out}");
        use std::io::Write;
        std::io::stdout().flush()?;
        // Without pods there is nothing to stream.
        if a.no_stream || chosen.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}
