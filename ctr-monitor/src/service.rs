//! The monitor.v1 gRPC service: thin over [`crate::monitor`],
//! [`crate::container`] and [`crate::exec`], which know nothing of it.
//! It also serves itself on each container's monitor socket once
//! CreateContainer succeeds ([`create_and_serve`]).

use std::path::PathBuf;
use std::sync::Arc;

use proto::common::v1::InfoRequest;
use proto::monitor::v1::monitor_server::Monitor as MonitorApi;
use proto::monitor::v1::{
    ContainerState, CreateContainerRequest, CreateContainerResponse, ExecEvent, ExecRequest,
    ExecState as ProtoExecState, ExecStatusRequest, ExecStatusResponse, InfoResponse, KillRequest,
    KillResponse, ReopenLogRequest, ReopenLogResponse, ResizeRequest, ResizeResponse, Runtime,
    SetTimerRequest, SetTimerResponse, StartContainerRequest, StartContainerResponse,
    StatusRequest, StatusResponse, WaitRequest,
};
use tonic::{Request, Response, Status};
use tracing::{debug, warn};

use crate::container::{Container, State};
use crate::error::MonitorError;
use crate::exec::ExecSpec;
use crate::exec_sessions::ExecState;
use crate::monitor::Monitor;
use crate::server::Server;

#[derive(Clone)]
pub struct MonitorService {
    pub monitor: Arc<Monitor>,
    /// Where the container's monitor socket is served.
    pub server: Arc<Server>,
}

impl MonitorService {
    pub fn new(monitor: Arc<Monitor>, server: Arc<Server>) -> MonitorService {
        MonitorService { monitor, server }
    }

    /// The service as routes for [`Server`].
    pub fn routes(&self) -> tonic::service::Routes {
        tonic::service::Routes::new(proto::monitor::v1::monitor_server::MonitorServer::new(
            self.clone(),
        ))
    }

    /// CreateContainer, then serve this API on the container's monitor
    /// socket, so other callers (podman's later commands, `ctr-monitor run`
    /// users) can reach the monitor once the creating caller is gone.
    pub async fn create_and_serve(
        &self,
        req: CreateContainerRequest,
    ) -> std::result::Result<CreateContainerResponse, MonitorError> {
        let created = self.monitor.create(req).await?;
        let sock = PathBuf::from(&created.monitor_socket);
        match crate::sockets::stream_listener(&sock) {
            Ok(l) => self.server.serve_listener(l, sock, self.routes()),
            Err(e) => {
                warn!(socket = %sock.display(), error = %e, "cannot serve the monitor socket; only this connection can reach the monitor")
            }
        }
        Ok(created)
    }
}

fn status_of(c: &Container) -> StatusResponse {
    let (state, exit) = match c.state() {
        State::Created => (ContainerState::Created, None),
        State::Running => (ContainerState::Running, None),
        State::Exited(r) => (ContainerState::Exited, Some(r.to_proto())),
    };
    StatusResponse {
        id: c.cfg.id.clone(),
        pid: c.pid,
        state: state as i32,
        started_at_unix_nanos: c.started_at(),
        exit,
        monitor_pid: std::process::id() as i32,
        log_bytes_dropped: c.log_bytes_dropped(),
    }
}

type Result<T> = std::result::Result<Response<T>, Status>;

#[tonic::async_trait]
impl MonitorApi for MonitorService {
    async fn info(&self, req: Request<InfoRequest>) -> Result<InfoResponse> {
        let req = req.into_inner();
        let extra: Vec<PathBuf> = req.runtime_paths.iter().map(PathBuf::from).collect();
        let rts = crate::info::gather(&self.monitor.runroot, req.probe, &extra).await;
        Ok(Response::new(InfoResponse {
            identity: Some(proto::identity("ctr-monitor", env!("CARGO_PKG_VERSION"))),
            runtimes: rts
                .into_iter()
                .map(|r| Runtime {
                    name: r.name,
                    path: r.path,
                    version: r.version,
                    works: r.works,
                    probed: r.probed,
                    error: r.error,
                })
                .collect(),
        }))
    }

    async fn create_container(
        &self,
        req: Request<CreateContainerRequest>,
    ) -> Result<CreateContainerResponse> {
        let req = req.into_inner();
        debug!(id = %req.id, "CreateContainer");
        // A caller that goes away mid-call drops this future; the creation
        // must still finish (and the container be monitored) without it.
        let this = self.clone();
        let created = tokio::spawn(async move { this.create_and_serve(req).await })
            .await
            .map_err(|e| Status::internal(format!("CreateContainer task failed: {e}")))??;
        Ok(Response::new(created))
    }

