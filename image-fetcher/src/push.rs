//! A push: an image (or a whole index) from an OCI layout to a registry.
//! Each blob is HEAD-checked first and skipped when present, mounted from
//! the repository the layout says it came from when that is on the same
//! registry, else uploaded (POST + one PUT) while it is hashed; manifests
//! go last, children before their index.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::{stream, StreamExt, TryStreamExt};
use proto::fetcher::v1 as pb;
use tokio::sync::mpsc::UnboundedSender;
use tracing::debug;

use crate::blob_copy::ProgressLimiter;
use crate::digest::{sha256_of, Hasher};
use crate::error::FetchError;
use crate::local_source::LocalSource;
use crate::manifest::{self, Descriptor, ImageManifest, Parsed};
use crate::pull::DEFAULT_CONCURRENCY;
use crate::push_compress::{self as pc, Compressed, Compression};
use crate::reference::{DockerRef, ImageRef};
use crate::registry_api::{pull_scope, push_scope, UploadStart};
use crate::registry_client::RegistryClient;
use crate::registry_endpoints;
use crate::source::{blocking, AuthOptions, RegistrySource};

#[derive(Debug, Clone)]
pub struct PushOptions {
    pub src_dir: PathBuf,
    /// Manifest digest or ref name in the layout's index.json; empty = the only one.
    pub source: String,
    pub destination: String,
    pub tls_verify: Option<bool>,
    pub auth: AuthOptions,
    pub max_concurrent: usize,
    /// What happens to layer blobs on the way (uncompressed ones are
    /// always compressed).
    pub compression: Compression,
    /// Where compressed copies are written (removed afterwards); None: a
    /// directory under the system's temp dir.
    pub scratch_dir: Option<PathBuf>,
}

pub type PushEvents = UnboundedSender<pb::PushEvent>;

fn send(events: &PushEvents, e: pb::push_event::Event) -> Result<(), FetchError> {
    events
        .send(pb::PushEvent { event: Some(e) })
        .map_err(|_| FetchError::Cancelled)
}

/// One manifest to put, with its parsed form when it is an image.
struct ManifestToPush {
    bytes: Vec<u8>,
    digest: String,
    media_type: String,
    image: Option<ImageManifest>,
}

