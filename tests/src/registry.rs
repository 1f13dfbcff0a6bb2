//! A real `docker-registry` (Debian's distribution 2.8 package) on a free
//! 127.0.0.1 port, with its storage in a temporary directory.
//!
//! ```no_run
//! use e2e::{oci_image::busybox_image, registry::Registry};
//! # fn main() -> anyhow::Result<()> {
//! let registry = Registry::start()?;
//! let digest = registry.push("library/busybox", "latest", &busybox_image()?)?;
//! let image_ref = registry.reference("library/busybox", "latest"); // 127.0.0.1:PORT/library/busybox:latest
//! # let _ = (digest, image_ref); Ok(()) }
//! ```
//!
//! The registry process is killed and reaped when the [`Registry`] is
//! dropped; its log is kept in the temporary directory until then
//! ([`Registry::log`]).

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tempfile::TempDir;

use crate::oci_image::{Image, ImageIndex};
use crate::registry_client::{FetchedManifest, RegistryClient};

/// Where Debian's `docker-registry` package installs the registry.
pub const REGISTRY_BINARY: &str = "/usr/bin/docker-registry";

/// How long [`Registry::start`] waits for `/v2/` to answer.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Interval between readiness probes.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Attempts at picking a free port before giving up.
const PORT_ATTEMPTS: usize = 5;

/// A running registry. See the module docs.
#[derive(Debug)]
pub struct Registry {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    child: Child,
    dir: TempDir,
    credentials: Option<(String, String)>,
}

/// Why one start attempt failed.
enum StartError {
    /// The port was taken between picking and binding: try another one.
    PortTaken,
    /// Anything else.
    Fatal(anyhow::Error),
}

impl Registry {
    /// Start a registry without authentication.
    pub fn start() -> Result<Registry> {
        Registry::start_inner(None)
    }

    /// Start a registry with `htpasswd` basic authentication for one user:
    /// `/v2/` answers 401 without credentials. [`Registry::client`] and the
    /// push/get helpers send the credentials.
    pub fn start_with_htpasswd(user: &str, password: &str) -> Result<Registry> {
        Registry::start_inner(Some((user.to_string(), password.to_string())))
    }

