//! `podman image exists`: exit 0 or 1.

use clap::Args;

use crate::engine_config::EngineConfig;
use crate::error::ExitError;
use crate::helper_procs;
use crate::image::lookup::find;

#[derive(Debug, Clone, Args)]
pub struct ExistsArgs {
    pub image: String,
}

/// Exit 0 when the image exists, 1 when it does not.
pub async fn run(cfg: &EngineConfig, args: &ExistsArgs) -> anyhow::Result<()> {
    let mut s = helper_procs::storage(cfg).await?;
    let r = find(&mut s, &args.image).await;
    s.close().await?;
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Err(ExitError {
            code: crate::error::EXIT_NO_SUCH_OBJECT,
            source: anyhow::anyhow!(""),
        }
        .into()),
        Err(e) => Err(e.into()),
    }
}