pub async fn push(opts: &PushOptions, events: &PushEvents) -> Result<pb::PushDone, FetchError> {
    let started = Instant::now();
    let dest = match ImageRef::parse(&opts.destination)? {
        ImageRef::Docker(d) => d,
        _ => {
            return Err(FetchError::InvalidArgument(format!(
                "push destination {:?} must be a registry reference (docker://HOST/REPO:TAG)",
                opts.destination
            )))
        }
    };
    let (dir, image) = (
        opts.src_dir.clone(),
        Some(opts.source.clone()).filter(|s| !s.is_empty()),
    );
    let local = Arc::new(blocking(move || LocalSource::oci_dir(&dir, image)).await?);
    let l = local.clone();
    let (top, manifests) = blocking(move || collect_manifests(&l)).await?;
    let concurrency = if opts.max_concurrent == 0 {
        DEFAULT_CONCURRENCY
    } else {
        opts.max_concurrent
    };
    let scratch = Scratch::new(opts.scratch_dir.as_deref())?;
    let (manifests, compressed) =
        compress_layers(&local, manifests, &opts.compression, &scratch, concurrency).await?;
    let conf = common::registries_conf::RegistriesConf::load()
        .map_err(|e| FetchError::Config(format!("registries.conf: {e}")))?;
    let endpoint = registry_endpoints::push_endpoint(&conf, &dest, opts.tls_verify)?;
    let target = endpoint.reference.clone();
    let client = RegistrySource::client_for(&endpoint, &opts.auth)?;
    let repo = target.repository.clone();

    // Mount from the repository the layout recorded, when it is on this registry.
    let mount_from = top
        .source_names
        .iter()
        .filter_map(|n| DockerRef::parse(n).ok())
        .find(|r| r.registry == target.registry && r.repository != repo)
        .map(|r| r.repository);
    let mut scopes = vec![push_scope(&repo)];
    if let Some(f) = &mount_from {
        scopes.push(pull_scope(f));
    }

    let mut seen = HashSet::new();
    let blobs: Vec<Descriptor> = manifests
        .iter()
        .filter_map(|m| m.image.as_ref())
        .flat_map(|i| i.blobs())
        .filter(|d| seen.insert(d.digest.clone()))
        .collect();
    let top_m = manifests
        .last()
        .ok_or_else(|| FetchError::InvalidArgument("nothing to push".into()))?;
    send(
        events,
        pb::push_event::Event::Resolved(pb::Resolved {
            manifest_digest: top_m.digest.clone(),
            manifest_media_type: top_m.media_type.clone(),
            config_digest: top_m
                .image
                .as_ref()
                .map(|i| i.config.digest.clone())
                .unwrap_or_default(),
            layers: blobs
                .iter()
                .map(|d| pb::Layer {
                    digest: d.digest.clone(),
                    size: d.size,
                    media_type: d.media_type.clone(),
                })
                .collect(),
            ref_name: target.to_string(),
            source_names: top.source_names.clone(),
            ..Default::default()
        }),
    )?;

    let uploaded: Vec<u64> = stream::iter(blobs.iter().cloned().map(|d: Descriptor| {
        let (client, local, repo, from, scopes) =
            (&client, &local, &repo, mount_from.as_deref(), &scopes);
        let file = compressed.get(&d.digest).cloned();
        async move {
            let src = BlobSource { local, file };
            push_blob(client, &src, repo, &d, from, scopes, events).await
        }
    }))
    .buffer_unordered(concurrency)
    .try_collect()
    .await?;

    // Children by digest, then the top manifest under the tag (or digest).
    let reference = target
        .tag
        .clone()
        .or(target.digest.clone())
        .unwrap_or_else(|| "latest".into());
    for (i, m) in manifests.iter().enumerate() {
        let as_ref = if i + 1 == manifests.len() {
            reference.clone()
        } else {
            m.digest.clone()
        };
        let got = client
            .put_manifest(&repo, &as_ref, &m.media_type, &m.bytes, &scopes)
            .await?;
        if let Some(g) = got.filter(|g| *g != m.digest) {
            return Err(FetchError::DigestMismatch {
                digest: m.digest.clone(),
                source_name: format!(
                    "{} (the registry stored the manifest as)",
                    client.display(&repo)
                ),
                actual: g,
            });
        }
    }
    let done = pb::PushDone {
        manifest_digest: top_m.digest.clone(),
        destination: target.to_string(),
        blobs_uploaded: uploaded.iter().filter(|n| **n > 0).count() as u32,
        bytes_uploaded: uploaded.iter().sum(),
    };
    debug!(destination = %done.destination, uploaded = done.blobs_uploaded, elapsed_ms = started.elapsed().as_millis() as u64, "push done");
    send(events, pb::push_event::Event::Done(done.clone()))?;
    Ok(done)
}

/// The manifests to put, children first and the top one last.
fn collect_manifests(
    local: &LocalSource,
) -> Result<(crate::local_source::TopManifest, Vec<ManifestToPush>), FetchError> {
    let top = local.top()?;
    let ctx = format!("reading the image in {}", local.name());
    let parse = |bytes: &[u8], hint: Option<&str>| -> Result<(String, Parsed), FetchError> {
        let mt = manifest::media_type_of(bytes, hint).map_err(|p| FetchError::Unsupported {
            context: ctx.clone(),
            detail: p.0,
        })?;
        let parsed = manifest::parse(bytes, &mt).map_err(|p| FetchError::Unsupported {
            context: ctx.clone(),
            detail: p.0,
        })?;
        Ok((mt, parsed))
    };
    let digest = sha256_of(&top.bytes);
    if let Some(e) = top.expected_digest.as_ref().filter(|e| **e != digest) {
        return Err(FetchError::DigestMismatch {
            digest: e.clone(),
            source_name: local.name(),
            actual: digest,
        });
    }
    let (mt, parsed) = parse(&top.bytes, top.media_type_hint.as_deref())?;
    let mut out = Vec::new();
    match parsed {
        Parsed::Manifest(m) => out.push(ManifestToPush {
            bytes: top.bytes.clone(),
            digest,
            media_type: mt,
            image: Some(m),
        }),
        Parsed::Index(index) => {
            for child in &index.manifests {
                let bytes = local.manifest_by_digest(&child.digest)?;
                let d = sha256_of(&bytes);
                if d != child.digest {
                    return Err(FetchError::DigestMismatch {
                        digest: child.digest.clone(),
                        source_name: local.name(),
                        actual: d,
                    });
                }
                let hint = Some(child.media_type.as_str()).filter(|m| !m.is_empty());
                match parse(&bytes, hint)? {
                    (cmt, Parsed::Manifest(m)) => out.push(ManifestToPush {
                        bytes,
                        digest: d,
                        media_type: cmt,
                        image: Some(m),
                    }),
                    _ => {
                        return Err(FetchError::Unsupported {
                            context: ctx.clone(),
                            detail: "nested indexes are not supported".into(),
                        })
                    }
                }
            }
            out.push(ManifestToPush {
                bytes: top.bytes.clone(),
                digest,
                media_type: mt,
                image: None,
            });
        }
    }
    Ok((top, out))
}

