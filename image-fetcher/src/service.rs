//! The fetcher.v1 gRPC service: Info, and Pull/Push as server streams of
//! events that end with Done or with an error status (one line naming the
//! reference). A caller that hangs up cancels the work; temp blobs are
//! removed as it unwinds.

use std::path::PathBuf;
use std::pin::Pin;

use futures_util::Stream;
use proto::common::v1::InfoRequest;
use proto::fetcher::v1::{
    fetcher_server::Fetcher, CheckLoginRequest, CheckLoginResponse, FetchUrlRequest,
    FetchUrlResponse, InfoResponse, PullEvent, PullRequest, PushEvent, PushRequest, TlsRoots,
};
use proto::HelperError;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tracing::debug;

use crate::auth_file::Credentials;
use crate::error::FetchError;
use crate::platform::Platform;
use crate::pull::{pull, PullOptions};
use crate::push::{push, PushOptions};
use crate::source::AuthOptions;

pub struct FetcherService;

type EventStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl Fetcher for FetcherService {
    async fn info(&self, _req: Request<InfoRequest>) -> Result<Response<InfoResponse>, Status> {
        let i = crate::info::gather();
        Ok(Response::new(InfoResponse {
            identity: Some(proto::identity("image-fetcher", env!("CARGO_PKG_VERSION"))),
            tls_roots: Some(TlsRoots {
                sources: i.sources,
                certificate_count: i.certificate_count,
            }),
            cert_dirs: i.cert_dirs,
        }))
    }

    type PullStream = EventStream<PullEvent>;

    async fn pull(&self, req: Request<PullRequest>) -> Result<Response<Self::PullStream>, Status> {
        let opts = pull_options(req.into_inner()).map_err(|e| e.to_status())?;
        debug!(reference = %opts.reference, dest = %opts.dest.display(), "Pull");
        Ok(Response::new(run_streaming(move |events| async move {
            pull(&opts, &events).await.map(|_| ())
        })))
    }

    type PushStream = EventStream<PushEvent>;

    async fn push(&self, req: Request<PushRequest>) -> Result<Response<Self::PushStream>, Status> {
        let opts = push_options(req.into_inner()).map_err(|e| e.to_status())?;
        debug!(src = %opts.src_dir.display(), destination = %opts.destination, "Push");
        Ok(Response::new(run_streaming(move |events| async move {
            push(&opts, &events).await.map(|_| ())
        })))
    }

    async fn check_login(
        &self,
        req: Request<CheckLoginRequest>,
    ) -> Result<Response<CheckLoginResponse>, Status> {
        let r = req.into_inner();
        debug!(registry = %r.registry, user = %r.username, "CheckLogin");
        let check = crate::login_check::LoginCheck {
            registry: r.registry,
            creds: Credentials {
                username: r.username,
                password: r.password,
            },
            tls_verify: r.tls_verify,
        };
        let ok = crate::login_check::check_login(&check)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(CheckLoginResponse {
            auth_scheme: ok.auth_scheme,
            endpoint: ok.endpoint,
        }))
    }

    async fn fetch_url(
        &self,
        req: Request<FetchUrlRequest>,
    ) -> Result<Response<FetchUrlResponse>, Status> {
        let r = req.into_inner();
        debug!(url = %r.url, dest = %r.dest_file, "FetchUrl");
        if r.dest_file.is_empty() {
            return Err(
                FetchError::InvalidArgument("FetchUrl: dest_file is empty".into()).to_status(),
            );
        }
        let got = crate::url_fetch::fetch_url(&crate::url_fetch::UrlFetch {
            url: r.url,
            dest: PathBuf::from(r.dest_file),
            tls_verify: r.tls_verify,
        })
        .await
        .map_err(|e| e.to_status())?;
        Ok(Response::new(FetchUrlResponse {
            size: got.size,
            last_modified: got.last_modified,
            final_url: got.final_url,
        }))
    }
}

/// Run `work` on its own task, forwarding its events to the response
/// stream and ending it with the error status if it fails. When the caller
/// goes away the work is dropped (cancelled).
fn run_streaming<T, F, Fut>(work: F) -> EventStream<T>
where
    T: Send + 'static,
    F: FnOnce(mpsc::UnboundedSender<T>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), FetchError>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Result<T, Status>>(64);
    tokio::spawn(async move {
        let (etx, mut erx) = mpsc::unbounded_channel();
        let fut = work(etx);
        tokio::pin!(fut);
        let result = loop {
            tokio::select! {
                biased;
                Some(ev) = erx.recv() => {
                    if tx.send(Ok(ev)).await.is_err() {
                        debug!("caller went away; cancelling");
                        return;
                    }
                }
                r = &mut fut => break r,
                _ = tx.closed() => {
                    debug!("caller went away; cancelling");
                    return;
                }
            }
        };
        while let Ok(ev) = erx.try_recv() {
            if tx.send(Ok(ev)).await.is_err() {
                return;
            }
        }
        if let Err(e) = result {
            debug!(error = %e, code = ?e.code(), "failed");
            let _ = tx.send(Err(e.to_status())).await;
        }
    });
    Box::pin(ReceiverStream::new(rx))
}

fn auth_options(
    username: String,
    password: String,
    auth_file: String,
) -> Result<AuthOptions, FetchError> {
    if username.is_empty() && !password.is_empty() {
        return Err(FetchError::InvalidArgument(
            "a password was given without a username".into(),
        ));
    }
    Ok(AuthOptions {
        creds: (!username.is_empty()).then_some(Credentials { username, password }),
        auth_file: (!auth_file.is_empty()).then(|| PathBuf::from(auth_file)),
    })
}

pub fn pull_options(r: PullRequest) -> Result<PullOptions, FetchError> {
    if r.reference.is_empty() {
        return Err(FetchError::InvalidArgument(
            "Pull: reference is empty".into(),
        ));
    }
    if r.dest_dir.is_empty() {
        return Err(FetchError::InvalidArgument(format!(
            "Pull {}: dest_dir is empty; name the OCI layout directory to write",
            r.reference
        )));
    }
    let platform = r
        .platform
        .map(|p| Platform {
            os: p.os,
            architecture: p.architecture,
            variant: p.variant,
        })
        .unwrap_or_default();
    Ok(PullOptions {
        reference: r.reference,
        dest: PathBuf::from(r.dest_dir),
        platform,
        tls_verify: r.tls_verify,
        auth: auth_options(r.username, r.password, r.auth_file)?,
        max_concurrent: r.max_concurrent as usize,
        signature_policy: (!r.signature_policy.is_empty())
            .then(|| PathBuf::from(r.signature_policy)),
    })
}

pub fn push_options(r: PushRequest) -> Result<PushOptions, FetchError> {
    if r.src_dir.is_empty() || r.destination.is_empty() {
        return Err(FetchError::InvalidArgument(
            "Push: src_dir and destination are both required".into(),
        ));
    }
    Ok(PushOptions {
        src_dir: PathBuf::from(r.src_dir),
        source: r.source,
        destination: r.destination,
        tls_verify: r.tls_verify,
        auth: auth_options(r.username, r.password, r.auth_file)?,
        max_concurrent: r.max_concurrent as usize,
        compression: crate::push_compress::Compression::parse(
            &r.compression_format,
            r.compression_level,
            r.force_compression,
        )?,
        scratch_dir: (!r.scratch_dir.is_empty()).then(|| PathBuf::from(r.scratch_dir)),
    })
}
