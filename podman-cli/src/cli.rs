//! The command line: Podman's global flags and commands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
}

#[derive(Debug, Clone, Args)]
pub struct FormatArgs {
    /// Change the output format to JSON or a Go template
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
}
