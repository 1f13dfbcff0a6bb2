//! `GET /containers/{id}/stats?stream=&one-shot=`: Docker's StatsJSON from
//! the container's cgroup (the reader `podman stats` uses), each second
//! while streaming.

use std::rc::Rc;

use bytes::Bytes;
use http::StatusCode;
use serde_json::{json, Value};

use super::errors::{ApiError, ApiResult};
use super::http::Resp;
use super::router::Req;
use super::server::Service;
use super::worker::{self, engine_err};
use crate::cgroup_stats::{self, Sample};
use crate::container::model::{NetworkMode, Status};
use crate::container::store;

/// Total CPU time of the host (all CPUs), nanoseconds, as Docker's
/// system_cpu_usage.
fn system_cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: u64 = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as u64;
    ticks.saturating_mul(1_000_000_000 / hz.max(1))
}

fn cpu_block(s: &Sample, system: u64) -> Value {
    json!({
        "cpu_usage": {
            "total_usage": s.cpu_ns,
            "usage_in_kernelmode": s.cpu_system_ns,
            "usage_in_usermode": s.cpu_ns.saturating_sub(s.cpu_system_ns),
        },
        "system_cpu_usage": system,
        "online_cpus": crate::host_info::cpus(),
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
    })
}

fn doc(name: &str, id: &str, now: &(Sample, u64), pre: Option<&(Sample, u64)>) -> Value {
    let (s, system) = now;
    let limit = if s.mem_limit == 0 {
        crate::host_info::memory().0
    } else {
        s.mem_limit
    };
    let (pre_cpu, pre_read) = match pre {
        Some((p, psys)) => (cpu_block(p, *psys), common::time::now_rfc3339()),
        None => (
            json!({"cpu_usage": {"total_usage": 0}, "system_cpu_usage": 0, "online_cpus": 0, "throttling_data": {}}),
            "0001-01-01T00:00:00Z".to_string(),
        ),
    };
    json!({
        "read": common::time::now_rfc3339(),
        "preread": pre_read,
        "name": format!("/{name}"),
        "id": id,
        "pids_stats": {"current": s.pids},
        "memory_stats": {"usage": s.mem_usage, "limit": limit, "stats": {}},
        "cpu_stats": cpu_block(s, *system),
        "precpu_stats": pre_cpu,
        "blkio_stats": {
            "io_service_bytes_recursive": [
                {"major": 0, "minor": 0, "op": "read", "value": s.block_read},
                {"major": 0, "minor": 0, "op": "write", "value": s.block_write},
            ],
        },
        "networks": {"eth0": {"rx_bytes": s.net_rx, "tx_bytes": s.net_tx, "rx_packets": 0, "tx_packets": 0, "rx_errors": 0, "tx_errors": 0, "rx_dropped": 0, "tx_dropped": 0}},
        "num_procs": 0,
        "storage_stats": {},
    })
}

pub async fn stats(s: &Rc<Service>, req: &Req, id: &str) -> ApiResult<Resp> {
    let stream = req.query.bool("stream")?.unwrap_or(true);
    let one_shot = req.query.flag("one-shot")?;
    let id = id.to_string();
    // Resolved first: a missing container is a 404, a stopped one a 409.
    let (cfg_id, name, pid, own_netns) = worker::run(&s.engine, {
        let id = id.clone();
        move |engine| async move {
            let db = crate::state::open_state(&engine).map_err(engine_err)?;
            let rec = store::resolve(&db, &id).map_err(|e| engine_err(e.into()))?;
            drop(db);
            let (cfg, st) = crate::lifecycle::cleanup::refresh(&engine, rec)
                .await
                .map_err(engine_err)?;
            if !matches!(st.status, Status::Running | Status::Paused) {
                return Err(ApiError::conflict(format!(
                    "container {} is not running: container state improper",
                    cfg.name
                )));
            }
            Ok((
                cfg.id.clone(),
                cfg.name.clone(),
                st.pid,
                !matches!(cfg.network_mode, NetworkMode::Host),
            ))
        }
    })
    .await?;
    let (resp, tx) = super::http::stream(StatusCode::OK, "application/json");
    worker::spawn(&s.engine, move |_engine| async move {
        let take = || cgroup_stats::sample(pid, own_netns).map(|smp| (smp, system_cpu_ns()));
        let mut pre = None;
        loop {
            let Ok(now) = take() else { return };
            let send_now = stream || one_shot || pre.is_some();
            if send_now {
                let mut b = serde_json::to_vec(&doc(&name, &cfg_id, &now, pre.as_ref()))
                    .unwrap_or_default();
                b.push(b'\n');
                if tx.send(Bytes::from(b)).await.is_err() || !stream {
                    return;
                }
            }
            pre = Some(now);
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    })?;
    Ok(resp)
}
