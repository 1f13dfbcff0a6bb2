//! `podman stop`.

use clap::Args;

use super::targets::{existing, for_each, targets};
use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct StopArgs {
    pub containers: Vec<String>,
    /// Seconds to wait for the stop signal before killing
    #[arg(short = 't', long = "time", alias = "timeout")]
    pub time: Option<u32>,
    /// Stop all containers
    #[arg(short, long)]
    pub all: bool,
    /// Ignore errors when a specified container is missing
    #[arg(short, long)]
    pub ignore: bool,
    /// Act on the latest container
    #[arg(short, long)]
    pub latest: bool,
}

pub async fn run(engine: &EngineConfig, args: &StopArgs) -> anyhow::Result<()> {
    let names = targets(engine, &args.containers, args.all, args.latest)?;
    let names = if args.ignore {
        existing(engine, names)?
    } else {
        names
    };
    for_each(
        &names,
        |c| async move {
            crate::lifecycle::stop::stop(engine, &c, args.time)
                .await
                .map(|_| ())
        },
        true,
    )
    .await
}
