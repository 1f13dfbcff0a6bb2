//! `podman rm`.

use clap::Args;

use super::targets::{existing, for_each, targets};
use crate::container::store;
use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct RmArgs {
    pub containers: Vec<String>,
    /// Force removal of running containers
    #[arg(short, long)]
    pub force: bool,
    /// Remove all containers
    #[arg(short, long)]
    pub all: bool,
    /// Remove anonymous volumes too
    #[arg(short, long)]
    pub volumes: bool,
    /// Ignore errors when a specified container is missing
    #[arg(short, long)]
    pub ignore: bool,
    /// Remove the containers that depend on these first
    #[arg(long)]
    pub depend: bool,
    /// Seconds to wait for a forced stop before killing
    #[arg(short = 't', long = "time")]
    pub time: Option<u32>,
    #[arg(short, long)]
    pub latest: bool,
}

pub async fn run(engine: &EngineConfig, args: &RmArgs) -> anyhow::Result<()> {
    let names = targets(engine, &args.containers, args.all, args.latest)?;
    let names = if args.ignore {
        existing(engine, names)?
    } else {
        names
    };
    let mut ordered = Vec::new();
    if args.depend {
        let db = crate::state::open_state(engine)?;
        let all = store::list(&db)?;
        for n in &names {
            let (c, _) = store::resolve(&db, n)?;
            for (d, _) in all.iter().filter(|(d, _)| matches!(&d.network_mode, crate::container::model::NetworkMode::Container(x) if *x == c.id || *x == c.name)) {
                ordered.push(d.name.clone());
            }
        }
    }
    ordered.extend(names);
    for_each(
        &ordered,
        |c| async move {
            crate::lifecycle::remove::remove_with_timeout(engine, &c, args.force, args.time).await
        },
        true,
    )
    .await
}
