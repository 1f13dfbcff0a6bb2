//! `podman container prune`.

use clap::Args;

use crate::container::filter;
use crate::container::model::Status;
use crate::container::store;
use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation.  The default is false
    #[arg(short, long)]
    pub force: bool,
    /// Provide filter values (e.g. 'label=<key>=<value>')
    #[arg(long)]
    pub filter: Vec<String>,
}

/// The filters `container prune` takes (Podman's
/// GeneratePruneContainerFilterFuncs); others are refused.
const PRUNE_FILTERS: &[&str] = &["label", "label!", "until"];

/// Remove every container that is not running (and matches the filters),
/// after Podman's prompt unless `--force`.
pub async fn run(engine: &EngineConfig, a: &PruneArgs) -> anyhow::Result<()> {
    // Bad filters fail before the question.
    filters(&a.filter)?;
    if !a.force
        && !super::prompt::confirm(
            "WARNING! This will remove all non running containers.\nAre you sure you want to continue? [y/N] ",
        )?
    {
        return Ok(());
    }
    for (id, _) in prune(engine, &a.filter).await? {
        println!("{id}");
    }
    Ok(())
}

fn filters(given: &[String]) -> anyhow::Result<filter::Filters> {
    let parsed = filter::parse(given)?;
    if let Some((key, _)) = parsed
        .iter()
        .find(|(k, _)| !PRUNE_FILTERS.contains(&k.as_str()))
    {
        anyhow::bail!("{key} is an invalid filter");
    }
    Ok(parsed)
}

/// Remove every container that is not running and matches `given`
/// (`label`, `label!`, `until`): (ID, bytes its writable layer held) of each.
pub async fn prune(engine: &EngineConfig, given: &[String]) -> anyhow::Result<Vec<(String, u64)>> {
    let parsed = filters(given)?;
    let db = crate::state::open_state(engine)?;
    let chosen = {
        let lookup = filter::DbLookup {
            db: &db,
            networks: Vec::new(),
        };
        filter::ContainerFilter::new(&parsed, &lookup, filter::Scope::Podman)?
    };
    let records = store::list(&db)?;
    drop(db);
    let mut upper_dirs = std::collections::HashMap::new();
    if !records.is_empty() {
        let mut storage = crate::helper_procs::storage(engine).await?;
        let listed = crate::helper_procs::storage_containers(&mut storage).await;
        storage.close().await?;
        for c in listed? {
            upper_dirs.insert(c.id, std::path::PathBuf::from(c.upper_dir));
        }
    }
    let mut removed = Vec::new();
    for rec in records {
        let (cfg, st) = crate::lifecycle::cleanup::refresh(engine, rec).await?;
        if st.status.is_active() || st.status == Status::Removing {
            continue;
        }
        if !chosen.matches(&filter::Subject::new(&cfg, &st)) {
            continue;
        }
        let size = upper_dirs
            .get(&cfg.id)
            .map(|d| crate::container::disk_usage::tree_bytes(d))
            .unwrap_or(0);
        crate::lifecycle::remove::remove(engine, &cfg.id, false, false).await?;
        removed.push((cfg.id, size));
    }
    Ok(removed)
}
