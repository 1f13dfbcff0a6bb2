//! The command line: Podman's global flags and commands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod lazy;
pub use lazy::Lazy;

use crate::commands::container_cleanup::CleanupArgs;
use crate::commands::container_exists::ExistsArgs as ContainerExistsArgs;
use crate::commands::create::CreateArgs;
use crate::commands::history::HistoryArgs;
use crate::commands::image_exists::ExistsArgs;
use crate::commands::image_inspect::ImageInspectArgs;
use crate::commands::image_prune::PruneArgs;
use crate::commands::images::ImagesArgs;
use crate::commands::inspect::InspectArgs;
use crate::commands::kill::KillArgs;
use crate::commands::logs::LogsArgs;
use crate::commands::network;
use crate::commands::ps::PsArgs;
use crate::commands::pull::PullArgs;
use crate::commands::rm::RmArgs as ContainerRmArgs;
use crate::commands::rmi::RmiArgs;
use crate::commands::run::RunArgs;
use crate::commands::start::StartArgs;
use crate::commands::stop::StopArgs;
use crate::commands::tag::TagArgs;
use crate::commands::untag::UntagArgs;
use crate::commands::wait::WaitArgs;
use crate::commands::{
    import::ImportArgs,
    load::LoadArgs,
    login::{LoginArgs, LogoutArgs},
    push::PushArgs,
    save::SaveArgs,
};
use crate::engine_config::EngineOptions;

type RmArgs = ContainerRmArgs;

#[derive(Debug, Parser)]
#[command(
    name = "podman",
    version,
    about = "Manage pods, containers and images",
    disable_help_subcommand = true,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Command,
}

/// Podman's global flags. Each overrides the matching containers.conf or
/// storage.conf setting for this invocation.
#[derive(Debug, Clone, Args)]
pub struct GlobalOpts {
    /// Path to the graph root directory where images and containers are stored
    #[arg(long, global = true, value_name = "PATH")]
    pub root: Option<PathBuf>,
    /// Path to the run root directory for state that does not survive a reboot
    #[arg(long, global = true, value_name = "PATH")]
    pub runroot: Option<PathBuf>,
    /// Log messages at and above this level: trace, debug, info, warn, error, fatal, panic
    #[arg(long, global = true, default_value = "warn", value_name = "LEVEL", value_parser = parse_level)]
    pub log_level: String,
    /// OCI runtime to use: a name from containers.conf's [engine.runtimes] or a path
    #[arg(long, global = true, value_name = "NAME|PATH")]
    pub runtime: Option<String>,
    /// Extra flag for the OCI runtime (repeatable), e.g. --runtime-flag debug
    #[arg(long = "runtime-flag", global = true, value_name = "FLAG")]
    pub runtime_flags: Vec<String>,
    /// Cgroup manager: systemd or cgroupfs
    #[arg(long, global = true, value_name = "MANAGER", value_parser = ["systemd", "cgroupfs"])]
    pub cgroup_manager: Option<String>,
    /// Storage driver: overlay or vfs
    #[arg(long, global = true, value_name = "DRIVER", value_parser = ["overlay", "vfs"])]
    pub storage_driver: Option<String>,
    /// Storage driver option (repeatable), e.g. overlay.mountopt=nodev
    #[arg(long = "storage-opt", global = true, value_name = "OPT")]
    pub storage_opts: Vec<String>,
    /// Directory holding network configurations
    #[arg(long, global = true, value_name = "DIR")]
    pub network_config_dir: Option<PathBuf>,
    /// Directory for temporary files
    #[arg(long, global = true, value_name = "DIR")]
    pub tmpdir: Option<PathBuf>,
    /// Load an extra containers.conf module (a path) on top of the others (repeatable)
    #[arg(long = "module", global = true, value_name = "PATH")]
    pub modules: Vec<PathBuf>,
    /// Events backend to use ("file"|"journald"|"none")
    #[arg(long, global = true, value_name = "BACKEND")]
    pub events_backend: Option<String>,
}

