//! A pull: reference -> verified blobs in an OCI layout + an index.json
//! entry. Blobs go first (config and layers concurrently), then the
//! manifest blob, then index.json; so a pull that fails or is killed never
//! leaves a ref pointing at missing or unverified content, and a second
//! pull reuses every blob that made it.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use futures_util::{stream, StreamExt, TryStreamExt};
use proto::fetcher::v1 as pb;
use tokio::sync::mpsc::UnboundedSender;
use tracing::debug;

use crate::blob_copy::{fetch_blob, Copied};
use crate::error::FetchError;
use crate::layout::Layout;
use crate::local_source::LocalSource;
use crate::manifest::Descriptor;
use crate::platform::Platform;
use crate::reference::ImageRef;
use crate::registry_endpoints;
use crate::source::{blocking, resolve, AuthOptions, RegistrySource, Source};

pub const DEFAULT_CONCURRENCY: usize = 3;

#[derive(Debug, Clone)]
pub struct PullOptions {
    pub reference: String,
    pub dest: PathBuf,
    pub platform: Platform,
    pub tls_verify: Option<bool>,
    pub auth: AuthOptions,
    pub max_concurrent: usize,
    /// policy.json to enforce instead of the default one.
    pub signature_policy: Option<PathBuf>,
}

pub type PullEvents = UnboundedSender<pb::PullEvent>;

fn send(events: &PullEvents, e: pb::pull_event::Event) -> Result<(), FetchError> {
    events
        .send(pb::PullEvent { event: Some(e) })
        .map_err(|_| FetchError::Cancelled)
}

pub fn to_pb_platform(p: &Platform) -> pb::Platform {
    pb::Platform {
        os: p.os.clone(),
        architecture: p.architecture.clone(),
        variant: p.variant.clone(),
    }
}

/// Open the source a reference names (registry endpoints per registries.conf).
pub async fn open_source(
    r: &ImageRef,
    tls_verify: Option<bool>,
    auth: &AuthOptions,
) -> Result<Source, FetchError> {
    match r {
        ImageRef::Docker(d) => {
            let conf = common::registries_conf::RegistriesConf::load()
                .map_err(|e| FetchError::Config(format!("registries.conf: {e}")))?;
            let endpoints = registry_endpoints::pull_endpoints(&conf, d, tls_verify)?;
            Ok(Source::Registry(RegistrySource::new(
                endpoints,
                auth.clone(),
            )))
        }
        local => {
            let local = local.clone();
            Ok(Source::Local(Arc::new(
                blocking(move || LocalSource::open(&local)).await?,
            )))
        }
    }
}

/// Pull `opts.reference` into `opts.dest`, reporting on `events`.
pub async fn pull(opts: &PullOptions, events: &PullEvents) -> Result<pb::Done, FetchError> {
    let started = Instant::now();
    let image_ref = ImageRef::parse(&opts.reference)?;
    crate::trust_policy::check(&image_ref, opts.signature_policy.as_deref())?;
    let ref_name = image_ref.ref_name();
    let want = opts.platform.clone().or_host();
    let source = open_source(&image_ref, opts.tls_verify, &opts.auth).await?;
    let image = resolve(&source, &want, &ref_name).await?;
    debug!(reference = %ref_name, manifest = %image.manifest_digest, layers = image.manifest.layers.len(), elapsed_ms = started.elapsed().as_millis() as u64, "resolved");
    // The destination is made only once there is something to put in it.
    let dest = opts.dest.clone();
    let layout = blocking(move || {
        let l = Layout::create(&dest)?;
        l.remove_stale_temps();
        Ok(l)
    })
    .await?;
    let m = &image.manifest;
    send(
        events,
        pb::pull_event::Event::Resolved(pb::Resolved {
            manifest_digest: image.manifest_digest.clone(),
            manifest_media_type: image.media_type.clone(),
            config_digest: m.config.digest.clone(),
            layers: m
                .layers
                .iter()
                .map(|l| pb::Layer {
                    digest: l.digest.clone(),
                    size: l.size,
                    media_type: l.media_type.clone(),
                })
                .collect(),
            index_digest: image.index_digest.clone().unwrap_or_default(),
            ref_name: ref_name.clone(),
            config_size: m.config.size,
            config_media_type: m.config.media_type.clone(),
            platform: image.platform.as_ref().map(to_pb_platform),
            source_names: image.source_names.clone(),
        }),
    )?;

    // Each distinct blob once, config first.
    let mut seen = HashSet::new();
    let blobs: Vec<Descriptor> = m
        .blobs()
        .into_iter()
        .filter(|d| seen.insert(d.digest.clone()))
        .collect();
    let concurrency = if opts.max_concurrent == 0 {
        DEFAULT_CONCURRENCY
    } else {
        opts.max_concurrent
    };
    let (layout_ref, source_ref) = (&layout, &source);
    let copied: Vec<Copied> = stream::iter(blobs.iter().cloned().map(move |desc: Descriptor| {
        let (layout, source) = (layout_ref, source_ref);
        async move {
            let desc = &desc;
            let progress = |done: u64, total: u64| {
                let _ = send(
                    events,
                    pb::pull_event::Event::Progress(pb::Progress {
                        digest: desc.digest.clone(),
                        bytes_done: done,
                        bytes_total: total,
                    }),
                );
            };
            if events.is_closed() {
                return Err(FetchError::Cancelled);
            }
            let c = fetch_blob(layout, source, desc, &progress).await?;
            send(
                events,
                pb::pull_event::Event::BlobDone(pb::BlobDone {
                    digest: desc.digest.clone(),
                    reused: c.reused,
                }),
            )?;
            Ok::<_, FetchError>(c)
        }
    }))
    .buffer_unordered(concurrency)
    .try_collect()
    .await?;

    // The manifest, stored byte for byte, then the ref.
    let manifest_desc = Descriptor {
        media_type: image.media_type.clone(),
        digest: image.manifest_digest.clone(),
        size: image.manifest_bytes.len() as u64,
        platform: None,
        annotations: Default::default(),
    };
    let (l, bytes, d, name) = (
        layout.clone(),
        image.manifest_bytes.clone(),
        manifest_desc,
        ref_name.clone(),
    );
    blocking(move || {
        l.write_blob_bytes(&d.digest, &bytes)?;
        l.sync_blobs()?;
        l.set_ref(&d, &name)
    })
    .await?;
    let done = pb::Done {
        manifest_digest: image.manifest_digest.clone(),
        config_digest: m.config.digest.clone(),
        ref_name,
        blobs_copied: copied.iter().filter(|c| !c.reused).count() as u32,
        bytes_copied: copied.iter().map(|c| c.bytes).sum(),
    };
    debug!(reference = %done.ref_name, copied = done.blobs_copied, bytes = done.bytes_copied, elapsed_ms = started.elapsed().as_millis() as u64, "pull done");
    send(events, pb::pull_event::Event::Done(done.clone()))?;
    Ok(done)
}
