//! `podman ps`.

use std::collections::HashMap;

use clap::Args;
use serde_json::{json, Value};

use crate::container::model::{ContainerConfig, ContainerState, Status};
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::format::{human, table};

#[derive(Debug, Clone, Args)]
pub struct PsArgs {
    /// Show all containers (default shows only running ones)
    #[arg(short, long)]
    pub all: bool,
    /// Print only the container IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Show the latest container created
    #[arg(short, long)]
    pub latest: bool,
    /// Show the N last created containers
    #[arg(short = 'n', long)]
    pub last: Option<usize>,
    /// Filter: status=, name=, id=, label=, ancestor=, exited=
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Pretty-print containers using a Go template, or json
    #[arg(long)]
    pub format: Option<String>,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Display the total file sizes
    #[arg(short, long)]
    pub size: bool,
    /// Sort by: command, created, id, image, names, runningfor, status
    #[arg(long, default_value = "created")]
    pub sort: String,
    /// Do not print headers
    #[arg(long)]
    pub noheading: bool,
}

fn ns_to_secs(ns: i64) -> i64 {
    ns / 1_000_000_000
}

fn status_text(st: &ContainerState) -> String {
    match st.status {
        Status::Running => format!("Up {}", human::duration(now() - ns_to_secs(st.started_ns))),
        Status::Paused => "Paused".into(),
        Status::Exited | Status::Stopped => format!(
            "Exited ({}) {} ago",
            st.exit_code,
            human::duration(now() - ns_to_secs(st.finished_ns))
        ),
        Status::Stopping => "Stopping".into(),
        Status::Created | Status::Configured => "Created".into(),
        Status::Removing => "Removing".into(),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub fn ports_text(cfg: &ContainerConfig) -> String {
    cfg.ports
        .iter()
        .map(|p| {
            let ip = if p.host_ip.is_empty() {
                "0.0.0.0"
            } else {
                &p.host_ip
            };
            if p.range > 1 {
                format!(
                    "{ip}:{}-{}->{}-{}/{}",
                    p.host_port,
                    p.host_port + p.range - 1,
                    p.container_port,
                    p.container_port + p.range - 1,
                    p.protocol
                )
            } else {
                format!("{ip}:{}->{}/{}", p.host_port, p.container_port, p.protocol)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn row(cfg: &ContainerConfig, st: &ContainerState, no_trunc: bool) -> Value {
    let mut command = cfg.command_line().join(" ");
    if !no_trunc && command.chars().count() > 17 {
        command = command.chars().take(17).collect::<String>() + "...";
    }
    json!({
        "ID": if no_trunc { cfg.id.clone() } else { cfg.id[..12.min(cfg.id.len())].to_string() },
        "Id": cfg.id,
        "Image": cfg.image_name,
        "ImageID": cfg.image_id,
        "Command": command,
        "CreatedAt": crate::format::time::format_time(ns_to_secs(cfg.created_ns)),
        "Created": ns_to_secs(cfg.created_ns),
        "CreatedHuman": human::since(ns_to_secs(cfg.created_ns)),
        "RunningFor": human::since(ns_to_secs(cfg.created_ns)),
        "Status": status_text(st),
        "State": st.status.as_str(),
        "Ports": ports_text(cfg),
        "Names": cfg.name,
        "Labels": cfg.labels,
        "Pid": st.pid,
        "ExitCode": st.exit_code,
        "Exited": matches!(st.status, Status::Exited | Status::Stopped),
        "Size": "",
        "Mounts": cfg.mounts.iter().map(|m| m.destination.clone()).collect::<Vec<_>>(),
        "Networks": cfg.networks.iter().map(|n| n.name.clone()).collect::<Vec<_>>(),
    })
}

fn keep(f: &str, cfg: &ContainerConfig, st: &ContainerState) -> anyhow::Result<bool> {
    let (k, v) = f
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("invalid filter {f:?}: expected KEY=VALUE"))?;
    Ok(match k {
        "status" => st.status.as_str() == v || (v == "exited" && st.status == Status::Stopped),
        "name" => cfg.name.contains(v),
        "id" => cfg.id.starts_with(v),
        "label" => match v.split_once('=') {
            Some((lk, lv)) => cfg.labels.get(lk).is_some_and(|x| x == lv),
            None => cfg.labels.contains_key(v),
        },
        "ancestor" => cfg.image_name.contains(v) || cfg.image_id.starts_with(v),
        "exited" => {
            matches!(st.status, Status::Exited | Status::Stopped)
                && v.parse::<i32>().is_ok_and(|c| c == st.exit_code)
        }
        _ => anyhow::bail!(
            "invalid filter {f:?}: supported filters are status, name, id, label, ancestor, exited"
        ),
    })
}

pub async fn run(engine: &EngineConfig, args: &PsArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let db = crate::state::open_state(engine)?;
    let mut list = Vec::new();
    for rec in store::list(&db)? {
        let rec = crate::lifecycle::cleanup::refresh(engine, rec).await?;
        if rec.1.status != Status::Removing {
            list.push(rec);
        }
    }
    tracing::debug!(
        containers = list.len(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
        "listed containers"
    );
    if args.latest {
        list = list.into_iter().last().into_iter().collect();
    }
    if let Some(n) = args.last {
        let skip = list.len().saturating_sub(n);
        list = list.into_iter().skip(skip).collect();
    }
    let show_all = args.all || args.latest || args.last.is_some() || !args.filter.is_empty();
    let mut kept = Vec::new();
    for (c, s) in list {
        if !show_all && !s.status.is_active() {
            continue;
        }
        let mut ok = true;
        for f in &args.filter {
            ok &= keep(f, &c, &s)?;
        }
        if ok {
            kept.push((c, s));
        }
    }
    match args.sort.as_str() {
        "created" => kept.sort_by_key(|(c, _)| std::cmp::Reverse(c.created_ns)),
        "id" => kept.sort_by(|a, b| a.0.id.cmp(&b.0.id)),
        "image" => kept.sort_by(|a, b| a.0.image_name.cmp(&b.0.image_name)),
        "names" => kept.sort_by(|a, b| a.0.name.cmp(&b.0.name)),
        "status" => kept.sort_by(|a, b| a.1.status.as_str().cmp(b.1.status.as_str())),
        "command" => kept.sort_by_key(|(c, _)| c.command_line().join(" ")),
        "runningfor" => kept.sort_by_key(|(c, _)| c.created_ns),
        other => anyhow::bail!("invalid --sort {other:?}: use command, created, id, image, names, runningfor or status"),
    }
    if args.quiet {
        let mut out = String::new();
        for (c, _) in &kept {
            out.push_str(if args.no_trunc {
                &c.id
            } else {
                &c.id[..12.min(c.id.len())]
            });
            out.push('\n');
        }
        print!("{out}");
        return Ok(());
    }
    let mut rows: Vec<Value> = kept.iter().map(|(c, s)| row(c, s, args.no_trunc)).collect();
    if args.size {
        // The writable layer's size, from storage-helper's record of it.
        let mut storage = crate::helper_procs::storage(engine).await?;
        let listed = storage
            .call("ListContainers", |mut c| async move {
                c.list_containers(proto::storage::v1::ListContainersRequest {})
                    .await
            })
            .await;
        storage.close().await?;
        let uppers: HashMap<String, String> = listed?
            .containers
            .into_iter()
            .map(|c| (c.id, c.upper_dir))
            .collect();
        for (r, (c, _)) in rows.iter_mut().zip(kept.iter()) {
            let bytes = uppers
                .get(&c.id)
                .map(|u| dir_size(std::path::Path::new(u)))
                .unwrap_or(0);
            r["Size"] = json!(human::size(bytes));
        }
    }
    let headers: HashMap<&str, &str> = [
        ("ID", "CONTAINER ID"),
        ("CreatedHuman", "CREATED"),
        ("RunningFor", "CREATED"),
        ("Names", "NAMES"),
    ]
    .into_iter()
    .collect();
    let out = match args.format.as_deref() {
        Some("json") => format!("{}\n", serde_json::to_string_pretty(&rows)?),
        Some(f) => table::render_rows(f, &rows, &headers, args.noheading)?,
        None => table::render_rows(
            if args.size {
                "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedHuman}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}"
            } else {
                "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedHuman}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
            },
            &rows,
            &headers,
            args.noheading,
        )?,
    };
    print!("{out}");
    Ok(())
}

/// Bytes used by the files under `dir` (not following symlinks).
fn dir_size(dir: &std::path::Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.filter_map(|e| e.ok())
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) if m.is_file() => m.len(),
            _ => 0,
        })
        .sum()
}
