//! Starting podman's helpers and talking to them.
//!
//! Each helper is found (next to `podman`, containers.conf's
//! `helper_binaries_dir`, or `$PODMAN_HELPER_DIR`), started with the store
//! and log settings of this invocation, and checked for protocol version on
//! its first answer.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use proto::common::v1::{Identity, InfoRequest};
use proto::transport::{Helper, TransportError};

use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelperKind {
    Fetcher,
    Storage,
    Net,
    Monitor,
}

impl HelperKind {
    pub fn binary(self) -> &'static str {
        match self {
            HelperKind::Fetcher => "image-fetcher",
            HelperKind::Storage => "storage-helper",
            HelperKind::Net => "net-setup",
            HelperKind::Monitor => "ctr-monitor",
        }
    }

    /// The command line a helper is started with: its own options (store,
    /// config dirs), then `serve --grpc-fd 3`.
    fn args(self, cfg: &EngineConfig) -> Vec<OsString> {
        let mut a: Vec<OsString> = vec!["--log-level".into(), cfg.log_level.clone().into()];
        match self {
            HelperKind::Fetcher => {}
            HelperKind::Storage => {
                a.extend(["--root".into(), cfg.graph_root.clone().into_os_string()]);
                a.extend(["--runroot".into(), cfg.run_root.clone().into_os_string()]);
                a.extend(["--driver".into(), cfg.storage_driver.clone().into()]);
            }
            HelperKind::Net => {
                a.extend([
                    "--config-dir".into(),
                    cfg.network_config_dir.clone().into_os_string(),
                ]);
                a.extend([
                    "--state-dir".into(),
                    cfg.run_root.join("networks").into_os_string(),
                ]);
                if let Some(fw) = &cfg.containers.network.firewall_driver {
                    a.extend(["--firewall-driver".into(), fw.into()]);
                }
            }
            HelperKind::Monitor => {
                a.extend(["--runroot".into(), cfg.run_root.clone().into_os_string()]);
            }
        }
        a.extend([
            "serve".into(),
            "--grpc-fd".into(),
            proto::transport::HELPER_FD.to_string().into(),
        ]);
        a
    }
}

impl HelperKind {
    /// Helpers whose connection serves any number of independent calls, so
    /// one process can serve every step of a command (`run --rm`: image
    /// lookup, container layer, mount, unmount, removal).
    fn reusable(self) -> bool {
        matches!(self, HelperKind::Storage | HelperKind::Net)
    }
}

/// Helpers left open by [`Session::close`] until the command ends: each
/// helper start costs a fork-exec, a runtime and a database open, and the
/// container lifecycle calls storage-helper four times in a `run --rm`.
pub mod idle {
    use std::cell::RefCell;

    use super::{HelperKind, Started};

