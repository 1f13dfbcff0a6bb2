//! Bringing a container up: mount its rootfs, set up its network, write
//! its bundle, hand it to a new detached ctr-monitor (`runtime create`),
//! then `runtime start`. Each step that fails undoes the ones before it.

use anyhow::Context;
use proto::monitor::v1::{CreateContainerRequest, LogDriver, StartContainerRequest};
use proto::storage::v1::{MountRequest, UnmountRequest};

use super::paths::{ContainerLock, ContainerPaths};
use crate::container::model::{ContainerConfig, ContainerState, Status};
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::helper_procs::{self, MonitorClient, Session};
use crate::spec::{self, SpecContext};

/// This podman, with the global flags that find this store, as the
/// monitor runs it later on the container's behalf.
fn podman_command(engine: &EngineConfig) -> Vec<String> {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "podman".into());
    let mut v = vec![
        exe,
        "--root".into(),
        engine.graph_root.display().to_string(),
        "--runroot".into(),
        engine.run_root.display().to_string(),
        "--log-level".into(),
        engine.log_level.clone(),
    ];
    v.extend(crate::events::exit_command_args());
    v
}

/// The command the monitor runs when the container exits.
fn exit_command(engine: &EngineConfig, cfg: &ContainerConfig) -> Vec<String> {
    let mut v = podman_command(engine);
    v.extend(["container".into(), "cleanup".into()]);
    if cfg.auto_remove {
        v.push("--rm".into());
    }
    v.push(cfg.id.clone());
    v
}

/// The healthcheck timer: `podman healthcheck run ID` every interval, the
/// startup check's while `startup_pending`. The command is there whenever
/// a check is (a disabled interval is 0), so SetTimer can change it later.
pub(super) fn health_timer(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    startup_pending: bool,
) -> (Vec<String>, u64) {
    match &cfg.extra.healthcheck {
        Some(h) if h.is_active() => {
            let mut v = podman_command(engine);
            v.extend(["healthcheck".into(), "run".into(), cfg.id.clone()]);
            let ns = match &h.startup {
                Some(s) if startup_pending => s.interval_ns,
                _ => h.interval_ns,
            };
            (v, (ns.max(0) / 1_000_000) as u64)
        }
        _ => (Vec::new(), 0),
    }
}

/// A container handed to its monitor, not yet started.
pub struct Initialized {
    pub monitor: Session<MonitorClient>,
}

/// Create the container in the runtime under a new monitor. The caller holds
/// the container lock; `st` is updated and saved.
/// `stdin_once`: the attached caller's end of input closes the container's
/// stdin (`run -i` in the foreground); detached containers keep it open.
pub async fn init(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    st: &mut ContainerState,
    paths: &ContainerPaths,
    stdin_once: bool,
) -> anyhow::Result<Initialized> {
    init_with(
        engine,
        cfg,
        st,
        paths,
        Handover {
            stdin_once,
            ..Handover::default()
        },
    )
    .await
}

/// How the new monitor takes the container.
#[derive(Default)]
pub struct Handover {
    /// The attached caller's end of input closes the container's stdin
    /// (`run -i` in the foreground); detached containers keep it open.
    pub stdin_once: bool,
    /// Start it too, in the same runtime call (`run`); `st` then says
    /// running.
    pub start: bool,
    /// The monitor's end of an attach connection made before the container
    /// exists: the caller's end sees all output from the first byte.
    pub attach: Option<std::os::fd::OwnedFd>,
    /// `run --preserve-fds`: handed to the container at their numbers.
    pub preserve_fds: Option<std::sync::Arc<super::preserve_fds::Preserved>>,
}

/// Whether any of podman's stdio is a terminal.
pub fn on_a_terminal() -> bool {
    [0, 1, 2]
        .into_iter()
        .any(|fd| nix::unistd::isatty(fd).unwrap_or(false))
}

