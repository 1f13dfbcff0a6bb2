//! `podman save` / `podman image save`: stored images -> an archive or a
//! directory. storage-helper exports them into a staging OCI layout on the
//! graph root (blobs hardlinked, nothing copied), then the CLI writes the
//! format asked for: oci-archive (a tar of the layout), docker-archive
//! (`docker save`'s format, layers uncompressed and verified), oci-dir,
//! docker-dir (skopeo's `dir:`). Archives go to a temp file renamed over
//! `-o FILE` when complete, or to stdout when it is not a terminal.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use common::atomic_file::{AtomicFile, Durability};

use crate::engine_config::EngineConfig;
use crate::helper_procs;
use crate::image::archive::{tar_layout, TarOut};
use crate::image::docker_archive::{self, ArchiveImage};
use crate::image::layout::{self, IndexEntry};
use crate::image::lookup::find;
use crate::image::naming::{local_name, resolved_name};
use crate::image::progress::Progress;
use crate::image::staging::Staging;
use crate::image::transfer::export;

#[derive(Debug, Clone, Args)]
pub struct SaveArgs {
    /// Image to save; more images with -m, else more names to tag it with in the archive
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
    /// Write to a file (or directory, for oci-dir and docker-dir) instead of stdout
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// docker-archive, oci-archive, oci-dir (OCI layout directory) or docker-dir (dir: format)
    #[arg(long, default_value = "docker-archive", value_parser = ["docker-archive", "oci-archive", "oci-dir", "docker-dir"])]
    pub format: String,
    /// Save several images into one archive (the arguments are images, not extra tags)
    #[arg(short = 'm', long = "multi-image-archive")]
    pub multi_image: bool,
    /// Suppress progress output
    #[arg(short, long)]
    pub quiet: bool,
    /// Accept uncompressed layers when copying OCI images: oci-archive
    /// layers are written as plain tars (docker-archive's always are)
    #[arg(long = "uncompressed")]
    pub uncompressed: bool,
}

/// What to save, resolved.
struct Wanted {
    /// ExportOci spec: the resolved name, or the ID.
    spec: String,
    id: String,
    /// Names to record for it in the archive.
    tags: Vec<String>,
}

pub async fn run(cfg: &EngineConfig, args: &SaveArgs) -> anyhow::Result<()> {
    let (images, extra_tags) = if args.multi_image {
        (args.images.clone(), Vec::new())
    } else {
        (args.images[..1].to_vec(), args.images[1..].to_vec())
    };
    let extra_tags: Vec<String> = extra_tags
        .iter()
        .map(|t| local_name(t))
        .collect::<Result<_, _>>()?;
    let is_dir = matches!(args.format.as_str(), "oci-dir" | "docker-dir");
    if is_dir && (images.len() > 1 || !extra_tags.is_empty()) {
        anyhow::bail!("--format {} holds one image with its own name: save several images or extra names with docker-archive or oci-archive", args.format);
    }
    if is_dir && args.output.is_none() {
        anyhow::bail!(
            "--format {} writes a directory: name it with -o DIR",
            args.format
        );
    }
    if args.uncompressed && args.format == "oci-dir" {
        anyhow::bail!(
            "--uncompressed with --format oci-dir is not supported: use --format oci-archive"
        );
    }
    if args.output.is_none() && std::io::stdout().is_terminal() {
        anyhow::bail!("refusing to save to terminal. Use -o flag or redirect");
    }
    let name = args
        .output
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    save_to_as(
        cfg,
        &images,
        &extra_tags,
        &args.format,
        args.output.as_deref(),
        SaveOptions {
            quiet: args.quiet,
            uncompressed: args.uncompressed,
        },
        ("save", &name),
    )
    .await
}

/// How [`save_to_as`] writes.
#[derive(Debug, Clone, Copy, Default)]
pub struct SaveOptions {
    pub quiet: bool,
    /// oci-archive layers as plain tars.
    pub uncompressed: bool,
}

