//! The OCI runtime a new container uses: asked of ctr-monitor once per
//! create (its trial-container results are cached per boot).

use proto::common::v1::InfoRequest;

use crate::engine_config::EngineConfig;
use crate::helpers::{self, HelperKind, InfoAnswer};

/// Absolute path of the runtime to use.
pub async fn resolve(cfg: &EngineConfig) -> anyhow::Result<String> {
    if let Some(r) = &cfg.runtime {
        if r.starts_with('/') {
            if !common::paths::is_executable(std::path::Path::new(r)) {
                return Err(crate::runtime_choice::RuntimeError::NotFound(r.clone()).into());
            }
            return Ok(r.clone());
        }
    }
    let req = InfoRequest { probe: true, runtime_paths: crate::runtime_choice::requested_paths(cfg) };
    let (answer, _) = helpers::info(HelperKind::Monitor, cfg, req).await?;
    let InfoAnswer::Monitor(m) = answer else { anyhow::bail!("ctr-monitor answered Info with another helper's message") };
    let chosen = crate::runtime_choice::choose(cfg, &m.runtimes)?;
    Ok(chosen.path.clone())
}