/// [`init`] with every option.
pub async fn init_with(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    st: &mut ContainerState,
    paths: &ContainerPaths,
    handover: Handover,
) -> anyhow::Result<Initialized> {
    super::pod::before_start(engine, cfg).await?;
    start_dependencies(engine, cfg).await?;
    let db = crate::state::open_state(engine)?;
    let log_driver = log_driver_of(cfg);
    // A container handed our terminal could type into it (TIOCSTI): Podman
    // allows that only with passthrough-tty (checked at create too; a later
    // `start` may run on a terminal).
    if cfg.log_driver == "passthrough" && on_a_terminal() {
        anyhow::bail!("--log-driver passthrough is not allowed on a terminal (the container could inject input with TIOCSTI): redirect podman's stdio or use --log-driver passthrough-tty");
    }
    // The monitor starts first: its exec and start-up overlap the mount,
    // the network and the bundle. Until it gets a container it leaves when
    // we hang up, so every early return below just drops it.
    // Published host ports are bound first (libpod's bindPorts): a port
    // another process holds fails the start before anything is made, and
    // the monitor holds them while the container runs.
    let reserved = super::port_reserve::reserve(engine, cfg)?;
    let hold: Vec<std::os::fd::BorrowedFd<'_>> =
        reserved.0.iter().map(std::os::fd::AsFd::as_fd).collect();
    let monitor = helper_procs::monitor_detached(
        engine,
        log_driver == LogDriver::Passthrough,
        handover.attach.as_ref().map(std::os::fd::AsFd::as_fd),
        &handover
            .preserve_fds
            .as_ref()
            .map(|p| p.borrowed())
            .unwrap_or_default(),
        &hold,
    )
    .await?;
    drop(hold);
    drop(reserved);
    let mut storage = helper_procs::storage(engine).await?;
    // Until the database says what was set up, the record tells `reconcile`
    // to undo a start whose command died (the caller holds the lock).
    super::intent::begin(engine, &cfg.id, super::intent::Op::Start)?;
    // The rootfs and the network do not depend on each other until the
    // runtime needs both: the storage helper's mount and the network's
    // setup (its helper's start, the netns, veths, rules) run side by side.
    let req = MountRequest { id: cfg.id.clone() };
    let (mounted, net) = tokio::join!(
        storage.call("Mount", |mut c| async move { c.mount(req).await }),
        super::network::setup(engine, cfg, paths),
    );
    if let Ok(n) = &net {
        st.netns_path = n.netns_path.clone();
        st.network_status = n.status.clone();
    }
    let mountpoint = match mounted {
        Ok(m) => m.mountpoint,
        Err(e) => {
            let _ = monitor.close().await;
            if net.is_ok() {
                rollback_network(engine, cfg, st).await;
            }
            storage.close().await?;
            super::intent::end(engine, &cfg.id);
            return Err(e.into());
        }
    };
    crate::kill_point::reached("start-after-mount");
    st.mountpoint = mountpoint.clone();
    let result = match net {
        Err(e) => {
            let _ = monitor.close().await;
            Err(e)
        }
        Ok(net) => {
            crate::kill_point::reached("start-after-network");
            match super::image_mounts::mount(&mut storage, cfg, st).await {
                Ok(resolved) => {
                    init_mounted(
                        engine,
                        &resolved,
                        st,
                        paths,
                        &mountpoint,
                        handover,
                        monitor,
                        net,
                    )
                    .await
                }
                Err(e) => {
                    let _ = monitor.close().await;
                    rollback_network(engine, cfg, st).await;
                    Err(e)
                }
            }
        }
    };
    if result.is_err() {
        super::image_mounts::release(&mut storage, st).await;
        let req = UnmountRequest {
            id: cfg.id.clone(),
            force: false,
        };
        let _ = storage
            .call("Unmount", |mut c| async move { c.unmount(req).await })
            .await;
        st.mountpoint.clear();
    }
    storage.close().await?;
    let init = match result {
        Ok(i) => i,
        Err(e) => {
            super::intent::end(engine, &cfg.id);
            return Err(e);
        }
    };
    crate::kill_point::reached("start-after-runtime");
    store::update_state(&db, &cfg.id, st)?;
    crate::kill_point::reached("start-after-update");
    super::intent::end(engine, &cfg.id);
    crate::events::container(cfg, "init");
    Ok(init)
}

