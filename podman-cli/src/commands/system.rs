//! `podman system prune` and `podman system reset`. Both first run the
//! full reconcile pass (what killed commands left half-done, stale mounts,
//! dead monitors), then remove as Podman does.

use clap::Args;

use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct PruneArgs {
    /// Remove all unused data
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation.  The default is false
    #[arg(short, long)]
    pub force: bool,
    /// Remove container data in storage not controlled by podman
    #[arg(long)]
    pub external: bool,
    /// Prune volumes
    #[arg(long)]
    pub volumes: bool,
    /// Provide filter values (e.g. 'label=<key>=<value>')
    #[arg(long)]
    pub filter: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ResetArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

use super::prompt::confirm;

pub async fn prune(engine: &EngineConfig, a: &PruneArgs) -> anyhow::Result<()> {
    if a.external {
        if a.all || a.volumes || !a.filter.is_empty() {
            anyhow::bail!("system prune --external cannot be combined with other options");
        }
        crate::lifecycle::reconcile::everything(engine, true).await?;
        return Ok(());
    }
    // Podman's system prune filters: label and until, for each kind.
    if let Some(f) = a
        .filter
        .iter()
        .find(|f| !matches!(f.split_once('='), Some(("label" | "until", _))))
    {
        anyhow::bail!("{f:?} is an invalid filter for system prune: use label= or until=");
    }
    if !a.force {
        let volumes = if a.volumes {
            "\n\t- all volumes not used by at least one container"
        } else {
            ""
        };
        let text = if a.all {
            format!("WARNING! This command removes:\n\t- all stopped containers\n\t- all networks not used by at least one container{volumes}\n\t- all images without at least one container associated with them\n\t- all build cache\n\nAre you sure you want to continue? [y/N] ")
        } else {
            format!("WARNING! This command removes:\n\t- all stopped containers\n\t- all networks not used by at least one container{volumes}\n\t- all dangling images\n\t- all dangling build cache\n\nAre you sure you want to continue? [y/N] ")
        };
        if !confirm(&text)? {
            return Ok(());
        }
    }
    crate::lifecycle::reconcile::everything(engine, false).await?;
    let mut containers = Vec::new();
    let mut images = Vec::new();
    let mut networks = Vec::new();
    // As Podman: again while a round removed something (an image goes only
    // once its containers have gone).
    loop {
        containers.extend(super::container_prune::prune(engine, &a.filter).await?);
        let imgs = super::image_prune::prune_matching(engine, a.all, &a.filter).await?;
        let found = !imgs.is_empty();
        images.extend(imgs);
        networks.extend(super::network::prune_networks_matching(engine, &a.filter).await?);
        if !found {
            break;
        }
    }
    let volumes = if a.volumes {
        super::volume::prune_matching(engine, &a.filter)?
    } else {
        Vec::new()
    };
    let mut reclaimed = 0;
    for (heading, list) in [
        ("Deleted Containers", &containers),
        ("Deleted Images", &images),
    ] {
        if !list.is_empty() {
            println!("{heading}");
        }
        for (id, size) in list {
            println!("{id}");
            reclaimed += size;
        }
    }
    if !networks.is_empty() {
        println!("Deleted Networks");
    }
    for n in &networks {
        println!("{n}");
    }
    if !volumes.is_empty() {
        println!("Deleted Volumes");
    }
    for v in &volumes {
        println!("{v}");
    }
    println!(
        "Total reclaimed space: {}",
        crate::format::human::size_compact(reclaimed)
    );
    Ok(())
}

/// Whatever net-setup still records for this store (a container podman
/// no longer has: a start cut short, a setup that finished after its
/// podman was gone) is torn down, and every network's chains go with the
/// store's table: nothing of the store stays on the host.
async fn release_network_state(engine: &EngineConfig) -> anyhow::Result<()> {
    let mut net = crate::helper_procs::net(engine).await?;
    let req = proto::netsetup::v1::ReloadRequest {
        release_idle_networks: true,
        teardown_all: true,
    };
    net.call("Reload", |mut c| async move { c.reload(req).await })
        .await?;
    net.close().await?;
    Ok(())
}

pub async fn reset(engine: &EngineConfig, a: &ResetArgs) -> anyhow::Result<()> {
    crate::lifecycle::reconcile::pending(engine).await;
    if !a.force {
        let mut text = String::from("WARNING! This will remove:\n        - all containers\n        - all pods\n        - all images\n        - all networks\n        - all build cache\n        - all machines\n        - all volumes\n");
        text.push_str(&format!(
            "        - the graphRoot directory: {:?}\n        - the runRoot directory: {:?}\n",
            engine.graph_root.display().to_string(),
            engine.run_root.display().to_string()
        ));
        let external = crate::lifecycle::reconcile::storage_only(engine)
            .await
            .unwrap_or_default();
        if !external.is_empty() {
            text.push_str("WARNING! The following external containers will be purged:\n");
            for c in &external {
                text.push_str(&format!("\t- {} ({})\n", &c.id[..12.min(c.id.len())], c.id));
            }
        }
        text.push_str("Are you sure you want to continue? [y/N] ");
        if !confirm(&text)? {
            return Ok(());
        }
    }
    // Podman logs what fails and goes on: a reset must get as far as it can.
    let mut failed = false;
    let mut note = |what: &str, e: anyhow::Error| {
        failed = true;
        tracing::error!("{what}: {}", crate::error::one_line(&e));
        eprintln!("Error: {what}: {}", crate::error::one_line(&e));
    };
    let db = crate::state::open_state(engine)?;
    let records = crate::container::store::list(&db)?;
    drop(db);
    for (cfg, _) in records {
        if let Err(e) =
            crate::lifecycle::remove::remove_with_timeout(engine, &cfg.id, true, Some(0)).await
        {
            note(&format!("removing container {}", cfg.name), e);
        }
    }
    if let Err(e) = crate::lifecycle::reconcile::everything(engine, true).await {
        note("removing external containers", e);
    }
    match super::network::prune_networks(engine).await {
        Ok(_) => {}
        Err(e) => note("removing networks", e),
    }
    // The default network cannot be removed, but its chains (and the
    // store's firewall table) are the store's and go with it.
    if let Err(e) = release_network_state(engine).await {
        note("removing firewall rules", e);
    }
    // Volumes may live outside the graph root (volume_path), and a
    // filesystem volume may still be mounted (`volume mount`).
    if let Err(e) = super::volume::remove_all(engine) {
        note("removing volumes", e);
    }
    // containers/storage's overlay driver (skopeo, buildah sharing the
    // graph root) keeps its `overlay` directory bind-mounted on itself,
    // private; its own cleanup, which Podman's reset runs, unmounts it.
    let cs_home = engine.graph_root.join("overlay");
    while nix::mount::umount2(&cs_home, nix::mount::MntFlags::MNT_DETACH).is_ok() {}
    // Images, layers, blobs, the database and every run-root file go with
    // the two roots; nothing is mounted there any more.
    for dir in [&engine.graph_root, &engine.run_root] {
        if let Err(e) = std::fs::remove_dir_all(dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                note(&format!("removing {}", dir.display()), e.into());
            }
        }
    }
    if failed {
        return Err(crate::error::ExitError {
            code: 125,
            source: anyhow::anyhow!("system reset did not remove everything: see the errors above"),
        }
        .into());
    }
    Ok(())
}
