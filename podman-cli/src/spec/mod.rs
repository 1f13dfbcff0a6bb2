//! OCI runtime spec generation: the container's configuration plus the
//! image's, turned into the `config.json` runc or crun runs. Built as JSON
//! and checked against oci-spec's typed model before it is written.

pub mod confinement;
pub mod exec_process;
pub mod resources;
pub mod seccomp;
pub mod security;
pub mod systemd;
pub mod user;
pub mod userns;

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use serde_json::{json, Value};

use crate::container::model::{ContainerConfig, MountSpec};

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error(transparent)]
    Capability(#[from] security::UnknownCapability),
    #[error(transparent)]
    User(#[from] user::UserError),
    #[error(transparent)]
    Seccomp(#[from] seccomp::SeccompError),
    #[error("generated OCI spec does not validate: {0}")]
    Invalid(serde_json::Error),
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where the container's network namespace comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetNs {
    /// A fresh namespace with only loopback (`--network none`).
    New,
    /// Join this bind-mounted namespace (bridge networks, container:ID).
    Path(String),
    /// The host's (`--network host`).
    Host,
}

/// What the spec needs beyond the container's configuration.
#[derive(Debug, Clone)]
pub struct SpecContext<'a> {
    pub rootfs: &'a Path,
    pub netns: NetNs,
    pub cgroups_path: String,
    /// Host files bind-mounted over /etc/hosts, /etc/resolv.conf, /etc/hostname.
    pub managed_files: Vec<(String, PathBuf)>,
    /// `--secret` files: (destination, host file), mounted read-only.
    pub secret_files: Vec<(String, PathBuf)>,
    pub default_capabilities: Option<&'a [String]>,
    /// Path of an init binary for `--init`.
    pub init_path: Option<PathBuf>,
    /// Host zone file bind-mounted at /etc/localtime (`--tz`).
    pub localtime: Option<PathBuf>,
    /// Host file bind-mounted at /run/.containerenv.
    pub containerenv: Option<PathBuf>,
    /// Namespace paths of other containers for `--ipc/--pid/--uts
    /// container:ID`, by OCI type ("ipc", "pid", "uts").
    pub joined_namespaces: Vec<(String, String)>,
}

/// Where `--init`'s binary appears inside the container.
pub const INIT_PATH_IN_CONTAINER: &str = "/run/podman-init";

fn default_mounts(privileged: bool, shm_size: Option<u64>) -> Vec<Value> {
    let shm = format!(
        "size={}k",
        shm_size.map(|b| b.div_ceil(1024)).unwrap_or(65536)
    );
    let sys_opts = if privileged {
        json!(["nosuid", "noexec", "nodev"])
    } else {
        json!(["nosuid", "noexec", "nodev", "ro"])
    };
    vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", shm]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": sys_opts}),
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["rprivate", "nosuid", "noexec", "nodev", "relatime", "ro"]}),
    ]
}

fn user_mount(m: &MountSpec) -> Value {
    match m.kind.as_str() {
        "tmpfs" => {
            // Podman's default: the image's content at the path is copied
            // into the tmpfs (runc's tmpcopyup), unless notmpcopyup.
            let mut options: Vec<&str> = m
                .options
                .iter()
                .map(String::as_str)
                .filter(|o| *o != "notmpcopyup")
                .collect();
            if !m
                .options
                .iter()
                .any(|o| o == "notmpcopyup" || o == "tmpcopyup")
            {
                options.push("tmpcopyup");
            }
            json!({"destination": m.destination, "type": "tmpfs", "source": "tmpfs", "options": options})
        }
        "ramfs" => {
            json!({"destination": m.destination, "type": "ramfs", "source": "ramfs", "options": m.options})
        }
        "devpts" => {
            json!({"destination": m.destination, "type": "devpts", "source": "devpts", "options": m.options})
        }
        "overlay" => {
            json!({"destination": m.destination, "type": "overlay", "source": "overlay", "options": m.options})
        }
        _ => {
            let mut opts: Vec<String> = vec!["rbind".into()];
            opts.extend(m.options.iter().cloned());
            json!({"destination": m.destination, "type": "bind", "source": m.source, "options": opts})
        }
    }
}