/// Podman's rule for a working directory given with `--workdir`: it must
/// exist in the image, or be, lie under or hold a mount (the runtime makes
/// it then); the image's own WorkingDir is made by the runtime. Exit 126,
/// as Podman.
fn check_workdir(cfg: &ContainerConfig, rootfs: &str) -> anyhow::Result<()> {
    let dir = cfg.working_dir.as_str();
    if !cfg.extra.workdir_explicit || dir.is_empty() || dir == "/" {
        return Ok(());
    }
    // A mount at, above or below it: the runtime makes the directory.
    let under = |a: &str, b: &str| a.strip_prefix(b).is_some_and(|rest| rest.starts_with('/'));
    let dir = dir.trim_end_matches('/');
    let on_mount = cfg.mounts.iter().any(|m| {
        let d = m.destination.trim_end_matches('/');
        dir == d || under(dir, d) || under(d, dir)
    });
    if on_mount {
        return Ok(());
    }
    let root = common::in_root::open_dir(std::path::Path::new(rootfs))?;
    let rel = std::path::Path::new(dir.trim_start_matches('/'));
    match common::in_root::open_dir_in_root(std::os::fd::AsFd::as_fd(&root), rel) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {
            Err(crate::error::ExitError {
                code: crate::error::EXIT_CANNOT_INVOKE,
                source: anyhow::anyhow!("workdir {dir:?} does not exist on container {}", cfg.id),
            }
            .into())
        }
        Err(e) => Err(anyhow::anyhow!(
            "checking workdir {dir:?} of container {}: {e}",
            cfg.id
        )),
    }
}

/// Undo a network setup whose start failed later.
async fn rollback_network(engine: &EngineConfig, cfg: &ContainerConfig, st: &mut ContainerState) {
    if let Err(e) = super::network::teardown(engine, cfg, st).await {
        tracing::warn!(error = %e, "rolling back network setup");
    }
    st.netns_path.clear();
    st.network_status = serde_json::Value::Null;
}

/// The rest of a start once the rootfs is mounted and the network set up
/// (`net`, already recorded in `st`); on failure the network is torn down.
#[allow(clippy::too_many_arguments)]
async fn init_mounted(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    st: &mut ContainerState,
    paths: &ContainerPaths,
    rootfs: &str,
    handover: Handover,
    monitor: Session<MonitorClient>,
    net: super::network::NetResult,
) -> anyhow::Result<Initialized> {
    if let Err(e) = check_workdir(cfg, rootfs) {
        let _ = monitor.close().await;
        rollback_network(engine, cfg, st).await;
        return Err(e);
    }
    // Volumes become bind mounts of their data (mounted and filled first);
    // subpaths are mounted by handle until the runtime has made its own.
    let mut subpaths = None;
    let prepared = super::passwd::add(cfg, std::path::Path::new(rootfs))
        .and_then(|()| super::files::mtab_link(std::path::Path::new(rootfs)))
        .and_then(|()| {
            crate::volume::attach::mount_for_start(
                engine,
                cfg,
                st,
                std::path::Path::new(rootfs),
                &paths.bundle.join("overlay"),
                || container_ids(cfg, rootfs),
            )
        })
        .and_then(|(resolved, sp)| {
            subpaths = Some(sp);
            bundle_and_request(engine, &resolved, paths, rootfs, &net, &handover)
        });
    let result = match prepared {
        Ok(req) => hand_to_monitor(cfg, st, paths, req, handover, monitor).await,
        Err(e) => {
            let _ = monitor.close().await;
            Err(e)
        }
    };
    drop(subpaths);
    if result.is_err() {
        if let Err(e) = crate::volume::attach::release(engine, &cfg.id, st) {
            tracing::warn!(error = %e, "rolling back volume mounts");
        }
        rollback_network(engine, cfg, st).await;
    }
    result
}

/// The container user's IDs, for chowning volumes and `U` binds.
fn container_ids(
    cfg: &ContainerConfig,
    rootfs: &str,
) -> anyhow::Result<crate::volume::attach::UserIds> {
    if cfg.user.is_empty() {
        return Ok(None);
    }
    let u = spec::user::resolve(std::path::Path::new(rootfs), &cfg.user, &cfg.groups)?;
    Ok(Some((u.uid, u.gid)))
}

/// Hand the container to its monitor (`runtime create`, or `run` with
/// `handover.start`) and record what it reports in `st`.
async fn hand_to_monitor(
    cfg: &ContainerConfig,
    st: &mut ContainerState,
    paths: &ContainerPaths,
    req: CreateContainerRequest,
    handover: Handover,
    mut monitor: Session<MonitorClient>,
) -> anyhow::Result<Initialized> {
    let created = monitor
        .call("CreateContainer", |mut c| async move {
            c.create_container(req).await
        })
        .await;
    let created = match created {
        Ok(c) => c,
        Err(e) => {
            let _ = monitor.close().await;
            return Err(crate::error::start_error(&cfg.command_line(), e));
        }
    };
    drop(handover.attach);
    st.pid = created.pid;
    st.monitor_pid = created.monitor_pid;
    st.bundle_path = paths.bundle.display().to_string();
    st.status = Status::Created;
    st.error.clear();
    if handover.start {
        set_running(st, created.started_at_unix_nanos);
    }
    Ok(Initialized { monitor })
}

