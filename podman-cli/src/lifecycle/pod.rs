//! Pods: `pod create` (the record and its infra container), containers
//! joining a pod at create (`--pod NAME|ID|new:NAME`), and the hooks the
//! container lifecycle calls for pod members: the infra container starts
//! before a member, its /etc/hosts and resolv.conf are the members', it
//! cannot be removed alone, and the `stop` exit policy stops the pod when
//! its last member exits.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::create_options::CreateOptions;
use crate::container::model::{ContainerConfig, NetworkMode, Status};
use crate::container::{names, parse};
use crate::engine_config::EngineConfig;
use crate::error::ExitError;
use crate::pod::store::{self as pods, PodStoreError};
use crate::pod::PodConfig;

/// What `pod create` (and `--pod new:NAME`) asks for.
#[derive(Debug, Clone, Default)]
pub struct PodCreateOptions {
    pub name: Option<String>,
    pub publish: Vec<String>,
    pub network: Vec<String>,
    pub network_alias: Vec<String>,
    pub ip: Option<String>,
    pub mac_address: Option<String>,
    pub share: Option<String>,
    pub infra: bool,
    pub infra_image: Option<String>,
    pub infra_command: Option<String>,
    pub infra_name: Option<String>,
    pub hostname: Option<String>,
    pub labels: Vec<String>,
    pub exit_policy: Option<String>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_option: Vec<String>,
    pub add_host: Vec<String>,
    pub restart: Option<String>,
    pub pod_id_file: Option<PathBuf>,
    pub replace: bool,
    pub create_command: Vec<String>,
    /// `--userns`: the user namespace of the infra container and members.
    pub userns: Option<String>,
    /// `--memory`, `--cpus`, ...: limits on the pod's cgroup.
    pub resources: crate::spec::resources::ResourceFlags,
}

fn engine_err(msg: String) -> anyhow::Error {
    ExitError::engine(anyhow::anyhow!(msg)).into()
}

/// The cgroup a pod's containers run under (cgroupfs manager), relative
/// to the cgroup root as the OCI spec's cgroupsPath.
pub fn cgroup_parent(pod_id: &str) -> String {
    format!("/podman-rs/libpod_pod_{pod_id}")
}

/// The spec's cgroupsPath of a container: under its pod's cgroup when it
/// has one and podman manages cgroupfs paths itself.
pub fn cgroups_path(engine: &EngineConfig, cfg: &ContainerConfig) -> String {
    if !cfg.extra.pod.is_empty() && engine.cgroup_manager == "cgroupfs" {
        format!("{}/libpod-{}", cgroup_parent(&cfg.extra.pod), cfg.id)
    } else {
        format!("/podman-rs/libpod-{}", cfg.id)
    }
}

