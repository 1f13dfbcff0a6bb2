//! The command line: Podman's global flags and commands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub mod completion;
mod examples;
pub mod help;
mod lazy;
pub(crate) mod pflag;
pub mod usage_error;
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

/// The version of Podman whose command-line behaviour we implement.
pub use crate::compat::PODMAN_VERSION;

/// The root command's description (the first line of `podman --help`).
pub const ROOT_ABOUT: &str = "Manage pods, containers and images";

#[derive(Debug, Parser)]
#[command(
    name = "podman",
    version = PODMAN_VERSION,
    about = "Manage pods, containers and images",
    disable_help_subcommand = true,
    disable_version_flag = true,
    args_override_self = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(flatten)]
    pub root: RootOpts,
    #[command(subcommand)]
    pub command: Command,
}

/// Podman's flags of the root command alone: given before the command
/// (`podman --out F version`), never after it.
#[derive(Debug, Clone, Args)]
pub struct RootOpts {
    /// Version for podman
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    pub version: Option<bool>,
    /// Send output (stdout) from podman to a file
    #[arg(long, value_name = "string")]
    pub out: Option<PathBuf>,
    /// do not output to stdout
    #[arg(long)]
    pub noout: bool,
    /// Docker compatibility, force setting of log-level
    #[arg(short = 'D', long)]
    pub debug: bool,
    /// Access remote Podman service
    #[arg(short = 'r', long)]
    pub remote: bool,
    /// URL to access Podman service (CONTAINER_HOST)
    #[arg(long, value_name = "string")]
    pub url: Option<String>,
    /// Connection to use for remote Podman service (CONTAINER_CONNECTION)
    #[arg(short = 'c', long, value_name = "string")]
    pub connection: Option<String>,
    /// path to SSH identity file, (CONTAINER_SSHKEY)
    #[arg(long, value_name = "string")]
    pub identity: Option<String>,
    /// define the ssh mode
    #[arg(long, value_name = "string")]
    pub ssh: Option<String>,
}

/// Podman's global flags. Each overrides the matching containers.conf or
/// storage.conf setting for this invocation. The ones we refuse are
/// accepted before the command only: every global flag is copied into the
/// chosen command's parser, a cost each start-up pays.
#[derive(Debug, Clone, Args)]
pub struct GlobalOpts {
    /// Path to the graph root directory where images, containers, etc. are stored
    #[arg(long, global = true, value_name = "string")]
    pub root: Option<PathBuf>,
    /// Path to the 'run directory' where all state information is stored
    #[arg(long, global = true, value_name = "string")]
    pub runroot: Option<PathBuf>,
    /// Log messages above specified level (trace, debug, info, warn, warning, error, fatal, panic) (default "warn")
    #[arg(long, global = true, value_name = "string")]
    pub log_level: Option<String>,
    /// Path to the OCI-compatible binary used to run containers.
    #[arg(long, global = true, value_name = "string")]
    pub runtime: Option<String>,
    /// add global flags for the container runtime
    #[arg(long = "runtime-flag", global = true, value_name = "stringArray")]
    pub runtime_flags: Vec<String>,
    /// Cgroup manager to use ("cgroupfs"|"systemd")
    #[arg(long, global = true, value_name = "string", value_parser = ["systemd", "cgroupfs"])]
    pub cgroup_manager: Option<String>,
    /// Select which storage driver is used to manage storage of images and containers
    #[arg(long, global = true, value_name = "string", value_parser = ["overlay", "vfs"])]
    pub storage_driver: Option<String>,
    /// Used to pass an option to the storage driver
    #[arg(long = "storage-opt", global = true, value_name = "stringArray")]
    pub storage_opts: Vec<String>,
    /// Path of the configuration directory for networks
    #[arg(long, global = true, value_name = "string")]
    pub network_config_dir: Option<PathBuf>,
    /// Path to the tmp directory for libpod state content
    #[arg(long, global = true, value_name = "string")]
    pub tmpdir: Option<PathBuf>,
    /// Load the containers.conf(5) module
    #[arg(long = "module", global = true, value_name = "stringArray")]
    pub modules: Vec<PathBuf>,
    /// Path to the volume directory in which volume data is stored
    #[arg(long, global = true, value_name = "string")]
    pub volumepath: Option<PathBuf>,
    /// Path to a registries.conf to use for image processing
    #[arg(long, global = true, value_name = "string")]
    pub registries_conf: Option<PathBuf>,
    /// Database backend to use (only "sqlite")
    #[arg(long, value_name = "string")]
    pub db_backend: Option<String>,
    /// Path to the 'image store' (not supported)
    #[arg(long, value_name = "string")]
    pub imagestore: Option<PathBuf>,
    /// Path of the conmon binary (not supported: podman-rs runs its own ctr-monitor)
    #[arg(long, value_name = "string")]
    pub conmon: Option<PathBuf>,
    /// Set the OCI hooks directory path (not supported)
    #[arg(long = "hooks-dir", value_name = "stringArray")]
    pub hooks_dirs: Vec<PathBuf>,
    /// Path to the command for configuring the network (not supported)
    #[arg(long, value_name = "string")]
    pub network_cmd_path: Option<PathBuf>,
    /// Enable transient container storage (not supported)
    #[arg(long)]
    pub transient_store: bool,
    /// Output podman-internal logs to syslog as well as the console (not supported)
    #[arg(long)]
    pub syslog: bool,
    /// Path to the mounts.conf whose SRC:DST lines every container gets (hidden, as in Podman)
    #[arg(long, global = true, value_name = "string", hide = true)]
    pub default_mounts_file: Option<PathBuf>,
    /// Events backend to use ("file"|"journald"|"none")
    #[arg(long, global = true, value_name = "string")]
    pub events_backend: Option<String>,
}