    async fn start_container(
        &self,
        req: Request<StartContainerRequest>,
    ) -> Result<StartContainerResponse> {
        let c = self.monitor.container(&req.into_inner().id)?;
        let started_at_unix_nanos = tokio::spawn(async move { c.start().await })
            .await
            .map_err(|e| Status::internal(format!("StartContainer task failed: {e}")))??;
        Ok(Response::new(StartContainerResponse {
            started_at_unix_nanos,
        }))
    }

    async fn status(&self, req: Request<StatusRequest>) -> Result<StatusResponse> {
        let c = self.monitor.container(&req.into_inner().id)?;
        Ok(Response::new(status_of(&c)))
    }

    async fn wait(&self, req: Request<WaitRequest>) -> Result<StatusResponse> {
        let c = self.monitor.container(&req.into_inner().id)?;
        c.wait().await;
        Ok(Response::new(status_of(&c)))
    }

    async fn kill(&self, req: Request<KillRequest>) -> Result<KillResponse> {
        let req = req.into_inner();
        if req.signal == 0 || req.signal > 64 {
            return Err(MonitorError::InvalidArgument(format!(
                "signal {} is not valid: use a signal number 1..64",
                req.signal
            ))
            .into());
        }
        let c = self.monitor.container(&req.id)?;
        let already_exited = c.kill(req.signal, req.all).await?;
        Ok(Response::new(KillResponse { already_exited }))
    }

    async fn resize(&self, req: Request<ResizeRequest>) -> Result<ResizeResponse> {
        let req = req.into_inner();
        let c = self.monitor.container(&req.id)?;
        let Some((rows, cols)) = crate::config::terminal_size(req.rows, req.cols)? else {
            return Err(MonitorError::InvalidArgument("resize needs rows and cols".into()).into());
        };
        let result = if req.exec_id.is_empty() {
            if !c.cfg.terminal {
                return Err(MonitorError::FailedPrecondition(format!(
                    "container {} has no terminal to resize",
                    c.cfg.id
                ))
                .into());
            }
            c.input().resize(rows, cols)
        } else {
            let s = c.execs.get(&req.exec_id).ok_or_else(|| {
                MonitorError::NotFound(format!("no exec session {}", req.exec_id))
            })?;
            s.resize(rows, cols)
        };
        result.map_err(MonitorError::io("resizing the terminal"))?;
        Ok(Response::new(ResizeResponse {}))
    }

    async fn set_timer(&self, req: Request<SetTimerRequest>) -> Result<SetTimerResponse> {
        let req = req.into_inner();
        let c = self.monitor.container(&req.id)?;
        let every =
            (req.interval_ms > 0).then(|| std::time::Duration::from_millis(req.interval_ms));
        debug!(id = %req.id, interval_ms = req.interval_ms, "SetTimer");
        c.set_timer(every)?;
        Ok(Response::new(SetTimerResponse {}))
    }

    async fn reopen_log(&self, req: Request<ReopenLogRequest>) -> Result<ReopenLogResponse> {
        let c = self.monitor.container(&req.into_inner().id)?;
        c.reopen_log()?;
        Ok(Response::new(ReopenLogResponse {}))
    }

    type ExecStream =
        tokio_stream::wrappers::ReceiverStream<std::result::Result<ExecEvent, Status>>;

    async fn exec(&self, req: Request<ExecRequest>) -> Result<Self::ExecStream> {
        let req = req.into_inner();
        let c = self.monitor.container(&req.id)?;
        let spec = ExecSpec::from_request(&req)?;
        debug!(id = %req.id, exec_id = %spec.exec_id, attach = spec.attach, detach = spec.detach, terminal = spec.terminal, "Exec");
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        crate::exec::start(c, spec, tx)?;
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            rx,
        )))
    }

    async fn exec_status(&self, req: Request<ExecStatusRequest>) -> Result<ExecStatusResponse> {
        let req = req.into_inner();
        let c = self.monitor.container(&req.id)?;
        let s = c.execs.get(&req.exec_id).ok_or_else(|| {
            MonitorError::NotFound(format!(
                "no exec session {} in container {}",
                req.exec_id, req.id
            ))
        })?;
        let resp = match s.state() {
            ExecState::Starting => ExecStatusResponse {
                state: ProtoExecState::Starting as i32,
                ..Default::default()
            },
            ExecState::Running { pid } => ExecStatusResponse {
                state: ProtoExecState::Running as i32,
                pid,
                ..Default::default()
            },
            ExecState::Exited { pid, exit } => ExecStatusResponse {
                state: ProtoExecState::Exited as i32,
                pid,
                exit: Some(exit),
                error: String::new(),
            },
            ExecState::Failed(error) => ExecStatusResponse {
                state: ProtoExecState::Failed as i32,
                error,
                ..Default::default()
            },
        };
        Ok(Response::new(resp))
    }
}
