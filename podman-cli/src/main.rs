//! podman: the command line. No daemon: each invocation reads the
//! configuration, starts the helpers it needs over socketpairs, and exits.

mod cli;
mod commands;
mod container;
mod engine_config;
mod error;
mod format;
mod fsutil;
mod helpers;
mod host_info;
mod runtime_choice;
mod spec;
mod state;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::{exit_code, one_line, EXIT_ENGINE};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return clap_error(e),
    };
    let level = common::logging::parse_level(&cli.global.log_level).unwrap_or(tracing::level_filters::LevelFilter::WARN);
    common::logging::init("podman", level);
    let started = Instant::now();
    let result = run(cli);
    tracing::debug!(elapsed_ms = started.elapsed().as_secs_f64() * 1e3, "podman done");
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {}", one_line(&e));
            ExitCode::from(exit_code(&e))
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let cfg = engine_config::EngineConfig::load(&cli.global)?;
    tracing::debug!(
        graph_root = %cfg.graph_root.display(),
        run_root = %cfg.run_root.display(),
        driver = %cfg.storage_driver,
        config_files = ?cfg.containers.files,
        "configuration loaded"
    );
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        match &cli.command {
            Command::Version(a) => commands::version::run(&cfg, a).await,
            Command::Info(a) => commands::info::run(&cfg, a).await,
        }
    })
}

/// Usage errors: help and --version print normally; anything else is one
/// line and exit code 125, as Podman does.
fn clap_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(EXIT_ENGINE)
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid command line").trim_start_matches("error: ");
            eprintln!("Error: {first}: see 'podman --help'");
            ExitCode::from(EXIT_ENGINE)
        }
    }
}