/// The scratch directory for compressed layers, removed when dropped.
struct Scratch {
    dir: PathBuf,
    made: std::sync::OnceLock<Result<(), String>>,
}

impl Scratch {
    fn new(dir: Option<&std::path::Path>) -> Result<Scratch, FetchError> {
        let dir = match dir {
            Some(d) => d.to_path_buf(),
            None => std::env::temp_dir().join(format!(
                "image-fetcher-push-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0)
            )),
        };
        Ok(Scratch {
            dir,
            made: std::sync::OnceLock::new(),
        })
    }

    /// The directory, made on first use (most pushes need none).
    fn dir(&self) -> Result<&std::path::Path, FetchError> {
        self.made
            .get_or_init(|| std::fs::create_dir_all(&self.dir).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| {
                FetchError::io(
                    "making the push scratch directory",
                    &self.dir,
                    std::io::Error::other(e.clone()),
                )
            })?;
        Ok(&self.dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if matches!(self.made.get(), Some(Ok(()))) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Compress the layers `c` asks for and rebuild the manifests naming
/// them (children first, so an index gets its children's new digests).
/// Returns the manifests to put and the compressed blobs by new digest.
async fn compress_layers(
    local: &Arc<LocalSource>,
    manifests: Vec<ManifestToPush>,
    c: &Compression,
    scratch: &Scratch,
    concurrency: usize,
) -> Result<
    (
        Vec<ManifestToPush>,
        std::collections::HashMap<String, Compressed>,
    ),
    FetchError,
> {
    let layers: Vec<Descriptor> = manifests
        .iter()
        .filter_map(|m| m.image.as_ref())
        .flat_map(|i| i.layers.iter().cloned())
        .collect();
    let todo = pc::layers_to_compress(c, &layers);
    if todo.is_empty() {
        return Ok((manifests, Default::default()));
    }
    let dir = scratch.dir()?.to_path_buf();
    let done: Vec<(String, Compressed)> = stream::iter(todo.into_iter().map(|layer| {
        let (local, c, dir) = (local.clone(), *c, dir.clone());
        async move {
            let old = layer.digest.clone();
            let out = blocking(move || pc::compress_layer(&local, &layer, &c, &dir)).await?;
            Ok::<_, FetchError>((old, out))
        }
    }))
    .buffer_unordered(concurrency.min(4))
    .try_collect()
    .await?;
    let by_old: std::collections::HashMap<String, Compressed> = done.into_iter().collect();
    let mut children = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(manifests.len());
    for mut m in manifests {
        let new_bytes = match &m.image {
            Some(_) => pc::rewrite_manifest(&m.bytes, &m.media_type, &by_old, c.format)?,
            None => pc::rewrite_index(&m.bytes, &children)?,
        };
        if let Some(bytes) = new_bytes {
            let digest = sha256_of(&bytes);
            if m.image.is_some() {
                children.insert(m.digest.clone(), (digest.clone(), bytes.len() as u64));
                m.image = match manifest::parse(&bytes, &m.media_type) {
                    Ok(Parsed::Manifest(i)) => Some(i),
                    _ => {
                        return Err(FetchError::Unsupported {
                            context: "rebuilding the manifest for push".into(),
                            detail: "the rebuilt manifest does not parse".into(),
                        })
                    }
                };
            }
            m.bytes = bytes;
            m.digest = digest;
        }
        out.push(m);
    }
    let by_new = by_old
        .into_values()
        .map(|c| (c.digest.clone(), c))
        .collect();
    Ok((out, by_new))
}

/// Where a blob's bytes come from: the layout, or a compressed copy.
struct BlobSource<'a> {
    local: &'a Arc<LocalSource>,
    file: Option<Compressed>,
}

impl BlobSource<'_> {
    async fn open(&self, digest: &str) -> Result<(std::fs::File, u64), FetchError> {
        match &self.file {
            Some(c) => {
                let f = std::fs::File::open(&c.path)
                    .map_err(|e| FetchError::io("opening the compressed layer", &c.path, e))?;
                Ok((f, c.size))
            }
            None => {
                let (l, digest) = (self.local.clone(), digest.to_string());
                blocking(move || l.open_blob(&digest)).await
            }
        }
    }
}

/// Make one blob present at the destination; returns the bytes uploaded.
async fn push_blob(
    client: &RegistryClient,
    src: &BlobSource<'_>,
    repo: &str,
    desc: &Descriptor,
    from: Option<&str>,
    scopes: &[String],
    events: &PushEvents,
) -> Result<u64, FetchError> {
    let blob_pushed = |skipped: bool, mounted: bool| {
        send(
            events,
            pb::push_event::Event::BlobPushed(pb::BlobPushed {
                digest: desc.digest.clone(),
                skipped,
                mounted,
            }),
        )
    };
    if client.blob_exists(repo, &desc.digest, scopes).await? {
        blob_pushed(true, false)?;
        return Ok(0);
    }
    let location = match client
        .start_upload(repo, &desc.digest, from, scopes)
        .await?
    {
        UploadStart::Mounted => {
            blob_pushed(false, true)?;
            return Ok(0);
        }
        UploadStart::Location(l) => l,
    };
    let local = src.local;
    let (file, len) = src.open(&desc.digest).await?;
    if len != desc.size {
        return Err(FetchError::SizeMismatch {
            digest: desc.digest.clone(),
            source_name: local.name(),
            expected: desc.size,
            got: len.to_string(),
        });
    }
    let hasher = Arc::new(Mutex::new((Hasher::new(), 0u64)));
    let (h, ev, digest, total) = (
        hasher.clone(),
        events.clone(),
        desc.digest.clone(),
        desc.size,
    );
    let mut done = 0u64;
    let mut limiter = ProgressLimiter::new();
    let reader = tokio::io::AsyncReadExt::take(tokio::fs::File::from_std(file), len);
    let body = tokio_util::io::ReaderStream::with_capacity(reader, 1 << 20).map(move |chunk| {
        if let Ok(c) = &chunk {
            if let Ok(mut h) = h.lock() {
                h.0.update(c);
                h.1 += c.len() as u64;
            }
            done += c.len() as u64;
            if limiter.due(done, total) {
                let _ = send(
                    &ev,
                    pb::push_event::Event::Progress(pb::Progress {
                        digest: digest.clone(),
                        bytes_done: done,
                        bytes_total: total,
                    }),
                );
            }
        }
        chunk
    });
    let result = client
        .put_blob(
            repo,
            &location,
            &desc.digest,
            desc.size,
            reqwest::Body::wrap_stream(body),
            scopes,
        )
        .await;
    let (h, streamed) = std::mem::take(
        &mut *hasher
            .lock()
            .map_err(|_| FetchError::InvalidArgument("hasher poisoned".into()))?,
    );
    let actual = h.finish();
    if streamed == desc.size && actual != desc.digest {
        return Err(FetchError::DigestMismatch {
            digest: desc.digest.clone(),
            source_name: local.name(),
            actual,
        });
    }
    result?;
    blob_pushed(false, false)?;
    Ok(desc.size)
}