impl GlobalOpts {
    /// The flags as plain options for the engine configuration.
    pub fn engine_options(&self) -> EngineOptions {
        EngineOptions {
            root: self.root.clone(),
            runroot: self.runroot.clone(),
            log_level: self.log_level.clone(),
            runtime: self.runtime.clone(),
            runtime_flags: self.runtime_flags.clone(),
            cgroup_manager: self.cgroup_manager.clone(),
            storage_driver: self.storage_driver.clone(),
            storage_opts: self.storage_opts.clone(),
            network_config_dir: self.network_config_dir.clone(),
            tmpdir: self.tmpdir.clone(),
            modules: self.modules.clone(),
        }
    }
}

impl Cli {
    /// Parse our command line, building only the command it names.
    ///
    /// clap copies every global flag into every top-level command when it
    /// builds the parser (11 flags into ~45 commands: ~500 `Arg`s, about a
    /// third of the heap podman touched before doing any work). When the
    /// command can be told from argv (the first word that is not a global
    /// flag or its value), the parser is built with that command alone;
    /// otherwise (`--help`, `--version`, a typo) with all of them, so help
    /// and errors are the same.
    pub fn parse_args() -> Result<Cli, clap::Error> {
        use clap::{CommandFactory, FromArgMatches};
        let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
        let full = <Cli as CommandFactory>::command();
        let only = command_word(&argv)
            .and_then(|w| full.find_subcommand(w))
            .cloned();
        let cmd = match only {
            Some(sc) => top_level().subcommand(sc),
            None => full,
        };
        let mut m = cmd.try_get_matches_from(&argv)?;
        Cli::from_arg_matches_mut(&mut m)
    }
}

/// The top-level parser without its commands, as `#[derive(Parser)]` on
/// [`Cli`] makes it (a test keeps the two alike).
fn top_level() -> clap::Command {
    // The derive applies GlobalOpts (and its doc comment) first.
    <GlobalOpts as Args>::augment_args(clap::Command::new("podman"))
        .version(env!("CARGO_PKG_VERSION"))
        .about("Manage pods, containers and images")
        .long_about(None)
        .disable_help_subcommand(true)
        .propagate_version(true)
        .subcommand_required(true)
        .arg_required_else_help(true)
}

/// The command word of `argv`: the first argument that is neither a global
/// flag nor its value. Every global flag takes a value; None for anything
/// else before the command (`-h`, `--version`, a typo).
fn command_word(argv: &[std::ffi::OsString]) -> Option<&std::ffi::OsStr> {
    const WITH_VALUE: [&str; 12] = [
        "--root",
        "--runroot",
        "--log-level",
        "--runtime",
        "--runtime-flag",
        "--cgroup-manager",
        "--storage-driver",
        "--storage-opt",
        "--network-config-dir",
        "--tmpdir",
        "--module",
        "--events-backend",
    ];
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        let s = a.to_str()?;
        if !s.starts_with('-') {
            return Some(a);
        }
        let (flag, inline) = match s.split_once('=') {
            Some((f, _)) => (f, true),
            None => (s, false),
        };
        if !WITH_VALUE.contains(&flag) {
            return None;
        }
        if !inline {
            it.next()?;
        }
    }
    None
}

