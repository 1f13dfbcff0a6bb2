//! The RPCs behind push, save and load, with their progress: exporting
//! stored images into a staging OCI layout (storage-helper ExportOci),
//! copying a local archive into one (image-fetcher Pull), and pushing from
//! one to a registry (image-fetcher Push).

use std::path::Path;

use proto::fetcher::v1::{pull_event, push_event, PullRequest, PushDone, PushRequest};
use proto::storage::v1::{ExportOciRequest, ExportedImage};

use super::progress::Progress;
use super::pull_options::PullOptions;
use crate::helper_procs::{FetcherClient, Session, StorageClient};

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Helper(#[from] proto::transport::TransportError),
    /// The helper's one-line error status, verbatim.
    #[error("{message}")]
    Status {
        code: proto::ErrorCode,
        message: String,
    },
    #[error("image-fetcher ended the {what} of {reference} without finishing it")]
    Unfinished {
        what: &'static str,
        reference: String,
    },
}

impl TransferError {
    /// The helper's category for the failure, if it answered.
    pub fn code(&self) -> Option<proto::ErrorCode> {
        match self {
            TransferError::Helper(t) => t.code(),
            TransferError::Status { code, .. } => Some(*code),
            TransferError::Unfinished { .. } => None,
        }
    }
}

fn status(s: tonic::Status) -> TransferError {
    TransferError::Status {
        code: proto::ErrorCode::of(&s),
        message: s.message().to_string(),
    }
}

fn short(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..hex.len().min(12)]
}

/// Start image-fetcher and storage-helper in parallel; when one fails to
/// start, the other is hung up and reaped before the error is returned.
pub async fn open_both(
    cfg: &crate::engine_config::EngineConfig,
) -> anyhow::Result<(Session<FetcherClient>, Session<StorageClient>)> {
    let (fetcher, storage) = tokio::join!(
        crate::helper_procs::fetcher(cfg),
        crate::helper_procs::storage(cfg)
    );
    match (fetcher, storage) {
        (Ok(f), Ok(s)) => Ok((f, s)),
        (Ok(f), Err(e)) => {
            let _ = f.close().await;
            Err(e)
        }
        (Err(e), Ok(s)) => {
            let _ = s.close().await;
            Err(e)
        }
        (Err(e), Err(_)) => Err(e),
    }
}

/// Write `specs` (names or IDs) into the OCI layout `dest`.
pub async fn export(
    storage: &mut Session<StorageClient>,
    specs: &[String],
    dest: &Path,
    link_blobs: bool,
) -> Result<Vec<ExportedImage>, TransferError> {
    let req = ExportOciRequest {
        images: specs.to_vec(),
        dest_dir: dest.display().to_string(),
        link_blobs,
    };
    Ok(storage
        .call("ExportOci", |mut c| async move { c.export_oci(req).await })
        .await?
        .images)
}

/// What a pull into a layout produced.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub manifest_digest: String,
    /// The name the source gave the image (annotation or archive tag).
    pub ref_name: String,
    /// The source's image is `PullOptions::unless_config`: nothing copied.
    pub unchanged: bool,
}

