//! libpod's SpecGenerator (`POST /libpod/containers/create`) as the CLI's
//! create options, so the service runs the same create as `podman create`.
//! Field names and shapes are libpod's (pkg/specgen); the remote client
//! sends them from the same options (see `remote::spec`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::errors::{ApiError, ApiResult};
use crate::lifecycle::create_options::CreateOptions;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PortMap {
    pub container_port: u16,
    pub host_port: u16,
    pub host_ip: String,
    pub protocol: String,
    pub range: u16,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NsMode {
    nsmode: String,
    value: String,
}

impl NsMode {
    /// As the CLI writes it: `host`, `container:NAME`, `keep-id:uid=1`.
    fn flag(self) -> Option<String> {
        match (self.nsmode.as_str(), self.value.as_str()) {
            ("", _) => None,
            (m, "") => Some(m.to_string()),
            (m, v) => Some(format!("{m}:{v}")),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PerNetwork {
    aliases: Vec<String>,
    static_ips: Vec<String>,
    static_mac: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NamedVolume {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Dest")]
    dest: String,
    #[serde(rename = "Options")]
    options: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SpecMount {
    destination: String,
    #[serde(rename = "type")]
    kind: String,
    source: String,
    options: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LogConfig {
    driver: String,
    options: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Rlimit {
    #[serde(rename = "type")]
    kind: String,
    soft: u64,
    hard: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
struct HealthConfig {
    test: Vec<String>,
    interval: i64,
    timeout: i64,
    start_period: i64,
    retries: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Memory {
    limit: Option<i64>,
    reservation: Option<i64>,
    swap: Option<i64>,
    swappiness: Option<i64>,
    #[serde(rename = "disableOOMKiller")]
    disable_oom_killer: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Cpu {
    shares: Option<u64>,
    quota: Option<i64>,
    period: Option<u64>,
    cpus: String,
    mems: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Pids {
    limit: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BlockIo {
    weight: Option<u16>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Limits {
    memory: Option<Memory>,
    cpu: Option<Cpu>,
    pids: Option<Pids>,
    #[serde(rename = "blockIO")]
    block_io: Option<BlockIo>,
}

fn yes() -> bool {
    true
}

/// The SpecGenerator fields this service builds containers from (the
/// body is first checked against `spec_fields::SPEC`, which lists them).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SpecGenerator {
    name: String,
    image: String,
    command: Vec<String>,
    entrypoint: Option<Vec<String>>,
    env: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    terminal: bool,
    stdin: bool,
    remove: bool,
    work_dir: String,
    user: String,
    hostname: String,
    privileged: bool,
    read_only_filesystem: bool,
    #[serde(default = "yes")]
    read_write_tmpfs: bool,
    #[serde(default = "yes")]
    httpproxy: bool,
    cap_add: Vec<String>,
    cap_drop: Vec<String>,
    groups: Vec<String>,
    portmappings: Vec<PortMap>,
    publish_image_ports: bool,
    expose: BTreeMap<String, String>,
    netns: Option<NsMode>,
    networks: BTreeMap<String, PerNetwork>,
    dns_server: Vec<String>,
    dns_search: Vec<String>,
    dns_option: Vec<String>,
    hostadd: Vec<String>,
    use_image_hosts: bool,
    base_hosts_file: String,
    volumes: Vec<NamedVolume>,
    mounts: Vec<SpecMount>,
    volumes_from: Vec<String>,
    image_volume_mode: String,
    systemd: String,
    #[serde(rename = "sdnotifyMode")]
    sdnotify_mode: String,
    manage_password: Option<bool>,
    seccomp_policy: String,
    pod: String,
    stop_signal: Option<i64>,
    stop_timeout: Option<u32>,
    timeout: Option<u32>,
    restart_policy: String,
    restart_tries: Option<u32>,
    init: bool,
    init_path: String,
    timezone: String,
    umask: String,
    unsetenv: Vec<String>,
    unsetenvall: bool,
    sysctl: BTreeMap<String, String>,
    log_configuration: Option<LogConfig>,
    pidfile: String,
    conmon_pid_file: String,
    ipcns: Option<NsMode>,
    pidns: Option<NsMode>,
    utsns: Option<NsMode>,
    userns: Option<NsMode>,
    cgroupns: Option<NsMode>,
    cgroups_mode: String,
    cgroup_parent: String,
    resource_limits: Option<Limits>,
    r_limits: Vec<Rlimit>,
    oom_score_adj: Option<i64>,
    shm_size: Option<i64>,
    seccomp_profile_path: String,
    no_new_privileges: bool,
    apparmor_profile: String,
    selinux_opts: Vec<String>,
    mask: Vec<String>,
    unmask: Vec<String>,
    healthconfig: Option<HealthConfig>,
    health_check_on_failure_action: Option<Value>,
}

fn pairs(m: BTreeMap<String, String>) -> Vec<String> {
    m.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

fn some(s: String) -> Option<String> {
    Some(s).filter(|s| !s.is_empty())
}

/// `-p` text for a libpod port mapping.
pub fn publish_flag(p: &PortMap) -> String {
    let proto = if p.protocol.is_empty() {
        "tcp"
    } else {
        &p.protocol
    };
    let ip = if p.host_ip.contains(':') {
        format!("[{}]", p.host_ip)
    } else {
        p.host_ip.clone()
    };
    let span = |start: u16| {
        if p.range > 1 {
            format!("{start}-{}", start + p.range - 1)
        } else {
            start.to_string()
        }
    };
    let host = match (ip.as_str(), p.host_port) {
        ("", 0) => String::new(),
        ("", hp) => format!("{}:", span(hp)),
        (ip, 0) => format!("{ip}::"),
        (ip, hp) => format!("{ip}:{}:", span(hp)),
    };
    format!("{host}{}/{proto}", span(p.container_port))
}

/// A bind or tmpfs mount's options in `-v`/`--tmpfs` words.
fn short_options(opts: Vec<String>) -> Vec<String> {
    opts.into_iter()
        .filter_map(|o| match o.split_once('=') {
            Some(("bind-propagation", v)) => Some(v.to_string()),
            Some(("tmpfs-size", v)) => Some(format!("size={v}")),
            Some(("tmpfs-mode", v)) => Some(format!("mode={v}")),
            Some(("chown", "true")) => Some("U".into()),
            Some(("readonly" | "ro", "true")) => Some("ro".into()),
            Some(("readonly" | "ro", "false")) => None,
            _ if o == "readonly" => Some("ro".into()),
            _ => Some(o),
        })
        .collect()
}

impl SpecGenerator {
    pub fn into_options(self) -> ApiResult<CreateOptions> {
        if self.image.is_empty() {
            return Err(ApiError::bad_request("image must be given"));
        }
        let mut o = CreateOptions {
            name: some(self.name),
            image: self.image,
            command: self.command,
            env: pairs(self.env),
            label: pairs(self.labels),
            annotation: pairs(self.annotations),
            tty: self.terminal,
            interactive: self.stdin,
            rm: self.remove,
            workdir: some(self.work_dir),
            user: some(self.user),
            hostname: some(self.hostname),
            privileged: self.privileged,
            // An unset (false) field leaves containers.conf's default.
            read_only: self.read_only_filesystem.then_some(true),
            cap_add: self.cap_add,
            cap_drop: self.cap_drop,
            group_add: self.groups,
            volumes_from: self.volumes_from,
            pod: some(self.pod),
            stop_signal: self.stop_signal.map(|s| s.to_string()),
            stop_timeout: self.stop_timeout,
            init: self.init,
            publish_all: self.publish_image_ports,
            dns: self.dns_server,
            dns_search: self.dns_search,
            add_host: self.hostadd,
            // The client pulls what is missing (a 404 tells it to).
            pull: "never".into(),
            quiet: true,
            ..Default::default()
        };
        o.restart = match (self.restart_policy.as_str(), self.restart_tries) {
            ("", _) => None,
            ("on-failure", Some(n)) if n > 0 => Some(format!("on-failure:{n}")),
            (p, _) => Some(p.to_string()),
        };
        if let Some(ep) = self.entrypoint {
            o.entrypoint = Some(if ep.is_empty() {
                String::new()
            } else {
                serde_json::to_string(&ep).unwrap_or_default()
            });
        }
        let m = &mut o.more;
        m.read_only_tmpfs = self.read_write_tmpfs;
        m.http_proxy = self.httpproxy;
        m.dns_option = self.dns_option;
        m.no_hosts = self.use_image_hosts;
        m.hosts_file = some(self.base_hosts_file);
        m.timeout = self.timeout;
        m.init_path = some(self.init_path);
        o.image_volume = some(self.image_volume_mode);
        m.systemd = some(self.systemd);
        m.sdnotify = some(self.sdnotify_mode);
        o.extra.passwd = self.manage_password;
        o.extra.seccomp_policy = some(self.seccomp_policy);
        m.tz = some(self.timezone);
        m.umask = some(self.umask);
        m.unsetenv = self.unsetenv;
        m.unsetenv_all = self.unsetenvall;
        m.sysctl = pairs(self.sysctl);
        m.pidfile = some(self.pidfile).map(Into::into);
        m.conmon_pidfile = some(self.conmon_pid_file).map(Into::into);
        m.oom_score_adj = self.oom_score_adj.map(|n| n.to_string());
        m.shm_size = self.shm_size.filter(|n| *n > 0).map(|n| n.to_string());
        m.expose = self
            .expose
            .into_iter()
            .map(|(p, proto)| format!("{p}/{}", if proto.is_empty() { "tcp" } else { &proto }))
            .collect();
        m.ipc = self.ipcns.and_then(NsMode::flag);
        m.pid = self.pidns.and_then(NsMode::flag);
        m.uts = self.utsns.and_then(NsMode::flag);
        m.userns = self.userns.and_then(NsMode::flag);
        o.cgroups.cgroupns = self.cgroupns.and_then(NsMode::flag);
        o.cgroups.cgroups = some(self.cgroups_mode);
        o.cgroups.cgroup_parent = some(self.cgroup_parent);
        if let Some(l) = self.log_configuration {
            o.log_driver = some(l.driver);
            o.more.log_opt = pairs(l.options);
        }
        o.publish = self.portmappings.iter().map(publish_flag).collect();
        let mut nets: Vec<String> = Vec::new();
        if let Some(ns) = self.netns {
            match ns.nsmode.as_str() {
                "" | "bridge" | "default" => {}
                "host" | "none" | "private" | "slirp4netns" | "pasta" => nets.push(ns.nsmode),
                "container" | "ns" => nets.push(format!("{}:{}", ns.nsmode, ns.value)),
                other => {
                    return Err(ApiError::bad_request(format!(
                        "netns mode {other:?} is not supported by podman-rs"
                    )))
                }
            }
        }
        for (name, n) in self.networks {
            nets.push(name);
            o.network_alias.extend(n.aliases);
            for ip in n.static_ips {
                if ip.contains(':') {
                    o.more.ip6 = Some(ip);
                } else {
                    o.ip = Some(ip);
                }
            }
            if !n.static_mac.is_empty() {
                o.mac_address = Some(n.static_mac);
            }
        }
        if !nets.is_empty() {
            o.network = vec![nets.join(",")];
        }
        for v in self.volumes {
            let mut s = if v.name.is_empty() {
                v.dest
            } else {
                format!("{}:{}", v.name, v.dest)
            };
            if !v.options.is_empty() {
                s.push(':');
                s.push_str(&v.options.join(","));
            }
            o.volume.push(s);
        }
        for m in self.mounts {
            match m.kind.as_str() {
                "tmpfs" => {
                    let opts = short_options(m.options);
                    o.tmpfs.push(if opts.is_empty() {
                        m.destination
                    } else {
                        format!("{}:{}", m.destination, opts.join(","))
                    });
                }
                "bind" if !m.source.is_empty() => {
                    let opts = short_options(m.options);
                    let mut s = format!("{}:{}", m.source, m.destination);
                    if !opts.is_empty() {
                        s.push(':');
                        s.push_str(&opts.join(","));
                    }
                    o.volume.push(s);
                }
                _ => {
                    let mut s = format!("type={},destination={}", m.kind, m.destination);
                    if !m.source.is_empty() {
                        s.push_str(&format!(",source={}", m.source));
                    }
                    for opt in m.options {
                        s.push(',');
                        s.push_str(&opt);
                    }
                    o.mount.push(s);
                }
            }
        }
        for r in self.r_limits {
            let kind = r.kind.trim_start_matches("RLIMIT_").to_ascii_lowercase();
            o.ulimit.push(format!("{kind}={}:{}", r.soft, r.hard));
        }
        if let Some(l) = self.resource_limits {
            let r = &mut o.resources;
            if let Some(m) = l.memory {
                r.memory = m.limit.map(|n| n.to_string());
                r.memory_reservation = m.reservation.map(|n| n.to_string());
                r.memory_swap = m.swap.map(|n| n.to_string());
                r.memory_swappiness = m.swappiness.map(|n| n.to_string());
                r.oom_kill_disable = m.disable_oom_killer.unwrap_or(false);
            }
            if let Some(c) = l.cpu {
                r.cpu_shares = c.shares.map(|n| n.to_string());
                r.cpu_quota = c.quota.map(|n| n.to_string());
                r.cpu_period = c.period.map(|n| n.to_string());
                r.cpuset_cpus = some(c.cpus);
                r.cpuset_mems = some(c.mems);
            }
            if let Some(p) = l.pids {
                o.more.pids_limit = Some(p.limit.to_string());
            }
            if let Some(w) = l.block_io.and_then(|b| b.weight) {
                r.blkio_weight = Some(w.to_string());
            }
        }
        let sec = &mut o.security_opt;
        if !self.seccomp_profile_path.is_empty() {
            sec.push(format!("seccomp={}", self.seccomp_profile_path));
        }
        if self.no_new_privileges {
            sec.push("no-new-privileges".into());
        }
        if !self.apparmor_profile.is_empty() {
            sec.push(format!("apparmor={}", self.apparmor_profile));
        }
        sec.extend(self.selinux_opts.into_iter().map(|l| format!("label={l}")));
        if !self.mask.is_empty() {
            sec.push(format!("mask={}", self.mask.join(":")));
        }
        if !self.unmask.is_empty() {
            sec.push(format!("unmask={}", self.unmask.join(":")));
        }
        if let Some(h) = self.healthconfig {
            let dur = |ns: i64| format!("{ns}ns");
            match h.test.first().map(String::as_str) {
                None => {}
                Some("NONE") => o.health.none = true,
                Some(_) => {
                    o.health.cmd = Some(serde_json::to_string(&h.test).unwrap_or_default());
                    o.health.interval = Some(if h.interval == 0 {
                        "disable".into()
                    } else {
                        dur(h.interval)
                    });
                    if h.timeout > 0 {
                        o.health.timeout = Some(dur(h.timeout));
                    }
                    if h.start_period > 0 {
                        o.health.start_period = Some(dur(h.start_period));
                    }
                    if h.retries > 0 {
                        o.health.retries = Some(h.retries.to_string());
                    }
                    // libpod's HealthCheckOnFailureAction (0 is its
                    // invalid value), or the name.
                    o.health.on_failure = match self.health_check_on_failure_action {
                        Some(Value::String(s)) if !s.is_empty() => Some(s),
                        Some(Value::Number(n)) => ["none", "kill", "restart", "stop"]
                            .get((n.as_u64().unwrap_or(0) as usize).wrapping_sub(1))
                            .map(|s| s.to_string()),
                        _ => None,
                    };
                }
            }
        }
        Ok(o)
    }
}
