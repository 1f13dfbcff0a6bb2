//! `podman restart`.

use clap::Args;

use super::targets::{names, NamesArgs};
use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct RestartArgs {
    #[command(flatten)]
    pub names: NamesArgs,
    #[arg(short = 't', long = "time")]
    pub time: Option<u32>,
}

pub async fn run(engine: &EngineConfig, a: &RestartArgs) -> anyhow::Result<()> {
    for n in names(engine, &a.names)? {
        crate::lifecycle::stop::stop(engine, &n, a.time).await?;
        let cfg = crate::lifecycle::start::start(engine, &n).await?;
        crate::events::container(&cfg, "restart");
        println!("{n}");
    }
    Ok(())
}
