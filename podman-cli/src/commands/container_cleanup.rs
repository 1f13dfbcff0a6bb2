//! `podman container cleanup`: what a container's monitor runs when it
//! exits.

use clap::Args;

use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct CleanupArgs {
    pub container: String,
    /// Remove the container after cleaning up
    #[arg(long)]
    pub rm: bool,
}

pub async fn run(engine: &EngineConfig, args: &CleanupArgs) -> anyhow::Result<()> {
    crate::lifecycle::reconcile::pending(engine).await;
    crate::lifecycle::cleanup::cleanup(engine, &args.container, args.rm).await
}
