//! `podman tag`.

use clap::Args;
use proto::storage::v1::TagImageRequest;

use crate::engine_config::EngineConfig;
use crate::helper_procs;
use crate::image::lookup::find;
use crate::image::reference::Reference;

#[derive(Debug, Clone, Args)]
pub struct TagArgs {
    /// Image to tag
    pub image: String,
    /// New names
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// A new name as stored: fully qualified, `localhost/` for short names.
pub fn qualify(name: &str) -> anyhow::Result<String> {
    let r = Reference::parse(name)?;
    let r = if r.is_short() { r.on("localhost") } else { r };
    Ok(r.with_default_tag().to_string())
}

pub async fn run(cfg: &EngineConfig, args: &TagArgs) -> anyhow::Result<()> {
    let names: Vec<(String, &String)> = args
        .names
        .iter()
        .map(|n| qualify(n).map(|q| (q, n)))
        .collect::<anyhow::Result<_>>()?;
    let mut s = helper_procs::storage(cfg).await?;
    let result = async {
        let img = find(&mut s, &args.image).await?;
        for (n, given) in names {
            let req = TagImageRequest {
                image: img.id.clone(),
                new_name: n,
            };
            s.call("TagImage", |mut c| async move { c.tag_image(req).await })
                .await?;
            crate::events::image("tag", &img.id, given);
        }
        anyhow::Ok(())
    }
    .await;
    s.close().await?;
    result
}