fn log_driver_of(cfg: &ContainerConfig) -> LogDriver {
    match cfg.log_driver.as_str() {
        "none" => LogDriver::None,
        "passthrough" | "passthrough-tty" => LogDriver::Passthrough,
        _ => LogDriver::K8sFile,
    }
}

/// Write the bundle (managed files, config.json) and build the monitor's
/// request.
fn bundle_and_request(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    paths: &ContainerPaths,
    rootfs: &str,
    net: &super::network::NetResult,
    handover: &Handover,
) -> anyhow::Result<CreateContainerRequest> {
    let managed = super::files::write(
        &paths.bundle,
        engine,
        cfg,
        net,
        std::path::Path::new(rootfs),
    )
    .with_context(|| format!("writing {}", paths.bundle.display()))?;
    let managed = super::pod::shared_files(engine, cfg, managed)?;
    let mut managed = chroot_copies(managed, &cfg.extra.chrootdirs);
    let owner = cfg.extra.idmap.as_ref().map(|m| {
        use crate::container::idmap::to_host;
        (
            to_host(&m.uid_map, 0).unwrap_or(0),
            to_host(&m.gid_map, 0).unwrap_or(0),
        )
    });
    // mounts.conf: after the managed files, so a line naming one of them
    // does not hide it; a user's mount at the same place wins (spec).
    for (dest, copy) in
        super::subscriptions::mounts(engine.default_mounts_file.as_deref(), &paths.bundle, owner)?
    {
        if !managed.iter().any(|(d, _)| *d == dest) {
            managed.push((dest, copy));
        }
    }
    let init_path = if cfg.init {
        Some(if cfg.extra.init_path.is_empty() {
            find_init(engine)?
        } else {
            cfg.extra.init_path.clone().into()
        })
    } else {
        None
    };
    let localtime = if cfg.extra.timezone.is_empty() {
        None
    } else {
        Some(super::create_more::timezone(&cfg.extra.timezone)?)
    };
    let containerenv = super::files::containerenv(&paths.bundle, cfg)
        .with_context(|| format!("writing {}", paths.bundle.display()))?;
    if let Some(m) = &cfg.extra.idmap {
        share_with_userns(&paths.bundle, std::path::Path::new(rootfs), m).with_context(|| {
            format!(
                "opening {} and {} to the container's root",
                paths.bundle.display(),
                rootfs
            )
        })?;
    }
    let mut joined_namespaces = joined_namespaces(engine, cfg)?;
    if let Some(u) = &net.userns {
        joined_namespaces.push(("user".to_string(), u.path()));
    }
    let secret_files = super::secrets::prepare(cfg, &paths.data_dir, &paths.bundle)?;
    let secret_env = super::secrets::environment(engine, cfg)?;
    let with_secrets;
    let cfg = if secret_env.is_empty() {
        cfg
    } else {
        let mut c = cfg.clone();
        c.env.extend(secret_env);
        with_secrets = c;
        &with_secrets
    };
    let ctx = SpecContext {
        rootfs: std::path::Path::new(rootfs),
        netns: net.netns.clone(),
        cgroups_path: super::cgroups::cgroups_path(engine, cfg),
        managed_files: managed,
        secret_files,
        default_capabilities: engine.containers.containers.default_capabilities.as_deref(),
        init_path,
        localtime,
        containerenv: Some(containerenv),
        joined_namespaces,
    };
    let oci = spec::generate(cfg, &ctx)?;
    spec::write(&oci, &paths.bundle)?;
    let log_driver = log_driver_of(cfg);
    let (rows, cols) = if cfg.terminal {
        super::attach::terminal_size().unwrap_or((0, 0))
    } else {
        (0, 0)
    };
    let mut runtime_args = vec![
        "--root".to_string(),
        paths.runtime_root.display().to_string(),
    ];
    if engine.cgroup_manager == "systemd" {
        runtime_args.push("--systemd-cgroup".into());
    }
    runtime_args.extend(super::cgroups::runtime_args(cfg));
    runtime_args.extend(
        engine
            .runtime_flags_for(&cfg.runtime)
            .iter()
            .map(|f| format!("--{}", f.trim_start_matches('-'))),
    );
    // Every start begins with the startup check, if there is one.
    let (timer_command, timer_interval_ms) = health_timer(engine, cfg, true);
    if cfg
        .extra
        .healthcheck
        .as_ref()
        .is_some_and(|h| h.is_active())
    {
        super::health::reset(paths, cfg)?;
    }
    let req = CreateContainerRequest {
        id: cfg.id.clone(),
        bundle: paths.bundle.display().to_string(),
        runtime: cfg.runtime.clone(),
        runtime_args,
        create_args: vec![],
        pid_file: cfg.extra.pid_file.clone(),
        socket_dir: paths.socket_dir.display().to_string(),
        exit_dir: paths.exit_dir.display().to_string(),
        exit_command: exit_command(engine, cfg),
        log_driver: log_driver as i32,
        log_path: if log_driver == LogDriver::K8sFile {
            cfg.log_path.display().to_string()
        } else {
            String::new()
        },
        log_size_max: cfg.extra.log_size_max,
        terminal: cfg.terminal,
        stdin: cfg.stdin,
        stdin_once: cfg.stdin && handover.stdin_once,
        rows,
        cols,
        delete_after_exit: true,
        monitor_pid_file: cfg.extra.monitor_pid_file.clone(),
        start: handover.start,
        timeout_seconds: cfg.extra.timeout,
        timer_command,
        timer_interval_ms,
    };
    // Stale exit files from an earlier run would be read as this run's end.
    let _ = std::fs::remove_file(paths.exit_file(&cfg.id));
    let _ = std::fs::remove_file(paths.exit_json(&cfg.id));
    Ok(req)
}

