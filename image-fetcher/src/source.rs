//! Where an image comes from — a registry (through its mirrors) or a local
//! layout/archive — behind one interface, and the resolution of a
//! reference to one platform manifest, verified against every digest that
//! names it.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tracing::debug;

use crate::auth_file::{self, Credentials};
use crate::digest::sha256_of;
use crate::error::{chain, FetchError};
use crate::local_source::{LocalSource, TopManifest};
use crate::manifest::{self, ImageManifest, Parsed};
use crate::platform::{self, Platform};
use crate::reference::DockerRef;
use crate::registry_client::RegistryClient;
use crate::registry_endpoints::Endpoint;

pub type BlobStream = Pin<Box<dyn Stream<Item = Result<Bytes, FetchError>> + Send>>;

/// How to authenticate: explicit credentials win, else the auth files.
#[derive(Debug, Clone, Default)]
pub struct AuthOptions {
    pub creds: Option<Credentials>,
    pub auth_file: Option<PathBuf>,
}

impl AuthOptions {
    pub fn credentials_for(&self, r: &DockerRef) -> Result<Option<Credentials>, FetchError> {
        if let Some(c) = &self.creds {
            return Ok(Some(c.clone()));
        }
        auth_file::lookup(
            &auth_file::default_files(self.auth_file.as_deref()),
            &r.registry,
            &r.repository,
        )
    }
}

pub enum Source {
    Registry(RegistrySource),
    Local(Arc<LocalSource>),
}

pub struct RegistrySource {
    endpoints: Vec<Endpoint>,
    auth: AuthOptions,
    /// The endpoint that answered the manifest request, used for every blob.
    chosen: OnceLock<(Arc<RegistryClient>, DockerRef)>,
}

impl RegistrySource {
    pub fn new(endpoints: Vec<Endpoint>, auth: AuthOptions) -> RegistrySource {
        RegistrySource {
            endpoints,
            auth,
            chosen: OnceLock::new(),
        }
    }

    pub fn client_for(e: &Endpoint, auth: &AuthOptions) -> Result<RegistryClient, FetchError> {
        let r = &e.reference;
        RegistryClient::new(
            &r.registry,
            r.api_host(),
            e.insecure,
            auth.credentials_for(r)?,
        )
    }

    async fn top(&self) -> Result<TopManifest, FetchError> {
        let mut mirror_failures = Vec::new();
        for (i, e) in self.endpoints.iter().enumerate() {
            let r = &e.reference;
            let result = async {
                let client = RegistrySource::client_for(e, &self.auth)?;
                let m = client
                    .get_manifest(&r.repository, r.manifest_reference())
                    .await?;
                Ok::<_, FetchError>((client, m))
            }
            .await;
            match result {
                Ok((client, m)) => {
                    debug!(endpoint = %r, mirror = e.mirror, "manifest found");
                    let _ = self.chosen.set((Arc::new(client), r.clone()));
                    return Ok(TopManifest {
                        bytes: m.bytes,
                        media_type_hint: m.content_type,
                        expected_digest: r.digest.clone(),
                        source_names: Vec::new(),
                    });
                }
                Err(err) if i + 1 < self.endpoints.len() => {
                    debug!(endpoint = %r, error = %err, "endpoint failed; trying the next one");
                    mirror_failures.push(format!("{r}: {err}"));
                }
                Err(err) if mirror_failures.is_empty() => return Err(err),
                Err(err) => {
                    return Err(FetchError::WithMirrors {
                        primary: Box::new(err),
                        mirrors: mirror_failures.join("; "),
                    })
                }
            }
        }
        Err(FetchError::InvalidArgument(
            "no registry endpoint to pull from".into(),
        ))
    }

    fn chosen(&self) -> Result<&(Arc<RegistryClient>, DockerRef), FetchError> {
        self.chosen.get().ok_or_else(|| {
            FetchError::InvalidArgument("blob requested before the manifest was resolved".into())
        })
    }
}

impl Source {
    /// `HOST/REPO` of the endpoint in use, or the local path: for messages.
    pub fn name(&self) -> String {
        match self {
            Source::Registry(r) => match r.chosen.get() {
                Some((_, d)) => d.name(),
                None => r
                    .endpoints
                    .last()
                    .map(|e| e.reference.name())
                    .unwrap_or_default(),
            },
            Source::Local(l) => l.name(),
        }
    }

    async fn top(&self) -> Result<TopManifest, FetchError> {
        match self {
            Source::Registry(r) => r.top().await,
            Source::Local(l) => {
                let l = l.clone();
                blocking(move || l.top()).await
            }
        }
    }

    async fn manifest_by_digest(
        &self,
        digest: &str,
    ) -> Result<(Vec<u8>, Option<String>), FetchError> {
        match self {
            Source::Registry(r) => {
                let (client, d) = r.chosen()?;
                let m = client.get_manifest(&d.repository, digest).await?;
                Ok((m.bytes, m.content_type))
            }
            Source::Local(l) => {
                let (l, digest) = (l.clone(), digest.to_string());
                Ok((blocking(move || l.manifest_by_digest(&digest)).await?, None))
            }
        }
    }

