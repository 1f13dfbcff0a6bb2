//! The fetcher.v1 gRPC service.

use proto::common::v1::InfoRequest;
use proto::fetcher::v1::{fetcher_server::Fetcher, InfoResponse, TlsRoots};
use tonic::{Request, Response, Status};

pub struct FetcherService;

#[tonic::async_trait]
impl Fetcher for FetcherService {
    async fn info(&self, _req: Request<InfoRequest>) -> Result<Response<InfoResponse>, Status> {
        let i = crate::info::gather();
        Ok(Response::new(InfoResponse {
            identity: Some(proto::identity("image-fetcher", env!("CARGO_PKG_VERSION"))),
            tls_roots: Some(TlsRoots { sources: i.sources, certificate_count: i.certificate_count }),
            cert_dirs: i.cert_dirs,
        }))
    }
}
