//! `podman push` / `podman image push`: storage-helper exports the image
//! into a staging OCI layout on the graph root (blobs hardlinked), and
//! image-fetcher pushes it from there to `docker://DESTINATION` (default:
//! the name the image was found under). The staging directory is removed
//! on success and on error. A local destination (`oci:`, `oci-archive:`,
//! `docker-archive:`, `dir:`) is written as `podman save` would.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::engine_config::EngineConfig;
use crate::image::lookup::find;
use crate::image::naming::resolved_name;
use crate::image::progress::Progress;
use crate::image::reference::Reference;
use crate::image::staging::Staging;
use crate::image::transfer::{export, open_both, push_from, PushOptions};

#[derive(Debug, Clone, Args)]
pub struct PushArgs {
    /// Image to push
    pub image: String,
    /// Where to: [docker://]HOST/REPO[:TAG], or oci:DIR, oci-archive:FILE, docker-archive:FILE, dir:DIR (default: the image's name)
    pub destination: Option<String>,
    /// Suppress progress output
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub registry: crate::commands::pull::RegistryArgs,
    /// Write the digest of the pushed manifest to this file
    #[arg(long, value_name = "PATH")]
    pub digestfile: Option<PathBuf>,
}

/// A push destination.
enum Destination {
    Registry(String),
    /// (save format, path)
    Local(&'static str, PathBuf),
}

fn destination(arg: &str) -> anyhow::Result<Destination> {
    for (prefix, format) in [
        ("oci-archive:", "oci-archive"),
        ("docker-archive:", "docker-archive"),
        ("oci:", "oci-dir"),
        ("dir:", "docker-dir"),
    ] {
        if let Some(p) = arg.strip_prefix(prefix) {
            if p.is_empty() || p.contains(':') {
                anyhow::bail!("invalid destination {arg:?}: give {prefix}PATH (tags in the path are not supported)");
            }
            return Ok(Destination::Local(format, PathBuf::from(p)));
        }
    }
    let plain = arg.strip_prefix("docker://").unwrap_or(arg);
    let r = Reference::parse(plain)?;
    if r.is_short() {
        anyhow::bail!(
            "invalid destination {arg:?}: name the registry, e.g. 127.0.0.1:5000/{}",
            r.path
        );
    }
    Ok(Destination::Registry(format!(
        "docker://{}",
        r.with_default_tag()
    )))
}

pub async fn run(cfg: &EngineConfig, args: &PushArgs) -> anyhow::Result<()> {
    let mut opts = PushOptions {
        tls_verify: args.registry.tls_verify,
        authfile: args.registry.authfile.clone(),
        ..Default::default()
    };
    if let Some(c) = &args.registry.creds {
        (opts.username, opts.password) = crate::image::pull::parse_creds(c)?;
    }
    crate::image::auth_store::check_authfile(args.registry.authfile.as_deref())?;
    let explicit = args.destination.as_deref().map(destination).transpose()?;
    let event_name = args
        .destination
        .clone()
        .unwrap_or_else(|| args.image.clone());
    if let Some(Destination::Local(format, path)) = &explicit {
        return crate::commands::save::save_to_as(
            cfg,
            std::slice::from_ref(&args.image),
            &[],
            format,
            Some(path),
            args.quiet,
            ("push", &event_name),
        )
        .await;
    }
    let staging = Staging::new(&cfg.graph_root, "push")?;
    let layout = staging.join("layout");
    let (mut fetcher, mut storage) = open_both(cfg).await?;
    let exported = async {
        let img = find(&mut storage, &args.image).await?;
        let resolved = resolved_name(&args.image, &img);
        let dest = match explicit {
            Some(Destination::Registry(d)) => d,
            _ => match &resolved {
                Some(n) => format!("docker://{n}"),
                None => anyhow::bail!("{}: an image given by ID needs a destination: podman push IMAGE HOST/REPO[:TAG]", args.image),
            },
        };
        let spec = resolved.unwrap_or_else(|| img.id.clone());
        let image_id = img.id.clone();
        let exported = export(&mut storage, std::slice::from_ref(&spec), &layout, true).await?;
        let digest = exported.first().map(|e| e.manifest_digest.clone()).with_context(|| format!("storage-helper exported nothing for {}", args.image))?;
        anyhow::Ok((dest, digest, image_id))
    }
    .await;
    let storage_closed = storage.close().await;
    let (dest, digest, image_id) = match exported {
        Ok(x) => x,
        Err(e) => {
            fetcher.close().await?;
            return Err(e);
        }
    };
    storage_closed?;
    let mut progress = Progress::new(args.quiet);
    let pushed = push_from(&mut fetcher, &layout, &digest, &dest, &opts, &mut progress).await;
    progress.finish();
    fetcher.close().await?;
    let done = pushed?;
    crate::events::image("push", &image_id, &event_name);
    tracing::debug!(destination = %done.destination, digest = %done.manifest_digest, uploaded = done.blobs_uploaded, bytes = done.bytes_uploaded, "pushed");
    if let Some(f) = &args.digestfile {
        std::fs::write(f, &done.manifest_digest)
            .with_context(|| format!("writing --digestfile {}", f.display()))?;
    }
    Ok(())
}