fn parse_level(s: &str) -> Result<String, String> {
    common::logging::parse_level(s)
        .map(|_| s.to_ascii_lowercase())
        .ok_or_else(|| format!("use one of {}", common::logging::LEVELS.join(", ")))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Display the Podman version information
    Version(Lazy<FormatArgs>),
    /// Display podman system information
    Info(Lazy<FormatArgs>),
    /// Pull an image from a registry or a local archive
    Pull(Lazy<PullArgs>),
    /// Push an image to a registry (or a local archive)
    Push(Lazy<PushArgs>),
    /// Save images to an archive
    Save(Lazy<SaveArgs>),
    /// Load images from an archive
    Load(Lazy<LoadArgs>),
    /// Import a tarball to create a filesystem image
    Import(Lazy<ImportArgs>),
    /// Log in to a container registry
    Login(Lazy<LoginArgs>),
    /// Log out of a container registry
    Logout(Lazy<LogoutArgs>),
    /// Show the history of an image
    History(Lazy<HistoryArgs>),
    /// List images in local storage
    Images(Lazy<ImagesArgs>),
    /// Remove one or more images from local storage
    Rmi(Lazy<RmiArgs>),
    /// Add an additional name to a local image
    Tag(Lazy<TagArgs>),
    /// Remove a name from a local image
    Untag(Lazy<UntagArgs>),
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// Create but do not start a container
    #[command(disable_help_flag = true)]
    Create(Lazy<CreateArgs>),
    /// Run a command in a new container
    #[command(disable_help_flag = true)]
    Run(Lazy<RunArgs>),
    /// Start one or more containers
    Start(Lazy<StartArgs>),
    /// Stop one or more containers
    Stop(Lazy<StopArgs>),
    /// Kill one or more running containers with a signal
    Kill(Lazy<KillArgs>),
    /// Remove one or more containers
    Rm(Lazy<RmArgs>),
    /// List containers
    #[command(visible_alias = "list")]
    Ps(Lazy<PsArgs>),
    /// Fetch the logs of one or more containers
    Logs(Lazy<LogsArgs>),
    /// Block on one or more containers until a condition is reached
    Wait(Lazy<WaitArgs>),
    /// Display the configuration of containers or images
    Inspect(Lazy<InspectArgs>),
    /// Manage containers
    #[command(subcommand)]
    Container(ContainerCommand),
    /// Manage networks
    #[command(subcommand)]
    Network(NetworkCommand),
    /// List port mappings of a container
    Port(Lazy<crate::commands::port::PortArgs>),
    /// Run a process in a running container
    Exec(Lazy<crate::commands::exec::ExecArgs>),
    /// Attach to a running container
    Attach(Lazy<crate::commands::attach::AttachArgs>),
    /// Display the running processes of a container
    Top(Lazy<crate::commands::top::TopArgs>),
    /// Rename a container
    Rename(Lazy<crate::commands::rename::RenameArgs>),
    /// Initialize one or more containers
    Init(Lazy<crate::commands::targets::NamesArgs>),
    /// Pause all the processes in one or more containers
    Pause(Lazy<crate::commands::targets::NamesArgs>),
    /// Unpause the processes in one or more containers
    Unpause(Lazy<crate::commands::targets::NamesArgs>),
    /// Restart one or more containers
    Restart(Lazy<crate::commands::restart::RestartArgs>),
    /// Show podman system events
    Events(Lazy<crate::commands::events::EventsArgs>),
    /// Manage podman
    #[command(subcommand)]
    System(SystemCommand),
}

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Show podman system events
    Events(Lazy<crate::commands::events::EventsArgs>),
}

#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    Exec(Lazy<crate::commands::exec::ExecArgs>),
    Attach(Lazy<crate::commands::attach::AttachArgs>),
    Top(Lazy<crate::commands::top::TopArgs>),
    Rename(Lazy<crate::commands::rename::RenameArgs>),
    Init(Lazy<crate::commands::targets::NamesArgs>),
    Pause(Lazy<crate::commands::targets::NamesArgs>),
    Unpause(Lazy<crate::commands::targets::NamesArgs>),
    Restart(Lazy<crate::commands::restart::RestartArgs>),
    /// Remove all stopped containers
    Prune(Lazy<crate::commands::container_prune::PruneArgs>),
    #[command(disable_help_flag = true)]
    Create(Lazy<CreateArgs>),
    #[command(disable_help_flag = true)]
    Run(Lazy<RunArgs>),
    Start(Lazy<StartArgs>),
    Stop(Lazy<StopArgs>),
    Kill(Lazy<KillArgs>),
    Rm(Lazy<RmArgs>),
    #[command(visible_alias = "ls", visible_alias = "list")]
    Ps(Lazy<PsArgs>),
    Logs(Lazy<LogsArgs>),
    Wait(Lazy<WaitArgs>),
    Inspect(Lazy<InspectArgs>),
    /// Check if a container exists
    Exists(Lazy<ContainerExistsArgs>),
    /// Clean up network and mountpoints of one container (run by the monitor on exit)
    Cleanup(Lazy<CleanupArgs>),
    /// List port mappings of a container
    Port(Lazy<crate::commands::port::PortArgs>),
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// List images in local storage
    #[command(visible_alias = "list")]
    Ls(Lazy<ImagesArgs>),
    /// Pull an image from a registry
    Pull(Lazy<PullArgs>),
    /// Remove one or more images
    Rm(Lazy<RmiArgs>),
    /// Add an additional name to a local image
    Tag(Lazy<TagArgs>),
    /// Remove a name from a local image
    Untag(Lazy<UntagArgs>),
    /// Display the configuration of an image
    Inspect(Lazy<ImageInspectArgs>),
    /// Check if an image exists in local storage
    Exists(Lazy<ExistsArgs>),
    /// Show the history of an image
    History(Lazy<HistoryArgs>),
    /// Remove unused images
    Prune(Lazy<PruneArgs>),
    /// Push an image to a registry (or a local archive)
    Push(Lazy<PushArgs>),
    /// Save images to an archive
    Save(Lazy<SaveArgs>),
    /// Load images from an archive
    Load(Lazy<LoadArgs>),
    /// Import a tarball to create a filesystem image
    Import(Lazy<ImportArgs>),
}

