//! The monitor process: at most one container, and when to go.
//!
//! The process ends when the container's exit is fully handled, when its
//! creation failed, or -- with no container -- when the caller hangs up or
//! SIGTERM arrives. This is the domain the RPC layer (`service`, `server`)
//! is built around; it knows nothing of either.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use proto::monitor::v1::{CreateContainerRequest, CreateContainerResponse};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::config::ContainerConfig;
use crate::container::{self, Container};
use crate::error::MonitorError;
use crate::log_driver::LogKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Idle,
    Creating,
    Monitoring,
    Failed,
    Done,
}

pub struct Monitor {
    pub runroot: PathBuf,
    /// Forked away from the caller: may create a container.
    pub detached: bool,
    container: Mutex<Option<Arc<Container>>>,
    create_lock: tokio::sync::Mutex<()>,
    phase: watch::Sender<Phase>,
    /// An attach client inherited at exec (`serve --attach-fd N`), handed
    /// to the container at CreateContainer.
    inherited_attach: Mutex<Option<std::os::fd::OwnedFd>>,
    /// Descriptors for the container (`serve --preserve-fd`).
    preserved: Mutex<crate::preserve::Preserved>,
    /// Descriptors held while the container runs (`serve --hold-fds`).
    held: Mutex<Vec<std::os::fd::OwnedFd>>,
}

impl Monitor {
    pub fn new(runroot: PathBuf, detached: bool) -> Arc<Monitor> {
        Arc::new(Monitor {
            runroot,
            detached,
            container: Mutex::new(None),
            create_lock: tokio::sync::Mutex::new(()),
            phase: watch::Sender::new(Phase::Idle),
            inherited_attach: Mutex::new(None),
            preserved: Mutex::new(Vec::new()),
            held: Mutex::new(Vec::new()),
        })
    }

    /// Keep `fd`, an attach client connected before the container exists.
    pub fn set_inherited_attach(&self, fd: std::os::fd::OwnedFd) {
        if let Ok(mut a) = self.inherited_attach.lock() {
            *a = Some(fd);
        }
    }

    /// Keep descriptors to hand to the container at CreateContainer.
    pub fn set_preserved(&self, p: crate::preserve::Preserved) {
        if let Ok(mut a) = self.preserved.lock() {
            *a = p;
        }
    }

    /// Keep descriptors (host port reservations) for the container's life.
    pub fn set_held(&self, h: Vec<std::os::fd::OwnedFd>) {
        if let Ok(mut a) = self.held.lock() {
            *a = h;
        }
    }

    pub fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    /// Wait until the monitor has nothing left to do.
    pub async fn over(&self) {
        let _ = self
            .phase
            .subscribe()
            .wait_for(|p| matches!(p, Phase::Failed | Phase::Done))
            .await;
    }

    /// The container `id` this monitor runs.
    pub fn container(&self, id: &str) -> Result<Arc<Container>, MonitorError> {
        let c = self.container.lock().ok().and_then(|c| c.clone());
        match c {
            Some(c) if c.cfg.id == id => Ok(c),
            Some(c) => Err(MonitorError::NotFound(format!(
                "this monitor runs container {}, not {id}",
                c.cfg.id
            ))),
            None => Err(MonitorError::NotFound(format!(
                "no container {id} in this monitor: call CreateContainer first"
            ))),
        }
    }

    /// CreateContainer: check the request, take over stdio, run the
    /// runtime, watch the container. Serving the API on the container's
    /// monitor socket (the response names it) is the RPC layer's part.
    pub async fn create(
        self: &Arc<Self>,
        req: CreateContainerRequest,
    ) -> Result<CreateContainerResponse, MonitorError> {
        if !self.detached {
            return Err(MonitorError::FailedPrecondition(
                "this monitor was started without --detach and dies with its caller: start it as `ctr-monitor serve --grpc-fd 3 --detach` to create containers"
                    .into(),
            ));
        }
        let Ok(_one) = self.create_lock.try_lock() else {
            return Err(MonitorError::AlreadyExists(
                "a CreateContainer call is already in progress in this monitor".into(),
            ));
        };
        match self.phase() {
            Phase::Idle => {}
            _ => {
                return Err(MonitorError::AlreadyExists(
                    "this monitor already ran CreateContainer: start one monitor per container"
                        .into(),
                ))
            }
        }
        let t0 = Instant::now();
        let cfg = ContainerConfig::from_request(&req)?;
        self.phase.send_replace(Phase::Creating);
        let result = self.create_checked(cfg, t0).await;
        if result.is_err() {
            self.phase.send_replace(Phase::Failed);
        }
        result
    }

    async fn create_checked(
        self: &Arc<Self>,
        cfg: ContainerConfig,
        t0: Instant,
    ) -> Result<CreateContainerResponse, MonitorError> {
        crate::fsutil::create_private_dir(&cfg.dir)
            .map_err(MonitorError::io(format!("creating {}", cfg.dir.display())))?;
        let log = cfg.monitor_log();
        crate::detach::redirect_stdio(&log).map_err(MonitorError::io(format!(
            "opening the monitor log {}",
            log.display()
        )))?;
        if cfg.log_kind != LogKind::Passthrough {
            // Release the caller's terminal or pipes for good.
            drop(crate::detach::take_saved_stdio());
        }
        info!(id = %cfg.id, bundle = %cfg.bundle.display(), runtime = %cfg.runtime.display(), "monitoring container");
        let attached = self.inherited_attach.lock().ok().and_then(|mut a| a.take());
        let preserved = self
            .preserved
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        let held = self
            .held
            .lock()
            .map(|mut h| std::mem::take(&mut *h))
            .unwrap_or_default();
        let container = container::create(cfg, attached, preserved, held).await?;
        if let Ok(mut c) = self.container.lock() {
            *c = Some(container.clone());
        }
        self.phase.send_replace(Phase::Monitoring);
        if let Some(p) = &container.cfg.monitor_pid_file {
            if let Err(e) =
                crate::fsutil::write_run_file(p, std::process::id().to_string().as_bytes())
            {
                warn!(path = %p.display(), error = %e, "cannot write the monitor pid file");
            }
        }
        container.arm_timeout();
        container.arm_timer();
        let phase = self.phase.clone();
        let watched = container.clone();
        tokio::spawn(async move {
            watched.finished().await;
            phase.send_replace(Phase::Done);
        });
        crate::footprint::soon();
        debug!(id = %container.cfg.id, elapsed_ms = t0.elapsed().as_millis() as u64, "CreateContainer done");
        Ok(CreateContainerResponse {
            pid: container.pid,
            started_at_unix_nanos: container.started_at(),
            monitor_pid: std::process::id() as i32,
            monitor_socket: container.cfg.monitor_socket().display().to_string(),
            attach_socket: container
                .attach_socket()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            monitor_log: container.cfg.monitor_log().display().to_string(),
        })
    }
}
