//! The storage.v1 gRPC service.

use proto::common::v1::InfoRequest;
use proto::storage::v1::{storage_server::Storage, InfoResponse};
use tonic::{Request, Response, Status};

use crate::layout::Store;

pub struct StorageService {
    pub store: Store,
}

#[tonic::async_trait]
impl Storage for StorageService {
    async fn info(&self, req: Request<InfoRequest>) -> Result<Response<InfoResponse>, Status> {
        let probe = req.into_inner().probe;
        let i = if probe {
            // A trial mount blocks: keep it off the event loop.
            let store = self.store.clone();
            tokio::task::spawn_blocking(move || crate::info::gather(&store, true))
                .await
                .map_err(|e| Status::internal(format!("info task failed: {e}")))?
        } else {
            crate::info::gather(&self.store, false)
        };
        Ok(Response::new(InfoResponse {
            identity: Some(proto::identity("storage-helper", env!("CARGO_PKG_VERSION"))),
            graph_root: i.graph_root,
            run_root: i.run_root,
            driver: i.driver,
            backing_filesystem: i.backing_filesystem,
            overlay_supported: i.overlay_supported,
            overlay_usable: i.overlay_usable.unwrap_or(false),
            overlay_error: i.overlay_error,
            graph_root_total_bytes: i.graph_root_total_bytes,
            graph_root_used_bytes: i.graph_root_used_bytes,
            image_count: i.image_count,
            layer_count: i.layer_count,
        }))
    }
}