/// Podman's log level names, in its order.
pub const LOG_LEVELS: &[&str] = &[
    "trace", "debug", "info", "warn", "warning", "error", "fatal", "panic",
];

impl GlobalOpts {
    /// The level to log at, after `--debug`; Err is Podman's text (exit 1).
    pub fn level(&self, debug: bool) -> Result<String, String> {
        match (&self.log_level, debug) {
            (Some(_), true) => Err("Setting --log-level and --debug is not allowed".into()),
            (None, true) => Ok("debug".into()),
            (None, false) => Ok("warn".into()),
            (Some(l), false) => {
                if LOG_LEVELS.contains(&l.as_str()) {
                    Ok(l.clone())
                } else {
                    Err(format!(
                        "Log Level {l:?} is not supported, choose from: {}",
                        LOG_LEVELS.join(", ")
                    ))
                }
            }
        }
    }

    /// The flags we accept but cannot honour, refused in one line naming
    /// the flag and why (never silently ignored).
    pub fn refused(&self) -> Option<String> {
        let why = if self.imagestore.is_some() {
            "--imagestore: a separate image store is not supported by storage-helper"
        } else if self.conmon.is_some() {
            "--conmon: podman-rs runs its own monitor (ctr-monitor), not conmon; choose its directory with helper_binaries_dir in containers.conf"
        } else if !self.hooks_dirs.is_empty() {
            "--hooks-dir: OCI hooks are not supported yet"
        } else if self.network_cmd_path.is_some() {
            "--network-cmd-path: rootless networking (pasta, slirp4netns) is not supported yet"
        } else if self.transient_store {
            "--transient-store: a transient store (database and container records in the run root) is not supported yet"
        } else if self.syslog {
            "--syslog: logging to syslog is not supported; logs go to stderr"
        } else {
            match self.db_backend.as_deref() {
                None | Some("sqlite") => return None,
                Some(b) => {
                    return Some(format!("--db-backend {b:?}: only \"sqlite\" is supported"))
                }
            }
        };
        Some(why.to_string())
    }

    /// The flags as plain options for the engine configuration.
    pub fn engine_options(&self, log_level: &str) -> EngineOptions {
        EngineOptions {
            root: self.root.clone(),
            runroot: self.runroot.clone(),
            // Helpers and the exit command get the canonical name.
            log_level: match log_level {
                "warning" => "warn".to_string(),
                l => l.to_string(),
            },
            runtime: self.runtime.clone(),
            runtime_flags: self.runtime_flags.clone(),
            cgroup_manager: self.cgroup_manager.clone(),
            storage_driver: self.storage_driver.clone(),
            // `--storage-opt ''` means "no options" (Podman).
            storage_opts: self
                .storage_opts
                .iter()
                .filter(|o| !o.is_empty())
                .cloned()
                .collect(),
            network_config_dir: self.network_config_dir.clone(),
            tmpdir: self.tmpdir.clone(),
            modules: self.modules.clone(),
            volume_path: self.volumepath.clone(),
            default_mounts_file: self.default_mounts_file.clone(),
        }
    }
}

