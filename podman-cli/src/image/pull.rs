//! Pulling an image: image-fetcher writes verified blobs into a staging OCI
//! layout on the graph root's filesystem, storage-helper imports it (by
//! hardlink), and the staging directory is removed whatever happened. Both
//! helpers start in parallel. A pull that fails leaves no image record.

use proto::storage::v1::{Image, ImportOciRequest};

use super::progress::Progress;
use super::reference::{pull_candidates, source, Source};
use crate::engine_config::EngineConfig;

pub use super::pull_options::{parse_creds, PullOptions, StoredImage};

/// How often a failed pull is tried again (`--retry`, `--retry-delay`).
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub max: u32,
    /// A fixed delay; `None`: 2 s, doubling after each try.
    pub delay: Option<std::time::Duration>,
}

impl Retry {
    /// The tries before giving up when no flag or containers.conf says.
    pub const DEFAULT_MAX: u32 = 3;

    /// `--retry`/`--retry-delay`, else containers.conf's `retry` and
    /// `retry_delay`, else three more tries after 2 s, doubling.
    pub fn new(cfg: &EngineConfig, max: Option<u32>, delay: Option<&str>) -> anyhow::Result<Retry> {
        let engine = &cfg.containers.engine;
        let delay = match delay.or(engine.retry_delay.as_deref()) {
            None => None,
            Some(d) => Some(
                common::time::parse_go_duration(d)
                    .filter(|ns| *ns >= 0)
                    .map(|ns| std::time::Duration::from_nanos(ns as u64))
                    // Go's words, which Podman prints.
                    .ok_or_else(|| anyhow::anyhow!("time: invalid duration {d:?}"))?,
            ),
        };
        Ok(Retry {
            max: max.or(engine.retry).unwrap_or(Self::DEFAULT_MAX),
            delay,
        })
    }
}

/// What `--pull`/`--policy` asks of a local image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullPolicy {
    Always,
    Missing,
    Never,
    Newer,
}

impl std::str::FromStr for PullPolicy {
    type Err = anyhow::Error;

    /// libimage's names and their aliases.
    fn from_str(s: &str) -> anyhow::Result<PullPolicy> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "always" | "true" => PullPolicy::Always,
            "missing" | "ifmissing" | "notpresent" | "false" => PullPolicy::Missing,
            "never" => PullPolicy::Never,
            "newer" | "ifnewer" => PullPolicy::Newer,
            _ => anyhow::bail!("unsupported pull policy {s:?}"),
        })
    }
}

/// The image `name` under `policy`: pulled (always), the local one if
/// any (missing, never), or the registry's when it differs (newer).
/// libimage's pull with policy missing reports the local image too.
pub async fn by_policy(
    cfg: &EngineConfig,
    storage: &mut crate::helper_procs::Session<crate::helper_procs::StorageClient>,
    name: &str,
    policy: PullPolicy,
    opts: &PullOptions,
    retry: Retry,
) -> anyhow::Result<Image> {
    match policy {
        PullPolicy::Always => return pull_retrying(cfg, name, opts, retry).await,
        PullPolicy::Newer => {
            let local = super::lookup::find(storage, name).await.ok();
            return pull_newer(cfg, local, name, opts).await;
        }
        PullPolicy::Missing | PullPolicy::Never => {}
    }
    match super::lookup::find(storage, name).await {
        Ok(img) => {
            crate::events::image("pull", &img.id, name);
            Ok(img)
        }
        Err(e) if e.is_not_found() && policy == PullPolicy::Missing => {
            pull_retrying(cfg, name, opts, retry).await
        }
        Err(e) if e.is_not_found() => anyhow::bail!("{name}: image not known"),
        Err(e) => Err(e.into()),
    }
}

/// A pull whose every source could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unreachable(String);

/// A failure worth another try: the registry could not be reached.
fn retryable(e: &anyhow::Error) -> bool {
    e.downcast_ref::<Unreachable>().is_some()
}

/// [`pull`], tried again after failures [`retryable`] says may pass; one
/// event for the whole pull, as libimage writes it (a pull-error only
/// once the last try failed).
pub async fn pull_retrying(
    cfg: &EngineConfig,
    name: &str,
    opts: &PullOptions,
    retry: Retry,
) -> anyhow::Result<Image> {
    let mut delay = retry.delay.unwrap_or(std::time::Duration::from_secs(2));
    let mut attempt = 0;
    let r = loop {
        match pull_image(cfg, name, opts).await {
            Err(e) if attempt < retry.max && retryable(&e) => {
                attempt += 1;
                // containers/common's words.
                tracing::warn!(
                    "Failed, retrying in {} ... ({attempt}/{}). Error: {e:#}",
                    common::time::go_duration(delay),
                    retry.max
                );
                tokio::time::sleep(delay).await;
                if retry.delay.is_none() {
                    delay *= 2;
                }
            }
            r => break r,
        }
    };
    let unchanged = matches!(&r, Ok((_, true)));
    let r = r.map(|(image, _)| image);
    if !unchanged {
        crate::events::image_pulled(name, &r, |i| &i.id);
    }
    r
}

