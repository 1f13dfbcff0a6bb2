//! podman: the command line. No daemon: each invocation reads the
//! configuration, starts the helpers it needs over socketpairs, and exits.

#![deny(unsafe_code)]
// The API's Docker info document is one large json! literal.
#![recursion_limit = "256"]

mod api;
mod build;
mod cgroup_stats;
mod cli;
mod commands;
mod compat;
mod container;
mod engine_config;
mod error;
mod events;
mod format;
mod helper_procs;
mod host_info;
mod image;
mod kill_point;
mod kube;
mod lifecycle;
mod pod;
mod proc_info;
mod remote;
mod runtime_choice;
mod secret;
mod spec;
mod state;
mod timestamp;
mod volume;

use std::process::ExitCode;
use std::time::Instant;

use crate::cli::{
    BuildxCommand, Cli, Command, ContainerCommand, HealthcheckCommand, ImageCommand, KubeCommand,
    NetworkCommand, PlayCommand, SystemCommand, VolumeCommand,
};
use crate::error::{exit_code, one_line};

fn main() -> ExitCode {
    let cli = match Cli::parse_args() {
        Ok(c) => c,
        Err(exit) => return ExitCode::from(exit.finish()),
    };
    // Podman checks the level before anything else, and exits 1.
    let level_name = match cli.global.level(cli.root.debug) {
        Ok(l) => l,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(1);
        }
    };
    let level = common::logging::parse_level(&level_name)
        .unwrap_or(tracing::level_filters::LevelFilter::WARN);
    common::logging::init("podman", level);
    tracing::info!("podman filtering at log level {level_name}");
    tracing::trace!(argv = ?std::env::args().collect::<Vec<_>>(), "command line");
    if let Err(e) = setup_process(&cli) {
        eprintln!("Error: {}", one_line(&e));
        return ExitCode::from(exit_code(&e));
    }
    let started = Instant::now();
    let result = run(cli, &level_name);
    tracing::debug!("Shutting down engines");
    tracing::debug!(
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
        "podman done"
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A container's own exit code carries no message.
            let line = one_line(&e);
            if !line.is_empty() {
                eprintln!("Error: {line}");
            }
            ExitCode::from(exit_code(&e))
        }
    }
}

/// The root flags that act on the process itself: refusals (one line
/// naming the flag and why, exit 125), `--out`/`--noout` (stdout goes to
/// a file or /dev/null) and `--registries-conf`.
fn setup_process(cli: &Cli) -> anyhow::Result<()> {
    if let Some(why) = cli.global.refused() {
        anyhow::bail!("{why}");
    }
    if let Some(rc) = &cli.global.registries_conf {
        if !rc.is_file() {
            anyhow::bail!("--registries-conf {}: no such file", rc.display());
        }
        // Read by RegistriesConf::load (here and in the helpers); set before
        // any thread starts.
        std::env::set_var("CONTAINERS_REGISTRIES_CONF", rc);
    }
    let target = if cli.root.noout {
        Some(std::path::PathBuf::from("/dev/null"))
    } else {
        cli.root.out.clone()
    };
    if let Some(path) = target {
        use std::os::fd::AsRawFd;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| anyhow::anyhow!("opening --out file {}: {e}", path.display()))?;
        if let Err(e) = nix::unistd::dup2(f.as_raw_fd(), 1) {
            anyhow::bail!(
                "redirecting stdout to {}: {}",
                path.display(),
                std::io::Error::from(e)
            );
        }
    }
    Ok(())
}

fn run(cli: Cli, log_level: &str) -> anyhow::Result<()> {
    // Needs no configuration: works on a machine with broken config files.
    if let Command::Completion(a) = &cli.command {
        return cli::completion::run(a);
    }
    // The client's own connection list: no store and no service involved.
    match &cli.command {
        Command::System(SystemCommand::Connection(c)) => return commands::connection::run(c),
        Command::Context(c) => return commands::connection::context(c),
        _ => {}
    }
    if remote::wanted(&cli) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        return rt.block_on(remote::run(&cli));
    }
    let cfg = engine_config::EngineConfig::load(&cli.global.engine_options(log_level))?;
    tracing::debug!(
        graph_root = %cfg.graph_root.display(),
        run_root = %cfg.run_root.display(),
        driver = %cfg.storage_driver,
        config_files = ?cfg.containers.files,
        "configuration loaded"
    );
    events::configure(cli.global.events_backend.as_deref(), &cfg)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let result = command(&cfg, &cli).await;
        // Helpers kept open between the command's steps go now.
        let finished = helper_procs::idle::finish_all().await;
        result.and(finished)
    })
}

