//! net-setup: network namespaces <-> bridges, veths, IPAM, firewall and port
//! forwards (netavark's job).
//!
//! `net-setup serve --grpc-fd 3` is how podman runs it;
//! `net-setup serve --listen unix:PATH` serves other tools;
//! `net-setup info [--probe] [--json]` shows the firewall tools it found.

mod firewall_tools;
mod info;
mod service;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use common::helper_cli::{LogArgs, ServeArgs};

#[derive(Parser)]
#[command(name = "net-setup", version, about = "Container networking for podman")]
struct Cli {
    #[command(flatten)]
    log: LogArgs,
    /// Where network configurations (one JSON file per network) live.
    #[arg(long, global = true, default_value = "/etc/podman-rs/networks")]
    config_dir: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the netsetup.v1 gRPC API.
    Serve(ServeArgs),
    /// Show firewall tools and forwarding settings.
    Info {
        /// Also check that the firewall tools can read the kernel's rules.
        #[arg(long)]
        probe: bool,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    cli.log.init("net-setup");
    let config_dir = cli.config_dir;
    common::helper_cli::run("net-setup", async move {
        match cli.cmd {
            Cmd::Serve(args) => {
                let svc = proto::netsetup::v1::net_setup_server::NetSetupServer::new(service::NetSetupService { config_dir });
                proto::transport::serve(args.target()?, tonic::service::Routes::new(svc)).await?;
            }
            Cmd::Info { probe, json } => {
                let i = info::gather(&config_dir, probe).await;
                if json {
                    println!("{}", serde_json::to_string_pretty(&i)?);
                } else {
                    print!("{}", info::human(&i));
                }
            }
        }
        Ok(())
    })
}
