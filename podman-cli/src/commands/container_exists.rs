//! `podman container exists`: exit 0 or 1.

use clap::Args;

use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::error::ExitError;

#[derive(Debug, Clone, Args)]
pub struct ExistsArgs {
    pub container: String,
    /// Consider external containers that are not created by Podman
    #[arg(long)]
    pub external: bool,
}

pub async fn run(engine: &EngineConfig, args: &ExistsArgs) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    let found = store::exists(&db, &args.container)?
        || (args.external
            && crate::lifecycle::reconcile::find_storage_only(engine, &args.container)
                .await?
                .is_some());
    if found {
        Ok(())
    } else {
        Err(ExitError {
            code: crate::error::EXIT_NO_SUCH_OBJECT,
            source: anyhow::anyhow!(""),
        }
        .into())
    }
}
