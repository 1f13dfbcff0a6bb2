//! `podman image inspect`.

use clap::Args;

use crate::engine_config::EngineConfig;
use crate::error::ExitError;
use crate::helper_procs;
use crate::image::lookup::find;

#[derive(Debug, Clone, Args)]
pub struct ImageInspectArgs {
    #[arg(required = true)]
    pub images: Vec<String>,
    /// Format the output using a Go template, or json
    #[arg(short, long)]
    pub format: Option<String>,
}

pub async fn run(cfg: &EngineConfig, args: &ImageInspectArgs) -> anyhow::Result<()> {
    let mut s = helper_procs::storage(cfg).await?;
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for name in &args.images {
        match find(&mut s, name).await {
            Ok(img) => docs.push(crate::image::view::inspect(
                &img,
                &cfg.storage_driver,
                &cfg.graph_root,
            )),
            Err(e) if e.is_not_found() => errors.push(format!("{name}: image not known")),
            Err(e) => errors.push(e.to_string()),
        }
    }
    s.close().await?;
    crate::format::print_inspect(&docs, args.format.as_deref())?;
    if !errors.is_empty() {
        return Err(ExitError {
            code: crate::error::EXIT_ENGINE,
            source: anyhow::anyhow!("{}", errors.join("; ")),
        }
        .into());
    }
    Ok(())
}
