//! `podman kill`.

use clap::Args;

use super::targets::{for_each, targets};
use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct KillArgs {
    pub containers: Vec<String>,
    /// Signal to send
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
    #[arg(short, long)]
    pub all: bool,
    #[arg(short, long)]
    pub latest: bool,
}

pub async fn run(engine: &EngineConfig, args: &KillArgs) -> anyhow::Result<()> {
    let sig = crate::container::parse::signal("--signal", &args.signal)?;
    let names = targets(engine, &args.containers, args.all, args.latest)?;
    for_each(
        &names,
        |c| async move {
            crate::lifecycle::stop::kill(engine, &c, sig)
                .await
                .map(|_| ())
        },
        true,
    )
    .await
}
