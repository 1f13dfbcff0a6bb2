//! `create`, `start`, `stop`, `kill`, `rm`, `wait`, `container cleanup`,
//! `container exists`, `container inspect`.

use clap::Args;

use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::error::ExitError;
use crate::lifecycle::create_args::CreateArgs;

pub use super::wait::{wait, wait_for, WaitArgs};

pub async fn create(engine: &EngineConfig, args: &CreateArgs) -> anyhow::Result<()> {
    let cfg = crate::lifecycle::create::create(engine, args).await?;
    // Podman prints no ID for passthrough containers (stdout is theirs).
    if !cfg.log_driver.starts_with("passthrough") {
        println!("{}", cfg.id);
    }
    Ok(())
}

#[derive(Debug, Clone, Args)]
pub struct StartArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
    /// Attach the container's output (and exit with its code)
    #[arg(short, long)]
    pub attach: bool,
    /// Keep STDIN open and attach it
    #[arg(short, long)]
    pub interactive: bool,
}

pub async fn start(engine: &EngineConfig, args: &StartArgs) -> anyhow::Result<()> {
    if args.attach || args.interactive {
        if args.containers.len() != 1 {
            anyhow::bail!("you cannot start and attach multiple containers at once: give one container with --attach");
        }
        let db = super::open_state(engine)?;
        let (cfg, _) = store::resolve(&db, &args.containers[0])?;
        return super::run::start_and_attach(engine, &cfg, true, args.interactive).await;
    }
    for_each(
        &args.containers,
        |c| async move { crate::lifecycle::start::start(engine, &c).await.map(|_| ()) },
        true,
    )
    .await
}

/// Run `f` on each name, printing each name on success; errors are
/// collected and reported together (exit 125).
async fn for_each<F, Fut>(names: &[String], f: F, print: bool) -> anyhow::Result<()>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut errors: Vec<anyhow::Error> = Vec::new();
    for n in names {
        match f(n.clone()).await {
            Ok(()) => {
                if print {
                    println!("{n}");
                }
            }
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => {
            let code = errors
                .iter()
                .map(crate::error::exit_code)
                .max()
                .unwrap_or(crate::error::EXIT_ENGINE);
            Err(ExitError {
                code,
                source: anyhow::anyhow!(
                    "{}",
                    errors
                        .iter()
                        .map(crate::error::one_line)
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            }
            .into())
        }
    }
}

/// Names of all containers (for `--all`), or the given ones; `--latest`
/// picks the newest.
fn targets(
    engine: &EngineConfig,
    given: &[String],
    all: bool,
    latest: bool,
) -> anyhow::Result<Vec<String>> {
    if all || latest {
        let db = super::open_state(engine)?;
        let list = store::list(&db)?;
        if latest {
            return Ok(list
                .last()
                .map(|(c, _)| vec![c.name.clone()])
                .unwrap_or_default());
        }
        return Ok(list.into_iter().map(|(c, _)| c.name).collect());
    }
    if given.is_empty() {
        anyhow::bail!(
            "you must provide at least one container name or ID, or use --all or --latest"
        );
    }
    Ok(given.to_vec())
}

#[derive(Debug, Clone, Args)]
pub struct StopArgs {
    pub containers: Vec<String>,
    /// Seconds to wait for the stop signal before killing
    #[arg(short = 't', long = "time", alias = "timeout")]
    pub time: Option<u32>,
    /// Stop all containers
    #[arg(short, long)]
    pub all: bool,
    /// Ignore errors when a specified container is missing
    #[arg(short, long)]
    pub ignore: bool,
    /// Act on the latest container
    #[arg(short, long)]
    pub latest: bool,
}

pub async fn stop(engine: &EngineConfig, args: &StopArgs) -> anyhow::Result<()> {
    let names = targets(engine, &args.containers, args.all, args.latest)?;
    let names = if args.ignore {
        existing(engine, names)?
    } else {
        names
    };
    for_each(
        &names,
        |c| async move {
            crate::lifecycle::stop::stop(engine, &c, args.time)
                .await
                .map(|_| ())
        },
        true,
    )
    .await
}

fn existing(engine: &EngineConfig, names: Vec<String>) -> anyhow::Result<Vec<String>> {
    let db = super::open_state(engine)?;
    Ok(names
        .into_iter()
        .filter(|n| store::exists(&db, n).unwrap_or(false))
        .collect())
}

#[derive(Debug, Clone, Args)]
pub struct KillArgs {
    pub containers: Vec<String>,
    /// Signal to send
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
    #[arg(short, long)]
    pub all: bool,
    #[arg(short, long)]
    pub latest: bool,
}

pub async fn kill(engine: &EngineConfig, args: &KillArgs) -> anyhow::Result<()> {
    let sig = crate::container::parse::signal("--signal", &args.signal)?;
    let names = targets(engine, &args.containers, args.all, args.latest)?;
    for_each(
        &names,
        |c| async move {
            crate::lifecycle::stop::kill(engine, &c, sig)
                .await
                .map(|_| ())
        },
        true,
    )
    .await
}

#[derive(Debug, Clone, Args)]
pub struct RmArgs {
    pub containers: Vec<String>,
    /// Force removal of running containers
    #[arg(short, long)]
    pub force: bool,
    /// Remove all containers
    #[arg(short, long)]
    pub all: bool,
    /// Remove anonymous volumes too
    #[arg(short, long)]
    pub volumes: bool,
    /// Ignore errors when a specified container is missing
    #[arg(short, long)]
    pub ignore: bool,
    /// Remove the containers that depend on these first
    #[arg(long)]
    pub depend: bool,
    /// Seconds to wait for a forced stop before killing
    #[arg(short = 't', long = "time")]
    pub time: Option<u32>,
    #[arg(short, long)]
    pub latest: bool,
}

pub async fn rm(engine: &EngineConfig, args: &RmArgs) -> anyhow::Result<()> {
    let names = targets(engine, &args.containers, args.all, args.latest)?;
    let names = if args.ignore {
        existing(engine, names)?
    } else {
        names
    };
    let mut ordered = Vec::new();
    if args.depend {
        let db = super::open_state(engine)?;
        let all = store::list(&db)?;
        for n in &names {
            let (c, _) = store::resolve(&db, n)?;
            for (d, _) in all.iter().filter(|(d, _)| matches!(&d.network_mode, crate::container::model::NetworkMode::Container(x) if *x == c.id || *x == c.name)) {
                ordered.push(d.name.clone());
            }
        }
    }
    ordered.extend(names);
    for_each(
        &ordered,
        |c| async move {
            crate::lifecycle::remove::remove_with_timeout(engine, &c, args.force, args.time).await
        },
        true,
    )
    .await
}

#[derive(Debug, Clone, Args)]
pub struct CleanupArgs {
    pub container: String,
    /// Remove the container after cleaning up
    #[arg(long)]
    pub rm: bool,
}

pub async fn cleanup(engine: &EngineConfig, args: &CleanupArgs) -> anyhow::Result<()> {
    crate::lifecycle::cleanup::cleanup(engine, &args.container, args.rm).await
}

#[derive(Debug, Clone, Args)]
pub struct ExistsArgs {
    pub container: String,
}

pub async fn exists(engine: &EngineConfig, args: &ExistsArgs) -> anyhow::Result<()> {
    let db = super::open_state(engine)?;
    if store::exists(&db, &args.container)? {
        Ok(())
    } else {
        Err(ExitError {
            code: crate::error::EXIT_NO_SUCH_OBJECT,
            source: anyhow::anyhow!(""),
        }
        .into())
    }
}
