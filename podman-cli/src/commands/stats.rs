//! `podman stats`: CPU, memory, network and block I/O and PIDs of
//! containers, read from their cgroups, once (`--no-stream`) or every
//! `--interval` seconds, computed as libpod does (CPU % over the time since
//! the previous reading, or since the start for the first one).

use std::collections::HashMap;
use std::io::{IsTerminal, Write};

use clap::Args;
use serde_json::{json, Value};

use crate::cgroup_stats::{self, Sample};
use crate::container::model::{ContainerConfig, ContainerState, NetworkMode, Status};
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::format::{human, report};

#[derive(Debug, Clone, Args)]
pub struct StatsArgs {
    /// Show all containers. Only running containers are shown by default
    #[arg(short, long)]
    pub all: bool,
    /// Pretty-print container statistics to JSON or using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Time in seconds between stats reports
    #[arg(short, long, default_value_t = 5, allow_negative_numbers = true)]
    pub interval: i64,
    /// Act on the latest container podman is aware of
    #[arg(short, long)]
    pub latest: bool,
    /// Do not truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Disable resetting the screen between intervals
    #[arg(long = "no-reset")]
    pub no_reset: bool,
    /// Disable streaming stats and only pull the first result
    #[arg(long = "no-stream")]
    pub no_stream: bool,
    /// Containers (default: all running ones)
    pub containers: Vec<String>,
}

/// The previous reading of a container, for CPU % between readings.
#[derive(Debug, Clone, Copy)]
struct Previous {
    cpu_ns: u64,
    at_ns: u64,
}

const DEFAULT_FORMAT: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDS}}\t{{.UpTime}}\t{{.AVGCPU}}";

fn headers() -> HashMap<&'static str, &'static str> {
    HashMap::from([
        ("ID", "ID"),
        ("UpTime", "CPU TIME"),
        ("CPUPerc", "CPU %"),
        ("AVGCPU", "Avg CPU %"),
        ("MemUsage", "MEM USAGE / LIMIT"),
        ("MemUsageBytes", "MEM USAGE / LIMIT"),
        ("MemPerc", "MEM %"),
        ("NetIO", "NET IO"),
        ("BlockIO", "BLOCK IO"),
        ("PIDS", "PIDS"),
    ])
}

fn percent(f: f64) -> String {
    format!("{f:.2}%")
}

/// libpod's calculateCPUPercent.
fn cpu_percent(cpu_ns: u64, prev_cpu: u64, now: u64, prev_at: u64) -> f64 {
    let cpu = cpu_ns.saturating_sub(prev_cpu) as f64;
    let system = now.saturating_sub(prev_at) as f64;
    if system > 0.0 && cpu > 0.0 {
        cpu / system * 100.0
    } else {
        0.0
    }
}

/// One container's report row (Podman's containerStats: the
/// define.ContainerStats fields and the methods the table uses).
fn row(
    cfg: &ContainerConfig,
    st: &ContainerState,
    s: &Sample,
    prev: Option<Previous>,
    now: u64,
    no_trunc: bool,
) -> Value {
    let started = st.started_ns.max(0) as u64;
    let prev = prev.filter(|p| p.cpu_ns <= s.cpu_ns).unwrap_or(Previous {
        cpu_ns: 0,
        at_ns: started,
    });
    let cpu = cpu_percent(s.cpu_ns, prev.cpu_ns, now, prev.at_ns);
    let avg = cpu_percent(s.cpu_ns, 0, now, started);
    let physical = crate::host_info::memory().0;
    let limit = if s.mem_limit == 0 || s.mem_limit > physical {
        physical
    } else {
        s.mem_limit
    };
    let mem_perc = if limit > 0 {
        s.mem_usage as f64 / limit as f64 * 100.0
    } else {
        0.0
    };
    let pair = |a: u64, b: u64| format!("{} / {}", human::size_compact(a), human::size_compact(b));
    let up = common::time::go_duration(std::time::Duration::from_nanos(s.cpu_ns));
    let id = if no_trunc {
        cfg.id.clone()
    } else {
        cfg.id.chars().take(12).collect()
    };
    json!({
        "ID": id,
        "ContainerID": cfg.id,
        "Name": cfg.name,
        "CPUPerc": percent(cpu),
        "AVGCPU": percent(avg),
        "CPU": cpu,
        "AvgCPU": avg,
        "MemUsage": pair(s.mem_usage, limit),
        "MemUsageBytes": format!("{} / {}", human::bytes_size(s.mem_usage), human::bytes_size(limit)),
        "MemPerc": percent(mem_perc),
        "MemLimit": limit,
        "NetIO": pair(s.net_rx, s.net_tx),
        "BlockIO": pair(s.block_read, s.block_write),
        "BlockInput": s.block_read,
        "BlockOutput": s.block_write,
        "PIDS": s.pids.to_string(),
        "PIDs": s.pids,
        "UpTime": up,
        "Up": up,
        "Duration": s.cpu_ns,
        "CPUNano": s.cpu_ns,
        "CPUSystemNano": s.cpu_system_ns,
        "SystemNano": now,
    })
}