/// The container's process environment: libpod's defaults, HOME,
/// HOSTNAME (and container_uuid in systemd mode), under the configured variables.
fn environment(cfg: &ContainerConfig, home: &str) -> Vec<String> {
    let mut at_start = vec![format!("HOME={home}"), format!("HOSTNAME={}", cfg.hostname)];
    // systemd mode: the id systemd reads as the machine's (libpod).
    if cfg.extra.systemd && !cfg.env.iter().any(|e| e.starts_with("container_uuid=")) {
        at_start.push(format!(
            "container_uuid={}",
            cfg.id.get(..32).unwrap_or(&cfg.id)
        ));
    }
    cfg.environment(&at_start)
}

/// The OCI namespace entry for `--ipc/--pid/--uts` (`None`: the host's).
fn namespace(kind: &str, mode: &str, ctx: &SpecContext) -> Option<Value> {
    if mode == "host" {
        return None;
    }
    if let Some(p) = mode.strip_prefix("ns:") {
        return Some(json!({"type": kind, "path": p}));
    }
    if mode.starts_with("container:") {
        if let Some((_, p)) = ctx.joined_namespaces.iter().find(|(k, _)| k == kind) {
            return Some(json!({"type": kind, "path": p}));
        }
    }
    Some(json!({"type": kind}))
}

