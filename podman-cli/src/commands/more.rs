//! `attach`, `rename`, `init`, `pause`, `unpause`, `restart`,
//! `container prune` (and `top`, which lives in its own module).

use clap::Args;

use crate::container::model::Status;
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::error::ExitError;
use crate::lifecycle::attach::{self, AttachEnd};
use crate::lifecycle::paths::{ContainerLock, ContainerPaths};

pub use super::top::{top, TopArgs};

#[derive(Debug, Clone, Args)]
pub struct AttachArgs {
    pub container: String,
    /// Do not attach STDIN
    #[arg(long)]
    pub no_stdin: bool,
    /// Detach key sequence
    #[arg(long)]
    pub detach_keys: Option<String>,
}

pub async fn attach_cmd(engine: &EngineConfig, a: &AttachArgs) -> anyhow::Result<()> {
    let db = super::open_state(engine)?;
    let (cfg, st) =
        crate::lifecycle::cleanup::refresh(engine, store::resolve(&db, &a.container)?).await?;
    if cfg.log_driver.starts_with("passthrough") {
        // Its stdio went to the podman that started it; nothing to attach to.
        anyhow::bail!(
            "this container is using the '{}' log driver, cannot attach: this container is not logging output",
            cfg.log_driver
        );
    }
    if st.status != Status::Running {
        anyhow::bail!("you can only attach to running containers: container state improper");
    }
    let paths = ContainerPaths::new(engine, &cfg.id);
    let sock = attach::connect_socket(&paths.attach_socket(&cfg.id))?;
    crate::events::container(&cfg, "attach");
    let detach = attach::detach_sequence(a.detach_keys.as_deref().unwrap_or(&cfg.detach_keys))?;
    let tty = cfg.terminal && std::io::IsTerminal::is_terminal(&std::io::stdin());
    let raw = tty.then(attach::RawMode::enable);
    let stdin = cfg.stdin && !a.no_stdin;
    let end = tokio::task::spawn_blocking(move || attach::pump(sock, stdin, detach, tty)).await?;
    drop(raw);
    match end {
        AttachEnd::Exited(code) => {
            crate::lifecycle::cleanup::cleanup(engine, &cfg.id, cfg.auto_remove).await?;
            if code == 0 {
                Ok(())
            } else {
                Err(ExitError {
                    code: (code & 0xff) as u8,
                    source: anyhow::anyhow!(""),
                }
                .into())
            }
        }
        AttachEnd::Detached | AttachEnd::Lost => Ok(()),
    }
}

#[derive(Debug, Clone, Args)]
pub struct RenameArgs {
    pub container: String,
    pub new_name: String,
}

pub async fn rename(engine: &EngineConfig, a: &RenameArgs) -> anyhow::Result<()> {
    crate::container::names::validate_name(&a.new_name).map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = super::open_state(engine)?;
    let (mut cfg, _) = store::resolve(&db, &a.container)?;
    cfg.name = a.new_name.clone();
    store::rename(&db, &cfg.id, &cfg)?;
    crate::events::container(&cfg, "rename");
    Ok(())
}

#[derive(Debug, Clone, Args)]
pub struct NamesArgs {
    pub containers: Vec<String>,
    #[arg(short, long)]
    pub all: bool,
    #[arg(short, long)]
    pub latest: bool,
}

fn names(engine: &EngineConfig, a: &NamesArgs) -> anyhow::Result<Vec<String>> {
    let db = super::open_state(engine)?;
    if a.all {
        return Ok(store::list(&db)?.into_iter().map(|(c, _)| c.id).collect());
    }
    if a.latest {
        return Ok(vec![store::latest(&db)?.0.id]);
    }
    if a.containers.is_empty() {
        anyhow::bail!(
            "you must provide at least one container name or ID, or use --all or --latest"
        );
    }
    Ok(a.containers.clone())
}

