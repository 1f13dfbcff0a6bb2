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

/// A container another containers/storage user (buildah) made in this
/// graph root, by name, ID or ID prefix.
async fn is_external(engine: &EngineConfig, name: &str) -> anyhow::Result<bool> {
    let mut storage = crate::helper_procs::storage(engine).await?;
    let listed = storage
        .call("ListExternal", |mut c| async move {
            c.list_external(proto::storage::v1::ListExternalRequest {})
                .await
        })
        .await;
    storage.close().await?;
    Ok(listed?.containers.iter().any(|c| {
        c.id == name
            || c.names.iter().any(|n| n == name)
            || (!name.is_empty() && c.id.starts_with(name))
    }))
}

pub async fn run(engine: &EngineConfig, args: &ExistsArgs) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    let found = store::exists(&db, &args.container)?
        || (args.external
            && crate::lifecycle::reconcile::find_storage_only(engine, &args.container)
                .await?
                .is_some())
        || (args.external && is_external(engine, &args.container).await?);
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