/// The bundle's files (hosts, resolv.conf, ... bind-mounted into the
/// container) belong to the container's root, as in Podman: the runtime
/// mounts them from inside the user namespace.
/// The directories above them get search permission for all (`--x`), as
/// Podman's makeAccessible does: never read, only traversal.
fn share_with_userns(
    bundle: &std::path::Path,
    rootfs: &std::path::Path,
    m: &crate::container::idmap::IdMappings,
) -> std::io::Result<()> {
    use crate::container::idmap::to_host;
    let uid = to_host(&m.uid_map, 0).unwrap_or(0);
    let gid = to_host(&m.gid_map, 0).unwrap_or(0);
    if (uid, gid) == (0, 0) {
        return Ok(());
    }
    for p in [rootfs, bundle] {
        make_accessible(p.parent().unwrap_or(p), uid, gid)?;
    }
    std::os::unix::fs::chown(bundle, Some(uid), Some(gid))?;
    for e in std::fs::read_dir(bundle)? {
        let e = e?;
        if e.file_type()?.is_file() && e.file_name() != "config.json" {
            std::os::unix::fs::lchown(e.path(), Some(uid), Some(gid))?;
        }
    }
    Ok(())
}

/// Give `path` and every directory above it search permission for all,
/// except those `uid:gid` already owns.
fn make_accessible(path: &std::path::Path, uid: u32, gid: u32) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    for dir in path
        .ancestors()
        .take_while(|p| *p != std::path::Path::new("/"))
    {
        let md = std::fs::metadata(dir)?;
        if (md.uid(), md.gid()) == (uid, gid) || md.mode() & 0o111 == 0o111 {
            continue;
        }
        std::fs::set_permissions(
            dir,
            std::fs::Permissions::from_mode((md.mode() & 0o7777) | 0o111),
        )?;
    }
    Ok(())
}

/// `--ipc/--pid/--uts container:ID`: that container's namespaces, which
/// must be running.
fn joined_namespaces(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
) -> anyhow::Result<Vec<(String, String)>> {
    let x = &cfg.extra;
    let wanted: Vec<(&str, &str)> = [
        ("ipc", &x.ipc),
        ("pid", &x.pid),
        ("uts", &x.uts),
        ("user", &x.userns),
        ("cgroup", &x.cgroupns),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.strip_prefix("container:").map(|id| (k, id)))
    .collect();
    if wanted.is_empty() {
        return Ok(vec![]);
    }
    let db = crate::state::open_state(engine)?;
    let mut out = Vec::new();
    for (kind, id) in wanted {
        let (other, st) = store::resolve(&db, id)?;
        if st.status != Status::Running || st.pid <= 0 {
            anyhow::bail!(
                "cannot join the {kind} namespace of container {}: it is not running",
                other.name
            );
        }
        out.push((kind.to_string(), format!("/proc/{}/ns/{kind}", st.pid)));
    }
    Ok(out)
}

