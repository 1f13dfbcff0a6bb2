//! `podman rmi`.

use clap::Args;
use proto::storage::v1::RemoveImageRequest;

use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::error::ExitError;
use crate::helper_procs;
use crate::image::lookup::find;

#[derive(Debug, Clone, Args)]
pub struct RmiArgs {
    /// Images to remove
    pub images: Vec<String>,
    /// Remove all images
    #[arg(short, long)]
    pub all: bool,
    /// Force removal of images in use by containers (removing those containers)
    #[arg(short, long)]
    pub force: bool,
    /// Ignore errors if a specified image does not exist
    #[arg(short, long)]
    pub ignore: bool,
}

/// Podman's `rmi` exit codes: 1 when an image did not exist (and nothing
/// worse happened), 2 when an image is in use, 125 otherwise.
pub async fn run(cfg: &EngineConfig, args: &RmiArgs) -> anyhow::Result<()> {
    if args.images.is_empty() && !args.all {
        anyhow::bail!("image name or ID must be specified: give one or use --all");
    }
    let mut s = helper_procs::storage(cfg).await?;
    let mut targets = args.images.clone();
    if args.all {
        let list = s
            .call("ListImages", |mut c| async move {
                c.list_images(proto::storage::v1::ListImagesRequest { all: true })
                    .await
            })
            .await?;
        targets = list.images.into_iter().map(|i| i.id).collect();
    }
    let (mut missing, mut in_use, mut other) = (Vec::new(), Vec::new(), Vec::new());
    for t in &targets {
        let img = match find(&mut s, t).await {
            Ok(i) => i,
            Err(e) if e.is_not_found() => {
                // As Podman: --force also ignores images that do not exist.
                if !args.ignore && !args.force {
                    missing.push(format!("{t}: image not known"));
                }
                continue;
            }
            Err(e) => {
                other.push(e.to_string());
                continue;
            }
        };
        let users = store::using_image(&*crate::state::open_state(cfg)?, &img.id)?;
        if !users.is_empty() {
            if !args.force {
                in_use.push(format!(
                    "image used by {}: image is in use by a container: consider listing external containers and force-removing image",
                    users.join(", ")
                ));
                continue;
            }
            for id in &users {
                // `rmi --force` removes the containers that use the image first.
                crate::lifecycle::remove::remove(cfg, id, true, false).await?;
            }
        }
        let req = RemoveImageRequest {
            image: img.id.clone(),
            force: args.force,
        };
        match s
            .call(
                "RemoveImage",
                |mut c| async move { c.remove_image(req).await },
            )
            .await
        {
            Ok(r) => {
                for u in r.untagged {
                    println!("Untagged: {u}");
                }
                if !r.deleted.is_empty() {
                    println!("Deleted: {}", r.deleted);
                }
            }
            Err(proto::transport::TransportError::Call {
                code: tonic::Code::FailedPrecondition,
                message,
                ..
            }) => in_use.push(message),
            Err(e) => other.push(e.to_string()),
        }
    }
    s.close().await?;
    let code = if !other.is_empty() {
        125
    } else if !in_use.is_empty() {
        2
    } else if !missing.is_empty() {
        1
    } else {
        return Ok(());
    };
    let all: Vec<String> = other.into_iter().chain(in_use).chain(missing).collect();
    Err(ExitError {
        code,
        source: anyhow::anyhow!("{}", all.join("; ")),
    }
    .into())
}
