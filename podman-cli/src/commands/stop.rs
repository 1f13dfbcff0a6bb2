//! `podman stop`.

use clap::Args;

use super::targets::{for_each_parallel, select, Selection};
use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct StopArgs {
    pub containers: Vec<String>,
    /// Seconds to wait for the stop signal before killing
    #[arg(short = 't', long = "time", alias = "timeout", allow_negative_numbers = true, value_parser = super::targets::stop_time)]
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
    /// Read the container ID from the file
    #[arg(long)]
    pub cidfile: Vec<String>,
    /// Filter output based on conditions given
    #[arg(long)]
    pub filter: Vec<String>,
}

pub async fn run(engine: &EngineConfig, args: &StopArgs) -> anyhow::Result<()> {
    let names = select(
        engine,
        &Selection {
            given: &args.containers,
            all: args.all,
            latest: args.latest,
            cidfiles: &args.cidfile,
            filters: &args.filter,
            ignore: args.ignore,
        },
    )?;
    for_each_parallel(
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
