//! `podman image prune`.

use clap::Args;
use proto::storage::v1::RemoveImageRequest;

use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::helper_procs;

#[derive(Debug, Clone, Args)]
pub struct PruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Provide filter values (e.g. 'label=<key>=<value>')
    #[arg(long)]
    pub filter: Vec<String>,
}

pub async fn run(cfg: &EngineConfig, args: &PruneArgs) -> anyhow::Result<()> {
    // Bad filters fail before the question.
    super::images::select(&args.filter, Vec::new())?;
    if !args.force {
        let what = if args.all {
            "all images without at least one container associated with them"
        } else {
            "all dangling images"
        };
        let q = format!(
            "WARNING! This command removes {what}.\nAre you sure you want to continue? [y/N] "
        );
        if !super::prompt::confirm(&q)? {
            return Ok(());
        }
    }
    for (id, _) in prune_matching(cfg, args.all, &args.filter).await? {
        println!("{id}");
    }
    Ok(())
}

/// Remove dangling images (`all`: every image no container uses) that
/// `filters` select: (ID, size) of each.
pub async fn prune_matching(
    cfg: &EngineConfig,
    all: bool,
    filters: &[String],
) -> anyhow::Result<Vec<(String, u64)>> {
    let mut removed = Vec::new();
    let mut s = helper_procs::storage(cfg).await?;
    let result = async {
        let list = s
            .call("ListImages", |mut c| async move {
                c.list_images(proto::storage::v1::ListImagesRequest { all: true })
                    .await
            })
            .await?;
        for img in super::images::select(filters, list.images)? {
            if !all && !img.names.is_empty() {
                continue;
            }
            if !store::using_image(&*crate::state::open_state(cfg)?, &img.id)?.is_empty() {
                continue;
            }
            let req = RemoveImageRequest {
                image: img.id.clone(),
                force: false,
            };
            let r = s
                .call(
                    "RemoveImage",
                    |mut c| async move { c.remove_image(req).await },
                )
                .await?;
            r.untagged
                .iter()
                .for_each(|u| crate::events::image("untag", &img.id, u));
            crate::events::image("remove", &img.id, &img.id);
            removed.push((img.id.clone(), img.size));
        }
        anyhow::Ok(())
    }
    .await;
    s.close().await?;
    result.map(|()| removed)
}