/// Make the pod: its record first (the name is taken atomically there),
/// then its infra container; a failure removes what was made.
pub async fn create(engine: &EngineConfig, o: &PodCreateOptions) -> anyhow::Result<PodConfig> {
    if let Some(n) = &o.name {
        names::validate_name(n).map_err(|e| engine_err(e.to_string()))?;
    }
    let exit_policy = o.exit_policy.clone().unwrap_or_else(|| "continue".into());
    if !["continue", "stop"].contains(&exit_policy.as_str()) {
        return Err(engine_err(format!(
            "running pod create option: invalid pod exit policy: {exit_policy:?}"
        )));
    }
    let share = crate::pod::parse_share(o.share.as_deref()).map_err(engine_err)?;
    let infra = o.infra && !share.is_empty();
    let userns = o.userns.clone().filter(|u| !u.is_empty() && u != "host");
    if let Some(u) = &userns {
        if !infra {
            return Err(engine_err(format!(
                "--userns={u} needs an infra container to hold the pod's user namespace: drop --infra=false (or --share none)"
            )));
        }
        if u.starts_with("container:") {
            return Err(engine_err(format!(
                "invalid --userns {u:?} for a pod: use auto, keep-id, nomap, private or ns:PATH"
            )));
        }
    }
    if !infra && !o.publish.is_empty() {
        return Err(engine_err(
            "you must have an infra container to publish port bindings to the host".into(),
        ));
    }
    if !infra && (o.infra_image.is_some() || o.infra_command.is_some() || o.infra_name.is_some()) {
        return Err(engine_err(
            "infra options (--infra-image, --infra-command, --infra-name) need an infra container: drop --infra=false".into(),
        ));
    }
    if let Some(r) = &o.restart {
        parse::restart(r)?;
    }
    let labels: BTreeMap<String, String> = o.labels.iter().map(|l| parse::label(l)).collect();
    let host = crate::spec::resources::HostCgroups::probe();
    let (resources, warnings) = crate::spec::resources::parse(&o.resources, &host)?;
    for w in warnings {
        eprintln!("{w}");
    }
    if resources != Default::default() && engine.cgroup_manager != "cgroupfs" {
        return Err(engine_err(format!(
            "pod resource limits need the cgroupfs cgroup manager (this podman uses {}): use --cgroup-manager=cgroupfs",
            engine.cgroup_manager
        )));
    }
    check_networks(engine, &o.network).await?;
    let db = crate::state::open_state(engine)?;
    if let Some(n) = &o.name {
        if pods::name_taken(&db, n)? {
            if !o.replace {
                return Err(engine_err(PodStoreError::NameInUse(n.clone()).to_string()));
            }
            super::pod_ops::remove(engine, n, true, Some(0)).await?;
        }
    }
    let id = names::new_id()?;
    let name = match &o.name {
        Some(n) => n.clone(),
        None => loop {
            let n = names::random_name()?;
            if !pods::name_taken(&db, &n)? {
                break n;
            }
        },
    };
    let mut pod = PodConfig {
        id: id.clone(),
        name: name.clone(),
        created_ns: common::time::now_nanos(),
        hostname: o.hostname.clone().unwrap_or_else(|| name.clone()),
        labels,
        exit_policy,
        share,
        infra,
        infra_id: String::new(),
        cgroup_parent: cgroup_parent(&id),
        create_command: o.create_command.clone(),
        ports: o
            .publish
            .iter()
            .map(|p| parse::publish(p))
            .collect::<Result<_, _>>()?,
        networks: o.network.clone(),
        host_network: o.network.iter().any(|n| n == "host"),
        dns_servers: o.dns.clone(),
        dns_search: o.dns_search.clone(),
        dns_options: o.dns_option.clone(),
        add_hosts: o.add_host.clone(),
        restart_policy: o.restart.clone().unwrap_or_default(),
        resources,
        userns: userns.unwrap_or_default(),
    };
    pods::insert(&db, &pod).map_err(|e| engine_err(e.to_string()))?;
    if infra {
        let made = create_infra(engine, o, &pod).await;
        match made.map_err(|e| e.context("adding pod infra container")) {
            Ok(c) => {
                pod.infra_id = c.id;
                pods::update(&db, &pod)?;
            }
            Err(e) => {
                let _ = pods::delete(&db, &id);
                return Err(e);
            }
        }
    }
    if let Some(f) = &o.pod_id_file {
        if let Err(e) = write_id_file(f, &id) {
            super::pod_ops::remove(engine, &id, true, Some(0)).await?;
            return Err(e);
        }
    }
    crate::events::pod("create", &pod.id, &pod.name);
    Ok(pod)
}

/// Named networks must exist before anything is made (Podman's words).
async fn check_networks(engine: &EngineConfig, networks: &[String]) -> anyhow::Result<()> {
    let named = super::net_mode::named_networks(networks);
    if named.is_empty() {
        return Ok(());
    }
    let mut net = crate::helper_procs::net(engine).await?;
    let mut missing = None;
    for n in &named {
        let req = proto::netsetup::v1::NetworkExistsRequest { name: n.clone() };
        let r = net
            .call("NetworkExists", |mut c| async move {
                c.network_exists(req).await
            })
            .await;
        match r {
            Ok(r) if r.exists => {}
            Ok(_) => {
                missing = Some(n.clone());
                break;
            }
            Err(e) => {
                net.close().await?;
                return Err(e.into());
            }
        }
    }
    net.close().await?;
    match missing {
        Some(n) => Err(engine_err(format!(
            "unable to find network with name or ID {n}: network not found"
        ))),
        None => Ok(()),
    }
}

fn write_id_file(path: &std::path::Path, id: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("opening pod-id-file {}: {e}", path.display()))?;
    f.write_all(id.as_bytes())?;
    Ok(())
}

