//! `podman rename`.

use clap::Args;

use crate::container::store;
use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct RenameArgs {
    pub container: String,
    pub new_name: String,
}

pub async fn run(engine: &EngineConfig, a: &RenameArgs) -> anyhow::Result<()> {
    crate::container::names::validate_name(&a.new_name).map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = crate::state::open_state(engine)?;
    let (mut cfg, _) = store::resolve(&db, &a.container)?;
    cfg.name = a.new_name.clone();
    store::rename(&db, &cfg.id, &cfg)?;
    crate::events::container(&cfg, "rename");
    Ok(())
}