/// Pull `reference` (any transport the fetcher takes) into `dest`.
pub async fn pull_into(
    fetcher: &mut Session<FetcherClient>,
    reference: &str,
    dest: &Path,
    opts: &PullOptions,
    progress: &mut Progress,
) -> Result<Pulled, TransferError> {
    let req = PullRequest {
        reference: reference.to_string(),
        dest_dir: dest.display().to_string(),
        platform: Some(proto::fetcher::v1::Platform {
            os: opts.os.clone(),
            architecture: opts.arch.clone(),
            variant: opts.variant.clone(),
        }),
        tls_verify: opts.tls_verify,
        username: opts.username.clone(),
        password: opts.password.clone(),
        auth_file: opts
            .authfile
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        ..Default::default()
    };
    let mut stream = fetcher
        .call("Pull", |mut c| async move { c.pull(req).await })
        .await?;
    let mut config_digest = String::new();
    loop {
        let msg = stream.message().await.map_err(status)?;
        let Some(ev) = msg.and_then(|m| m.event) else {
            return Err(TransferError::Unfinished {
                what: "copy",
                reference: reference.to_string(),
            });
        };
        match ev {
            pull_event::Event::Resolved(r) => {
                if let Some(local) = &opts.unless_stored {
                    let known = |d: &str| !d.is_empty() && local.digests.iter().any(|k| k == d);
                    if known(&r.manifest_digest) || known(&r.index_digest) {
                        // Dropping the stream cancels the fetcher's copy.
                        return Ok(Pulled {
                            manifest_digest: r.manifest_digest,
                            ref_name: r.ref_name,
                            unchanged: true,
                        });
                    }
                    progress.line(&format!("Trying to pull {reference}..."));
                }
                progress.line("Getting image source signatures");
                config_digest = r.config_digest.clone();
                for l in &r.layers {
                    progress.blob(&l.digest, l.size);
                }
            }
            pull_event::Event::Progress(p) => {
                progress.advance(&p.digest, p.bytes_done, p.bytes_total)
            }
            pull_event::Event::BlobDone(b) if b.digest == config_digest => {
                progress.line(&format!("Copying config {} done", short(&b.digest)))
            }
            pull_event::Event::BlobDone(b) => progress.blob_done(
                &b.digest,
                if b.reused {
                    "skipped: already exists"
                } else {
                    "done"
                },
            ),
            pull_event::Event::Done(d) => {
                return Ok(Pulled {
                    manifest_digest: d.manifest_digest,
                    ref_name: d.ref_name,
                    unchanged: false,
                })
            }
        }
    }
}

/// Registry options of a push.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    pub tls_verify: Option<bool>,
    pub username: String,
    pub password: String,
    pub authfile: Option<std::path::PathBuf>,
    /// `--compression-format` ("" = gzip), `--compression-level`,
    /// `--force-compression`: what image-fetcher does to layer blobs.
    pub compression_format: String,
    pub compression_level: Option<i32>,
    pub force_compression: bool,
}

/// Push the image `source` (manifest digest or ref name) of layout `src`
/// to `destination` (docker://...).
pub async fn push_from(
    fetcher: &mut Session<FetcherClient>,
    src: &Path,
    source: &str,
    destination: &str,
    opts: &PushOptions,
    progress: &mut Progress,
) -> Result<PushDone, TransferError> {
    let req = PushRequest {
        src_dir: src.display().to_string(),
        source: source.to_string(),
        destination: destination.to_string(),
        tls_verify: opts.tls_verify,
        username: opts.username.clone(),
        password: opts.password.clone(),
        auth_file: opts
            .authfile
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        max_concurrent: 0,
        compression_format: opts.compression_format.clone(),
        compression_level: opts.compression_level,
        force_compression: opts.force_compression,
        // Beside the staged layout, on the graph root's filesystem.
        scratch_dir: src
            .parent()
            .map(|p| p.join("compressed").display().to_string())
            .unwrap_or_default(),
    };
    let mut stream = fetcher
        .call("Push", |mut c| async move { c.push(req).await })
        .await?;
    let mut config_digest = String::new();
    loop {
        let msg = stream.message().await.map_err(status)?;
        let Some(ev) = msg.and_then(|m| m.event) else {
            return Err(TransferError::Unfinished {
                what: "push",
                reference: destination.to_string(),
            });
        };
        match ev {
            push_event::Event::Resolved(r) => {
                progress.line("Getting image source signatures");
                config_digest = r.config_digest.clone();
                for l in r.layers.iter().filter(|l| l.digest != config_digest) {
                    progress.blob(&l.digest, l.size);
                }
            }
            push_event::Event::Progress(p) => {
                progress.advance(&p.digest, p.bytes_done, p.bytes_total)
            }
            push_event::Event::BlobPushed(b) if b.digest == config_digest => {
                progress.line(&format!("Copying config {} done", short(&b.digest)))
            }
            push_event::Event::BlobPushed(b) => progress.blob_done(
                &b.digest,
                if b.skipped || b.mounted {
                    "skipped: already exists"
                } else {
                    "done"
                },
            ),
            push_event::Event::Done(d) => {
                progress.finish();
                progress.line("Writing manifest to image destination");
                return Ok(d);
            }
        }
    }
}
