//! `podman load` / `podman image load`: an archive (docker-archive or
//! oci-archive, plain, gzip or zstd; or an OCI layout / `dir:` directory)
//! from `-i` or stdin becomes stored images. Each image is copied by
//! image-fetcher (`docker-archive:FILE:@N`, `oci-archive:FILE:@N`) into a
//! staging layout on the graph root, every blob verified, then stored by
//! storage-helper (ImportOci) with the names the archive gives it. The
//! staging directory is removed whatever happens.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use proto::storage::v1::ImportOciRequest;

use crate::engine_config::EngineConfig;
use crate::image::archive::{compression_of, decompress_file, detect, Compression, LoadSource};
use crate::image::naming::{docker_name, local_name};
use crate::image::progress::Progress;
use crate::image::pull::PullOptions;
use crate::image::staging::Staging;
use crate::image::transfer::{open_both, pull_into};

#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Read from this archive (or directory) instead of stdin
    #[arg(short, long, value_name = "PATH")]
    pub input: Option<PathBuf>,
    /// Suppress progress output
    #[arg(short, long)]
    pub quiet: bool,
}

/// One image of the archive: the fetcher reference and the names to store.
struct ToLoad {
    reference: String,
    names: Vec<String>,
}

/// Names an OCI ref name gives (Podman: localhost/ for short names; a bare tag is no name).
fn oci_names(name: &Option<String>) -> Vec<String> {
    match name {
        Some(n) => local_name(n).map(|n| vec![n]).unwrap_or_default(),
        None => Vec::new(),
    }
}

fn plan(path: &Path, source: &LoadSource) -> anyhow::Result<Vec<ToLoad>> {
    let p = path.display();
    Ok(match source {
        LoadSource::DockerArchive { images } => images
            .iter()
            .enumerate()
            .map(|(i, tags)| {
                let names = tags
                    .iter()
                    .map(|t| docker_name(t).with_context(|| format!("{p}: RepoTag {t:?}")))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                Ok(ToLoad {
                    reference: format!("docker-archive:{p}:@{i}"),
                    names,
                })
            })
            .collect::<anyhow::Result<_>>()?,
        LoadSource::OciArchive { images } => images
            .iter()
            .enumerate()
            .map(|(i, n)| ToLoad {
                reference: format!("oci-archive:{p}:@{i}"),
                names: oci_names(n),
            })
            .collect(),
        LoadSource::OciDir { images } => images
            .iter()
            .enumerate()
            .map(|(i, n)| ToLoad {
                reference: format!("oci:{p}:@{i}"),
                names: oci_names(n),
            })
            .collect(),
        LoadSource::Dir => vec![ToLoad {
            reference: format!("dir:{p}"),
            names: Vec::new(),
        }],
    })
}

/// The archive as a path the fetcher can take: absolute, without ':'
/// (its transports end the path at the first ':'), decompressed.
fn prepare_input(args: &LoadArgs, staging: &Staging) -> anyhow::Result<PathBuf> {
    let mut path = match &args.input {
        Some(p) => {
            let abs = std::path::absolute(p).with_context(|| format!("--input {}", p.display()))?;
            if !abs.exists() {
                anyhow::bail!("--input {}: no such file or directory", p.display());
            }
            abs
        }
        None => {
            if std::io::stdin().is_terminal() {
                anyhow::bail!(
                    "cannot read from terminal, use command-line redirection or the --input flag"
                );
            }
            let p = staging.copy_in("stdin.tar", &mut std::io::stdin().lock())?;
            if std::fs::metadata(&p)?.len() == 0 {
                anyhow::bail!("no archive on standard input: pipe one in or use --input FILE");
            }
            p
        }
    };
    if path.is_file() {
        let c = compression_of(&path)?;
        if c != Compression::None {
            let plain = staging.join("decompressed.tar");
            decompress_file(&path, c, &plain)?;
            path = plain;
        }
    }
    if path.to_string_lossy().contains(':') {
        let link = staging.join("input");
        std::os::unix::fs::symlink(&path, &link)
            .with_context(|| format!("linking {} into the staging directory", path.display()))?;
        path = link;
    }
    Ok(path)
}

pub async fn run(cfg: &EngineConfig, args: &LoadArgs) -> anyhow::Result<()> {
    for name in load_images(cfg, args).await? {
        println!("Loaded image: {name}");
    }
    Ok(())
}

/// Load the archive `args` names; the names (or IDs) loaded.
pub async fn load_images(cfg: &EngineConfig, args: &LoadArgs) -> anyhow::Result<Vec<String>> {
    let staging = Staging::new(&cfg.graph_root, "load")?;
    let path = prepare_input(args, &staging)?;
    let event_name = args.input.as_deref().unwrap_or(&path).display().to_string();
    let source = detect(&path).map_err(|e| {
        anyhow::anyhow!("payload does not match any of the supported image formats: {e}")
    })?;
    let todo = plan(&path, &source)?;
    if todo.is_empty() {
        anyhow::bail!("{}: the archive holds no images", path.display());
    }
    let layout = staging.join("layout");
    let (mut fetcher, mut storage) = open_both(cfg).await?;
    let mut progress = Progress::new(args.quiet);
    let mut pulled = Vec::new();
    let fetched = async {
        for t in &todo {
            let p = pull_into(
                &mut fetcher,
                &t.reference,
                &layout,
                &PullOptions::default(),
                &mut progress,
            )
            .await?;
            pulled.push((p.manifest_digest, t.names.clone()));
        }
        anyhow::Ok(())
    }
    .await;
    progress.finish();
    let closed = fetcher.close().await;
    if let Err(e) = fetched {
        storage.close().await?;
        return Err(e);
    }
    closed?;
    progress.line("Writing manifest to image destination");
    let mut loaded = Vec::new();
    let stored = async {
        for (digest, names) in pulled {
            let req = ImportOciRequest {
                layout_dir: layout.display().to_string(),
                ref_name: String::new(),
                manifest_digest: digest,
                names: names.clone(),
            };
            let img = storage
                .call("ImportOci", |mut c| async move { c.import_oci(req).await })
                .await?;
            crate::events::image("loadfromarchive", &img.id, &event_name);
            if names.is_empty() {
                loaded.push(format!("sha256:{}", img.id));
            } else {
                loaded.extend(names);
            }
        }
        anyhow::Ok(())
    }
    .await;
    storage.close().await?;
    stored?;
    Ok(loaded)
}
