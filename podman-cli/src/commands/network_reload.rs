//! `podman network reload [-a|-l] [CONTAINER...]`: put back the firewall
//! rules someone else flushed (`nft flush ruleset`, a firewalld reload).
//! net-setup rebuilds its whole table from its records in one transaction,
//! so one Reload serves every container; the containers asked for are
//! checked and printed as Podman prints them.

use clap::Args;
use proto::netsetup::v1::ReloadRequest;

use crate::container::model::NetworkMode;
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::helper_procs;

#[derive(Debug, Clone, Args)]
pub struct ReloadArgs {
    pub containers: Vec<String>,
    /// Reload network configuration of all containers
    #[arg(short, long)]
    pub all: bool,
    /// Act on the latest container podman is aware of
    #[arg(short, long)]
    pub latest: bool,
}

pub async fn reload(engine: &EngineConfig, a: &ReloadArgs) -> anyhow::Result<()> {
    if a.all && !a.containers.is_empty() {
        anyhow::bail!("no arguments are needed with --all");
    }
    if !a.all && !a.latest && a.containers.is_empty() {
        anyhow::bail!("you must provide at least one name or id");
    }
    let db = crate::state::open_state(engine)?;
    let records = if a.all {
        store::list(&db)?
            .into_iter()
            .filter(|(c, s)| c.network_mode == NetworkMode::Bridge && s.status.is_active())
            .collect()
    } else if a.latest {
        vec![store::latest(&db)?]
    } else {
        a.containers
            .iter()
            .map(|n| store::resolve(&db, n))
            .collect::<Result<Vec<_>, _>>()?
    };
    if !records.is_empty() {
        let mut net = helper_procs::net(engine).await?;
        net.call("Reload", |mut c| async move {
            c.reload(ReloadRequest::default()).await
        })
        .await?;
        net.close().await?;
    }
    for (c, _) in records {
        println!("{}", c.id);
    }
    Ok(())
}