    fn start_inner(credentials: Option<(String, String)>) -> Result<Registry> {
        if !Path::new(REGISTRY_BINARY).exists() {
            bail!("{REGISTRY_BINARY} is missing: apt-get install docker-registry");
        }
        let dir = tempfile::Builder::new()
            .prefix("e2e-registry-")
            .tempdir()
            .context("create registry temp dir")?;
        let storage = dir.path().join("storage");
        std::fs::create_dir(&storage).context("create registry storage dir")?;
        let htpasswd = match &credentials {
            Some((user, password)) => {
                let path = dir.path().join("htpasswd");
                let hash = bcrypt::hash(password, 4).context("bcrypt the registry password")?;
                std::fs::write(&path, format!("{user}:{hash}\n")).context("write htpasswd")?;
                Some(path)
            }
            None => None,
        };
        let mut registry = None;
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port()?;
            let config = config_yaml(port, &storage, htpasswd.as_deref())?;
            let config_path = dir.path().join("config.yml");
            std::fs::write(&config_path, config).context("write registry config")?;
            match spawn_and_wait(dir.path(), &config_path, port, credentials.as_ref()) {
                Ok(child) => {
                    registry = Some(Registry {
                        addr: format!("127.0.0.1:{port}"),
                        child,
                        dir,
                        credentials,
                    });
                    break;
                }
                Err(StartError::PortTaken) => continue,
                Err(StartError::Fatal(e)) => return Err(e),
            }
        }
        registry
            .with_context(|| format!("no free port for the registry after {PORT_ATTEMPTS} tries"))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:PORT/<repo>:<tag>`, the image reference to pull.
    pub fn reference(&self, repo: &str, tag: &str) -> String {
        format!("{}/{repo}:{tag}", self.addr)
    }

    /// `(user, password)` for an htpasswd registry.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// A client that sends this registry's credentials, if any.
    pub fn client(&self) -> RegistryClient {
        let client = RegistryClient::new(&self.addr);
        match self.credentials() {
            Some((user, password)) => client.with_basic_auth(user, password),
            None => client,
        }
    }

    /// A client without credentials.
    pub fn anonymous_client(&self) -> RegistryClient {
        RegistryClient::new(&self.addr)
    }

    /// Push `image` as `repo:tag`; returns the manifest digest.
    pub fn push(&self, repo: &str, tag: &str, image: &Image) -> Result<String> {
        self.client().push_image(repo, tag, image)
    }

    /// Push every image of `index` by digest, then `index` as `repo:tag`;
    /// returns the index digest.
    pub fn push_index(&self, repo: &str, tag: &str, index: &ImageIndex) -> Result<String> {
        self.client().push_index(repo, tag, index)
    }

    /// Fetch a manifest or index by tag or digest, accepting every type.
    pub fn get_manifest(&self, repo: &str, reference: &str) -> Result<FetchedManifest> {
        self.client().get_manifest(repo, reference)
    }

    /// Fetch a blob, checked against its digest.
    pub fn get_blob(&self, repo: &str, digest: &str) -> Result<Vec<u8>> {
        self.client().get_blob(repo, digest)
    }

    /// The temporary directory (config, storage, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The registry's storage root.
    pub fn storage_dir(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// The registry's stdout/stderr so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// The registry's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
    Ok(listener.local_addr().context("local address")?.port())
}

/// The registry configuration: filesystem storage, deletes enabled, no
/// health checks, errors-only logging, optional htpasswd auth.
fn config_yaml(port: u16, storage: &Path, htpasswd: Option<&Path>) -> Result<String> {
    let quote = |p: &Path| -> Result<String> {
        let s = p
            .to_str()
            .with_context(|| format!("non-UTF-8 path {}", p.display()))?;
        Ok(serde_json::to_string(s)?)
    };
    let mut yaml = format!(
        "version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
  secret: e2e-fixture-secret
health:
  storagedriver:
    enabled: false
",
        storage = quote(storage)?,
    );
    if let Some(path) = htpasswd {
        yaml.push_str(&format!(
            "auth:\n  htpasswd:\n    realm: e2e-registry\n    path: {}\n",
            quote(path)?
        ));
    }
    Ok(yaml)
}

/// Start the registry and wait until `GET /v2/` (with the credentials, if
/// any) answers 200.
fn spawn_and_wait(
    dir: &Path,
    config: &Path,
    port: u16,
    credentials: Option<&(String, String)>,
) -> Result<Child, StartError> {
    let fatal = StartError::Fatal;
    let log_path = dir.join("registry.log");
    let log = File::create(&log_path)
        .context("create registry log")
        .map_err(fatal)?;
    let log_err = log
        .try_clone()
        .context("clone registry log")
        .map_err(fatal)?;
    let mut command = Command::new(REGISTRY_BINARY);
    command.arg("serve").arg(config).current_dir(dir);
    command.stdin(Stdio::null()).stdout(log).stderr(log_err);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("REGISTRY_") {
            command.env_remove(key);
        }
    }
    let mut child = command
        .spawn()
        .with_context(|| format!("spawn {REGISTRY_BINARY}"))
        .map_err(fatal)?;
    let mut client = RegistryClient::new(&format!("127.0.0.1:{port}"));
    if let Some((user, password)) = credentials {
        client = client.with_basic_auth(user, password);
    }
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let log = read_log();
                if log.contains("address already in use") {
                    return Err(StartError::PortTaken);
                }
                return Err(fatal(anyhow::anyhow!(
                    "docker-registry exited with {status}:\n{log}"
                )));
            }
            Ok(None) => {}
            Err(e) => {
                return Err(fatal(
                    anyhow::Error::new(e).context("wait for docker-registry"),
                ))
            }
        }
        let last = match client.ping() {
            // Make sure the answer came from our child, not from another
            // process that took the port first.
            Ok(200) if matches!(child.try_wait(), Ok(None)) => return Ok(child),
            Ok(status) => format!("HTTP {status}"),
            Err(e) => format!("{e:#}"),
        };
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(fatal(anyhow::anyhow!(
                "docker-registry on port {port} not ready after {START_TIMEOUT:?} ({last}):\n{}",
                read_log()
            )));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// A loopback port nothing listens on (bound, then closed): a registry
/// that cannot be reached.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