    /// The blob's bytes as a stream (not yet verified: the copier does that).
    pub async fn open_blob(&self, desc: &manifest::Descriptor) -> Result<BlobStream, FetchError> {
        match self {
            Source::Registry(r) => {
                let (client, d) = r.chosen()?;
                let resp = client.get_blob(&d.repository, &desc.digest).await?;
                let context = format!("reading blob {} from {}", desc.digest, d.name());
                Ok(Box::pin(resp.bytes_stream().map(move |c| {
                    c.map_err(|e| FetchError::Network {
                        context: context.clone(),
                        detail: chain(&e),
                    })
                })))
            }
            Source::Local(l) => {
                let (l2, digest) = (l.clone(), desc.digest.clone());
                let (file, len) = blocking(move || l2.open_blob(&digest)).await?;
                let path = PathBuf::from(l.name());
                let reader = tokio::io::AsyncReadExt::take(tokio::fs::File::from_std(file), len);
                let stream = tokio_util::io::ReaderStream::with_capacity(reader, 1 << 20);
                Ok(Box::pin(stream.map(move |c| {
                    c.map_err(|e| FetchError::io("reading a local blob", path.clone(), e))
                })))
            }
        }
    }
}

/// Run blocking local I/O off the async thread.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, FetchError> + Send + 'static,
) -> Result<T, FetchError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| FetchError::io("local I/O", PathBuf::new(), std::io::Error::other(e)))?
}

/// A reference resolved to one platform manifest.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    pub manifest_bytes: Vec<u8>,
    pub manifest_digest: String,
    pub media_type: String,
    pub manifest: ImageManifest,
    pub index_digest: Option<String>,
    pub platform: Option<Platform>,
    pub source_names: Vec<String>,
}

/// Fetch the manifest `display` names and, for an index, the entry for
/// `want`. Every manifest is checked against the digest that named it.
pub async fn resolve(
    source: &Source,
    want: &Platform,
    display: &str,
) -> Result<ResolvedImage, FetchError> {
    let ctx = |what: &str| format!("{what} {display}");
    let top = source.top().await?;
    let digest = sha256_of(&top.bytes);
    check_digest(top.expected_digest.as_deref(), &digest, source)?;
    let media_type =
        manifest::media_type_of(&top.bytes, top.media_type_hint.as_deref()).map_err(|p| {
            FetchError::Unsupported {
                context: ctx("reading manifest of"),
                detail: p.0,
            }
        })?;
    let parsed = manifest::parse(&top.bytes, &media_type).map_err(|p| FetchError::Unsupported {
        context: ctx("reading manifest of"),
        detail: p.0,
    })?;
    let index = match parsed {
        Parsed::Manifest(m) => {
            return Ok(ResolvedImage {
                manifest_bytes: top.bytes,
                manifest_digest: digest,
                media_type,
                manifest: m,
                index_digest: None,
                platform: None,
                source_names: top.source_names,
            })
        }
        Parsed::Index(i) => i,
    };
    let platforms: Vec<Option<Platform>> =
        index.manifests.iter().map(|d| d.platform.clone()).collect();
    let Some(pick) = platform::choose(want, &platforms) else {
        return Err(FetchError::NoPlatform {
            context: ctx("choosing an image from manifest list"),
            os: want.os.clone(),
            architecture: want.architecture.clone(),
            variant: want.variant.clone(),
        });
    };
    let child = &index.manifests[pick];
    debug!(index = %digest, chosen = %child.digest, platform = ?child.platform, "platform selected");
    let (bytes, content_type) = source.manifest_by_digest(&child.digest).await?;
    let child_digest = sha256_of(&bytes);
    check_digest(Some(&child.digest), &child_digest, source)?;
    let hint = Some(child.media_type.clone())
        .filter(|m| !m.is_empty())
        .or(content_type);
    let child_type =
        manifest::media_type_of(&bytes, hint.as_deref()).map_err(|p| FetchError::Unsupported {
            context: ctx("reading manifest of"),
            detail: p.0,
        })?;
    match manifest::parse(&bytes, &child_type).map_err(|p| FetchError::Unsupported {
        context: ctx("reading manifest of"),
        detail: p.0,
    })? {
        Parsed::Manifest(m) => Ok(ResolvedImage {
            manifest_bytes: bytes,
            manifest_digest: child_digest,
            media_type: child_type,
            manifest: m,
            index_digest: Some(digest),
            platform: child.platform.clone(),
            source_names: top.source_names,
        }),
        Parsed::Index(_) => Err(FetchError::Unsupported {
            context: ctx("choosing an image from manifest list"),
            detail: "the entry for this platform is itself an index".into(),
        }),
    }
}

fn check_digest(expected: Option<&str>, actual: &str, source: &Source) -> Result<(), FetchError> {
    match expected {
        Some(e) if e != actual => Err(FetchError::DigestMismatch {
            digest: e.to_string(),
            source_name: source.name(),
            actual: actual.to_string(),
        }),
        _ => Ok(()),
    }
}