impl Cli {
    /// Parse our command line, building only the command it names.
    ///
    /// clap copies every global flag into every top-level command when it
    /// builds the parser (~20 flags into ~45 commands), a good part of the
    /// heap podman touched before doing any work. When the command can be
    /// told from argv (the first word that is not a root flag or its
    /// value), the parser is built with that command alone; otherwise
    /// (`--help`, `--version`, a typo) with all of them, so help and
    /// errors are the same. Help, usage and errors are rendered in
    /// Podman's (cobra's) layout by [`help`].
    pub fn parse_args() -> Result<Cli, help::Exit> {
        use clap::FromArgMatches;
        let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
        let full = full_command();
        let word = command_word(&full, &argv);
        if word.is_some_and(|w| w == "help") {
            return Err(help::help_command(&full, &argv));
        }
        let only = word.and_then(|w| full.find_subcommand(w)).cloned();
        let mut cmd = match only {
            Some(sc) => top_level().subcommand(sc),
            None => full,
        };
        // Errors are rendered from the parser as built (no second build).
        let mut m = match cmd.try_get_matches_from_mut(&argv) {
            Ok(m) => m,
            Err(e) => return Err(usage_error::error(e, &cmd, &argv)),
        };
        usage_error::check_latest(&cmd, &m, &argv)?;
        Cli::from_arg_matches_mut(&mut m).map_err(|e| usage_error::error(e, &cmd, &argv))
    }
}

/// The whole parser: every command, switches as pflag bools.
pub fn full_command() -> clap::Command {
    pflag::bools(<Cli as clap::CommandFactory>::command())
}

/// The top-level parser without its commands, as `#[derive(Parser)]` on
/// [`Cli`] makes it (a test keeps the two alike).
fn top_level() -> clap::Command {
    // The derive applies GlobalOpts (and its doc comment) first.
    let c = <GlobalOpts as Args>::augment_args(clap::Command::new("podman"));
    pflag::bools(<RootOpts as Args>::augment_args(c))
        .version(PODMAN_VERSION)
        .about("Manage pods, containers and images")
        .long_about(None)
        .disable_help_subcommand(true)
        .disable_version_flag(true)
        // As pflag: a flag given twice takes its last value (`--name a
        // --name b`); list flags still collect every value.
        .args_override_self(true)
        .subcommand_required(true)
        .arg_required_else_help(true)
}

/// Whether root flag `flag` (as typed, without `=value`) takes a value;
/// None if the root has no such flag.
fn root_flag_takes_value(root: &clap::Command, flag: &str) -> Option<bool> {
    let a = if let Some(l) = flag.strip_prefix("--") {
        root.get_arguments().find(|a| a.get_long() == Some(l))
    } else {
        let c = flag.strip_prefix('-')?.chars().last()?;
        root.get_arguments().find(|a| a.get_short() == Some(c))
    };
    a.map(|a| !pflag::is_switch(a))
}

