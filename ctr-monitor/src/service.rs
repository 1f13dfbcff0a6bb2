//! The monitor.v1 gRPC service.

use std::path::PathBuf;

use proto::common::v1::InfoRequest;
use proto::monitor::v1::{monitor_server::Monitor, InfoResponse, Runtime};
use tonic::{Request, Response, Status};

pub struct MonitorService {
    pub runroot: PathBuf,
}

#[tonic::async_trait]
impl Monitor for MonitorService {
    async fn info(&self, req: Request<InfoRequest>) -> Result<Response<InfoResponse>, Status> {
        let req = req.into_inner();
        let extra: Vec<PathBuf> = req.runtime_paths.iter().map(PathBuf::from).collect();
        let rts = crate::info::gather(&self.runroot, req.probe, &extra).await;
        Ok(Response::new(InfoResponse {
            identity: Some(proto::identity("ctr-monitor", env!("CARGO_PKG_VERSION"))),
            runtimes: rts
                .into_iter()
                .map(|r| Runtime { name: r.name, path: r.path, version: r.version, works: r.works, probed: r.probed, error: r.error })
                .collect(),
        }))
    }
}
