//! `podman create`: validate every flag, find (or pull) the image, then make
//! the storage container and the database record, rolling back the first
//! when the second fails. Nothing runs yet.

use std::collections::BTreeMap;

use proto::storage::v1::CreateContainerRequest;

use super::create_options::CreateOptions;
use crate::container::model::{
    ContainerConfig, ContainerState, NetworkAttachment, NetworkMode, Rlimit, Status,
};
use crate::container::{names, parse, store};
use crate::engine_config::EngineConfig;
use crate::helper_procs;
use crate::image::lookup::find;
use crate::image::pull::{PullOptions, PullPolicy};

/// Podman's default stop timeout.
pub const DEFAULT_STOP_TIMEOUT: u32 = 10;

/// Everything in the flags that can be checked without touching anything.
struct Parsed {
    mounts: Vec<crate::container::model::MountSpec>,
    ports: Vec<crate::container::model::PortMapping>,
    rlimits: Vec<Rlimit>,
    env: Vec<String>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    stop_signal: Option<i32>,
    restart: crate::container::model::RestartPolicy,
    no_new_privileges: bool,
    security_annotations: Vec<(String, String)>,
    network_mode: NetworkMode,
    networks: Vec<NetworkAttachment>,
    log_driver: String,
    more: super::create_more::More,
    /// `--userns=keep-id:uid=,gid=`'s user, when `--user` is not given.
    userns_user: Option<String>,
    /// The bytes of each `--secret` file (kept with the container).
    secret_data: Vec<Vec<u8>>,
}

