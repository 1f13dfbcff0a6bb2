//! Which containers a command acts on: the names given, `--all` or
//! `--latest`.

use clap::Args;

use crate::container::store;
use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct NamesArgs {
    pub containers: Vec<String>,
    #[arg(short, long)]
    pub all: bool,
    #[arg(short, long)]
    pub latest: bool,
}

pub fn names(engine: &EngineConfig, a: &NamesArgs) -> anyhow::Result<Vec<String>> {
    let db = crate::state::open_state(engine)?;
    if a.all {
        return Ok(store::list(&db)?.into_iter().map(|(c, _)| c.id).collect());
    }
    if a.latest {
        return Ok(vec![store::latest(&db)?.0.id]);
    }
    if a.containers.is_empty() {
        anyhow::bail!(
            "you must provide at least one container name or ID, or use --all or --latest"
        );
    }
    Ok(a.containers.clone())
}
