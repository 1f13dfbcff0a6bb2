//! Where a container's files live. Everything that does not survive a
//! reboot is under the run root; the log is under the graph root.

use std::path::PathBuf;

use crate::engine_config::EngineConfig;

pub struct ContainerPaths {
    /// Bundle: config.json, hosts, resolv.conf, hostname.
    pub bundle: PathBuf,
    /// The monitor's directory parent (`<socket_dir>/<id>/`).
    pub socket_dir: PathBuf,
    pub exit_dir: PathBuf,
    /// The OCI runtime's state root (`RUNTIME --root`).
    pub runtime_root: PathBuf,
    /// Persistent per-container data: the log.
    pub data_dir: PathBuf,
    pub lock: PathBuf,
}

impl ContainerPaths {
    pub fn new(cfg: &EngineConfig, id: &str) -> ContainerPaths {
        ContainerPaths {
            bundle: cfg.run_root.join("containers").join(id),
            // Short: unix socket paths must fit in 107 bytes.
            socket_dir: cfg.run_root.join("m"),
            exit_dir: cfg.run_root.join("exits"),
            runtime_root: cfg.run_root.join("runtime"),
            data_dir: cfg.graph_root.join("containers").join(id),
            lock: cfg.run_root.join("locks").join(format!("{id}.lock")),
        }
    }

    pub fn monitor_socket(&self, id: &str) -> PathBuf {
        self.socket_dir.join(id).join("monitor.sock")
    }

    pub fn attach_socket(&self, id: &str) -> PathBuf {
        self.socket_dir.join(id).join("attach")
    }

    pub fn exit_file(&self, id: &str) -> PathBuf {
        self.exit_dir.join(id)
    }

    pub fn exit_json(&self, id: &str) -> PathBuf {
        self.exit_dir.join(format!("{id}.json"))
    }

    pub fn log_path(&self) -> PathBuf {
        self.data_dir.join("ctr.log")
    }

    /// Where the monitor keeps each running exec session's `exec_pid`
    /// (`<exec_dir>/<session>/exec_pid`), as Podman under its userdata.
    pub fn exec_dir(&self) -> PathBuf {
        self.data_dir.join("exec")
    }

    /// The exec sessions that run now: those whose `exec_pid` is there
    /// (the monitor removes it when a session ends), sorted.
    pub fn exec_sessions(&self) -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(self.exec_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().join("exec_pid").is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        ids
    }
}

/// A container's inspect `ExecIDs`: its running exec sessions (none once
/// it stopped, whatever a killed monitor left behind).
pub fn exec_ids(
    engine: &EngineConfig,
    cfg: &crate::container::model::ContainerConfig,
    st: &crate::container::model::ContainerState,
) -> Vec<String> {
    use crate::container::model::Status;
    if !matches!(st.status, Status::Running | Status::Paused) {
        return Vec::new();
    }
    ContainerPaths::new(engine, &cfg.id).exec_sessions()
}

/// Per-container lock: held while a command changes the container, so
/// `stop`, `rm` and the monitor's exit command never interleave. Released on
/// drop (and by the kernel if podman dies).
pub struct ContainerLock {
    _lock: common::file_lock::FileLock,
}

impl ContainerLock {
    pub fn acquire(paths: &ContainerPaths) -> anyhow::Result<ContainerLock> {
        if let Some(d) = paths.lock.parent() {
            common::private_dir::create(d)?;
        }
        let started = std::time::Instant::now();
        let lock = common::file_lock::FileLock::exclusive(&paths.lock)?;
        tracing::debug!(lock = %paths.lock.display(), waited_ms = started.elapsed().as_secs_f64() * 1e3, "container lock held");
        Ok(ContainerLock { _lock: lock })
    }

    /// The lock if nobody holds it (a holder that died released it).
    pub fn try_acquire(paths: &ContainerPaths) -> anyhow::Result<Option<ContainerLock>> {
        use anyhow::Context;
        if let Some(d) = paths.lock.parent() {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        }
        Ok(common::file_lock::FileLock::try_exclusive(&paths.lock)?
            .map(|lock| ContainerLock { _lock: lock }))
    }
}