/// The `--format json` shape (Podman's jstat, in its field order).
#[derive(serde::Serialize)]
struct JsonStat<'a> {
    id: &'a Value,
    name: &'a Value,
    cpu_time: &'a Value,
    cpu_percent: &'a Value,
    avg_cpu: &'a Value,
    mem_usage: &'a Value,
    mem_percent: &'a Value,
    net_io: &'a Value,
    block_io: &'a Value,
    pids: &'a Value,
}

fn json_row(r: &Value) -> JsonStat<'_> {
    JsonStat {
        id: &r["ID"],
        name: &r["Name"],
        cpu_time: &r["UpTime"],
        cpu_percent: &r["CPUPerc"],
        avg_cpu: &r["AVGCPU"],
        mem_usage: &r["MemUsage"],
        mem_percent: &r["MemPerc"],
        net_io: &r["NetIO"],
        block_io: &r["BlockIO"],
        pids: &r["PIDS"],
    }
}

fn check(a: &StatsArgs) -> anyhow::Result<()> {
    let given = [a.all, a.latest, !a.containers.is_empty()]
        .iter()
        .filter(|b| **b)
        .count();
    if given > 1 {
        anyhow::bail!("--all, --latest and containers cannot be used together");
    }
    if a.interval < 1 {
        anyhow::bail!("invalid interval, must be a positive number greater zero");
    }
    Ok(())
}

/// One reading of every chosen container.
async fn reading(
    engine: &EngineConfig,
    a: &StatsArgs,
    previous: &mut HashMap<String, Previous>,
) -> anyhow::Result<Vec<Value>> {
    let db = super::open_state(engine)?;
    let records = if a.latest {
        vec![store::latest(&db)?]
    } else if !a.containers.is_empty() {
        a.containers
            .iter()
            .map(|n| store::resolve(&db, n.trim_start_matches('/')))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        store::list(&db)?
    };
    let explicit = a.latest || !a.containers.is_empty();
    let mut rows = Vec::new();
    for record in records {
        let (cfg, st) = crate::lifecycle::cleanup::refresh(engine, record).await?;
        let active = matches!(st.status, Status::Running | Status::Paused);
        if !(active || explicit || a.all) {
            continue;
        }
        let now = common::time::now_nanos().max(0) as u64;
        let sample = if active {
            let own_netns = !matches!(cfg.network_mode, NetworkMode::Host);
            match cgroup_stats::sample(st.pid, own_netns) {
                Ok(s) => s,
                // Gone between the state read and the cgroup read, or
                // never given a cgroup: not in an --all listing (Podman).
                Err(_) if !explicit => continue,
                Err(e) => return Err(e.into()),
            }
        } else {
            Sample::default()
        };
        let mut r = row(
            &cfg,
            &st,
            &sample,
            previous.get(&cfg.id).copied(),
            now,
            a.no_trunc,
        );
        if !active {
            // libpod reports an empty record for a stopped container.
            for k in ["CPUPerc", "AVGCPU", "MemPerc"] {
                r[k] = json!(percent(0.0));
            }
            r["MemUsage"] = json!("0B / 0B");
            r["MemUsageBytes"] = json!("0B / 0B");
        }
        previous.insert(
            cfg.id.clone(),
            Previous {
                cpu_ns: sample.cpu_ns,
                at_ns: now,
            },
        );
        rows.push(r);
    }
    Ok(rows)
}

fn render(a: &StatsArgs, rows: &[Value]) -> anyhow::Result<String> {
    let format = a.format.as_deref().unwrap_or(DEFAULT_FORMAT);
    if report::is_json(format) {
        // json.MarshalIndent(stats, "", " "): a one-space indent.
        let list: Vec<JsonStat> = rows.iter().map(json_row).collect();
        return Ok(format!("{}\n", crate::format::json_indent(&list, " ")?));
    }
    report::render_rows("stats", format, rows, &headers(), false)
}

pub async fn run(engine: &EngineConfig, a: &StatsArgs) -> anyhow::Result<()> {
    check(a)?;
    let mut previous = HashMap::new();
    let tty = std::io::stdout().is_terminal();
    loop {
        let rows = reading(engine, a, &mut previous).await?;
        let text = render(a, &rows)?;
        let mut out = std::io::stdout().lock();
        if !a.no_reset && tty {
            // Clear the screen and home the cursor (Podman's ClearScreen).
            out.write_all(b"\x1b[2J\x1b[1;1H")?;
        }
        out.write_all(text.as_bytes())?;
        out.flush()?;
        drop(out);
        if a.no_stream {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(a.interval as u64)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_percent_is_libpods() {
        assert_eq!(cpu_percent(500, 0, 1000, 0), 50.0);
        assert_eq!(cpu_percent(100, 200, 1000, 0), 0.0);
        assert_eq!(cpu_percent(100, 0, 10, 10), 0.0);
    }

    #[test]
    fn exclusive_targets() {
        let a = StatsArgs {
            all: true,
            format: None,
            interval: 5,
            latest: true,
            no_trunc: false,
            no_reset: false,
            no_stream: true,
            containers: vec![],
        };
        assert_eq!(
            check(&a).unwrap_err().to_string(),
            "--all, --latest and containers cannot be used together"
        );
    }
}