pub fn generate(cfg: &ContainerConfig, ctx: &SpecContext) -> Result<Spec, SpecError> {
    let user = user::resolve(ctx.rootfs, &cfg.user, &cfg.groups)?;
    let caps = security::capabilities(
        ctx.default_capabilities,
        &cfg.cap_add,
        &cfg.cap_drop,
        cfg.privileged,
    )?;
    // Root gets the whole set; another user only what was added explicitly,
    // as Podman does.
    let effective: Vec<String> = if user.uid == 0 {
        caps.clone()
    } else {
        cfg.cap_add
            .iter()
            .filter_map(|c| security::normalize(c).ok())
            .filter(|c| caps.contains(c))
            .collect()
    };
    let mut args = cfg.command_line();
    if cfg.init {
        args.splice(0..0, [INIT_PATH_IN_CONTAINER.to_string(), "--".to_string()]);
    }
    let cwd = if cfg.working_dir.is_empty() {
        "/".to_string()
    } else {
        cfg.working_dir.clone()
    };

    let x = &cfg.extra;
    let mut mounts = default_mounts(cfg.privileged, x.shm_size);
    if x.ipc_kind == "none" {
        mounts.retain(|m| m["destination"] != json!("/dev/shm"));
    }
    if x.ipc == "host" {
        // The host's IPC namespace: its /dev/shm too (an mqueue mount
        // made there is the host's instance already).
        mounts.retain(|m| m["destination"] != json!("/dev/shm"));
        mounts.push(json!({"destination": "/dev/shm", "type": "bind", "source": "/dev/shm", "options": ["rbind", "nosuid", "noexec", "nodev"]}));
    }
    if cfg.read_only && x.read_only_tmpfs {
        for d in ["/run", "/tmp", "/var/tmp"] {
            mounts.push(json!({"destination": d, "type": "tmpfs", "source": "tmpfs", "options": ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]}));
        }
    } else if cfg.read_only {
        // `--read-only-tmpfs=false`: nothing is writable, /dev and its
        // shm included (libpod's setDevOptsReadOnly and its shm).
        for m in mounts.iter_mut().filter(|m| {
            m["type"] == "tmpfs" && (m["destination"] == "/dev" || m["destination"] == "/dev/shm")
        }) {
            if let Some(o) = m["options"].as_array_mut() {
                o.push(json!("ro"));
            }
        }
    }
    for (dest, host) in &ctx.managed_files {
        mounts.push(json!({"destination": dest, "type": "bind", "source": host, "options": ["rbind", "rprivate"]}));
    }
    for (dest, host) in &ctx.secret_files {
        mounts.retain(|x| x["destination"] != json!(dest));
        mounts.push(json!({"destination": dest, "type": "bind", "source": host, "options": ["rbind", "ro", "rprivate", "nosuid", "noexec", "nodev"]}));
    }
    if let Some(init) = &ctx.init_path {
        mounts.push(json!({"destination": INIT_PATH_IN_CONTAINER, "type": "bind", "source": init, "options": ["bind", "ro", "nosuid", "nodev"]}));
    }
    // User mounts last so they win over defaults at the same destination.
    for m in &cfg.mounts {
        mounts.retain(|x| x["destination"] != json!(m.destination));
        mounts.push(user_mount(m));
    }
    if x.systemd {
        systemd::add_mounts(&mut mounts, x.cgroupns == "private");
    }
    // `--security-opt proc-opts=`: the options of /proc, replaced (libpod).
    if !x.security.proc_opts.is_empty() {
        for m in mounts
            .iter_mut()
            .filter(|m| m["destination"] == json!("/proc"))
        {
            m["options"] = json!(x.security.proc_opts);
        }
    }
    // After the mounts they could sit on (a tmpfs /run), never under a
    // bind-mounted /run (Podman leaves the user's directory alone).
    if let Some(tz) = &ctx.localtime {
        if !cfg.mounts.iter().any(|m| m.destination == "/etc/localtime") {
            mounts.push(json!({"destination": "/etc/localtime", "type": "bind", "source": tz, "options": ["rbind", "ro", "rprivate"]}));
        }
    }
    if let Some(env) = &ctx.containerenv {
        if !cfg.mounts.iter().any(|m| {
            !matches!(m.kind.as_str(), "tmpfs" | "ramfs")
                && (m.destination == "/run" || m.destination == "/run/.containerenv")
        }) {
            mounts.push(json!({"destination": "/run/.containerenv", "type": "bind", "source": env, "options": ["rbind", "ro", "rprivate", "nosuid", "nodev"]}));
        }
    }

    // As Podman: shallower destinations first (stable), so a mount never
    // lands under one made after it (`--tmpfs /run --init`).
    mounts.sort_by_key(|m| {
        m["destination"]
            .as_str()
            .map_or(0, |d| d.split('/').filter(|c| !c.is_empty()).count())
    });

    let userns = x
        .idmap
        .as_ref()
        .map(|m| userns::Userns::new(&x.userns, m, ctx));
    if let Some(u) = &userns {
        u.adjust_mounts(&mut mounts, &ctx.netns);
    }
    let mut namespaces = vec![json!({"type": "mount"})];
    if let Some(u) = &userns {
        namespaces.push(u.namespace());
    }
    namespaces.extend(namespace("pid", &x.pid, ctx));
    namespaces.extend(namespace("ipc", &x.ipc, ctx));
    namespaces.extend(namespace("uts", &x.uts, ctx));
    // "" (records older than --cgroupns) is the host's, as on cgroup v1.
    let cgroupns = match x.cgroupns.as_str() {
        "" => "host",
        "private" => "",
        other => other,
    };
    namespaces.extend(namespace("cgroup", cgroupns, ctx));
    match &ctx.netns {
        NetNs::New => namespaces.push(json!({"type": "network"})),
        NetNs::Path(p) => namespaces.push(json!({"type": "network", "path": p})),
        NetNs::Host => {}
    }
    let conf = &x.security;
    let (masked, readonly) = confinement::masked_and_readonly(conf, cfg.privileged);
    let seccomp = confinement::seccomp_filter(conf, cfg.privileged, &caps)?;

    // Podman's default sysctl: unprivileged ping (ICMP sockets) for root in
    // the container, since CAP_NET_RAW is not in the default set.
    let mut sysctl = serde_json::Map::new();
    // A user namespace cannot write the sysctls of a network namespace it
    // does not own (one net-setup made outside it).
    let foreign_netns = ctx.netns != NetNs::New && x.idmap.is_some();
    if ctx.netns != NetNs::Host && !foreign_netns {
        sysctl.insert("net.ipv4.ping_group_range".into(), json!("0 0"));
    }
    for (k, v) in &x.sysctls {
        sysctl.insert(k.clone(), json!(v));
    }
    let mut devices: Vec<Value> = x
        .devices
        .iter()
        .map(|d| json!({"path": d.container_path, "type": d.kind, "major": d.major, "minor": d.minor, "fileMode": d.file_mode, "uid": d.uid, "gid": d.gid}))
        .collect();
    if cfg.privileged {
        let given: Vec<Value> = devices.iter().map(|d| d["path"].clone()).collect();
        devices.extend(
            confinement::host_devices()
                .into_iter()
                .filter(|d| !given.contains(&d["path"]))
                // systemd mode: the host's virtual consoles stay out, or
                // the container's getty would take them (libpod).
                .filter(|d| {
                    !(x.systemd && d["path"].as_str().is_some_and(systemd::is_virtual_console))
                }),
        );
    }
    let mut cgroup_devices = vec![json!({"allow": false, "access": "rwm"})];
    for d in &x.devices {
        cgroup_devices.push(json!({"allow": true, "type": d.kind, "major": d.major, "minor": d.minor, "access": d.access}));
    }
    for r in &x.device_rules {
        let mut rule = json!({"allow": true, "type": r.kind, "access": r.access});
        if let Some(m) = r.major {
            rule["major"] = json!(m);
        }
        if let Some(m) = r.minor {
            rule["minor"] = json!(m);
        }
        cgroup_devices.push(rule);
    }
    if cfg.privileged {
        // Podman: every device, read, write and mknod.
        cgroup_devices = vec![json!({"allow": true, "access": "rwm"})];
    }
    let mut resources = json!({"devices": cgroup_devices});
    resources::apply(&x.resources, &mut resources);
    if !x.cgroup_conf.is_empty() {
        resources["unified"] = json!(x.cgroup_conf);
    }
    if conf.pids_limit != 0 && confinement::pids_controller() {
        resources["pids"] = json!({"limit": conf.pids_limit});
    }
    let rlimits: Vec<Value> = cfg
        .rlimits
        .iter()
        .map(|r| json!({"type": r.kind, "soft": r.soft, "hard": r.hard}))
        .collect();
    let spec = json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": cfg.terminal,
            "user": {"uid": user.uid, "gid": user.gid, "additionalGids": user.additional_gids, "umask": umask(&x.umask)},
            "args": args,
            "env": environment(cfg, &user.home),
            "cwd": cwd,
            "capabilities": {"bounding": caps, "effective": effective, "permitted": effective, "inheritable": [], "ambient": if user.uid == 0 { vec![] } else { effective.clone() }},
            "rlimits": rlimits,
            "noNewPrivileges": cfg.no_new_privileges,
            // Unset: podman's own, as libpod does (not a reset to 0).
            "oomScoreAdj": x.oom_score_adj.unwrap_or_else(own_oom_score_adj),
        },
        "root": {"path": ctx.rootfs, "readonly": cfg.read_only},
        "mounts": mounts,
        "annotations": cfg.annotations,
        "linux": {
            "namespaces": namespaces,
            "maskedPaths": masked,
            "readonlyPaths": readonly,
            "cgroupsPath": ctx.cgroups_path,
            "sysctl": sysctl,
            "devices": devices,
            "resources": resources,
        },
    });
    let mut spec = spec;
    if let Some(u) = &userns {
        spec["linux"]["uidMappings"] = u.uid_mappings();
        spec["linux"]["gidMappings"] = u.gid_mappings();
    }
    if let Some(s) = seccomp {
        spec["linux"]["seccomp"] = s;
    }
    if !x.personality.is_empty() {
        spec["linux"]["personality"] = json!({"domain": x.personality});
    }
    if !x.rdt_class.is_empty() {
        spec["linux"]["intelRdt"] = json!({"closID": x.rdt_class});
    }
    if let Some(p) = confinement::apparmor_profile(conf) {
        spec["process"]["apparmorProfile"] = json!(p);
    }
    // Only a new UTS namespace of its own is given a name (a joined one
    // keeps its owner's).
    if x.uts.is_empty() {
        spec["hostname"] = json!(cfg.hostname);
    }
    serde_json::from_value::<Spec>(spec).map_err(SpecError::Invalid)
}