fn parse_flags(cfg: &EngineConfig, a: &CreateOptions) -> anyhow::Result<Parsed> {
    if let Some(n) = &a.name {
        names::validate_name(n).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let mut mounts = Vec::new();
    for v in &a.volume {
        mounts.push(parse::volume(v)?);
    }
    for m in &a.mount {
        mounts.extend(parse::mount(m)?);
    }
    for t in &a.tmpfs {
        mounts.push(parse::tmpfs(t)?);
    }
    // containers.conf's `mounts`: every container gets them, except where
    // the user mounts something at the same place.
    let mut from_conf = Vec::new();
    for m in &cfg.containers.containers.mounts {
        let parsed =
            parse::mount(m).map_err(|e| anyhow::anyhow!("parsing containers.conf mounts: {e}"))?;
        from_conf.extend(parsed.into_iter().filter(|p| {
            !mounts
                .iter()
                .any(|u| u.destination.trim_end_matches('/') == p.destination.trim_end_matches('/'))
        }));
    }
    mounts.extend(from_conf);
    let ports = a
        .publish
        .iter()
        .map(|p| parse::publish(p))
        .collect::<Result<Vec<_>, _>>()?;
    let ports = parse::with_default_host_ips(ports, &cfg.containers.network.default_host_ips)?;
    let mut rlimits: Vec<Rlimit> =
        common::rlimits::defaults(&cfg.containers.containers.default_ulimits)?
            .into_iter()
            .map(|u| Rlimit {
                kind: u.oci_name(),
                soft: u.soft,
                hard: u.hard,
            })
            .collect();
    for u in &a.ulimit {
        // `--ulimit host`: no rlimits in the spec, so the container keeps
        // the limits podman runs with (Podman's GenRlimits).
        if u == "host" {
            rlimits.clear();
            break;
        }
        let r = parse::ulimit(u)?;
        rlimits.retain(|x| x.kind != r.kind);
        rlimits.push(r);
    }
    let mut env: Vec<String> = cfg.containers.containers.env.clone();
    for f in &a.env_file {
        env.extend(parse::env_file(f)?);
    }
    env.extend(a.env.iter().flat_map(|e| parse::env_var(e)));
    let labels = a.label.iter().map(|l| parse::label(l)).collect();
    let annotations = a.annotation.iter().map(|l| parse::label(l)).collect();
    let stop_signal = a.stop_signal.as_deref().map(parse::signal).transpose()?;
    let restart = a
        .restart
        .as_deref()
        .map(parse::restart)
        .transpose()?
        .unwrap_or_default();
    if a.rm && !matches!(restart.name.as_str(), "" | "no") {
        anyhow::bail!(
            "the --rm option conflicts with --restart {}: use one or the other",
            restart.name
        );
    }
    let conf = &cfg.containers.containers;
    let security = crate::spec::confinement::parse(&crate::spec::confinement::Request {
        security_opt: &a.security_opt,
        privileged: a.privileged,
        cap_add: &a.cap_add,
        cap_drop: &a.cap_drop,
        default_capabilities: conf.default_capabilities.as_deref(),
        seccomp_profile: conf.seccomp_profile.as_deref(),
        conf_pids_limit: conf.pids_limit,
        pids_limit: a.more.pids_limit.as_deref(),
    })?;
    if let Some(m) = &a.image_volume {
        crate::volume::attach::check_image_volume_mode(m)?;
    }
    let (network_mode, networks) = network_flags(cfg, a)?;
    super::net_mode::check_names(&a.dns, &a.add_host)?;
    let mut more = super::create_more::parse(a, network_mode == NetworkMode::Host)?;
    if more.extras.oom_score_adj.is_none() {
        more.extras.oom_score_adj = cfg.containers.containers.oom_score_adj;
    }
    if more.extras.umask.is_empty() {
        if let Some(u) = &cfg.containers.containers.umask {
            more.extras.umask = super::create_more::umask(u)?;
        }
    }
    more.extras.security = security.confinement;
    let (mut secrets, mut env_secrets) = super::secrets::parse(&a.extra.secret)?;
    let secret_data = super::secrets::resolve(cfg, &mut secrets, &mut env_secrets)?;
    more.extras.secrets = secrets;
    more.extras.env_secrets = env_secrets;
    super::create_extra::parse(&a.extra, &mut more.extras)?;
    super::create_extra::retry(cfg, &a.extra)?;
    let host_cgroups = crate::spec::resources::HostCgroups::probe();
    let (resources, warnings) = crate::spec::resources::parse(&a.resources, &host_cgroups)?;
    // Podman's words, on stderr (it prints its create warnings so).
    for w in warnings {
        eprintln!("{w}");
    }
    more.extras.resources = resources;
    more.extras.healthcheck = super::health::parse(&a.health)?;
    more.extras.workdir_explicit = a.workdir.is_some();
    let discarded = match network_mode {
        NetworkMode::None => Some("none"),
        NetworkMode::Host => Some("host"),
        NetworkMode::Container(_) => Some("container"),
        NetworkMode::Path(_) => Some("path"),
        _ => None,
    };
    let ports = if let (false, Some(mode)) = (ports.is_empty(), discarded) {
        // Podman's words, on stderr before the container's output.
        eprintln!("Port mappings have been discarded because {mode:?} network namespace mode does not support them");
        Vec::new()
    } else {
        ports
    };
    let log_driver = more
        .log_driver
        .clone()
        .or_else(|| a.log_driver.clone())
        .or_else(|| cfg.containers.containers.log_driver.clone())
        .unwrap_or_else(|| "k8s-file".into());
    // As Podman, at create: a container handed our terminal could type into
    // it (TIOCSTI); only passthrough-tty says the user wants that.
    if log_driver == "passthrough" && super::start::on_a_terminal() {
        anyhow::bail!("the '--log-driver passthrough' option cannot be used on a TTY.  If you really want it, use '--log-driver passthrough-tty'");
    }
    crate::container::log_config::validate(&log_driver)?;
    crate::container::log_config::check_tag(&log_driver, &more.extras.log_tag)?;
    if more.extras.log_size_max == 0 {
        // containers.conf's limit when --log-opt max-size gives none.
        let conf = cfg.containers.containers.log_size_max.unwrap_or(-1);
        more.extras.log_size_max = u64::try_from(conf).unwrap_or(0);
    }
    Ok(Parsed {
        mounts,
        ports,
        rlimits,
        env,
        labels,
        annotations,
        stop_signal,
        restart,
        no_new_privileges: security.no_new_privileges,
        security_annotations: security.annotations,
        network_mode,
        networks,
        log_driver,
        more,
        userns_user: None,
        secret_data,
    })
}

fn network_flags(
    cfg: &EngineConfig,
    a: &CreateOptions,
) -> anyhow::Result<(NetworkMode, Vec<NetworkAttachment>)> {
    let default_net = cfg
        .containers
        .network
        .default_network
        .clone()
        .unwrap_or_else(|| "podman".into());
    super::net_mode::parse(&super::net_mode::NetFlags {
        network: &a.network,
        default_mode: cfg.containers.containers.netns.as_deref(),
        default_network: &default_net,
        aliases: &a.network_alias,
        ip: a.ip.as_deref(),
        ip6: a.more.ip6.as_deref(),
        mac: a.mac_address.as_deref(),
    })
}

/// Create the container; returns its configuration. A pod made for it
/// (`--pod new:NAME`) goes again when the container cannot be made.
pub async fn create(cfg: &EngineConfig, a: &CreateOptions) -> anyhow::Result<ContainerConfig> {
    let joined = Box::pin(super::pod::join(cfg, a)).await?;
    let new_pod = joined
        .as_ref()
        .filter(|_| !a.pod_infra && a.pod.as_deref().is_some_and(|p| p.starts_with("new:")))
        .map(|(pod, _)| pod.id.clone());
    let made = create_joined(cfg, a, joined).await;
    if let (Err(_), Some(id)) = (&made, new_pod) {
        if let Err(e) = Box::pin(super::pod_ops::remove(cfg, &id, true, Some(0))).await {
            tracing::warn!("removing pod {id} made for the container: {e:#}");
        }
    }
    made
}

async fn create_joined(
    cfg: &EngineConfig,
    a: &CreateOptions,
    joined: Option<(crate::pod::PodConfig, CreateOptions)>,
) -> anyhow::Result<ContainerConfig> {
    let a = joined.as_ref().map(|(_, o)| o).unwrap_or(a);
    let mut p = parse_flags(cfg, a)?;
    if let Some((pod, _)) = &joined {
        p.more.extras.pod = pod.id.clone();
        p.more.extras.pod_infra = a.pod_infra;
    }
    let db = crate::state::open_state(cfg)?;
    // --ipc/--pid/--uts container:NAME: the container must exist.
    let mut ns_deps = Vec::new();
    for (kind, ns) in [
        ("ipc", &mut p.more.extras.ipc),
        ("pid", &mut p.more.extras.pid),
        ("uts", &mut p.more.extras.uts),
    ] {
        if let Some(name) = ns.strip_prefix("container:") {
            let (other, _) = store::resolve(&db, name)?;
            if kind == "ipc" && other.extra.ipc_kind == "private" {
                anyhow::bail!("joining IPC of container {} is not allowed: non-shareable IPC (hint: use IpcMode:shareable for the donor container)", other.id);
            }
            *ns = format!("container:{}", other.id);
            if !ns_deps.contains(&other.id) {
                ns_deps.push(other.id);
            }
        }
    }
    // --network container:NAME joins a container that must exist (kept by
    // id, a dependency as for the other namespaces); ns:PATH must exist.
    match &mut p.network_mode {
        NetworkMode::Container(name) => {
            // Its hosts file is the other container's.
            if !a.add_host.is_empty() {
                anyhow::bail!("invalid config provided: cannot set extra host entries when the container is joined to another containers network namespace: invalid configuration");
            }
            let (other, _) = store::resolve(&db, name)?;
            *name = other.id.clone();
            if !ns_deps.contains(&other.id) {
                ns_deps.push(other.id);
            }
        }
        NetworkMode::Path(path) if !std::path::Path::new(path).exists() => {
            anyhow::bail!("cannot find specified network namespace path {path:?}: create it first (ip netns add NAME makes /run/netns/NAME)");
        }
        _ => {}
    }
    // --requires: containers started before this one.
    for r in &a.extra.requires {
        let (other, _) = store::resolve(&db, r)?;
        if !ns_deps.contains(&other.id) {
            ns_deps.push(other.id);
        }
    }
    let userns = super::create_userns::resolve(&db, std::mem::take(&mut p.more.userns))?;
    if let Some(id) = userns.mode.strip_prefix("container:") {
        if !ns_deps.iter().any(|d| d == id) {
            ns_deps.push(id.to_string());
        }
    }
    p.more.extras.userns = userns.mode;
    p.more.extras.idmap = userns.mappings;
    p.userns_user = userns.user;
    if let Some(n) = &a.name {
        if let Ok((existing, _)) = store::resolve(&db, n) {
            if existing.name == *n {
                if !a.replace {
                    return Err(store::ContainerStoreError::NameTaken {
                        name: n.clone(),
                        id: existing.id,
                        external: false,
                    }
                    .into());
                }
                super::remove::remove(cfg, &existing.id, true, false).await?;
            }
        }
    }
    // One storage-helper for the whole create: image lookup and container layer.
    let mut storage = helper_procs::storage(cfg).await?;
    if let Some(n) = &a.name {
        // Another tool's container (buildah's) in the same storage holds
        // its name there, as containers/storage refuses a duplicate.
        let external = storage
            .call("ListExternal", |mut c| async move {
                c.list_external(proto::storage::v1::ListExternalRequest {})
                    .await
            })
            .await?;
        if let Some(e) = external
            .containers
            .into_iter()
            .find(|e| e.names.iter().any(|x| x == n))
        {
            storage.close().await?;
            return Err(store::ContainerStoreError::NameTaken {
                name: n.clone(),
                id: e.id,
                external: true,
            }
            .into());
        }
    }
    let result = if a.more.rootfs {
        match super::create_more::rootfs(&a.image) {
            Ok(r) => create_from(cfg, a, p, ns_deps, &db, &mut storage, Source::Rootfs(r)).await,
            Err(e) => Err(e),
        }
    } else {
        match image_for(cfg, a, &mut storage).await {
            Ok(image) => {
                create_from(
                    cfg,
                    a,
                    p,
                    ns_deps,
                    &db,
                    &mut storage,
                    Source::Image(Box::new(image)),
                )
                .await
            }
            Err(e) => Err(e),
        }
    };
    storage.close().await?;
    result
}

/// What a container's root comes from.
enum Source {
    Image(Box<proto::storage::v1::Image>),
    /// `--rootfs PATH[:O]` (checked: an absolute directory).
    Rootfs(super::create_more::Rootfs),
}

async fn create_from(
    cfg: &EngineConfig,
    a: &CreateOptions,
    p: Parsed,
    ns_deps: Vec<String>,
    db: &crate::state::State,
    storage: &mut helper_procs::Session<helper_procs::StorageClient>,
    source: Source,
) -> anyhow::Result<ContainerConfig> {
    let (image, rootfs) = match source {
        Source::Image(i) => (*i, None),
        Source::Rootfs(r) => (proto::storage::v1::Image::default(), Some(r)),
    };
    let image_config: serde_json::Value = serde_json::from_slice(&image.config).unwrap_or_default();
    let ic = &image_config["config"];
    // `--mount type=image`: the image must be here (it is mounted at start).
    for m in p.mounts.iter().filter(|m| m.kind == "image") {
        match find(storage, &m.source).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => anyhow::bail!("{}: image not known", m.source),
            Err(e) => return Err(e.into()),
        }
    }
    let mut p = p;
    p.more.extras.healthcheck =
        super::health_config::settle(&a.health, p.more.extras.healthcheck.take(), ic)?;
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };

    let (entrypoint, cmd) = match &a.entrypoint {
        // An explicit entrypoint drops the image's cmd, as Docker does.
        Some(ep) => (
            if ep.is_empty() {
                vec![]
            } else if let Ok(list) = serde_json::from_str::<Vec<String>>(ep) {
                // Podman's JSON form: --entrypoint '["/bin/echo","x"]'.
                list
            } else {
                vec![ep.clone()]
            },
            a.command.clone(),
        ),
        None => (
            strings(&ic["Entrypoint"]),
            if a.command.is_empty() {
                strings(&ic["Cmd"])
            } else {
                a.command.clone()
            },
        ),
    };
    // A rootfs container without a command is made, as Podman makes it:
    // the runtime then fails to run the empty command (exit 127).
    let cmd = if entrypoint.is_empty() && cmd.is_empty() && rootfs.is_some() {
        vec![String::new()]
    } else {
        cmd
    };
    if entrypoint.is_empty() && cmd.is_empty() {
        anyhow::bail!("no command or entrypoint provided, and no CMD or ENTRYPOINT from image: give a command after the image name");
    }
    // `--unsetenv-all` drops the image's variables too (Podman's defaults
    // are dropped at start).
    let mut env = if p.more.extras.unsetenv_all {
        Vec::new()
    } else {
        strings(&ic["Env"])
    };
    super::create_extra::env_merge(&mut env, &a.extra.env_merge, a.tty)?;
    for e in p.more.host_env.iter().cloned().chain(p.env) {
        let key = e.split('=').next().unwrap_or("").to_string();
        env.retain(|x| x.split('=').next() != Some(key.as_str()));
        env.push(e);
    }
    let mut labels: BTreeMap<String, String> = ic["Labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default();
    labels.extend(super::create_more::merge_labels(
        p.more.file_labels,
        p.labels,
    ));
    let full_command: Vec<String> = entrypoint.iter().chain(&cmd).cloned().collect();
    p.more.extras.systemd = crate::spec::systemd::wanted(a.more.systemd.as_deref(), &full_command);
    let stop_signal = p
        .stop_signal
        .or_else(|| {
            ic["StopSignal"]
                .as_str()
                .and_then(|s| parse::signal(s).ok())
        })
        .unwrap_or(if p.more.extras.systemd {
            crate::spec::systemd::stop_signal()
        } else {
            libc::SIGTERM
        });
    let mut ports = p.ports;
    if a.publish_all {
        for e in ic["ExposedPorts"]
            .as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            ports.push(parse::publish(&e)?);
        }
    }
    for port in ports.iter_mut().filter(|p| p.host_port == 0) {
        port.host_port = free_host_port(&port.host_ip, &port.protocol, port.range)?;
    }
    let id = names::new_id()?;
    let name = match &a.name {
        Some(n) => n.clone(),
        None => names::random_name()?,
    };
    let paths = super::paths::ContainerPaths::new(cfg, &id);
    let image_seccomp = super::create_extra::image_seccomp(
        &a.extra,
        &ic["Labels"],
        p.security_annotations
            .iter()
            .any(|(k, _)| k == crate::spec::confinement::SECCOMP_ANNOTATION),
        &p.more.extras.security.capabilities,
    )?;
    if image_seccomp.is_some() {
        p.more.extras.security.seccomp_profile =
            paths.data_dir.join("seccomp.json").display().to_string();
    }
    let runtime = super::runtime::resolve(cfg).await?;
    super::create_extra::check_runtime(&p.more.extras, &runtime)?;
    super::cgroups::parse(
        &a.cgroups,
        &mut p.more.extras,
        &cfg.cgroup_manager,
        &runtime,
        crate::spec::resources::HostCgroups::probe().v2,
    )?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    let mut mounts = p.mounts;
    crate::volume::attach::volumes_from(db, &a.volumes_from, &mut mounts)?;
    let image_volume_mode = a
        .image_volume
        .clone()
        .or_else(|| cfg.containers.engine.image_volume_mode.clone())
        .unwrap_or_else(|| "anonymous".into());
    crate::volume::attach::check_image_volume_mode(&image_volume_mode)?;
    let image_volumes: Vec<String> = ic["Volumes"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    crate::volume::attach::image_volumes(&image_volumes, &image_volume_mode, &mut mounts);
    crate::volume::attach::dedupe(&mut mounts)?;
    let made_volumes = crate::volume::attach::create_volumes(cfg, db, &mut mounts)?;
    let config = ContainerConfig {
        id: id.clone(),
        name,
        image_id: image.id.clone(),
        image_name: match &rootfs {
            Some(_) => String::new(),
            None => image_name_given(&image.names, &a.image),
        },
        entrypoint,
        cmd,
        env,
        working_dir: a
            .workdir
            .clone()
            .or_else(|| ic["WorkingDir"].as_str().map(String::from))
            .unwrap_or_default(),
        user: a
            .user
            .clone()
            .or_else(|| p.userns_user.clone())
            .or_else(|| ic["User"].as_str().map(String::from))
            .unwrap_or_default(),
        groups: a.group_add.clone(),
        hostname: match &a.hostname {
            Some(h) => h.clone(),
            // In the host's UTS namespace the name is the host's.
            None if p.more.extras.uts == "host" => nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_default(),
            None => id[..12].to_string(),
        },
        labels,
        annotations: {
            let mut an = p.annotations;
            an.extend(p.security_annotations);
            if let Some(c) = &p.more.cidfile {
                an.insert(
                    super::create_more::CIDFILE_ANNOTATION.into(),
                    c.display().to_string(),
                );
            }
            an
        },
        read_only: a
            .read_only
            .or(cfg.containers.containers.read_only)
            .unwrap_or(false),
        mounts,
        cap_add: a.cap_add.clone(),
        cap_drop: a.cap_drop.clone(),
        privileged: a.privileged,
        no_new_privileges: p.no_new_privileges,
        rlimits: p.rlimits,
        init: a.init,
        stop_signal,
        stop_timeout: a.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT),
        restart: p.restart,
        terminal: a.tty,
        stdin: a.interactive,
        auto_remove: a.rm,
        log_driver: p.log_driver,
        log_path: p.more.log_path.clone().unwrap_or_else(|| paths.log_path()),
        network_mode: p.network_mode,
        networks: p.networks,
        ports,
        exposed_ports: {
            let mut e: Vec<String> = ic["ExposedPorts"]
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            for x in &p.more.expose {
                if !e.contains(x) {
                    e.push(x.clone());
                }
            }
            e
        },
        dns_servers: a.dns.clone(),
        dns_search: a.dns_search.clone(),
        add_hosts: a.add_host.clone(),
        detach_keys: a
            .detach_keys
            .clone()
            .or_else(|| cfg.containers.engine.detach_keys.clone())
            .unwrap_or_else(|| "ctrl-p,ctrl-q".into()),
        created_ns: now,
        runtime,
        dependencies: ns_deps,
        extra: {
            let mut x = p.more.extras.clone();
            if let Some(r) = &rootfs {
                x.rootfs = r.path.display().to_string();
                x.rootfs_overlay = r.overlay;
            }
            x
        },
    };
    let req = CreateContainerRequest {
        id: id.clone(),
        image: image.id.clone(),
        mount_label: String::new(),
        // Podman makes --rm containers volatile too (no fsync, overlay
        // `volatile`): they are not meant to outlive their run.
        volatile: config.auto_remove,
        id_mappings: storage_mappings(&config.extra),
        rootfs: config.extra.rootfs.clone(),
        rootfs_overlay: config.extra.rootfs_overlay,
    };
    // Held until the row exists: `reconcile` leaves a create in progress
    // alone, and removes the storage container of one that died.
    let _lock = super::paths::ContainerLock::acquire(&paths)?;
    super::intent::begin(cfg, &id, super::intent::Op::Create)?;
    if let Err(e) = storage
        .call("CreateContainer", |mut c| async move {
            c.create_container(req).await
        })
        .await
    {
        super::intent::end(cfg, &id);
        crate::volume::attach::undo(cfg, db, &made_volumes);
        return Err(e.into());
    }
    crate::kill_point::reached("create-after-storage");
    let state = ContainerState {
        status: Status::Created,
        ..Default::default()
    };
    let mut config = config;
    let mut inserted = store::insert(db, &config, &state);
    // A generated name can collide with another container's: pick another.
    for _ in 0..20 {
        match &inserted {
            Err(store::ContainerStoreError::NameInUse { .. }) if a.name.is_none() => {
                config.name = names::random_name()?;
                inserted = store::insert(db, &config, &state);
            }
            _ => break,
        }
    }
    if let Err(e) = inserted {
        // Roll back the storage container: nothing half-made stays.
        let req = proto::storage::v1::RemoveContainerRequest { id: id.clone() };
        let _ = storage
            .call("RemoveContainer", |mut c| async move {
                c.remove_container(req).await
            })
            .await;
        super::intent::end(cfg, &id);
        crate::volume::attach::undo(cfg, db, &made_volumes);
        return Err(e.into());
    }
    if !config.extra.pod.is_empty() {
        crate::pod::store::set_member(db, &id, &config.extra.pod)?;
    }
    crate::kill_point::reached("create-after-insert");
    common::private_dir::create(&paths.data_dir)?;
    let kept = super::secrets::store(&paths.data_dir, &config.extra.secrets, &p.secret_data)
        .and_then(|()| match &image_seccomp {
            Some(text) => Ok(common::atomic_file::write_atomic_mode(
                &paths.data_dir.join("seccomp.json"),
                text.as_bytes(),
                common::private_dir::FILE_MODE,
                common::atomic_file::Durability::Fsync,
            )?),
            None => Ok(()),
        })
        .and_then(|()| match &p.more.cidfile {
            Some(c) => super::create_more::write_cidfile(c, &id),
            None => Ok(()),
        });
    if let Err(e) = kept {
        // As Podman: a container whose secrets or ID file cannot be
        // written goes.
        let req = proto::storage::v1::RemoveContainerRequest { id: id.clone() };
        let _ = storage
            .call("RemoveContainer", |mut c| async move {
                c.remove_container(req).await
            })
            .await;
        let _ = store::delete(db, &id);
        let _ = std::fs::remove_dir_all(&paths.data_dir);
        super::intent::end(cfg, &id);
        crate::volume::attach::undo(cfg, db, &made_volumes);
        return Err(e);
    }
    super::intent::end(cfg, &id);
    crate::events::container_create(&config, || {
        Some(
            crate::container::inspect_doc::container_json(
                &config,
                &state,
                &cfg.storage_driver,
                None,
                cfg.containers
                    .network
                    .default_network
                    .as_deref()
                    .unwrap_or("podman"),
            )
            .to_string(),
        )
    });
    Ok(config)
}