/// Save `images` as `format` to `output` (stdout for an archive when None).
/// Also the local-destination path of `podman push`.
pub async fn save_to(
    cfg: &EngineConfig,
    images: &[String],
    extra_tags: &[String],
    format: &str,
    output: Option<&Path>,
    quiet: bool,
) -> anyhow::Result<()> {
    let name = output.map(|p| p.display().to_string()).unwrap_or_default();
    save_to_as(
        cfg,
        images,
        extra_tags,
        format,
        output,
        SaveOptions {
            quiet,
            uncompressed: false,
        },
        ("save", &name),
    )
    .await
}

/// [`save_to`], recording `event` (status, name) for each image saved.
pub async fn save_to_as(
    cfg: &EngineConfig,
    images: &[String],
    extra_tags: &[String],
    format: &str,
    output: Option<&Path>,
    opts: SaveOptions,
    event: (&str, &str),
) -> anyhow::Result<()> {
    let quiet = opts.quiet;
    let staging = Staging::new(&cfg.graph_root, "save")?;
    let direct_oci_dir = format == "oci-dir";
    let layout_dir = match (direct_oci_dir, output) {
        (true, Some(o)) => o.to_path_buf(),
        _ => staging.join("layout"),
    };
    let mut storage = helper_procs::storage(cfg).await?;
    let exported = async {
        let mut wanted: Vec<Wanted> = Vec::new();
        for name in images {
            let img = find(&mut storage, name).await?;
            let resolved = resolved_name(name, &img);
            let mut tags: Vec<String> = resolved.iter().cloned().collect();
            if wanted.is_empty() {
                tags.extend(extra_tags.iter().cloned());
            }
            wanted.push(Wanted {
                spec: resolved.unwrap_or_else(|| img.id.clone()),
                id: img.id.clone(),
                tags,
            });
        }
        let specs: Vec<String> = wanted.iter().map(|w| w.spec.clone()).collect();
        let exported = export(&mut storage, &specs, &layout_dir, !direct_oci_dir).await?;
        anyhow::Ok((wanted, exported))
    }
    .await;
    storage.close().await?;
    let (wanted, exported) = exported?;
    let record = || {
        wanted
            .iter()
            .for_each(|w| crate::events::image(event.0, &w.id, event.1))
    };
    if direct_oci_dir {
        record();
        return Ok(());
    }
    let digest_of = |id: &str| {
        exported
            .iter()
            .find(|e| e.image_id == id)
            .map(|e| e.manifest_digest.clone())
            .with_context(|| format!("storage-helper did not export image {id}"))
    };
    let mut progress = Progress::new(quiet);
    progress.line("Getting image source signatures");
    match format {
        "docker-dir" => write_dir(
            &layout_dir,
            &digest_of(&wanted[0].id)?,
            output.context("docker-dir needs -o DIR")?,
            &mut progress,
        )?,
        "oci-archive" => {
            let mut entries = Vec::new();
            for w in &wanted {
                let mut digest = digest_of(&w.id)?;
                if opts.uncompressed {
                    digest = crate::image::uncompressed::uncompress(
                        &layout_dir,
                        &digest,
                        &staging.join("plain"),
                    )?
                    .0;
                }
                let media_type =
                    layout::manifest_parts(&layout_dir, &layout::read_blob(&layout_dir, &digest)?)?
                        .media_type;
                let size = std::fs::metadata(layout::blob_path(&layout_dir, &digest)?)?.len();
                let refs: Vec<Option<String>> = if w.tags.is_empty() {
                    vec![None]
                } else {
                    w.tags.iter().cloned().map(Some).collect()
                };
                for r in refs {
                    if entries
                        .iter()
                        .any(|e: &IndexEntry| e.digest == digest && e.ref_name == r)
                    {
                        continue;
                    }
                    entries.push(IndexEntry {
                        media_type: media_type.clone(),
                        digest: digest.clone(),
                        size,
                        ref_name: r,
                    });
                }
            }
            if opts.uncompressed {
                let manifests: Vec<String> = entries.iter().map(|e| e.digest.clone()).collect();
                crate::image::uncompressed::prune(&layout_dir, &manifests)?;
            }
            layout::write_index(&layout_dir, &entries)?;
            write_archive(output, |w| {
                let mut t = TarOut::new(w);
                tar_layout(&layout_dir, &mut t)?;
                Ok(t.finish()?)
            })?;
        }
        _ => {
            let mut list: Vec<ArchiveImage> = Vec::new();
            for w in &wanted {
                let digest = digest_of(&w.id)?;
                match list.iter_mut().find(|a| a.manifest_digest == digest) {
                    Some(a) => a.repo_tags.extend(
                        w.tags
                            .iter()
                            .filter(|t| !a.repo_tags.contains(t))
                            .cloned()
                            .collect::<Vec<_>>(),
                    ),
                    None => list.push(ArchiveImage {
                        manifest_digest: digest,
                        repo_tags: w.tags.clone(),
                    }),
                }
            }
            let work = staging.join("work");
            std::fs::create_dir_all(&work)?;
            write_archive(output, |w| {
                Ok(docker_archive::write(
                    &layout_dir,
                    &list,
                    &work,
                    w,
                    &mut |d, kind| note(&mut progress, d, kind),
                )?)
            })?;
        }
    }
    progress.line("Writing manifest to image destination");
    record();
    Ok(())
}

