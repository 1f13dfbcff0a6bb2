//! `podman commit` / `container commit`: a container's changes become a
//! new image (storage-helper's CommitContainer): its layer on top of the
//! image's (or one squashed layer), `--change` applied to the config,
//! OCI or Docker media types. Prints the new image's ID.

use clap::Args;
use proto::storage::v1::CommitContainerRequest;

use crate::container::model::Status;
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::helper_procs;
use crate::image::config_change::parse_changes;
use crate::image::naming::local_name;
use crate::image::progress::Progress;

#[derive(Debug, Clone, Args)]
pub struct CommitArgs {
    pub container: String,
    /// Name for the new image
    pub image: Option<String>,
    /// Set the author for the image committed
    #[arg(short, long)]
    pub author: Option<String>,
    /// Apply the following possible instructions to the created image: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    pub changes: Vec<String>,
    /// Format of the image manifest and metadata
    #[arg(short, long, default_value = "oci", value_parser = ["oci", "docker"])]
    pub format: String,
    /// File to write the image ID to
    #[arg(long, value_name = "file")]
    pub iidfile: Option<std::path::PathBuf>,
    /// Set commit message for imported image
    #[arg(short, long)]
    pub message: Option<String>,
    /// Pause container during commit
    #[arg(short, long)]
    pub pause: bool,
    /// Suppress output
    #[arg(short, long)]
    pub quiet: bool,
    /// Squash newly built layers into a single new layer
    #[arg(short, long)]
    pub squash: bool,
    /// Include container volumes as image volumes
    #[arg(long)]
    pub include_volumes: bool,
}

pub async fn run(engine: &EngineConfig, a: &CommitArgs) -> anyhow::Result<()> {
    // An OCI config has no field for a commit message (Docker's `comment`):
    // refused rather than dropped, in Podman's words.
    if a.format == "oci" && a.message.as_deref().is_some_and(|m| !m.is_empty()) {
        anyhow::bail!("messages are only compatible with the docker image format (-f docker)");
    }
    let mut changes = parse_changes(&a.changes)?;
    let names = match &a.image {
        Some(r) => vec![local_name(r)?],
        None => Vec::new(),
    };
    let db = crate::state::open_state(engine)?;
    let (cfg, st) = store::resolve(&db, &a.container)?;
    if a.include_volumes {
        for m in cfg.mounts.iter().filter(|m| m.kind == "volume") {
            if !changes.volumes.contains(&m.destination) {
                changes.volumes.push(m.destination.clone());
            }
        }
    }
    // The container's command becomes the image's, as libpod's commit
    // does (`--change` still wins): a container run with --entrypoint
    // commits an image that runs it.
    use proto::storage::v1::StringList;
    if changes.entrypoint.is_none() && !cfg.entrypoint.is_empty() {
        changes.entrypoint = Some(StringList {
            values: cfg.entrypoint.clone(),
        });
        changes.cmd.get_or_insert_with(|| StringList {
            values: cfg.cmd.clone(),
        });
    }
    if changes.cmd.is_none() && !cfg.cmd.is_empty() {
        changes.cmd = Some(StringList {
            values: cfg.cmd.clone(),
        });
    }
    let paused = a.pause && st.status == Status::Running;
    if paused {
        crate::lifecycle::pause::pause(engine, &cfg.id, true).await?;
    }
    let progress = Progress::new(a.quiet);
    progress.line("Getting image source signatures");
    let req = CommitContainerRequest {
        id: cfg.id.clone(),
        names,
        changes: Some(changes),
        author: a.author.clone().unwrap_or_default(),
        message: a.message.clone().unwrap_or_default(),
        docker_format: a.format == "docker",
        squash: a.squash,
        ..Default::default()
    };
    let mut storage = helper_procs::storage(engine).await?;
    let image = storage
        .call("CommitContainer", |mut c| async move {
            c.commit_container(req).await
        })
        .await;
    storage.close().await?;
    let unpaused = if paused {
        crate::lifecycle::pause::pause(engine, &cfg.id, false)
            .await
            .map(drop)
    } else {
        Ok(())
    };
    let image = image?;
    unpaused?;
    progress.line("Writing manifest to image destination");
    crate::events::container(&cfg, "commit");
    if let Some(f) = &a.iidfile {
        std::fs::write(f, format!("sha256:{}", image.id))
            .map_err(|e| anyhow::anyhow!("failed to write image ID: {}: {e}", f.display()))?;
    }
    println!("{}", image.id);
    Ok(())
}