/// The command word of `argv`: the first argument that is neither a root
/// flag nor its value. None for anything unknown before the command
/// (`-h`, a typo).
fn command_word<'a>(
    root: &clap::Command,
    argv: &'a [std::ffi::OsString],
) -> Option<&'a std::ffi::OsStr> {
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
        if root_flag_takes_value(root, flag)? && !inline {
            it.next()?;
        }
    }
    None
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
    /// Build an image using instructions from Containerfiles
    Build(Box<Lazy<crate::commands::build::BuildArgs>>),
    /// Build images (Docker buildx's verbs)
    #[command(subcommand)]
    Buildx(BuildxCommand),
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
    /// Manage health checks on containers
    #[command(subcommand)]
    Healthcheck(HealthcheckCommand),
    /// Manage volumes
    #[command(subcommand)]
    Volume(VolumeCommand),
    /// Manage secrets
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Manage pods
    #[command(subcommand)]
    Pod(PodCommand),
    /// Play containers, pods or volumes from Kubernetes YAML
    #[command(subcommand)]
    Kube(KubeCommand),
    /// Play containers, pods or volumes from Kubernetes YAML (older name of `kube play`)
    #[command(subcommand, hide = true)]
    Play(PlayCommand),
    /// List port mappings of a container
    Port(Lazy<crate::commands::port::PortArgs>),
    /// Run a process in a running container
    Exec(Lazy<crate::commands::exec::ExecArgs>),
    /// Attach to a running container
    Attach(Lazy<crate::commands::attach::AttachArgs>),
    /// Display the running processes of a container
    Top(Lazy<crate::commands::top::TopArgs>),
    /// Update an existing container
    Update(Lazy<crate::commands::update::UpdateArgs>),
    /// Display a live stream of container resource usage statistics
    Stats(Lazy<crate::commands::stats::StatsArgs>),
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
    /// Generate shell autocompletions
    Completion(Lazy<completion::CompletionArgs>),
    /// Copy files/folders between a container and the local filesystem
    Cp(Lazy<crate::commands::cp::CpArgs>),
    /// Mount a working container's root filesystem
    Mount(Lazy<crate::commands::mount::MountArgs>),
    /// Unmount working container's root filesystem
    #[command(visible_alias = "unmount")]
    Umount(Lazy<crate::commands::mount::UnmountArgs>),
    /// Display the changes to the object's file system
    Diff(Lazy<crate::commands::diff::DiffArgs>),
    /// Export container's filesystem contents as a tar archive
    Export(Lazy<crate::commands::export::ExportArgs>),
    /// Create new image based on the changed container
    Commit(Lazy<crate::commands::commit::CommitArgs>),
    /// Manage podman
    #[command(subcommand)]
    System(SystemCommand),
    /// Manage remote API service destinations (Docker's contexts)
    #[command(subcommand)]
    Context(crate::commands::connection::ContextCommand),
}

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Show podman disk usage
    Df(Lazy<crate::commands::system_df::DfArgs>),
    /// Display podman system information
    Info(Lazy<FormatArgs>),
    /// Show podman system events
    Events(Lazy<crate::commands::events::EventsArgs>),
    /// Remove unused data
    Prune(Lazy<crate::commands::system::PruneArgs>),
    /// Reset podman storage
    Reset(Lazy<crate::commands::system::ResetArgs>),
    /// Run an API service
    Service(Lazy<crate::commands::service::ServiceArgs>),
    /// Manage remote API service destinations
    #[command(subcommand)]
    Connection(crate::commands::connection::ConnectionCommand),
}

#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// Run a process in a running container
    Exec(Lazy<crate::commands::exec::ExecArgs>),
    /// Attach to a running container
    Attach(Lazy<crate::commands::attach::AttachArgs>),
    /// Display the running processes of a container
    Top(Lazy<crate::commands::top::TopArgs>),
    /// Update an existing container
    Update(Lazy<crate::commands::update::UpdateArgs>),
    /// Display a live stream of container resource usage statistics
    Stats(Lazy<crate::commands::stats::StatsArgs>),
    /// Rename an existing container
    Rename(Lazy<crate::commands::rename::RenameArgs>),
    /// Initialize one or more containers
    Init(Lazy<crate::commands::targets::NamesArgs>),
    /// Pause all the processes in one or more containers
    Pause(Lazy<crate::commands::targets::NamesArgs>),
    /// Unpause the processes in one or more containers
    Unpause(Lazy<crate::commands::targets::NamesArgs>),
    /// Restart one or more containers
    Restart(Lazy<crate::commands::restart::RestartArgs>),
    /// Remove all stopped containers
    Prune(Lazy<crate::commands::container_prune::PruneArgs>),
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
    /// Kill one or more running containers with a specific signal
    Kill(Lazy<KillArgs>),
    /// Remove one or more containers
    Rm(Lazy<RmArgs>),
    /// List containers
    #[command(visible_alias = "ls", visible_alias = "list")]
    Ps(Lazy<PsArgs>),
    /// Fetch the logs of one or more containers
    Logs(Lazy<LogsArgs>),
    /// Block on one or more containers
    Wait(Lazy<WaitArgs>),
    /// Display the configuration of a container
    Inspect(Lazy<InspectArgs>),
    /// Check if a container exists
    Exists(Lazy<ContainerExistsArgs>),
    /// Clean up network and mountpoints of one container (run by the monitor on exit)
    Cleanup(Lazy<CleanupArgs>),
    /// List port mappings of a container
    Port(Lazy<crate::commands::port::PortArgs>),
    /// Copy files/folders between a container and the local filesystem
    Cp(Lazy<crate::commands::cp::CpArgs>),
    /// Mount a working container's root filesystem
    Mount(Lazy<crate::commands::mount::MountArgs>),
    /// Unmount working container's root filesystem
    #[command(visible_alias = "unmount")]
    Umount(Lazy<crate::commands::mount::UnmountArgs>),
    /// Inspect changes to the container's file systems
    Diff(Lazy<crate::commands::diff::DiffArgs>),
    /// Export container's filesystem contents as a tar archive
    Export(Lazy<crate::commands::export::ExportArgs>),
    /// Create new image based on the changed container
    Commit(Lazy<crate::commands::commit::CommitArgs>),
    /// Execute the command described by an image label
    Runlabel(Lazy<crate::commands::runlabel::RunlabelArgs>),
}

