//! ctr-monitor: one per container, runs the OCI runtime and outlives the
//! CLI (conmon's job).
//!
//! `ctr-monitor serve --grpc-fd 3` is how podman runs it;
//! `ctr-monitor serve --listen unix:PATH` serves other tools (CRI-O style);
//! `ctr-monitor info [--probe] [--json]` shows which runtimes work here.

mod info;
mod runtime_probe;
mod runtimes;
mod service;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use common::helper_cli::{LogArgs, ServeArgs};

#[derive(Parser)]
#[command(name = "ctr-monitor", version, about = "Container monitor for podman and other tools")]
struct Cli {
    #[command(flatten)]
    log: LogArgs,
    /// Run root: probe results, runtime state and monitor sockets go here.
    #[arg(long, global = true, default_value_os_t = common::paths::default_run_root())]
    runroot: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the monitor.v1 gRPC API.
    Serve(ServeArgs),
    /// Show the OCI runtimes found and whether they work.
    Info {
        /// Run a trial container with each runtime (results are cached).
        #[arg(long)]
        probe: bool,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    cli.log.init("ctr-monitor");
    let runroot = cli.runroot;
    common::helper_cli::run("ctr-monitor", async move {
        match cli.cmd {
            Cmd::Serve(args) => {
                let svc = proto::monitor::v1::monitor_server::MonitorServer::new(service::MonitorService { runroot });
                proto::transport::serve(args.target()?, tonic::service::Routes::new(svc)).await?;
            }
            Cmd::Info { probe, json } => {
                let rts = info::gather(&runroot, probe, &[]).await;
                if json {
                    println!("{}", serde_json::to_string_pretty(&rts)?);
                } else {
                    print!("{}", info::human(&rts));
                }
            }
        }
        Ok(())
    })
}
