//! The OCI runtime a new container uses. ctr-monitor's trial containers say
//! which runtimes work; the choice is remembered in the run root (so once
//! per boot) together with the size and mtime of every runtime binary it
//! considered, and asked again when any of them changed.

use std::collections::BTreeMap;
use std::path::Path;

use proto::common::v1::InfoRequest;

use crate::engine_config::EngineConfig;
use crate::helper_procs::{self, HelperKind, InfoAnswer};

#[derive(serde::Serialize, serde::Deserialize)]
struct Cached {
    requested: Option<String>,
    chosen: String,
    stamps: BTreeMap<String, String>,
}

fn stamp(path: &str) -> String {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .map(|m| format!("{}:{}.{}", m.size(), m.mtime(), m.mtime_nsec()))
        .unwrap_or_default()
}

fn cache_file(cfg: &EngineConfig) -> std::path::PathBuf {
    cfg.run_root.join("runtime-choice.json")
}

fn cached(cfg: &EngineConfig) -> Option<String> {
    let c: Cached = serde_json::from_slice(&std::fs::read(cache_file(cfg)).ok()?).ok()?;
    (c.requested == cfg.runtime && c.stamps.iter().all(|(p, s)| stamp(p) == *s)).then_some(c.chosen)
}

/// Absolute path of the runtime to use.
pub async fn resolve(cfg: &EngineConfig) -> anyhow::Result<String> {
    if let Some(r) = &cfg.runtime {
        if r.starts_with('/') {
            if !common::paths::is_executable(Path::new(r)) {
                return Err(crate::runtime_choice::RuntimeError::NotFound(r.clone()).into());
            }
            return Ok(r.clone());
        }
    }
    if let Some(path) = cached(cfg) {
        return Ok(path);
    }
    let req = InfoRequest {
        probe: true,
        runtime_paths: crate::runtime_choice::requested_paths(cfg),
    };
    let (answer, _) = helper_procs::info(HelperKind::Monitor, cfg, req).await?;
    let InfoAnswer::Monitor(m) = answer else {
        anyhow::bail!("ctr-monitor answered Info with another helper's message")
    };
    let chosen = crate::runtime_choice::choose(cfg, &m.runtimes)?
        .path
        .clone();
    let record = Cached {
        requested: cfg.runtime.clone(),
        chosen: chosen.clone(),
        stamps: m
            .runtimes
            .iter()
            .map(|r| (r.path.clone(), stamp(&r.path)))
            .collect(),
    };
    if common::private_dir::create(&cfg.run_root).is_ok() {
        if let Ok(bytes) = serde_json::to_vec(&record) {
            // Rarely written (a runtime changed), so the fsyncs are free.
            let _ = common::atomic_file::write_atomic(
                &cache_file(cfg),
                &bytes,
                common::atomic_file::Durability::Fsync,
            );
        }
    }
    Ok(chosen)
}