#[derive(Debug, Subcommand)]
pub enum BuildxCommand {
    /// Build an image using instructions from Containerfiles
    Build(Box<Lazy<crate::commands::build::BuildArgs>>),
    /// Show the builder's version
    Version,
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build an image using instructions from Containerfiles
    Build(Box<Lazy<crate::commands::build::BuildArgs>>),
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
    /// Show an image's layers as a tree
    Tree(Lazy<crate::commands::image_tree::ImageTreeArgs>),
    /// Inspect changes to the image's file systems
    Diff(Lazy<crate::commands::diff::DiffArgs>),
    /// Mount an image's root filesystem
    Mount(Lazy<crate::commands::image_mount::ImageMountArgs>),
    /// Unmount an image's root filesystem
    #[command(visible_alias = "unmount")]
    Umount(Lazy<crate::commands::image_mount::ImageUnmountArgs>),
}

#[derive(Debug, Subcommand)]
pub enum HealthcheckCommand {
    /// Run the health check of a container
    Run(Lazy<crate::commands::healthcheck::HealthcheckRunArgs>),
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
    /// Connect a container to a network
    Connect(Lazy<network::ConnectArgs>),
    /// Disconnect a container from a network
    Disconnect(Lazy<network::DisconnectArgs>),
    /// Reload network configuration for containers
    Reload(Lazy<crate::commands::network_reload::ReloadArgs>),
}

#[derive(Debug, Subcommand)]
pub enum KubeCommand {
    /// Play a pod or volume based on Kubernetes YAML
    Play(Lazy<crate::commands::kube::PlayArgs>),
    /// Remove containers and pods based on Kubernetes YAML
    Down(Lazy<crate::commands::kube::DownArgs>),
}

#[derive(Debug, Subcommand)]
pub enum PlayCommand {
    /// Play a pod or volume based on Kubernetes YAML
    Kube(Lazy<crate::commands::kube::PlayArgs>),
}

#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// Create a new volume
    Create(Lazy<crate::commands::volume::CreateArgs>),
    /// List volumes
    #[command(visible_alias = "list")]
    Ls(Lazy<crate::commands::volume::LsArgs>),
    /// Display detailed information on one or more volumes
    Inspect(Lazy<crate::commands::volume::InspectArgs>),
    /// Remove one or more volumes
    #[command(visible_alias = "remove")]
    Rm(Lazy<crate::commands::volume::RmArgs>),
    /// Remove all unused volumes
    Prune(Lazy<crate::commands::volume::PruneArgs>),
    /// Check if a volume exists
    Exists(Lazy<crate::commands::volume::NameArg>),
    /// Export the contents of a volume as a tar archive
    Export(Lazy<crate::commands::volume::ExportArgs>),
    /// Import a tar archive into a volume
    Import(Lazy<crate::commands::volume::ImportArgs>),
    /// Mount a volume and print its mount point
    Mount(Lazy<crate::commands::volume::NamesArg>),
    /// Unmount a volume
    #[command(visible_alias = "umount")]
    Unmount(Lazy<crate::commands::volume::NamesArg>),
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Create a new secret
    Create(Lazy<crate::commands::secret::CreateArgs>),
    /// List secrets
    #[command(visible_alias = "list")]
    Ls(Lazy<crate::commands::secret::LsArgs>),
    /// Inspect a secret
    Inspect(Lazy<crate::commands::secret::InspectArgs>),
    /// Remove one or more secrets
    Rm(Lazy<crate::commands::secret::RmArgs>),
    /// Check if a secret exists in local storage
    Exists(Lazy<crate::commands::secret::ExistsArgs>),
}