/// The mappings the storage applies to the root file system: none for
/// the host's namespace or one where every ID is itself.
fn storage_mappings(
    x: &crate::container::model::RunExtras,
) -> Option<proto::storage::v1::IdMappings> {
    let m = x.idmap.as_ref().filter(|m| !m.is_identity())?;
    let conv = |v: &[crate::container::idmap::IdMap]| {
        v.iter()
            .map(|m| proto::storage::v1::IdMap {
                container_id: m.container_id,
                host_id: m.host_id,
                size: m.size,
            })
            .collect()
    };
    Some(proto::storage::v1::IdMappings {
        uid_map: conv(&m.uid_map),
        gid_map: conv(&m.gid_map),
    })
}

/// A free host port (or `range` consecutive ones) for `-p CTRPORT` and
/// `-P`, as Podman picks one: ask the kernel for an ephemeral port.
fn free_host_port(host_ip: &str, proto: &str, range: u16) -> anyhow::Result<u16> {
    let ip = if host_ip.is_empty() {
        "0.0.0.0"
    } else {
        host_ip
    };
    for _ in 0..20 {
        let port = if proto == "udp" {
            std::net::UdpSocket::bind((ip, 0))?.local_addr()?.port()
        } else {
            std::net::TcpListener::bind((ip, 0))?.local_addr()?.port()
        };
        let all_free = (1..range).all(|i| {
            port.checked_add(i)
                .is_some_and(|p| std::net::TcpListener::bind((ip, p)).is_ok())
        });
        if all_free {
            return Ok(port);
        }
    }
    anyhow::bail!(
        "no free range of {range} host ports found on {ip}: give the host ports explicitly"
    )
}

