//! `podman pause` and `podman unpause`.

use super::targets::{names, NamesArgs};
use crate::engine_config::EngineConfig;

/// `pause` (freeze) and `unpause` through the runtime.
pub async fn run(engine: &EngineConfig, a: &NamesArgs, pause: bool) -> anyhow::Result<()> {
    for n in names(engine, a)? {
        crate::lifecycle::pause::pause(engine, &n, pause).await?;
        println!("{n}");
    }
    Ok(())
}