#[derive(Debug, Subcommand)]
pub enum PodCommand {
    /// Create a new empty pod
    Create(Box<Lazy<crate::commands::pod::CreateArgs>>),
    /// Start one or more pods
    Start(Lazy<crate::commands::pod::PodsArgs>),
    /// Stop one or more pods
    Stop(Lazy<crate::commands::pod::StopArgs>),
    /// Restart one or more pods
    Restart(Lazy<crate::commands::pod::PodsArgs>),
    /// Send the specified signal or SIGKILL to containers in pod
    Kill(Lazy<crate::commands::pod::KillArgs>),
    /// Pause one or more pods
    Pause(Lazy<crate::commands::pod::PodsArgs>),
    /// Unpause one or more pods
    Unpause(Lazy<crate::commands::pod::PodsArgs>),
    /// Remove one or more pods
    Rm(Lazy<crate::commands::pod::RmArgs>),
    /// List pods
    #[command(visible_alias = "ls", visible_alias = "list")]
    Ps(Lazy<crate::commands::pod_ps::PsArgs>),
    /// Display a pod configuration
    Inspect(Lazy<crate::commands::pod_ps::InspectArgs>),
    /// Check if a pod exists in local storage
    Exists(Lazy<crate::commands::pod::ExistsArgs>),
    /// Remove all stopped pods and their containers
    Prune(Lazy<crate::commands::pod::PruneArgs>),
    /// Display the running processes of containers in a pod
    Top(Lazy<crate::commands::pod::TopArgs>),
    /// Fetch logs for pod with one or more containers
    Logs(Lazy<crate::commands::pod::PodLogsArgs>),
    /// Display a live stream of resource usage statistics for the containers in one or more pods
    Stats(Lazy<crate::commands::pod_stats::StatsArgs>),
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
        super::full_command().debug_assert();
    }

    #[test]
    fn the_lean_top_level_matches_the_derived_one() {
        let full = super::full_command();
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
            full.is_disable_version_flag_set(),
            lean.is_disable_version_flag_set()
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
    }

    #[test]
    fn log_levels_are_podmans() {
        let cli = |a: &[&str]| {
            use clap::Parser;
            super::Cli::try_parse_from(a).unwrap()
        };
        let c = cli(&["podman", "--log-level=warning", "ps"]);
        assert_eq!(c.global.level(false).unwrap(), "warning");
        assert!(c.global.level(true).is_err());
        let c = cli(&["podman", "--log-level=telepathic", "ps"]);
        assert!(c
            .global
            .level(false)
            .unwrap_err()
            .starts_with("Log Level \"telepathic\" is not supported"));
        let c = cli(&["podman", "-D", "ps"]);
        assert_eq!(c.global.level(c.root.debug).unwrap(), "debug");
    }

    #[test]
    fn the_command_word_skips_global_flags_and_their_values() {
        let v = |s: &[&str]| s.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        let root = super::full_command();
        let w = |s: &[&str]| {
            super::command_word(&root, &v(s)).map(|w| w.to_string_lossy().into_owned())
        };
        assert_eq!(
            w(&["podman", "--root", "/r", "--log-level=debug", "ps", "-a"]).as_deref(),
            Some("ps")
        );
        assert_eq!(w(&["podman", "run", "--root", "x"]).as_deref(), Some("run"));
        assert_eq!(w(&["podman", "--help"]), None);
        assert_eq!(w(&["podman", "--root"]), None);
        assert_eq!(
            w(&["podman", "--noout", "-D", "--out", "f", "version"]).as_deref(),
            Some("version")
        );
        assert_eq!(
            w(&["podman", "--transient-store", "ps"]).as_deref(),
            Some("ps")
        );
        assert_eq!(w(&["podman"]), None);
    }
}