/// The image's name a container records: the one of its names the user
/// asked for (with `:latest` when no tag was given, a short name resolved
/// to its registry), as libimage resolves it; else its first name.
fn image_name_given(names: &[String], given: &str) -> String {
    let given = given.strip_prefix("docker://").unwrap_or(given);
    let tagged = if given
        .rsplit('/')
        .next()
        .is_some_and(|l| l.contains(':') || l.contains('@'))
    {
        given.to_string()
    } else {
        format!("{given}:latest")
    };
    names
        .iter()
        .find(|n| **n == tagged)
        .or_else(|| names.iter().find(|n| n.ends_with(&format!("/{tagged}"))))
        .or_else(|| names.first())
        .cloned()
        .unwrap_or_else(|| given.to_string())
}

/// The image for a new container, pulled according to `--pull`.
async fn image_for(
    cfg: &EngineConfig,
    a: &CreateOptions,
    storage: &mut helper_procs::Session<helper_procs::StorageClient>,
) -> anyhow::Result<proto::storage::v1::Image> {
    let mut opts = PullOptions {
        quiet: a.quiet,
        tls_verify: a.tls_verify,
        authfile: a.extra.authfile.clone(),
        ..Default::default()
    };
    if let Some(c) = &a.extra.creds {
        opts.set_creds(c)?;
    }
    let retry = super::create_extra::retry(cfg, &a.extra)?;
    let policy: PullPolicy = a.pull.parse().map_err(|_| {
        anyhow::anyhow!(
            "invalid --pull {:?}: use missing, always, never or newer",
            a.pull
        )
    })?;
    crate::image::pull::by_policy(cfg, storage, &a.image, policy, &opts, retry).await
}
