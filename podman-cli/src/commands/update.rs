//! `podman update` / `podman container update`: change the resource
//! limits, restart policy, environment or ulimits of a container.

use clap::Args;

use crate::container::parse;
use crate::engine_config::EngineConfig;
use crate::lifecycle::update::UpdateOptions;

#[derive(Debug, Clone, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub resources: super::create_resources::ResourceArgs,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(
        long = "pids-limit",
        value_name = "LIMIT",
        allow_negative_numbers = true
    )]
    pub pids_limit: Option<String>,
    /// Restart policy to apply when a container exits ("always"|"no"|"never"|"on-failure"|"unless-stopped")
    #[arg(long, value_name = "POLICY")]
    pub restart: Option<String>,
    /// Set environment variables in container (applied at the next start)
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Unset environment default variables in container
    #[arg(long, value_name = "KEY")]
    pub unsetenv: Vec<String>,
    /// Ulimit options (applied at the next start)
    #[arg(long, value_name = "NAME=SOFT[:HARD]")]
    pub ulimit: Vec<String>,
    #[command(flatten)]
    pub health: super::create_health::HealthArgs,
    /// Act on the latest container podman is aware of
    #[arg(short, long)]
    pub latest: bool,
    /// The container to update
    #[arg(required_unless_present = "latest")]
    pub container: Option<String>,
}

pub async fn run(engine: &EngineConfig, a: &UpdateArgs) -> anyhow::Result<()> {
    let pids_limit = a
        .pids_limit
        .as_deref()
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                anyhow::anyhow!("invalid argument {v:?} for \"--pids-limit\" flag: strconv.ParseInt: parsing {v:?}: invalid syntax")
            })
        })
        .transpose()?;
    let restart = a.restart.as_deref().map(parse::restart).transpose()?;
    let ulimit_host = a.ulimit.iter().any(|u| u == "host");
    let ulimits = a
        .ulimit
        .iter()
        .filter(|u| *u != "host")
        .map(|u| parse::ulimit(u))
        .collect::<Result<Vec<_>, _>>()?;
    let env = a.env.iter().flat_map(|e| parse::env_var(e)).collect();
    let o = UpdateOptions {
        resources: a.resources.flags(),
        pids_limit,
        restart,
        env,
        unsetenv: a.unsetenv.clone(),
        ulimits,
        ulimit_host,
        health: a.health.flags(),
    };
    let target = match (&a.container, a.latest) {
        (Some(c), false) => c.trim_start_matches('/').to_string(),
        (None, true) => {
            let db = crate::state::open_state(engine)?;
            crate::container::store::latest(&db)?.0.id
        }
        _ => anyhow::bail!("--latest and containers cannot be used together"),
    };
    let id = crate::lifecycle::update::update(engine, &target, &o).await?;
    println!("{id}");
    Ok(())
}
