//! The command line: Podman's global flags and commands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands::containers::{
    CleanupArgs, ExistsArgs as ContainerExistsArgs, KillArgs, RmArgs as ContainerRmArgs, StartArgs,
    StopArgs, WaitArgs,
};
use crate::commands::image_ops::{
    ExistsArgs, HistoryArgs, ImageInspectArgs, PruneArgs, RmiArgs, TagArgs, UntagArgs,
};
use crate::commands::images::ImagesArgs;
use crate::commands::inspect::InspectArgs;
use crate::commands::logs::LogsArgs;
use crate::commands::ps::PsArgs;
use crate::commands::pull::PullArgs;
use crate::commands::run::RunArgs;
use crate::commands::{
    import::ImportArgs,
    load::LoadArgs,
    login::{LoginArgs, LogoutArgs},
    push::PushArgs,
    save::SaveArgs,
};
use crate::lifecycle::create_args::CreateArgs;

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
}

fn parse_level(s: &str) -> Result<String, String> {
    common::logging::parse_level(s)
        .map(|_| s.to_ascii_lowercase())
        .ok_or_else(|| format!("use one of {}", common::logging::LEVELS.join(", ")))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Display the Podman version information
    Version(FormatArgs),
    /// Display podman system information
    Info(FormatArgs),
    /// Pull an image from a registry or a local archive
    Pull(PullArgs),
    /// Push an image to a registry (or a local archive)
    Push(PushArgs),
    /// Save images to an archive
    Save(SaveArgs),
    /// Load images from an archive
    Load(LoadArgs),
    /// Import a tarball to create a filesystem image
    Import(ImportArgs),
    /// Log in to a container registry
    Login(LoginArgs),
    /// Log out of a container registry
    Logout(LogoutArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// List images in local storage
    Images(ImagesArgs),
    /// Remove one or more images from local storage
    Rmi(RmiArgs),
    /// Add an additional name to a local image
    Tag(TagArgs),
    /// Remove a name from a local image
    Untag(UntagArgs),
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// Create but do not start a container
    #[command(disable_help_flag = true)]
    Create(CreateArgs),
    /// Run a command in a new container
    #[command(disable_help_flag = true)]
    Run(RunArgs),
    /// Start one or more containers
    Start(StartArgs),
    /// Stop one or more containers
    Stop(StopArgs),
    /// Kill one or more running containers with a signal
    Kill(KillArgs),
    /// Remove one or more containers
    Rm(RmArgs),
    /// List containers
    #[command(visible_alias = "list")]
    Ps(PsArgs),
    /// Fetch the logs of one or more containers
    Logs(LogsArgs),
    /// Block on one or more containers until a condition is reached
    Wait(WaitArgs),
    /// Display the configuration of containers or images
    Inspect(InspectArgs),
    /// Manage containers
    #[command(subcommand)]
    Container(ContainerCommand),
    /// Manage networks
    #[command(subcommand)]
    Network(crate::commands::network::NetworkCommand),
    /// List port mappings of a container
    Port(crate::commands::network::PortArgs),
    /// Run a process in a running container
    Exec(crate::commands::exec::ExecArgs),
    /// Attach to a running container
    Attach(crate::commands::more::AttachArgs),
    /// Display the running processes of a container
    Top(crate::commands::more::TopArgs),
    /// Rename a container
    Rename(crate::commands::more::RenameArgs),
    /// Initialize one or more containers
    Init(crate::commands::more::NamesArgs),
    /// Pause all the processes in one or more containers
    Pause(crate::commands::more::NamesArgs),
    /// Unpause the processes in one or more containers
    Unpause(crate::commands::more::NamesArgs),
    /// Restart one or more containers
    Restart(crate::commands::more::RestartArgs),
}

#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    Exec(crate::commands::exec::ExecArgs),
    Attach(crate::commands::more::AttachArgs),
    Top(crate::commands::more::TopArgs),
    Rename(crate::commands::more::RenameArgs),
    Init(crate::commands::more::NamesArgs),
    Pause(crate::commands::more::NamesArgs),
    Unpause(crate::commands::more::NamesArgs),
    Restart(crate::commands::more::RestartArgs),
    /// Remove all stopped containers
    Prune(crate::commands::more::PruneArgs),
    #[command(disable_help_flag = true)]
    Create(CreateArgs),
    #[command(disable_help_flag = true)]
    Run(RunArgs),
    Start(StartArgs),
    Stop(StopArgs),
    Kill(KillArgs),
    Rm(RmArgs),
    #[command(visible_alias = "ls", visible_alias = "list")]
    Ps(PsArgs),
    Logs(LogsArgs),
    Wait(WaitArgs),
    Inspect(InspectArgs),
    /// Check if a container exists
    Exists(ContainerExistsArgs),
    /// Clean up network and mountpoints of one container (run by the monitor on exit)
    Cleanup(CleanupArgs),
    /// List port mappings of a container
    Port(crate::commands::network::PortArgs),
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// List images in local storage
    #[command(visible_alias = "list")]
    Ls(ImagesArgs),
    /// Pull an image from a registry
    Pull(PullArgs),
    /// Remove one or more images
    Rm(RmiArgs),
    /// Add an additional name to a local image
    Tag(TagArgs),
    /// Remove a name from a local image
    Untag(UntagArgs),
    /// Display the configuration of an image
    Inspect(ImageInspectArgs),
    /// Check if an image exists in local storage
    Exists(ExistsArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// Remove unused images
    Prune(PruneArgs),
    /// Push an image to a registry (or a local archive)
    Push(PushArgs),
    /// Save images to an archive
    Save(SaveArgs),
    /// Load images from an archive
    Load(LoadArgs),
    /// Import a tarball to create a filesystem image
    Import(ImportArgs),
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
}