async fn command(cfg: &engine_config::EngineConfig, cli: &Cli) -> anyhow::Result<()> {
    {
        match &cli.command {
            Command::Version(a) => commands::version::run(cfg, a.format.as_deref()).await,
            Command::Info(a) | Command::System(SystemCommand::Info(a)) => {
                commands::info::run(cfg, a.format.as_deref()).await
            }
            Command::Pull(a) | Command::Image(ImageCommand::Pull(a)) => {
                commands::pull::run(cfg, a).await
            }
            Command::Push(a) | Command::Image(ImageCommand::Push(a)) => {
                commands::push::run(cfg, a).await
            }
            Command::Save(a) | Command::Image(ImageCommand::Save(a)) => {
                commands::save::run(cfg, a).await
            }
            Command::Load(a) | Command::Image(ImageCommand::Load(a)) => {
                commands::load::run(cfg, a).await
            }
            Command::Import(a) | Command::Image(ImageCommand::Import(a)) => {
                commands::import::run(cfg, a).await
            }
            Command::Login(a) => commands::login::login(cfg, a).await,
            Command::Logout(a) => commands::login::logout(cfg, a).await,
            Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => {
                commands::images::run(cfg, a).await
            }
            Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => {
                commands::rmi::run(cfg, a).await
            }
            Command::Tag(a) | Command::Image(ImageCommand::Tag(a)) => {
                commands::tag::run(cfg, a).await
            }
            Command::Untag(a) | Command::Image(ImageCommand::Untag(a)) => {
                commands::untag::run(cfg, a).await
            }
            Command::Build(a)
            | Command::Image(ImageCommand::Build(a))
            | Command::Buildx(BuildxCommand::Build(a)) => commands::build::run(cfg, a).await,
            Command::Buildx(BuildxCommand::Version) => commands::build::buildx_version(),
            Command::Image(ImageCommand::Inspect(a)) => commands::image_inspect::run(cfg, a).await,
            Command::Image(ImageCommand::Exists(a)) => commands::image_exists::run(cfg, a).await,
            Command::History(a) | Command::Image(ImageCommand::History(a)) => {
                commands::history::run(cfg, a).await
            }
            Command::Image(ImageCommand::Prune(a)) => commands::image_prune::run(cfg, a).await,
            Command::Create(a) | Command::Container(ContainerCommand::Create(a)) => {
                commands::create::run(cfg, a).await
            }
            Command::Run(a) | Command::Container(ContainerCommand::Run(a)) => {
                commands::run::run(cfg, a).await
            }
            Command::Start(a) | Command::Container(ContainerCommand::Start(a)) => {
                commands::start::run(cfg, a).await
            }
            Command::Stop(a) | Command::Container(ContainerCommand::Stop(a)) => {
                commands::stop::run(cfg, a).await
            }
            Command::Kill(a) | Command::Container(ContainerCommand::Kill(a)) => {
                commands::kill::run(cfg, a).await
            }
            Command::Rm(a) | Command::Container(ContainerCommand::Rm(a)) => {
                commands::rm::run(cfg, a).await
            }
            Command::Ps(a) | Command::Container(ContainerCommand::Ps(a)) => {
                commands::ps::run(cfg, a).await
            }
            Command::Logs(a) | Command::Container(ContainerCommand::Logs(a)) => {
                commands::logs::run(cfg, a).await
            }
            Command::Wait(a) | Command::Container(ContainerCommand::Wait(a)) => {
                commands::wait::wait(cfg, a).await
            }
            Command::Inspect(a) => commands::inspect::run(cfg, a).await,
            Command::Container(ContainerCommand::Inspect(a)) => {
                let a = commands::inspect::InspectArgs {
                    kind: "container".into(),
                    ..a.0.clone()
                };
                commands::inspect::run(cfg, &a).await
            }
            Command::Container(ContainerCommand::Runlabel(a)) => {
                commands::runlabel::run(cfg, a).await
            }
            Command::Container(ContainerCommand::Exists(a)) => {
                commands::container_exists::run(cfg, a).await
            }
            Command::Container(ContainerCommand::Cleanup(a)) => {
                commands::container_cleanup::run(cfg, a).await
            }
            Command::Healthcheck(HealthcheckCommand::Run(a)) => {
                commands::healthcheck::run(cfg, a).await
            }
            Command::Network(c) => match c {
                NetworkCommand::Create(a) => commands::network::create(cfg, a).await,
                NetworkCommand::Ls(a) => commands::network::ls(cfg, a).await,
                NetworkCommand::Inspect(a) => commands::network::inspect(cfg, a).await,
                NetworkCommand::Rm(a) => commands::network::rm(cfg, a).await,
                NetworkCommand::Prune(a) => commands::network::prune(cfg, a).await,
                NetworkCommand::Exists(a) => commands::network::exists(cfg, a).await,
                NetworkCommand::Connect(a) => commands::network::connect(cfg, a).await,
                NetworkCommand::Disconnect(a) => commands::network::disconnect(cfg, a).await,
                NetworkCommand::Reload(a) => commands::network_reload::reload(cfg, a).await,
            },
            Command::Kube(c) => match c {
                KubeCommand::Play(a) => commands::kube::play(cfg, a).await,
                KubeCommand::Down(a) => commands::kube::down(cfg, a).await,
            },
            Command::Play(PlayCommand::Kube(a)) => commands::kube::play(cfg, a).await,
            Command::Volume(c) => match c {
                VolumeCommand::Create(a) => commands::volume::create(cfg, a).await,
                VolumeCommand::Ls(a) => commands::volume::ls(cfg, a).await,
                VolumeCommand::Inspect(a) => commands::volume::inspect(cfg, a).await,
                VolumeCommand::Rm(a) => commands::volume::rm(cfg, a).await,
                VolumeCommand::Prune(a) => commands::volume::prune(cfg, a).await,
                VolumeCommand::Exists(a) => commands::volume::exists(cfg, a).await,
                VolumeCommand::Export(a) => commands::volume::export(cfg, a).await,
                VolumeCommand::Import(a) => commands::volume::import(cfg, a).await,
                VolumeCommand::Mount(a) => commands::volume::mount(cfg, a).await,
                VolumeCommand::Unmount(a) => commands::volume::unmount(cfg, a).await,
            },
            Command::Secret(c) => {
                use crate::cli::SecretCommand as S;
                use commands::secret;
                match c {
                    S::Create(a) => secret::create(cfg, a).await,
                    S::Ls(a) => secret::ls(cfg, a).await,
                    S::Inspect(a) => secret::inspect(cfg, a).await,
                    S::Rm(a) => secret::rm(cfg, a).await,
                    S::Exists(a) => secret::exists(cfg, a).await,
                }
            }
            Command::Pod(c) => {
                use crate::cli::PodCommand as P;
                use commands::{pod, pod_ps};
                match c {
                    P::Create(a) => pod::create(cfg, a).await,
                    P::Start(a) => pod::start(cfg, a).await,
                    P::Stop(a) => pod::stop(cfg, a).await,
                    P::Restart(a) => pod::restart(cfg, a).await,
                    P::Kill(a) => pod::kill(cfg, a).await,
                    P::Pause(a) => pod::pause(cfg, a, true).await,
                    P::Unpause(a) => pod::pause(cfg, a, false).await,
                    P::Rm(a) => pod::rm(cfg, a).await,
                    P::Ps(a) => pod_ps::ps(cfg, a).await,
                    P::Inspect(a) => pod_ps::inspect(cfg, a).await,
                    P::Exists(a) => pod::exists(cfg, a).await,
                    P::Prune(a) => pod::prune(cfg, a).await,
                    P::Top(a) => pod::top(cfg, a).await,
                    P::Logs(a) => pod::logs(cfg, a).await,
                    P::Stats(a) => commands::pod_stats::stats(cfg, a).await,
                }
            }
            Command::Exec(a) | Command::Container(ContainerCommand::Exec(a)) => {
                commands::exec::run(cfg, a).await
            }
            Command::Attach(a) | Command::Container(ContainerCommand::Attach(a)) => {
                commands::attach::run(cfg, a).await
            }
            Command::Top(a) | Command::Container(ContainerCommand::Top(a)) => {
                commands::top::top(cfg, a).await
            }
            Command::Update(a) | Command::Container(ContainerCommand::Update(a)) => {
                commands::update::run(cfg, a).await
            }
            Command::Stats(a) | Command::Container(ContainerCommand::Stats(a)) => {
                commands::stats::run(cfg, a).await
            }
            Command::Rename(a) | Command::Container(ContainerCommand::Rename(a)) => {
                commands::rename::run(cfg, a).await
            }
            Command::Init(a) | Command::Container(ContainerCommand::Init(a)) => {
                commands::init::run(cfg, a).await
            }
            Command::Pause(a) | Command::Container(ContainerCommand::Pause(a)) => {
                commands::pause::run(cfg, a, true).await
            }
            Command::Unpause(a) | Command::Container(ContainerCommand::Unpause(a)) => {
                commands::pause::run(cfg, a, false).await
            }
            Command::Restart(a) | Command::Container(ContainerCommand::Restart(a)) => {
                commands::restart::run(cfg, a).await
            }
            Command::Container(ContainerCommand::Prune(a)) => {
                commands::container_prune::run(cfg, a).await
            }
            Command::Events(a) | Command::System(SystemCommand::Events(a)) => {
                commands::events::run(a).await
            }
            Command::System(SystemCommand::Prune(a)) => commands::system::prune(cfg, a).await,
            Command::System(SystemCommand::Df(a)) => commands::system_df::run(cfg, a).await,
            Command::System(SystemCommand::Reset(a)) => commands::system::reset(cfg, a).await,
            Command::System(SystemCommand::Service(a)) => commands::service::run(cfg, a).await,
            // Handled before any store is opened (see `run`).
            Command::System(SystemCommand::Connection(c)) => commands::connection::run(c),
            Command::Context(c) => commands::connection::context(c),
            Command::Port(a) | Command::Container(ContainerCommand::Port(a)) => {
                commands::port::run(cfg, a).await
            }
            Command::Cp(a) | Command::Container(ContainerCommand::Cp(a)) => {
                commands::cp::run(cfg, a).await
            }
            Command::Mount(a) | Command::Container(ContainerCommand::Mount(a)) => {
                commands::mount::mount(cfg, a).await
            }
            Command::Umount(a) | Command::Container(ContainerCommand::Umount(a)) => {
                commands::mount::unmount(cfg, a).await
            }
            Command::Diff(a) => commands::diff::run(cfg, a, commands::diff::DiffTarget::Any).await,
            Command::Container(ContainerCommand::Diff(a)) => {
                commands::diff::run(cfg, a, commands::diff::DiffTarget::Container).await
            }
            Command::Image(ImageCommand::Tree(a)) => commands::image_tree::run(cfg, a).await,
            Command::Image(ImageCommand::Mount(a)) => commands::image_mount::mount(cfg, a).await,
            Command::Image(ImageCommand::Umount(a)) => commands::image_mount::unmount(cfg, a).await,
            Command::Image(ImageCommand::Diff(a)) => {
                commands::diff::run(cfg, a, commands::diff::DiffTarget::Image).await
            }
            Command::Export(a) | Command::Container(ContainerCommand::Export(a)) => {
                commands::export::run(cfg, a).await
            }
            Command::Commit(a) | Command::Container(ContainerCommand::Commit(a)) => {
                commands::commit::run(cfg, a).await
            }
            Command::Completion(_) => unreachable!("handled before the configuration is read"),
        }
    }
}