/// Path of an init binary for `--init`: containers.conf `init_path`, else
/// catatonit or tini from the host.
fn find_init(engine: &EngineConfig) -> anyhow::Result<std::path::PathBuf> {
    if let Some(p) = &engine.containers.containers.init_path {
        return Ok(p.into());
    }
    for c in [
        "/usr/libexec/podman/catatonit",
        "/usr/bin/catatonit",
        "/usr/bin/tini-static",
        "/usr/bin/tini",
    ] {
        if common::paths::is_executable(std::path::Path::new(c)) {
            return Ok(c.into());
        }
    }
    anyhow::bail!("--init needs an init binary: install catatonit or tini, or set init_path in containers.conf")
}

fn set_running(st: &mut ContainerState, started_ns: i64) {
    st.status = Status::Running;
    st.started_ns = started_ns;
    st.stopped_by_user = false;
    st.exit_code = 0;
    st.finished_ns = 0;
}

/// The "start" event.
pub fn record_start(_db: &crate::state::State, cfg: &ContainerConfig) -> anyhow::Result<()> {
    crate::events::container(cfg, "start");
    Ok(())
}

/// `podman start` of a created or exited container (not attaching).
pub async fn start(engine: &EngineConfig, name_or_id: &str) -> anyhow::Result<ContainerConfig> {
    let db = crate::state::open_state(engine)?;
    let (cfg, _) = store::resolve(&db, name_or_id)?;
    let paths = ContainerPaths::new(engine, &cfg.id);
    let _lock = ContainerLock::acquire(&paths)?;
    let (cfg, mut st) = store::resolve(&db, &cfg.id)?;
    if st.status.is_active() {
        return Ok(cfg);
    }
    if is_initialized(&st) {
        start_via_socket(engine, &cfg, &mut st, &paths).await?;
        return Ok(cfg);
    }
    // Created and started in one runtime call.
    let handover = Handover {
        start: true,
        ..Handover::default()
    };
    let init = init_with(engine, &cfg, &mut st, &paths, handover).await?;
    init.monitor.close().await?;
    record_start(&*crate::state::open_state(engine)?, &cfg)?;
    Ok(cfg)
}

/// `--chrootdirs`: each managed file also under each chroot directory.
fn chroot_copies(
    managed: Vec<(String, std::path::PathBuf)>,
    chroots: &[String],
) -> Vec<(String, std::path::PathBuf)> {
    let mut out = managed.clone();
    for dir in chroots {
        for (dest, host) in &managed {
            out.push((format!("{}{dest}", dir.trim_end_matches('/')), host.clone()));
        }
    }
    out
}

/// Start what `cfg` depends on (`--requires`, the containers whose
/// namespaces it joins) that is not running, as libpod's recursive start.
async fn start_dependencies(engine: &EngineConfig, cfg: &ContainerConfig) -> anyhow::Result<()> {
    for dep in &cfg.dependencies {
        let db = crate::state::open_state(engine)?;
        let found = store::resolve(&db, dep).map_err(|e| {
            anyhow::anyhow!("container {} depends on container {dep}: {e}", cfg.name)
        })?;
        drop(db);
        let (_, st) = Box::pin(super::cleanup::refresh(engine, found)).await?;
        if st.status == Status::Paused {
            anyhow::bail!(
                "container {} depends on container {dep}, which is paused: unpause it first",
                cfg.name
            );
        }
        if !st.status.is_active() {
            Box::pin(start(engine, dep)).await?;
        }
    }
    Ok(())
}

/// Created in the runtime by `podman init`, not started yet.
pub fn is_initialized(st: &ContainerState) -> bool {
    st.status == Status::Created && st.pid > 0
}

/// Start an initialized container through its monitor's socket.
pub async fn start_via_socket(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    st: &mut ContainerState,
    paths: &ContainerPaths,
) -> anyhow::Result<()> {
    let ch = proto::transport::connect_unix(&paths.monitor_socket(&cfg.id)).await?;
    let mut m = proto::monitor::v1::monitor_client::MonitorClient::new(ch);
    let r = m
        .start_container(StartContainerRequest { id: cfg.id.clone() })
        .await
        .map_err(|s| anyhow::anyhow!("starting {}: {}", cfg.name, s.message()))?;
    set_running(st, r.into_inner().started_at_unix_nanos);
    let db = crate::state::open_state(engine)?;
    store::update_state(&db, &cfg.id, st)?;
    record_start(&db, cfg)
}
