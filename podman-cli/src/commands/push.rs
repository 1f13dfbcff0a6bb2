//! `podman push` / `podman image push`: the image pushed to
//! `docker://DESTINATION` (default: the name the image was found under) by
//! [`crate::image::push`]. A local destination (`oci:`, `oci-archive:`,
//! `docker-archive:`, `dir:`) is written as `podman save` would.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::engine_config::EngineConfig;
use crate::image::reference::Reference;
use crate::image::transfer::PushOptions;

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
    #[command(flatten)]
    pub compression: CompressionArgs,
}

/// How layers are compressed on the way to a registry (push, manifest push).
#[derive(Debug, Clone, Default, Args)]
pub struct CompressionArgs {
    /// Compression format for layers stored uncompressed: gzip (default) or zstd
    #[arg(long, value_name = "FORMAT")]
    pub compression_format: Option<String>,
    /// Compression level (gzip 0-9, zstd 1-20)
    #[arg(long, value_name = "LEVEL")]
    pub compression_level: Option<i32>,
    /// Recompress layers compressed in another format (default: true when --compression-format is given)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub force_compression: Option<bool>,
}

impl CompressionArgs {
    pub fn apply(&self, opts: &mut PushOptions) {
        opts.compression_format = self.compression_format.clone().unwrap_or_default();
        opts.compression_level = self.compression_level;
        opts.force_compression = self
            .force_compression
            .unwrap_or(self.compression_format.is_some());
    }
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
    args.compression.apply(&mut opts);
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
            crate::commands::save::SaveOptions {
                quiet: args.quiet,
                uncompressed: false,
            },
            ("push", &event_name),
        )
        .await;
    }
    let dest = match explicit {
        Some(Destination::Registry(d)) => Some(d),
        _ => None,
    };
    let crate::image::push::Pushed { done, image_id } =
        crate::image::push::push_image(cfg, &args.image, dest, &opts, args.quiet).await?;
    crate::events::image("push", &image_id, &event_name);
    tracing::debug!(destination = %done.destination, digest = %done.manifest_digest, uploaded = done.blobs_uploaded, bytes = done.bytes_uploaded, "pushed");
    if let Some(f) = &args.digestfile {
        std::fs::write(f, &done.manifest_digest)
            .with_context(|| format!("writing --digestfile {}", f.display()))?;
    }
    Ok(())
}