/// Pull `name` once and return the stored image.
pub async fn pull(cfg: &EngineConfig, name: &str, opts: &PullOptions) -> anyhow::Result<Image> {
    let once = Retry {
        max: 0,
        delay: None,
    };
    pull_retrying(cfg, name, opts, once).await
}

/// `--pull=newer`: the registry's image when its manifest is not one the
/// local image was stored under (nothing pulled or printed when it is),
/// else the local one; the local one too, with a warning, when the
/// registry cannot be reached, as libimage does.
pub async fn pull_newer(
    cfg: &EngineConfig,
    local: Option<Image>,
    name: &str,
    opts: &PullOptions,
) -> anyhow::Result<Image> {
    let mut opts = opts.clone();
    opts.unless_stored = local.as_ref().map(|i| {
        let mut digests = i.digests.clone();
        digests.push(i.digest.clone());
        StoredImage {
            id: i.id.clone(),
            digests,
        }
    });
    match pull(cfg, name, &opts).await {
        Ok(img) => Ok(img),
        Err(e) => match local {
            Some(img) => {
                tracing::warn!("{name}: could not check the registry for a newer image, using the local one: {e:#}");
                Ok(img)
            }
            None => Err(e),
        },
    }
}

/// The image, and whether it was the local one already (`unless_stored`).
async fn pull_image(
    cfg: &EngineConfig,
    name: &str,
    opts: &PullOptions,
) -> anyhow::Result<(Image, bool)> {
    let source = source(name)?;
    // Podman says "Trying to pull" only of registries: an archive or a
    // layout is copied straight away.
    let from_registry = matches!(source, Source::Registry(_));
    let (src_names, store_name): (Vec<String>, bool) = match source {
        Source::Registry(r) => {
            let list = if r.is_short() {
                pull_candidates(name, cfg.registries()?)?
            } else {
                vec![r.with_default_tag()]
            };
            (list.iter().map(|r| r.to_string()).collect(), true)
        }
        Source::Local(s) => (vec![s], false),
    };
    // Not under <graphroot>/tmp: storage-helper empties that at start.
    let staging = super::staging::Staging::new(&cfg.graph_root, "pull")?;
    let (mut fetcher, mut storage) = super::transfer::open_both(cfg).await?;
    let mut progress = Progress::new(opts.quiet);
    let mut errors = Vec::new();
    let mut all_unreachable = true;
    let mut pulled = None;
    for candidate in &src_names {
        // With `unless_stored` the line waits until the image differs.
        if opts.unless_stored.is_none() && from_registry {
            progress.line(&format!("Trying to pull {candidate}..."));
        }
        match super::transfer::pull_into(
            &mut fetcher,
            candidate,
            staging.path(),
            opts,
            &mut progress,
        )
        .await
        {
            Ok(done) => {
                pulled = Some((candidate.clone(), done));
                break;
            }
            Err(e) => {
                all_unreachable &= e.code() == Some(proto::ErrorCode::Unavailable);
                errors.push(source_error(store_name, candidate, format!("{e:#}")));
            }
        }
    }
    progress.finish();
    let fetch_closed = fetcher.close().await;
    let Some((candidate, done)) = pulled else {
        storage.close().await?;
        fetch_closed?;
        let msg = if errors.len() == 1 {
            errors.remove(0)
        } else {
            format!(
                "pulling {name}: every candidate failed: {}",
                errors.join("; ")
            )
        };
        if all_unreachable {
            return Err(Unreachable(msg).into());
        }
        anyhow::bail!("{msg}");
    };
    fetch_closed?;
    if done.unchanged {
        let local = opts.unless_stored.clone().unwrap_or_default();
        let image = super::lookup::find(&mut storage, &local.id).await;
        storage.close().await?;
        return Ok((image?, true));
    }
    crate::kill_point::reached("pull-after-fetch");
    progress.line("Writing manifest to image destination");
    let names = if store_name {
        vec![candidate]
    } else {
        local_names(&done.ref_name)
    };
    let req = ImportOciRequest {
        layout_dir: staging.path().display().to_string(),
        ref_name: String::new(),
        manifest_digest: done.manifest_digest,
        names,
    };
    let image = storage
        .call("ImportOci", |mut c| async move { c.import_oci(req).await })
        .await;
    crate::kill_point::reached("pull-after-import");
    storage.close().await?;
    Ok((image?, false))
}

/// containers/image's words for a registry source that could not be
/// opened (its manifest unread, its registry unreachable):
/// `initializing source docker://REF: ...`, as Podman prints a failed pull.
fn source_error(registry: bool, candidate: &str, e: String) -> String {
    if registry
        && (e.starts_with("reading manifest ") || e.starts_with("pinging container registry "))
    {
        format!("initializing source docker://{candidate}: {e}")
    } else {
        e
    }
}

/// A local archive's ref name becomes a `localhost/` name when it is not
/// already a reference, as Podman names such images.
fn local_names(ref_name: &str) -> Vec<String> {
    if ref_name.is_empty() {
        return vec![];
    }
    match super::reference::Reference::parse(ref_name) {
        Ok(r) if !r.is_short() => vec![r.with_default_tag().to_string()],
        Ok(r) => vec![r.on("localhost").with_default_tag().to_string()],
        Err(_) => vec![],
    }
}
