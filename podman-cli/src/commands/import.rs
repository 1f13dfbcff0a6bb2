//! `podman import` / `podman image import`: a root file system tarball
//! (plain, gzip or zstd; a path or `-` for stdin) becomes a one-layer image
//! through storage-helper's ImportRootfsTar, with `--change` applied to its
//! config and `--message` as its history comment. Prints the new image ID.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use proto::storage::v1::ImportRootfsTarRequest;

use crate::engine_config::EngineConfig;
use crate::helper_procs;
use crate::image::config_change::parse_changes;
use crate::image::naming::local_name;
use crate::image::progress::Progress;
use crate::image::staging::Staging;

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Tarball to import, or - for stdin
    #[arg(value_name = "TARBALL|-")]
    pub source: String,
    /// Name for the new image
    #[arg(value_name = "REFERENCE")]
    pub reference: Option<String>,
    /// Apply a Dockerfile instruction to the image config (repeatable): CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    pub changes: Vec<String>,
    /// Commit message for the image's history
    #[arg(short, long)]
    pub message: Option<String>,
    /// Architecture of the image (default: this host's)
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// OS of the image (default: linux)
    #[arg(long, value_name = "OS")]
    pub os: Option<String>,
    /// Architecture variant of the image
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<String>,
    /// Suppress progress output
    #[arg(short, long)]
    pub quiet: bool,
}

pub async fn run(cfg: &EngineConfig, args: &ImportArgs) -> anyhow::Result<()> {
    let changes = parse_changes(&args.changes)?;
    let names = match &args.reference {
        Some(r) => vec![local_name(r)?],
        None => Vec::new(),
    };
    if args.source.starts_with("http://") || args.source.starts_with("https://") {
        anyhow::bail!(
            "importing from a URL is not supported: download {} first and import the file",
            args.source
        );
    }
    let staging = Staging::new(&cfg.graph_root, "import")?;
    let tar_path: PathBuf = if args.source == "-" {
        if std::io::stdin().is_terminal() {
            anyhow::bail!("cannot read a tarball from a terminal: pipe it in or give its path");
        }
        staging.copy_in("rootfs.tar", &mut std::io::stdin().lock())?
    } else {
        let p = std::path::absolute(&args.source)
            .with_context(|| format!("tarball {}", args.source))?;
        if !p.is_file() {
            anyhow::bail!(
                "{}: no such file: give the path of a tarball, or - to read it from stdin",
                args.source
            );
        }
        p
    };
    let progress = Progress::new(args.quiet);
    progress.line("Getting image source signatures");
    let req = ImportRootfsTarRequest {
        tar_path: tar_path.display().to_string(),
        names,
        changes: Some(changes),
        message: args.message.clone().unwrap_or_default(),
        architecture: args.arch.clone().unwrap_or_default(),
        os: args.os.clone().unwrap_or_default(),
        variant: args.variant.clone().unwrap_or_default(),
    };
    let mut storage = helper_procs::storage(cfg).await?;
    let image = storage
        .call("ImportRootfsTar", |mut c| async move {
            c.import_rootfs_tar(req).await
        })
        .await;
    storage.close().await?;
    let image = image?;
    let short = |d: &str| {
        d.strip_prefix("sha256:")
            .unwrap_or(d)
            .chars()
            .take(12)
            .collect::<String>()
    };
    if let Some(layer) = serde_json::from_slice::<serde_json::Value>(&image.manifest)
        .ok()
        .and_then(|m| m["layers"][0]["digest"].as_str().map(String::from))
    {
        progress.line(&format!("Copying blob {} done", short(&layer)));
    }
    progress.line(&format!("Copying config {} done", short(&image.id)));
    progress.line("Writing manifest to image destination");
    println!("sha256:{}", image.id);
    Ok(())
}