    // Per thread: a helper's channel lives on the runtime that opened it,
    // and the API service runs each request on a thread and runtime of its
    // own (a command has one thread, so for it this is one pool).
    thread_local! {
        static IDLE: RefCell<Vec<Started>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn take(kind: HelperKind) -> Option<Started> {
        IDLE.with_borrow_mut(|idle| {
            while let Some(i) = idle.iter().position(|s| s.kind == kind) {
                let mut s = idle.swap_remove(i);
                if !s.helper.has_exited() {
                    tracing::debug!(
                        helper = kind.binary(),
                        pid = s.helper.pid(),
                        "reusing helper"
                    );
                    return Some(s);
                }
            }
            None
        })
    }

    /// As many stay as were open at once (commands on many containers).
    pub(super) fn put(s: Started) {
        IDLE.with_borrow_mut(|idle| idle.push(s));
    }

    /// Hang up on every idle helper and reap it (when the command ends);
    /// the first helper that ended badly is reported.
    pub async fn finish_all() -> anyhow::Result<()> {
        let all: Vec<Started> = IDLE.with_borrow_mut(std::mem::take);
        let mut first_err = None;
        for s in all {
            if let Err(e) = s.finish().await {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// A started helper with the path it was started from.
pub struct Started {
    pub kind: HelperKind,
    pub path: PathBuf,
    pub helper: Helper,
}

/// How long a helper gets to exit after we hang up.
pub const EXIT_GRACE: Duration = Duration::from_secs(5);

pub async fn start(kind: HelperKind, cfg: &EngineConfig) -> anyhow::Result<Started> {
    start_with(kind, cfg, &[]).await
}

/// Start a helper with extra `serve` flags (e.g. ctr-monitor's `--detach`).
pub async fn start_with(
    kind: HelperKind,
    cfg: &EngineConfig,
    serve_flags: &[&str],
) -> anyhow::Result<Started> {
    start_full(kind, cfg, serve_flags, false, &[]).await
}

/// Set beside GLIBC_TUNABLES when podman chose the monitor's tunables.
const MONITOR_TUNED_ENV: &str = "PODMAN_RS_MONITOR_TUNED";

async fn start_full(
    kind: HelperKind,
    cfg: &EngineConfig,
    serve_flags: &[&str],
    inherit_stdio: bool,
    extra_fds: &[(std::os::fd::BorrowedFd<'_>, std::os::fd::RawFd)],
) -> anyhow::Result<Started> {
    let path =
        common::paths::find_helper(kind.binary(), &cfg.containers.engine.helper_binaries_dir)?;
    let mut args = kind.args(cfg);
    args.extend(serve_flags.iter().map(OsString::from));
    // A monitor lives as long as its container: glibc's per-thread cache
    // of freed chunks is ~25 kB of its idle memory (a tenth). Off, unless
    // the user set glibc tunables themselves; the monitor takes the
    // variable out again before it runs anything (see ctr-monitor's
    // footprint::untune_children).
    let env: &[(&str, &str)] =
        if kind == HelperKind::Monitor && std::env::var_os("GLIBC_TUNABLES").is_none() {
            &[
                ("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0"),
                (MONITOR_TUNED_ENV, "1"),
            ]
        } else {
            &[]
        };
    let helper = proto::transport::spawn_helper_fds(
        kind.binary(),
        &path,
        &args,
        inherit_stdio,
        extra_fds,
        env,
    )
    .await?;
    Ok(Started { kind, path, helper })
}

impl Started {
    /// Hang up and reap the helper; a helper that ended badly is reported.
    pub async fn finish(mut self) -> anyhow::Result<()> {
        self.finish_ref().await
    }

    async fn finish_ref(&mut self) -> anyhow::Result<()> {
        let name = self.kind.binary();
        let status = self.helper.finish(EXIT_GRACE).await?;
        if !status.success() {
            anyhow::bail!(
                "helper {name} {} after its work was done",
                proto::transport::describe_exit(status)
            );
        }
        Ok(())
    }
}

/// A started helper with a typed client, for commands that make several
/// calls. Every call goes through [`proto::transport::Helper::call`], so it
/// is logged with its duration and a helper's death is explained.
pub struct Session<C> {
    started: Started,
    client: C,
}

impl<C: Clone> Session<C> {
    pub async fn open(
        kind: HelperKind,
        cfg: &EngineConfig,
        make: impl FnOnce(tonic::transport::Channel) -> C,
    ) -> anyhow::Result<Self> {
        Self::open_with(kind, cfg, &[], make).await
    }

    pub async fn open_with(
        kind: HelperKind,
        cfg: &EngineConfig,
        serve_flags: &[&str],
        make: impl FnOnce(tonic::transport::Channel) -> C,
    ) -> anyhow::Result<Self> {
        let reused = if serve_flags.is_empty() && kind.reusable() {
            idle::take(kind)
        } else {
            None
        };
        let started = match reused {
            Some(s) => s,
            None => start_with(kind, cfg, serve_flags).await?,
        };
        let client = make(started.helper.channel()?);
        Ok(Session { started, client })
    }

    /// Make one call: `s.call("ListImages", |mut c| async move { c.list_images(req).await })`.
    pub async fn call<T, F, Fut>(&mut self, method: &str, f: F) -> Result<T, TransportError>
    where
        F: FnOnce(C) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let fut = f(self.client.clone());
        self.started.helper.call(method, fut).await
    }

    /// Hang up on the helper and reap it (never kept for reuse).
    pub async fn finish(self) -> anyhow::Result<()> {
        let Session { started, client } = self;
        drop(client);
        started.finish().await
    }

    /// Done with the helper for now. A storage-helper or net-setup is kept
    /// for the next step of the same command (see [`idle`]); others are
    /// hung up on and reaped (the client's channel is dropped first: the
    /// connection closes only when no clone of it is left).
    pub async fn close(self) -> anyhow::Result<()> {
        let Session { started, client } = self;
        drop(client);
        if started.kind.reusable() {
            idle::put(started);
            return Ok(());
        }
        started.finish().await
    }
}

pub type StorageClient =
    proto::storage::v1::storage_client::StorageClient<tonic::transport::Channel>;
pub type FetcherClient =
    proto::fetcher::v1::fetcher_client::FetcherClient<tonic::transport::Channel>;

pub type MonitorClient =
    proto::monitor::v1::monitor_client::MonitorClient<tonic::transport::Channel>;
pub type NetClient =
    proto::netsetup::v1::net_setup_client::NetSetupClient<tonic::transport::Channel>;

pub async fn net(cfg: &EngineConfig) -> anyhow::Result<Session<NetClient>> {
    Session::open(HelperKind::Net, cfg, NetClient::new).await
}

/// A new monitor that detaches from us and outlives this podman. With
/// `passthrough` it holds our own stdio for the container (log driver
/// passthrough); `attach` is the monitor's end of an attach connection made
/// before the container exists; `hold`: descriptors the monitor keeps until
/// the container exits (host port reservations).
pub async fn monitor_detached(
    cfg: &EngineConfig,
    passthrough: bool,
    attach: Option<std::os::fd::BorrowedFd<'_>>,
    preserve_fds: &[(std::os::fd::BorrowedFd<'_>, u32)],
    hold: &[std::os::fd::BorrowedFd<'_>],
) -> anyhow::Result<Session<MonitorClient>> {
    let fd = proto::transport::EXTRA_FD.to_string();
    let mut flags: Vec<String> = vec!["--detach".into()];
    let mut fds = Vec::new();
    if let Some(a) = attach {
        flags.extend(["--attach-fd".into(), fd]);
        fds.push((a, proto::transport::EXTRA_FD));
    }
    // `--preserve-fds`: our descriptors, handed on at the same numbers.
    for (i, &(fd, target)) in preserve_fds.iter().enumerate() {
        fds.push((fd, proto::transport::PRESERVED_FDS_BASE + i as i32));
        flags.extend(["--preserve-fd".into(), target.to_string()]);
    }
    // Host port reservations: held by the monitor, after the preserved.
    let base = proto::transport::PRESERVED_FDS_BASE + preserve_fds.len() as i32;
    for (i, &fd) in hold.iter().enumerate() {
        fds.push((fd, base + i as i32));
    }
    if !hold.is_empty() {
        flags.extend(["--hold-fds".into(), hold.len().to_string()]);
    }
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let started = start_full(HelperKind::Monitor, cfg, &flags, passthrough, &fds).await?;
    let client = MonitorClient::new(started.helper.channel()?);
    Ok(Session { started, client })
}

pub async fn storage(cfg: &EngineConfig) -> anyhow::Result<Session<StorageClient>> {
    // As libpod's runtime, the state database's configuration is checked
    // before the store is used: a store made with another driver or run
    // root is refused in libpod's words ("database configuration mismatch").
    drop(crate::state::pool::open_state(cfg)?);
    Session::open(HelperKind::Storage, cfg, StorageClient::new).await
}

/// A storage-helper of its own holding `data` (podman's stdin or stdout)
/// for one Copy call (`podman cp -`). End it with [`Session::finish`], so
/// the descriptor is closed when the copy is done.
pub async fn storage_with_data(
    cfg: &EngineConfig,
    data: std::os::fd::BorrowedFd<'_>,
) -> anyhow::Result<Session<StorageClient>> {
    let fd = proto::transport::EXTRA_FD.to_string();
    let started = start_full(
        HelperKind::Storage,
        cfg,
        &["--data-fd", &fd],
        false,
        &[(data, proto::transport::EXTRA_FD)],
    )
    .await?;
    let client = StorageClient::new(started.helper.channel()?);
    Ok(Session { started, client })
}

/// Every container storage knows, over an open storage session.
pub async fn storage_containers(
    s: &mut Session<StorageClient>,
) -> Result<Vec<proto::storage::v1::Container>, TransportError> {
    s.call("ListContainers", |mut c| async move {
        c.list_containers(proto::storage::v1::ListContainersRequest {})
            .await
    })
    .await
    .map(|r| r.containers)
}

pub async fn fetcher(cfg: &EngineConfig) -> anyhow::Result<Session<FetcherClient>> {
    Session::open(HelperKind::Fetcher, cfg, FetcherClient::new).await
}

/// Refuse a helper from another build.
pub fn check_identity(name: &str, id: Option<&Identity>) -> Result<Identity, TransportError> {
    let id = id.cloned().unwrap_or_default();
    if id.api_version != proto::API_VERSION {
        return Err(TransportError::Version {
            name: name.to_string(),
            got: id.api_version,
            want: proto::API_VERSION,
        });
    }
    Ok(id)
}

/// Each helper's Info answer.
pub enum InfoAnswer {
    Fetcher(proto::fetcher::v1::InfoResponse),
    Storage(proto::storage::v1::InfoResponse),
    Net(proto::netsetup::v1::InfoResponse),
    Monitor(proto::monitor::v1::InfoResponse),
}

impl InfoAnswer {
    pub fn identity(&self) -> Option<&Identity> {
        match self {
            InfoAnswer::Fetcher(r) => r.identity.as_ref(),
            InfoAnswer::Storage(r) => r.identity.as_ref(),
            InfoAnswer::Net(r) => r.identity.as_ref(),
            InfoAnswer::Monitor(r) => r.identity.as_ref(),
        }
    }
}

/// Start one helper, ask its Info, hang up. Returns the answer and the
/// binary's path.
pub async fn info(
    kind: HelperKind,
    cfg: &EngineConfig,
    req: InfoRequest,
) -> anyhow::Result<(InfoAnswer, PathBuf)> {
    let mut s = start(kind, cfg).await?;
    let answer = ask_info(&mut s, req).await;
    // Reap the helper whether or not the call worked, so none is left behind.
    let finished = s.finish_ref().await;
    let answer = answer?;
    finished?;
    Ok((answer, s.path))
}

async fn ask_info(s: &mut Started, req: InfoRequest) -> anyhow::Result<InfoAnswer> {
    let ch = s.helper.channel()?;
    let answer = match s.kind {
        HelperKind::Fetcher => {
            let mut c = proto::fetcher::v1::fetcher_client::FetcherClient::new(ch);
            InfoAnswer::Fetcher(s.helper.call("Info", c.info(req)).await?)
        }
        HelperKind::Storage => {
            let mut c = proto::storage::v1::storage_client::StorageClient::new(ch);
            InfoAnswer::Storage(s.helper.call("Info", c.info(req)).await?)
        }
        HelperKind::Net => {
            let mut c = proto::netsetup::v1::net_setup_client::NetSetupClient::new(ch);
            InfoAnswer::Net(s.helper.call("Info", c.info(req)).await?)
        }
        HelperKind::Monitor => {
            let mut c = proto::monitor::v1::monitor_client::MonitorClient::new(ch);
            InfoAnswer::Monitor(s.helper.call("Info", c.info(req)).await?)
        }
    };
    check_identity(s.kind.binary(), answer.identity())?;
    Ok(answer)
}

/// Info from all four helpers, started in parallel.
pub async fn info_all(
    cfg: &EngineConfig,
    req: InfoRequest,
) -> anyhow::Result<Vec<(InfoAnswer, PathBuf)>> {
    let (a, b, c, d) = tokio::join!(
        info(HelperKind::Fetcher, cfg, req.clone()),
        info(HelperKind::Storage, cfg, req.clone()),
        info(HelperKind::Net, cfg, req.clone()),
        info(HelperKind::Monitor, cfg, req),
    );
    Ok(vec![a?, b?, c?, d?])
}