async fn create_infra(
    engine: &EngineConfig,
    o: &PodCreateOptions,
    pod: &PodConfig,
) -> anyhow::Result<ContainerConfig> {
    let image = match &o.infra_image {
        Some(i) => i.clone(),
        None => match &engine.containers.engine.infra_image {
            Some(i) if !i.is_empty() => i.clone(),
            _ => crate::pod::infra_image::ensure(engine).await?,
        },
    };
    let opts = CreateOptions {
        name: Some(
            o.infra_name
                .clone()
                .unwrap_or_else(|| format!("{}-infra", &pod.id[..12])),
        ),
        hostname: Some(pod.hostname.clone()),
        entrypoint: o.infra_command.clone(),
        publish: o.publish.clone(),
        network: o.network.clone(),
        network_alias: o.network_alias.clone(),
        ip: o.ip.clone(),
        mac_address: o.mac_address.clone(),
        dns: o.dns.clone(),
        dns_search: o.dns_search.clone(),
        add_host: o.add_host.clone(),
        pull: "missing".into(),
        // As Podman: the infra image is pulled without progress output.
        quiet: true,
        image,
        pod: Some(pod.id.clone()),
        pod_infra: true,
        more: super::create_options::MoreOptions {
            dns_option: o.dns_option.clone(),
            read_only_tmpfs: true,
            http_proxy: true,
            userns: (!pod.userns.is_empty()).then(|| pod.userns.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    super::create::create(engine, &opts).await
}

/// A container's create options once it joins its pod (`--pod`,
/// `--pod-id-file`), and the pod; None when it joins none. `new:NAME`
/// makes the pod first, with the container's network flags.
pub async fn join(
    engine: &EngineConfig,
    a: &CreateOptions,
) -> anyhow::Result<Option<(PodConfig, CreateOptions)>> {
    if a.pod_infra {
        let db = crate::state::open_state(engine)?;
        let id = a.pod.clone().unwrap_or_default();
        return Ok(Some((pods::resolve(&db, &id)?, a.clone())));
    }
    let wanted = match (&a.pod, &a.pod_id_file) {
        (Some(_), Some(_)) => {
            return Err(engine_err(
                "cannot specify both --pod and --pod-id-file".into(),
            ))
        }
        (Some(p), None) => p.clone(),
        (None, Some(f)) => std::fs::read_to_string(f)
            .map_err(|e| engine_err(format!("reading pod ID file {}: {e}", f.display())))?
            .trim()
            .to_string(),
        (None, None) => return Ok(None),
    };
    let mut a = a.clone();
    let pod = if let Some(new) = wanted.strip_prefix("new:") {
        let o = PodCreateOptions {
            name: Some(new.to_string()),
            publish: std::mem::take(&mut a.publish),
            network: std::mem::take(&mut a.network),
            network_alias: std::mem::take(&mut a.network_alias),
            ip: a.ip.take(),
            mac_address: a.mac_address.take(),
            hostname: a.hostname.take(),
            dns: a.dns.clone(),
            dns_search: a.dns_search.clone(),
            dns_option: a.more.dns_option.clone(),
            add_host: a.add_host.clone(),
            infra: true,
            create_command: std::env::args().collect(),
            ..Default::default()
        };
        create(engine, &o).await?
    } else {
        let db = crate::state::open_state(engine)?;
        pods::resolve(&db, &wanted).map_err(|e| engine_err(e.to_string()))?
    };
    if pod.infra_id.is_empty() {
        return Ok(Some((pod, a)));
    }
    let infra = format!("container:{}", pod.infra_id);
    // Members share the infra's user namespace (what they share must have
    // one owner): only the host's or another container's may be asked for.
    let own_userns = match a.more.userns.as_deref() {
        None | Some("") | Some("host") => false,
        Some(m) => !m.starts_with("container:"),
    };
    if own_userns
        || !a.more.uidmap.is_empty()
        || !a.more.gidmap.is_empty()
        || a.more.subuidname.is_some()
        || a.more.subgidname.is_some()
    {
        return Err(engine_err(
            "cannot set user namespace mode when joining pod with infra container: invalid argument"
                .into(),
        ));
    }
    if !pod.userns.is_empty() && a.more.userns.is_none() {
        a.more.userns = Some(infra.clone());
    }
    if pod.shares("net") {
        if !a.publish.is_empty() || a.publish_all {
            return Err(engine_err("invalid config provided: published or exposed ports must be defined when the pod is created: network cannot be configured when it is shared with a pod".into()));
        }
        if !a.network.is_empty() {
            return Err(engine_err("invalid config provided: networks must be defined when the pod is created: network cannot be configured when it is shared with a pod".into()));
        }
        if !a.add_host.is_empty() {
            return Err(engine_err("invalid config provided: extra host entries must be specified on the pod: network cannot be configured when it is shared with a pod".into()));
        }
        a.network = vec![infra.clone()];
    }
    if pod.shares("uts") {
        if a.hostname.is_some() {
            return Err(engine_err("invalid config provided: cannot set hostname when joining the pod UTS namespace: invalid configuration".into()));
        }
        a.more.uts = Some(infra.clone());
        a.hostname = Some(pod.hostname.clone());
    }
    if pod.shares("ipc") && a.more.ipc.is_none() {
        a.more.ipc = Some(infra.clone());
    }
    if pod.shares("pid") && a.more.pid.is_none() {
        a.more.pid = Some(infra.clone());
    }
    if a.restart.is_none() && !pod.restart_policy.is_empty() {
        a.restart = Some(pod.restart_policy.clone());
    }
    Ok(Some((pod, a)))
}

/// Before a pod member starts: the pod's cgroup has its limits, and its
/// infra container runs.
pub async fn before_start(engine: &EngineConfig, cfg: &ContainerConfig) -> anyhow::Result<()> {
    if cfg.extra.pod.is_empty() {
        return Ok(());
    }
    let db = crate::state::open_state(engine)?;
    let pod = match pods::resolve(&db, &cfg.extra.pod) {
        Ok(p) => p,
        Err(PodStoreError::NotFound(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if engine.cgroup_manager == "cgroupfs" {
        super::pod_cgroup::ensure(&pod.cgroup_parent, &pod.resources)?;
    }
    if cfg.extra.pod_infra || pod.infra_id.is_empty() {
        return Ok(());
    }
    let (icfg, ist) = crate::container::store::resolve(&db, &pod.infra_id)?;
    let (_, ist) = Box::pin(super::cleanup::refresh(engine, (icfg, ist))).await?;
    if ist.status != Status::Running {
        Box::pin(super::start::start(engine, &pod.infra_id)).await?;
    }
    Ok(())
}

/// The pod's /dev/shm: a tmpfs podman mounts on the host (as Podman
/// does for shareable IPC), bind-mounted by the infra container and every
/// member sharing the pod's IPC namespace, so they see the same files.
fn shm_dir(engine: &EngineConfig, pod_id: &str) -> PathBuf {
    engine.run_root.join("pods").join(pod_id).join("shm")
}

fn is_mountpoint(p: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(p), p.parent().map(std::fs::metadata)) {
        (Ok(a), Some(Ok(b))) => a.dev() != b.dev(),
        _ => false,
    }
}

fn ensure_shm(dir: &std::path::Path) -> anyhow::Result<()> {
    if is_mountpoint(dir) {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("creating the pod's shm directory {}: {e}", dir.display()))?;
    use nix::mount::MsFlags;
    nix::mount::mount(
        Some("shm"),
        dir,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV,
        Some("mode=1777,size=65536k"),
    )
    .map_err(|e| anyhow::anyhow!("mounting the pod's shm on {}: {e}", dir.display()))
}

/// Unmount and remove the pod's /dev/shm (pod removal).
pub fn release_shm(engine: &EngineConfig, pod_id: &str) {
    let dir = shm_dir(engine, pod_id);
    if is_mountpoint(&dir) {
        if let Err(e) = nix::mount::umount2(&dir, nix::mount::MntFlags::MNT_DETACH) {
            tracing::warn!(error = %e, dir = %dir.display(), "unmounting the pod's shm");
            return;
        }
    }
    if let Some(parent) = dir.parent() {
        let _ = std::fs::remove_dir_all(parent);
    }
}

/// The managed files a container mounts when it joins another's network
/// (a pod member, or `--network container:NAME`): the other's hosts and
/// resolv.conf, so that both see the same ones, as libpod shares them; a
/// pod member's /dev/shm is the pod's when it shares the pod's IPC.
pub fn shared_files(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    mut managed: Vec<(String, PathBuf)>,
) -> anyhow::Result<Vec<(String, PathBuf)>> {
    if !cfg.extra.pod.is_empty() {
        let shares_ipc = if cfg.extra.pod_infra {
            let db = crate::state::open_state(engine)?;
            pods::resolve(&db, &cfg.extra.pod).is_ok_and(|p| p.shares("ipc"))
        } else {
            cfg.extra.ipc.starts_with("container:")
        };
        if shares_ipc {
            let dir = shm_dir(engine, &cfg.extra.pod);
            ensure_shm(&dir)?;
            managed.push(("/dev/shm".into(), dir));
        }
    }
    if cfg.extra.pod_infra {
        return Ok(managed);
    }
    let NetworkMode::Container(infra) = &cfg.network_mode else {
        return Ok(managed);
    };
    let bundle = super::paths::ContainerPaths::new(engine, infra).bundle;
    for (dest, path) in managed.iter_mut() {
        let name = match dest.as_str() {
            "/etc/hosts" => "hosts",
            "/etc/resolv.conf" => "resolv.conf",
            _ => continue,
        };
        let theirs = bundle.join(name);
        if theirs.exists() {
            if name == "hosts" {
                add_member_host(&theirs, cfg)?;
            }
            *path = theirs;
        }
    }
    Ok(managed)
}

/// libpod's entry for a container joining another's network: its name on
/// 127.0.0.1, in the shared hosts file. Edited in place under a lock on
/// the file (running members see it through bind mounts of this inode).
fn add_member_host(hosts: &std::path::Path, cfg: &ContainerConfig) -> std::io::Result<()> {
    let line = member_host_line(cfg);
    super::files::edit_in_place(hosts, |now| {
        if now.lines().any(|l| l == line) {
            return None;
        }
        let sep = if now.is_empty() || now.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        Some(format!("{now}{sep}{line}\n"))
    })
}

fn member_host_line(cfg: &ContainerConfig) -> String {
    format!("127.0.0.1\t{}", cfg.name)
}

/// At cleanup: the entry of a container that joined another's network
/// leaves that one's hosts file again, as libpod removes it (a missing
/// file is fine).
pub fn remove_member_host(engine: &EngineConfig, cfg: &ContainerConfig) -> std::io::Result<()> {
    if cfg.extra.pod_infra || cfg.extra.no_hosts {
        return Ok(());
    }
    let NetworkMode::Container(infra) = &cfg.network_mode else {
        return Ok(());
    };
    let hosts = super::paths::ContainerPaths::new(engine, infra)
        .bundle
        .join("hosts");
    let line = member_host_line(cfg);
    match super::files::edit_in_place(&hosts, |now| {
        now.lines().any(|l| l == line).then(|| {
            now.lines()
                .filter(|l| *l != line)
                .map(|l| format!("{l}\n"))
                .collect()
        })
    }) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

/// Podman refuses to remove an infra container while its pod exists.
pub fn refuse_infra_removal(db: &crate::state::State, cfg: &ContainerConfig) -> anyhow::Result<()> {
    if !cfg.extra.pod_infra {
        return Ok(());
    }
    match pods::resolve(db, &cfg.extra.pod) {
        Ok(pod) => Err(engine_err(format!(
            "container {} is the infra container of pod {} and cannot be removed without removing the pod",
            cfg.id, pod.id
        ))),
        Err(PodStoreError::NotFound(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// After a pod member exited and was cleaned up: with the `stop` exit
/// policy, the pod stops when no other member runs.
pub async fn after_exit(engine: &EngineConfig, cfg: &ContainerConfig) -> anyhow::Result<()> {
    if cfg.extra.pod.is_empty() || cfg.extra.pod_infra {
        return Ok(());
    }
    let db = crate::state::open_state(engine)?;
    let pod = match pods::resolve(&db, &cfg.extra.pod) {
        Ok(p) => p,
        Err(PodStoreError::NotFound(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if pod.exit_policy != "stop" || pod.infra_id.is_empty() {
        return Ok(());
    }
    let members = pods::members(&db, &pod.id)?;
    let busy = members
        .iter()
        .any(|(c, s)| !c.extra.pod_infra && c.id != cfg.id && s.status.is_active());
    if !busy {
        Box::pin(super::stop::stop(engine, &pod.infra_id, None)).await?;
        crate::events::pod("stop", &pod.id, &pod.name);
    }
    Ok(())
}
