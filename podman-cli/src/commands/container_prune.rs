//! `podman container prune`.

use clap::Args;

use crate::container::model::Status;
use crate::container::store;
use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct PruneArgs {
    #[arg(short, long)]
    pub force: bool,
}

/// Remove every container that is not running.
pub async fn run(engine: &EngineConfig, _a: &PruneArgs) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    for rec in store::list(&db)? {
        let (cfg, st) = crate::lifecycle::cleanup::refresh(engine, rec).await?;
        if st.status.is_active() || st.status == Status::Removing {
            continue;
        }
        crate::lifecycle::remove::remove(engine, &cfg.id, false, false).await?;
        println!("{}", cfg.id);
    }
    Ok(())
}
