//! Pushing a stored image to a registry: storage-helper exports it into a
//! staging OCI layout on the graph root (blobs hardlinked), image-fetcher
//! pushes it from there. The staging directory is removed on success and
//! on error. `podman push` and the build's `--cache-to` use it.

use anyhow::Context;
use proto::fetcher::v1::PushDone;

use super::lookup::find;
use super::naming::resolved_name;
use super::progress::Progress;
use super::staging::Staging;
use super::transfer::{export, open_both, push_from, PushOptions};
use crate::engine_config::EngineConfig;

/// What was pushed: the fetcher's report and the image's ID.
pub struct Pushed {
    pub done: PushDone,
    pub image_id: String,
}

/// Push `image` to `destination` (`docker://REF`), or to the name the
/// image was found under when None.
pub async fn push_image(
    cfg: &EngineConfig,
    image: &str,
    destination: Option<String>,
    opts: &PushOptions,
    quiet: bool,
) -> anyhow::Result<Pushed> {
    let staging = Staging::new(&cfg.graph_root, "push")?;
    let layout = staging.join("layout");
    let (mut fetcher, mut storage) = open_both(cfg).await?;
    let exported = async {
        let img = find(&mut storage, image).await?;
        let resolved = resolved_name(image, &img);
        let dest = match destination {
            Some(d) => d,
            None => match &resolved {
                Some(n) => format!("docker://{n}"),
                None => anyhow::bail!("{image}: an image given by ID needs a destination: podman push IMAGE HOST/REPO[:TAG]"),
            },
        };
        let spec = resolved.unwrap_or_else(|| img.id.clone());
        let image_id = img.id.clone();
        let exported = export(&mut storage, std::slice::from_ref(&spec), &layout, true).await?;
        let digest = exported
            .first()
            .map(|e| e.manifest_digest.clone())
            .with_context(|| format!("storage-helper exported nothing for {image}"))?;
        anyhow::Ok((dest, digest, image_id))
    }
    .await;
    let storage_closed = storage.close().await;
    let (dest, digest, image_id) = match exported {
        Ok(x) => x,
        Err(e) => {
            fetcher.close().await?;
            return Err(e);
        }
    };
    storage_closed?;
    let mut progress = Progress::new(quiet);
    let pushed = push_from(&mut fetcher, &layout, &digest, &dest, opts, &mut progress).await;
    progress.finish();
    fetcher.close().await?;
    Ok(Pushed {
        done: pushed?,
        image_id,
    })
}
