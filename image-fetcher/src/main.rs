//! image-fetcher: registries <-> verified blobs.
//!
//! `image-fetcher serve --grpc-fd 3` is how podman runs it;
//! `image-fetcher serve --listen unix:PATH` serves other tools;
//! `image-fetcher info [--json]` shows what it found on this host.

mod info;
mod service;

use clap::{Parser, Subcommand};
use common::helper_cli::{LogArgs, ServeArgs};

#[derive(Parser)]
#[command(name = "image-fetcher", version, about = "Fetch and push images for podman")]
struct Cli {
    #[command(flatten)]
    log: LogArgs,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the fetcher.v1 gRPC API.
    Serve(ServeArgs),
    /// Show TLS roots and certificate directories found on this host.
    Info {
        #[arg(long)]
        json: bool,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    cli.log.init("image-fetcher");
    common::helper_cli::run("image-fetcher", async {
        match cli.cmd {
            Cmd::Serve(args) => {
                let routes = tonic::service::Routes::new(proto::fetcher::v1::fetcher_server::FetcherServer::new(service::FetcherService));
                proto::transport::serve(args.target()?, routes).await?;
            }
            Cmd::Info { json } => {
                let i = info::gather();
                if json {
                    println!("{}", serde_json::to_string_pretty(&i)?);
                } else {
                    println!("TLS roots: {} certificate(s) from {}", i.certificate_count, i.sources.join(", "));
                    println!("Certificate directories: {}", if i.cert_dirs.is_empty() { "none".into() } else { i.cert_dirs.join(", ") });
                }
            }
        }
        Ok(())
    })
}