#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Create a network
    Create(Lazy<network::CreateArgs>),
    /// List networks
    #[command(visible_alias = "list")]
    Ls(Lazy<network::LsArgs>),
    /// Display the configuration of networks
    Inspect(Lazy<network::InspectArgs>),
    /// Remove networks
    #[command(visible_alias = "remove")]
    Rm(Lazy<network::RmArgs>),
    /// Remove networks no container uses
    Prune(Lazy<network::PruneArgs>),
    /// Check if a network exists
    Exists(Lazy<network::NameArg>),
    /// Connect a running container to a network
    Connect(Lazy<network::ConnectArgs>),
    /// Disconnect a container from a network
    Disconnect(Lazy<network::ConnectArgs>),
}

#[derive(Debug, Clone, Args)]
pub struct FormatArgs {
    /// Change the output format to JSON or a Go template
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }

    #[test]
    fn the_lean_top_level_matches_the_derived_one() {
        use clap::CommandFactory;
        let full = super::Cli::command();
        let lean = super::top_level();
        assert_eq!(full.get_name(), lean.get_name());
        assert_eq!(full.get_version(), lean.get_version());
        assert_eq!(
            full.get_about().map(|a| a.to_string()),
            lean.get_about().map(|a| a.to_string())
        );
        assert_eq!(
            full.is_disable_help_subcommand_set(),
            lean.is_disable_help_subcommand_set()
        );
        assert_eq!(
            full.is_propagate_version_set(),
            lean.is_propagate_version_set()
        );
        assert_eq!(
            full.is_subcommand_required_set(),
            lean.is_subcommand_required_set()
        );
        assert_eq!(
            full.is_arg_required_else_help_set(),
            lean.is_arg_required_else_help_set()
        );
        let ids = |c: &clap::Command| {
            c.get_arguments()
                .map(|a| {
                    (
                        a.get_id().to_string(),
                        a.get_long().map(String::from),
                        a.is_global_set(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&full), ids(&lean));
        // Every global flag takes a value (command_word relies on it).
        for a in full.get_arguments() {
            assert!(a.get_action().takes_values(), "{:?}", a.get_id());
        }
    }

    #[test]
    fn the_command_word_skips_global_flags_and_their_values() {
        let v = |s: &[&str]| s.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        let w = |s: &[&str]| super::command_word(&v(s)).map(|w| w.to_string_lossy().into_owned());
        assert_eq!(
            w(&["podman", "--root", "/r", "--log-level=debug", "ps", "-a"]).as_deref(),
            Some("ps")
        );
        assert_eq!(w(&["podman", "run", "--root", "x"]).as_deref(), Some("run"));
        assert_eq!(w(&["podman", "--help"]), None);
        assert_eq!(w(&["podman", "--root"]), None);
        assert_eq!(w(&["podman"]), None);
    }
}
