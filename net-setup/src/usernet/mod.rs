//! User-mode networking for a container's netns: slirp4netns or pasta, as
//! Podman runs them (containers/common libnetwork/slirp4netns and
//! libnetwork/pasta). net-setup starts the tool detached in its own
//! session, records its pid under the state dir, and stops it at teardown;
//! a teardown after a `kill -9` of podman finds the pid file and finishes
//! the job. The pid is checked against the process's command line (the
//! netns path), so a recycled pid is never signalled.

pub mod pasta;
#[allow(unsafe_code)]
pub mod process;
pub mod slirp;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{NetError, Result};
use crate::types::PortMapping;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    Slirp4netns,
    Pasta,
}

impl Tool {
    pub fn parse(s: &str) -> Result<Tool> {
        match s {
            "slirp4netns" => Ok(Tool::Slirp4netns),
            "pasta" => Ok(Tool::Pasta),
            other => Err(NetError::InvalidArgument(format!(
                "unknown user-mode network tool {other:?}: use slirp4netns or pasta"
            ))),
        }
    }

    pub fn binary(self) -> &'static str {
        match self {
            Tool::Slirp4netns => "slirp4netns",
            Tool::Pasta => "pasta",
        }
    }

    /// The Debian package that ships the binary.
    pub fn package(self) -> &'static str {
        match self {
            Tool::Slirp4netns => "slirp4netns",
            Tool::Pasta => "passt",
        }
    }
}

pub struct Request {
    pub container_id: String,
    pub netns_path: PathBuf,
    pub tool: Tool,
    pub options: Vec<String>,
    pub ports: Vec<PortMapping>,
    pub helper_dirs: Vec<PathBuf>,
}

#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// (address/prefix, gateway)
    pub addresses: Vec<(String, String)>,
    pub dns_server_ips: Vec<String>,
    pub host_ip: String,
    pub pid: u32,
    pub interface_name: String,
    pub mac_address: String,
}

/// What the state dir keeps per container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub tool: Tool,
    pub pid: i32,
    pub netns_path: PathBuf,
}

pub struct UserNetStore {
    dir: PathBuf,
}

impl UserNetStore {
    pub fn new(state_dir: &Path) -> UserNetStore {
        UserNetStore {
            dir: state_dir.join("usernet"),
        }
    }

    pub fn record_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    pub fn api_socket(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.sock"))
    }

    pub fn pid_file(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.pid"))
    }

    pub fn log_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.log"))
    }

    pub fn ensure_dir(&self) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| NetError::io("creating", &self.dir, e))
    }
}

/// The tool's binary: the configured helper directories first, then $PATH.
/// Missing: one line naming the package.
pub fn find_binary(tool: Tool, helper_dirs: &[PathBuf]) -> Result<PathBuf> {
    let name = tool.binary();
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    for d in helper_dirs.iter().chain(path_dirs.iter()) {
        let p = d.join(name);
        if is_executable(&p) {
            return Ok(p);
        }
    }
    Err(NetError::FailedPrecondition(format!(
        "could not find {name} in helper_binaries_dir or $PATH: install the {} package (apt-get install {})",
        tool.package(),
        tool.package()
    )))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Start the tool for a container; nothing is left running on failure.
pub async fn setup(state_dir: &Path, req: Request) -> Result<Outcome> {
    let store = UserNetStore::new(state_dir);
    store.ensure_dir()?;
    if let Some(rec) =
        crate::state_files::read_json::<Record>(&store.record_path(&req.container_id))?
    {
        if process::is_ours(&rec).is_some() {
            return Err(NetError::AlreadyExists(format!(
                "container {} already has {} running (pid {})",
                req.container_id,
                rec.tool.binary(),
                rec.pid
            )));
        }
    }
    let bin = find_binary(req.tool, &req.helper_dirs)?;
    let result = match req.tool {
        Tool::Slirp4netns => slirp::setup(&store, &bin, &req).await,
        Tool::Pasta => pasta::setup(&store, &bin, &req).await,
    };
    if result.is_err() {
        let _ = teardown(state_dir, &req.container_id);
    }
    result
}

/// Stop the container's tool (if any) and forget it. A missing record is
/// not an error: teardown runs again after a kill.
pub fn teardown(state_dir: &Path, container_id: &str) -> Result<()> {
    let store = UserNetStore::new(state_dir);
    let path = store.record_path(container_id);
    if let Some(rec) = crate::state_files::read_json::<Record>(&path)? {
        if let Some(pid) = process::is_ours(&rec) {
            process::stop(pid)?;
        }
    }
    for p in [
        path,
        store.api_socket(container_id),
        store.pid_file(container_id),
        store.log_path(container_id),
    ] {
        crate::state_files::remove_file_if_exists(&p)?;
    }
    Ok(())
}

/// The first address of a host interface other than loopback and the
/// container's own, for host.containers.internal.
pub fn first_host_ip(except: &[IpAddr], addrs: &[IpAddr]) -> Option<IpAddr> {
    addrs
        .iter()
        .copied()
        .find(|a| a.is_ipv4() && !a.is_loopback() && !except.contains(a))
}