/// Write `config.json` into `bundle` atomically.
pub fn write(spec: &Spec, bundle: &Path) -> Result<PathBuf, SpecError> {
    let path = bundle.join("config.json");
    let err = |source| SpecError::Write {
        path: path.clone(),
        source,
    };
    common::private_dir::create(bundle).map_err(|e| err(e.into()))?;
    let bytes = serde_json::to_vec(spec).map_err(SpecError::Invalid)?;
    // The bundle lives in the run root: atomic, but no fsync needed. The
    // spec holds the container's environment (`-e PASSWORD=...`): 0600.
    common::atomic_file::write_atomic_mode(
        &path,
        &bytes,
        common::private_dir::FILE_MODE,
        common::atomic_file::Durability::NoSync,
    )
    .map_err(|e| err(e.into()))?;
    Ok(path)
}

/// The process umask for the spec: the container's (validated octal) or
/// Podman's default 0022.
fn umask(text: &str) -> u32 {
    u32::from_str_radix(text, 8).unwrap_or(0o022)
}

/// This process's oom_score_adj (0 when it cannot be read).
fn own_oom_score_adj() -> i32 {
    std::fs::read_to_string("/proc/self/oom_score_adj")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::model::Rlimit;

    fn rootfs() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        std::fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000::/home/web:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(d.path().join("etc/group"), "root:x:0:\n").unwrap();
        d
    }

    fn ctx(root: &Path) -> SpecContext<'_> {
        SpecContext {
            rootfs: root,
            netns: NetNs::New,
            cgroups_path: "/podman-rs/x".into(),
            managed_files: vec![],
            secret_files: vec![],
            default_capabilities: None,
            init_path: None,
            localtime: None,
            containerenv: None,
            joined_namespaces: vec![],
        }
    }

    #[test]
    fn a_plain_container() {
        let r = rootfs();
        let cfg = ContainerConfig {
            entrypoint: vec!["sh".into(), "-c".into()],
            cmd: vec!["echo hi".into()],
            env: vec!["A=1".into(), "PATH=/bin".into()],
            hostname: "abc".into(),
            rlimits: vec![Rlimit {
                kind: "RLIMIT_NOFILE".into(),
                soft: 1024,
                hard: 1024,
            }],
            mounts: vec![MountSpec {
                kind: "bind".into(),
                source: "/tmp".into(),
                destination: "/data".into(),
                options: vec!["ro".into()],
            }],
            ..Default::default()
        };
        let v = serde_json::to_value(generate(&cfg, &ctx(r.path())).unwrap()).unwrap();
        assert_eq!(v["process"]["args"], json!(["sh", "-c", "echo hi"]));
        let env: Vec<String> = serde_json::from_value(v["process"]["env"].clone()).unwrap();
        assert!(
            env.contains(&"A=1".to_string())
                && env.contains(&"PATH=/bin".to_string())
                && env.contains(&"HOSTNAME=abc".to_string())
        );
        assert_eq!(env.iter().filter(|e| e.starts_with("PATH=")).count(), 1);
        assert_eq!(v["process"]["cwd"], "/");
        assert!(v["process"]["capabilities"]["bounding"]
            .as_array()
            .unwrap()
            .contains(&json!("CAP_CHOWN")));
        assert!(v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .contains(&json!({"type": "network"})));
        let data = v["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["destination"] == "/data")
            .unwrap();
        assert_eq!(data["options"], json!(["rbind", "ro"]));
        assert!(v["linux"]["maskedPaths"]
            .as_array()
            .unwrap()
            .contains(&json!("/proc/kcore")));
    }

    #[test]
    fn users_privileged_and_init() {
        let r = rootfs();
        let mut cfg = ContainerConfig {
            cmd: vec!["id".into()],
            user: "web".into(),
            cap_add: vec!["net_raw".into()],
            ..Default::default()
        };
        let v = serde_json::to_value(generate(&cfg, &ctx(r.path())).unwrap()).unwrap();
        assert_eq!(v["process"]["user"]["uid"], 1000);
        assert_eq!(
            v["process"]["capabilities"]["effective"],
            json!(["CAP_NET_RAW"])
        );
        cfg.user = String::new();
        cfg.privileged = true;
        cfg.init = true;
        let mut c = ctx(r.path());
        c.init_path = Some("/usr/bin/catatonit".into());
        c.netns = NetNs::Path("/run/netns/x".into());
        let v = serde_json::to_value(generate(&cfg, &c).unwrap()).unwrap();
        assert_eq!(
            v["process"]["args"],
            json!([INIT_PATH_IN_CONTAINER, "--", "id"])
        );
        assert_eq!(v["linux"]["maskedPaths"], json!([]));
        assert!(v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .contains(&json!({"type": "network", "path": "/run/netns/x"})));
        assert_eq!(
            v["process"]["capabilities"]["bounding"]
                .as_array()
                .unwrap()
                .len(),
            security::all_in_bounding_set().len()
        );
    }
}
