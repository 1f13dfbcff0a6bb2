//! `podman start`.

use clap::Args;

use super::targets::for_each;
use crate::container::store;
use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct StartArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
    /// Attach the container's output (and exit with its code)
    #[arg(short, long)]
    pub attach: bool,
    /// Keep STDIN open and attach it
    #[arg(short, long)]
    pub interactive: bool,
}

pub async fn run(engine: &EngineConfig, args: &StartArgs) -> anyhow::Result<()> {
    if args.attach || args.interactive {
        if args.containers.len() != 1 {
            anyhow::bail!("you cannot start and attach multiple containers at once: give one container with --attach");
        }
        let db = crate::state::open_state(engine)?;
        let (cfg, _) = store::resolve(&db, &args.containers[0])?;
        return super::run::start_and_attach(engine, &cfg, true, args.interactive).await;
    }
    for_each(
        &args.containers,
        |c| async move { crate::lifecycle::start::start(engine, &c).await.map(|_| ()) },
        true,
    )
    .await
}
