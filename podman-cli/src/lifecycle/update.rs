//! `podman update`: new resource limits, restart policy, environment and
//! ulimits for an existing container. Limits given replace the recorded
//! ones field by field (others stay, as libpod merges them); a running or
//! paused container gets them at once through the runtime's `update`, and
//! every change is recorded for its next start.

use std::process::Stdio;

use crate::container::model::{ContainerConfig, Resources, RestartPolicy, Rlimit};
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::lifecycle::paths::{ContainerLock, ContainerPaths};
use crate::spec::resources::{self, ResourceFlags};

/// What the user asked to change; `None`/empty: leave as it is.
#[derive(Debug, Clone, Default)]
pub struct UpdateOptions {
    pub resources: ResourceFlags,
    pub pids_limit: Option<i64>,
    pub restart: Option<RestartPolicy>,
    pub env: Vec<String>,
    pub unsetenv: Vec<String>,
    pub ulimits: Vec<Rlimit>,
    /// `--ulimit host`: drop every rlimit, the container keeps podman's.
    pub ulimit_host: bool,
    /// `--health-*`, `--no-healthcheck` (checks read them at once; a
    /// running container's timer takes the new interval at once).
    pub health: super::health::HealthFlags,
}

/// Overlay the limits that were given onto the recorded ones.
fn merge(old: &Resources, new: &Resources, f: &ResourceFlags) -> Resources {
    let mut r = old.clone();
    macro_rules! take {
        ($($field:ident),*) => { $( if new.$field.is_some() { r.$field = new.$field; } )* };
    }
    take!(
        memory,
        memory_reservation,
        memory_swappiness,
        cpu_shares,
        cpu_period,
        cpu_quota,
        cpu_rt_period,
        cpu_rt_runtime,
        blkio_weight
    );
    if f.memory_swap.is_some() || f.memory.is_some() {
        r.memory_swap = new.memory_swap;
    }
    if f.oom_kill_disable {
        r.oom_kill_disable = true;
    }
    if !new.cpuset_cpus.is_empty() {
        r.cpuset_cpus = new.cpuset_cpus.clone();
    }
    if !new.cpuset_mems.is_empty() {
        r.cpuset_mems = new.cpuset_mems.clone();
    }
    for (out, given) in [
        (&mut r.throttle_read_bps, &new.throttle_read_bps),
        (&mut r.throttle_write_bps, &new.throttle_write_bps),
        (&mut r.throttle_read_iops, &new.throttle_read_iops),
        (&mut r.throttle_write_iops, &new.throttle_write_iops),
    ] {
        for d in given {
            out.retain(|x| x.path != d.path);
            out.push(d.clone());
        }
    }
    for d in &new.blkio_weight_device {
        r.blkio_weight_device.retain(|x| x.path != d.path);
        r.blkio_weight_device.push(d.clone());
    }
    r
}

fn merge_env(env: &mut Vec<String>, set: &[String], unset: &[String]) {
    for kv in set {
        let key = kv.split_once('=').map_or(kv.as_str(), |(k, _)| k);
        env.retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != key);
        env.push(kv.clone());
    }
    env.retain(|e| {
        let key = e.split_once('=').map_or(e.as_str(), |(k, _)| k);
        !unset.iter().any(|u| u == key)
    });
}

/// The runtime's `update --resources -` for a live container.
async fn runtime_update(
    cfg: &ContainerConfig,
    paths: &ContainerPaths,
    doc: &serde_json::Value,
) -> anyhow::Result<()> {
    let mut child = tokio::process::Command::new(&cfg.runtime)
        .arg("--root")
        .arg(&paths.runtime_root)
        .args(["update", "--resources", "-", &cfg.id])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let body = serde_json::to_vec(doc)?;
    if let Some(mut stdin) = child.stdin.take() {
        use tokio::io::AsyncWriteExt;
        stdin.write_all(&body).await?;
        // Dropped here: the runtime reads to end of file.
    }
    let out = child.wait_with_output().await?;
    if !out.status.success() {
        anyhow::bail!(
            "updating container {} resources: {}",
            cfg.id,
            String::from_utf8_lossy(&out.stderr)
                .trim()
                .replace('\n', " ")
        );
    }
    Ok(())
}

/// Apply `o` to the container `name_or_id`; returns its ID.
pub async fn update(
    engine: &EngineConfig,
    name_or_id: &str,
    o: &UpdateOptions,
) -> anyhow::Result<String> {
    let db = crate::state::open_state(engine)?;
    let (cfg, _) = store::resolve(&db, name_or_id)?;
    let paths = ContainerPaths::new(engine, &cfg.id);
    let _lock = ContainerLock::acquire(&paths)?;
    let (mut cfg, st) = store::resolve(&db, &cfg.id)?;
    let host = resources::HostCgroups::probe();
    let (given, warnings) = resources::parse(&o.resources, &host)?;
    for w in warnings {
        eprintln!("{w}");
    }
    let health = super::health_config::updated(cfg.extra.healthcheck.as_ref(), &o.health)?;
    let merged = merge(&cfg.extra.resources, &given, &o.resources);
    if let (Some(m), Some(s)) = (merged.memory, merged.memory_swap) {
        if s < m {
            anyhow::bail!("minimum memoryswap limit should be larger than memory limit, see usage");
        }
    }
    cfg.extra.resources = merged;
    if let Some(p) = o.pids_limit {
        cfg.extra.security.pids_limit = if p <= 0 { -1 } else { p };
    }
    if st.status.is_active() {
        let mut doc = serde_json::json!({});
        resources::apply(&cfg.extra.resources, &mut doc);
        if cfg.extra.security.pids_limit != 0 {
            doc["pids"] = serde_json::json!({"limit": cfg.extra.security.pids_limit});
        }
        runtime_update(&cfg, &paths, &doc).await?;
    }
    if let Some(r) = &o.restart {
        cfg.restart = r.clone();
    }
    let health_changed = health.is_some();
    if let Some(h) = health {
        cfg.extra.healthcheck = Some(h);
    }
    merge_env(&mut cfg.env, &o.env, &o.unsetenv);
    if o.ulimit_host {
        cfg.rlimits.clear();
    }
    for u in o.ulimits.iter().filter(|_| !o.ulimit_host) {
        cfg.rlimits.retain(|x| x.kind != u.kind);
        cfg.rlimits.push(u.clone());
    }
    store::update_config(&db, &cfg)?;
    if health_changed {
        // A running container's timer follows the new interval at once.
        super::timer_repair::retime(engine, &cfg, &st).await;
    }
    crate::events::container(&cfg, "update");
    Ok(cfg.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_limits_replace_only_their_fields() {
        let old = Resources {
            memory: Some(100),
            memory_swap: Some(200),
            cpu_shares: Some(512),
            ..Default::default()
        };
        let new = Resources {
            memory: Some(300),
            memory_swap: Some(600),
            ..Default::default()
        };
        let f = ResourceFlags {
            memory: Some("300".into()),
            ..Default::default()
        };
        let r = merge(&old, &new, &f);
        assert_eq!(r.memory, Some(300));
        assert_eq!(r.memory_swap, Some(600));
        assert_eq!(r.cpu_shares, Some(512));
    }

    #[test]
    fn env_is_merged_by_key() {
        let mut env = vec!["A=1".to_string(), "B=2".to_string()];
        merge_env(&mut env, &["A=3".into()], &["B".into()]);
        assert_eq!(env, ["A=3"]);
    }
}
