//! Choosing the OCI runtime: `--runtime` or containers.conf's `runtime`
//! (a name or a path), else the first that works here, crun before runc.
//! "Works" comes from ctr-monitor's trial container, cached per boot.

use std::path::PathBuf;

use proto::monitor::v1::Runtime;

use crate::engine_config::EngineConfig;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("OCI runtime {0:?} not found: install it, or pass --runtime with a name from containers.conf [engine.runtimes] or a path")]
    NotFound(String),
    #[error("no working OCI runtime found (tried: {0}): install runc or crun")]
    NoneWorks(String),
}

/// Paths the monitor should look at beside the ones it finds itself: what
/// the configuration names.
pub fn requested_paths(cfg: &EngineConfig) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(r) = &cfg.runtime {
        if r.contains('/') {
            out.push(r.clone());
        } else {
            out.extend(
                cfg.containers
                    .runtime_paths(r)
                    .into_iter()
                    .filter(|p| p.exists())
                    .map(|p| p.display().to_string()),
            );
        }
    }
    for paths in cfg.containers.engine.runtimes.values() {
        out.extend(
            paths
                .iter()
                .filter(|p| std::path::Path::new(p).exists())
                .cloned(),
        );
    }
    out.dedup();
    out
}

/// Pick the runtime from the monitor's report.
pub fn choose<'a>(cfg: &EngineConfig, found: &'a [Runtime]) -> Result<&'a Runtime, RuntimeError> {
    if let Some(want) = &cfg.runtime {
        let candidates: Vec<PathBuf> = if want.contains('/') {
            vec![PathBuf::from(want)]
        } else {
            cfg.containers.runtime_paths(want)
        };
        return candidates
            .iter()
            .find_map(|p| found.iter().find(|r| std::path::Path::new(&r.path) == p))
            .or_else(|| {
                (!want.contains('/'))
                    .then(|| found.iter().find(|r| r.name == *want))
                    .flatten()
            })
            .ok_or_else(|| RuntimeError::NotFound(want.clone()));
    }
    for name in cfg.containers.runtime_names() {
        if let Some(r) = found.iter().find(|r| r.name == name && r.works) {
            return Ok(r);
        }
    }
    // Nothing proven to work: take the first found, so its error shows later.
    found.iter().find(|r| !r.probed).ok_or_else(|| {
        RuntimeError::NoneWorks(if found.is_empty() {
            "none installed".into()
        } else {
            found
                .iter()
                .map(|r| format!("{}: {}", r.path, r.error))
                .collect::<Vec<_>>()
                .join("; ")
        })
    })
}
