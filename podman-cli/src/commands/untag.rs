//! `podman untag`.

use clap::Args;
use proto::storage::v1::UntagImageRequest;

use super::tag::qualify;
use crate::engine_config::EngineConfig;
use crate::helper_procs;
use crate::image::lookup::find;

#[derive(Debug, Clone, Args)]
pub struct UntagArgs {
    pub image: String,
    /// Names to remove (all names when none given)
    pub names: Vec<String>,
}

pub async fn run(cfg: &EngineConfig, args: &UntagArgs) -> anyhow::Result<()> {
    let mut s = helper_procs::storage(cfg).await?;
    let result = async {
        let img = find(&mut s, &args.image).await?;
        let names: Vec<String> = if args.names.is_empty() {
            vec![String::new()]
        } else {
            args.names
                .iter()
                .map(|n| qualify(n))
                .collect::<anyhow::Result<_>>()?
        };
        let mut had = img.names.clone();
        for n in names {
            if !n.is_empty() && !img.names.contains(&n) {
                // Podman's message (exit 125).
                anyhow::bail!("{n}: tag not known");
            }
            let req = UntagImageRequest {
                image: img.id.clone(),
                name: n,
            };
            let r = s
                .call(
                    "UntagImage",
                    |mut c| async move { c.untag_image(req).await },
                )
                .await?;
            had.iter()
                .filter(|u| !r.names.contains(u))
                .for_each(|u| crate::events::image("untag", &img.id, u));
            had = r.names;
        }
        anyhow::Ok(())
    }
    .await;
    s.close().await?;
    result
}
