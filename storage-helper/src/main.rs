//! storage-helper: blobs -> layers -> overlay rootfs (containers/storage's job).
//!
//! `storage-helper serve --grpc-fd 3` is how podman runs it;
//! `storage-helper serve --listen unix:PATH` serves other tools;
//! `storage-helper info|images|import-oci|mount|...` drive it by hand.

#![deny(unsafe_code)]

mod backing_fs;
mod blobs;
mod cli;
mod containers;
mod copy;
mod copy_view;
mod cstorage_images;
mod db;
#[allow(unsafe_code)]
mod deferred_umount;
mod diff;
mod digest;
mod driver;
mod error;
mod export;
mod external;
mod external_remove;
#[allow(unsafe_code)]
mod fsutil;
mod gc;
#[allow(unsafe_code)]
mod idmap;
mod image_mounts;
mod images;
mod import;
mod info;
mod layers;
mod layout;
mod mount_table;
#[allow(unsafe_code)]
mod mounts;
mod new_image;
mod oci;
mod ops;
mod overlay_probe;
mod remove;
mod resolve;
mod rootfs;
mod service;
mod tar_split;
mod tar_writer;
#[allow(unsafe_code)]
mod unpack;
mod vfs;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use common::helper_cli::{LogArgs, ServeArgs};

#[derive(Parser)]
#[command(
    name = "storage-helper",
    version,
    about = "Image and container storage for podman"
)]
struct Cli {
    #[command(flatten)]
    log: LogArgs,
    /// Graph root: where images, layers and container layers are kept.
    #[arg(long, global = true, default_value_os_t = common::paths::default_graph_root())]
    root: PathBuf,
    /// Run root: mounts and other state that does not survive a reboot.
    #[arg(long, global = true, default_value_os_t = common::paths::default_run_root())]
    runroot: PathBuf,
    /// Storage driver.
    #[arg(long, global = true, default_value = "overlay", value_parser = ["overlay", "vfs"])]
    driver: String,
    #[command(subcommand)]
    cmd: Cmd,
}

// Parsed once per run; boxing would only obscure the clap derive.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Cmd {
    /// Serve the storage.v1 gRPC API.
    Serve {
        #[command(flatten)]
        args: ServeArgs,
        /// An inherited descriptor one Copy call may read a tar from or
        /// write one to (podman's stdin or stdout for `podman cp -`).
        #[arg(long, value_name = "N")]
        data_fd: Option<i32>,
    },
    /// Show the store and what the kernel supports.
    Info {
        /// Also try a real overlay mount under the graph root.
        #[arg(long)]
        probe: bool,
        #[arg(long)]
        json: bool,
    },
    #[command(flatten)]
    Store(cli::Cmd),
}

fn main() -> std::process::ExitCode {
    // Die with podman (PR_SET_PDEATHSIG) when it started us.
    proto::transport::watch_parent();
    let cli = Cli::parse();
    cli.log.init("storage-helper");
    let store = layout::Store {
        graph_root: cli.root,
        run_root: cli.runroot,
        driver: match driver::Driver::parse(&cli.driver) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("storage-helper: {e}");
                return std::process::ExitCode::from(2);
            }
        },
    };
    common::helper_cli::run("storage-helper", async move {
        match cli.cmd {
            Cmd::Serve { args, data_fd } => {
                gc::startup_cleanup(&store);
                let data = data_fd
                    .map(proto::transport::take_inherited_fd)
                    .transpose()?;
                let views = std::sync::Arc::new(copy_view::Views::default());
                let svc = proto::storage::v1::storage_server::StorageServer::new(
                    service::StorageService {
                        store: store.clone(),
                        data: std::sync::Arc::new(std::sync::Mutex::new(data)),
                        views: views.clone(),
                    },
                );
                let served =
                    proto::transport::serve(args.target()?, tonic::service::Routes::new(svc)).await;
                views.close_all(&store);
                served?;
            }
            Cmd::Info { probe, json } => {
                let i = info::gather(&store, probe);
                if json {
                    println!("{}", serde_json::to_string_pretty(&i)?);
                } else {
                    print!("{}", info::human(&i));
                }
            }
            Cmd::Store(cmd) => {
                gc::startup_cleanup(&store);
                cli::run(&store, cmd)?;
            }
        }
        Ok(())
    })
}
