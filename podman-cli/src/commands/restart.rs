//! `podman restart`.

use clap::Args;

use super::targets::{for_each, select, Selection};
use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct RestartArgs {
    pub containers: Vec<String>,
    /// Restart all non-running containers
    #[arg(short, long)]
    pub all: bool,
    /// Act on the latest container podman is aware of
    #[arg(short, long)]
    pub latest: bool,
    /// Restart only running containers
    #[arg(long)]
    pub running: bool,
    /// Seconds to wait for stop before killing the container
    #[arg(short = 't', long = "time", allow_negative_numbers = true, value_parser = super::targets::stop_time)]
    pub time: Option<u32>,
    /// Read the container ID from the file
    #[arg(long)]
    pub cidfile: Vec<String>,
    /// Filter output based on conditions given
    #[arg(long)]
    pub filter: Vec<String>,
}

pub async fn run(engine: &EngineConfig, a: &RestartArgs) -> anyhow::Result<()> {
    let mut names = select(
        engine,
        &Selection {
            given: &a.containers,
            all: a.all,
            latest: a.latest,
            cidfiles: &a.cidfile,
            filters: &a.filter,
            ignore: false,
        },
    )?;
    if a.running {
        let db = crate::state::open_state(engine)?;
        names.retain(|n| {
            crate::container::store::resolve(&db, n)
                .map(|(_, st)| st.status.is_active())
                .unwrap_or(false)
        });
    }
    for_each(
        &names,
        |n| async move {
            crate::lifecycle::stop::stop(engine, &n, a.time).await?;
            let cfg = crate::lifecycle::start::start(engine, &n).await?;
            crate::events::container(&cfg, "restart");
            Ok(())
        },
        true,
    )
    .await
}
