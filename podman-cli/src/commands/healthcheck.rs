//! `podman healthcheck run CONTAINER`: run the container's healthcheck
//! once. Healthy: no output, exit 0; a failed run prints "unhealthy"
//! ("starting" in a startup check, "stopped" when the container stopped
//! meanwhile) and exits 1.

use clap::Args;

use crate::engine_config::EngineConfig;
use crate::error::ExitError;

#[derive(Debug, Clone, Args)]
pub struct HealthcheckRunArgs {
    /// Exit with 0 even when the check fails (errors still fail)
    #[arg(long = "ignore-result")]
    pub ignore_result: bool,
    /// The container
    pub container: String,
}

pub async fn run(engine: &EngineConfig, a: &HealthcheckRunArgs) -> anyhow::Result<()> {
    let outcome =
        crate::lifecycle::health::run(engine, a.container.trim_start_matches('/')).await?;
    if outcome.status != crate::lifecycle::health::HEALTHY {
        println!("{}", outcome.status);
        if a.ignore_result {
            return Ok(());
        }
        return Err(ExitError {
            code: 1,
            source: anyhow::anyhow!(""),
        }
        .into());
    }
    Ok(())
}
