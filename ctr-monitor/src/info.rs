//! Which OCI runtimes exist here, their versions, and (probed or cached)
//! whether they work.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::runtime_probe::{self, ProbeResult};

#[derive(Debug, Clone, Serialize)]
pub struct RuntimeInfo {
    pub name: String,
    pub path: String,
    pub version: String,
    pub works: bool,
    pub probed: bool,
    pub error: String,
}

pub async fn gather(runroot: &Path, probe: bool, extra: &[PathBuf]) -> Vec<RuntimeInfo> {
    let mut cache = runtime_probe::read_cache(runroot);
    let mut changed = false;
    let mut out = Vec::new();
    let mut found = crate::runtimes::discover();
    for p in extra {
        if !found.iter().any(|(_, f)| f == p) {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            found.push((name, p.clone()));
        }
    }
    for (name, path) in found {
        let stamp = runtime_probe::stamp(&path);
        let key = path.display().to_string();
        let cached = cache.get(&key).filter(|c| c.stamp == stamp).cloned();
        let result: Option<ProbeResult> = match (probe, cached) {
            (_, Some(c)) => Some(c),
            (true, None) => {
                let mut r = runtime_probe::probe(&path, runroot).await;
                r.version = version_of(&path).await;
                cache.insert(key.clone(), r.clone());
                changed = true;
                Some(r)
            }
            (false, None) => None,
        };
        // The version is part of the cached result; without a probe and
        // without a cache entry it costs a process start, so it is left out.
        let version = match &result {
            Some(r) if !r.version.is_empty() => r.version.clone(),
            _ if probe => version_of(&path).await,
            _ => String::new(),
        };
        out.push(RuntimeInfo {
            name,
            path: key,
            version,
            works: result.as_ref().is_some_and(|r| r.works),
            probed: result.is_some(),
            error: result.map(|r| r.error).unwrap_or_default(),
        });
    }
    if changed {
        if let Err(e) = runtime_probe::write_cache(runroot, &cache) {
            tracing::warn!(error = %e, "could not cache runtime probe results");
        }
    }
    out
}

async fn version_of(path: &Path) -> String {
    let mut cmd = std::process::Command::new(path);
    cmd.arg("--version");
    match crate::reaper::output_within(cmd, Some(std::time::Duration::from_secs(10))).await {
        Ok((exit, out, _)) if exit.success() => String::from_utf8_lossy(&out)
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string(),
        Ok((exit, _, _)) => format!("unknown ({exit})"),
        Err(e) => format!("unknown ({e})"),
    }
}

pub fn human(rts: &[RuntimeInfo]) -> String {
    if rts.is_empty() {
        return "No OCI runtime found: install runc or crun\n".into();
    }
    rts.iter()
        .map(|r| {
            let state = match (r.probed, r.works) {
                (false, _) => "not probed (use --probe)".to_string(),
                (true, true) => "works".to_string(),
                (true, false) => format!("fails: {}", r.error),
            };
            format!("{:<6} {} ({}): {state}\n", r.name, r.path, r.version)
        })
        .collect()
}