fn note(progress: &mut Progress, digest: &str, kind: &str) {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    progress.line(&format!(
        "Copying {kind} {} done",
        &hex[..hex.len().min(12)]
    ));
}

/// Run `write` on a temp file renamed over `output` when it succeeded, or on stdout.
fn write_archive(
    output: Option<&Path>,
    write: impl FnOnce(Box<dyn Write>) -> anyhow::Result<Box<dyn Write>>,
) -> anyhow::Result<()> {
    let Some(dest) = output else {
        let mut w = write(Box::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::io::stdout().lock(),
        )))?;
        return w.flush().context("writing the archive to stdout");
    };
    dest.file_name()
        .with_context(|| format!("-o {}: not a file name", dest.display()))?;
    let mut out = AtomicFile::create(dest, Durability::Fsync)?;
    let f = out
        .file()
        .try_clone()
        .with_context(|| format!("writing {}", out.temp_path().display()))?;
    let mut w = write(Box::new(std::io::BufWriter::with_capacity(1 << 20, f)))?;
    w.flush()
        .with_context(|| format!("writing {}", out.temp_path().display()))?;
    drop(w);
    out.commit()?;
    Ok(())
}

/// skopeo's `dir:` format: `version`, `manifest.json`, blobs named by hex.
fn write_dir(
    layout_dir: &Path,
    manifest_digest: &str,
    dest: &Path,
    progress: &mut Progress,
) -> anyhow::Result<()> {
    let manifest = layout::read_blob(layout_dir, manifest_digest)?;
    let parts = layout::manifest_parts(layout_dir, &manifest)?;
    std::fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
    for d in std::iter::once(&parts.config_digest).chain(parts.layers.iter().map(|(d, _)| d)) {
        let hex = d.strip_prefix("sha256:").unwrap_or(d);
        std::fs::copy(layout::blob_path(layout_dir, d)?, dest.join(hex))
            .with_context(|| format!("copying blob {d} to {}", dest.display()))?;
        note(
            progress,
            d,
            if *d == parts.config_digest {
                "config"
            } else {
                "blob"
            },
        );
    }
    std::fs::write(dest.join("manifest.json"), &manifest)?;
    std::fs::write(dest.join("version"), "Directory Transport Version: 1.1\n")?;
    Ok(())
}
