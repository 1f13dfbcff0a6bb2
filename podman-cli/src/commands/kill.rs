//! `podman kill`.

use clap::Args;

use super::targets::{for_each, select, Selection};
use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct KillArgs {
    pub containers: Vec<String>,
    /// Signal to send to the container
    #[arg(short, long, default_value = "KILL", allow_hyphen_values = true)]
    pub signal: String,
    /// Signal all running containers
    #[arg(short, long)]
    pub all: bool,
    /// Act on the latest container podman is aware of
    #[arg(short, long)]
    pub latest: bool,
    /// Read the container ID from the file
    #[arg(long)]
    pub cidfile: Vec<String>,
    /// Filter output based on conditions given
    #[arg(long)]
    pub filter: Vec<String>,
}

pub async fn run(engine: &EngineConfig, args: &KillArgs) -> anyhow::Result<()> {
    let sig = crate::container::parse::signal(&args.signal)?;
    let names = select(
        engine,
        &Selection {
            given: &args.containers,
            all: args.all,
            latest: args.latest,
            cidfiles: &args.cidfile,
            filters: &args.filter,
            ignore: false,
        },
    )?;
    let names = if args.all {
        // `kill --all` signals the running containers only.
        let db = crate::state::open_state(engine)?;
        names
            .into_iter()
            .filter(|n| {
                crate::container::store::resolve(&db, n)
                    .map(|(_, st)| st.status.is_active())
                    .unwrap_or(false)
            })
            .collect()
    } else {
        names
    };
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