/// `podman init`: create the container in the runtime without starting it.
pub async fn init(engine: &EngineConfig, a: &NamesArgs) -> anyhow::Result<()> {
    for n in names(engine, a)? {
        let db = super::open_state(engine)?;
        let (cfg, _) = store::resolve(&db, &n)?;
        let paths = ContainerPaths::new(engine, &cfg.id);
        let _lock = ContainerLock::acquire(&paths)?;
        let (cfg, mut st) = store::resolve(&db, &cfg.id)?;
        if st.status.is_active() || st.pid > 0 {
            anyhow::bail!(
                "container {} has already been initialized or started: container state improper",
                cfg.name
            );
        }
        let init = crate::lifecycle::start::init(engine, &cfg, &mut st, &paths, false).await?;
        init.monitor.close().await?;
        println!("{n}");
    }
    Ok(())
}

async fn runtime(
    cfg: &crate::container::model::ContainerConfig,
    paths: &ContainerPaths,
    verb: &str,
) -> anyhow::Result<()> {
    let out = tokio::process::Command::new(&cfg.runtime)
        .arg("--root")
        .arg(&paths.runtime_root)
        .args([verb, &cfg.id])
        .stdin(std::process::Stdio::null())
        .output()
        .await?;
    if !out.status.success() {
        anyhow::bail!(
            "{} {verb} {}: {}",
            cfg.runtime,
            cfg.name,
            String::from_utf8_lossy(&out.stderr)
                .trim()
                .replace('\n', " ")
        );
    }
    Ok(())
}

/// `pause` (freeze) and `unpause` through the runtime.
pub async fn pause(engine: &EngineConfig, a: &NamesArgs, pause: bool) -> anyhow::Result<()> {
    for n in names(engine, a)? {
        let db = super::open_state(engine)?;
        let (cfg, _) = store::resolve(&db, &n)?;
        let paths = ContainerPaths::new(engine, &cfg.id);
        let _lock = ContainerLock::acquire(&paths)?;
        let (cfg, mut st) = store::resolve(&db, &cfg.id)?;
        let (want, verb, next) = if pause {
            (Status::Running, "pause", Status::Paused)
        } else {
            (Status::Paused, "resume", Status::Running)
        };
        if st.status != want {
            anyhow::bail!(
                "{} is not {}: container state improper",
                cfg.name,
                want.as_str()
            );
        }
        runtime(&cfg, &paths, verb).await?;
        st.status = next;
        store::update_state(&db, &cfg.id, &st)?;
        crate::events::container(&cfg, if pause { "pause" } else { "unpause" });
        println!("{n}");
    }
    Ok(())
}

#[derive(Debug, Clone, Args)]
pub struct RestartArgs {
    #[command(flatten)]
    pub names: NamesArgs,
    #[arg(short = 't', long = "time")]
    pub time: Option<u32>,
}

pub async fn restart(engine: &EngineConfig, a: &RestartArgs) -> anyhow::Result<()> {
    for n in names(engine, &a.names)? {
        crate::lifecycle::stop::stop(engine, &n, a.time).await?;
        let cfg = crate::lifecycle::start::start(engine, &n).await?;
        crate::events::container(&cfg, "restart");
        println!("{n}");
    }
    Ok(())
}

#[derive(Debug, Clone, Args)]
pub struct PruneArgs {
    #[arg(short, long)]
    pub force: bool,
}

/// Remove every container that is not running.
pub async fn prune(engine: &EngineConfig, _a: &PruneArgs) -> anyhow::Result<()> {
    let db = super::open_state(engine)?;
    for rec in store::list(&db)? {
        let (cfg, st) = crate::lifecycle::cleanup::refresh(engine, rec).await?;
        if st.status.is_active() || st.status == Status::Removing {
            continue;
        }
        crate::lifecycle::remove::remove(engine, &cfg.id, false, false).await?;
        println!("{}", cfg.id);
    }
    Ok(())
}
