//! What podman records about a container: its configuration (fixed at
//! create) and its state (changes over its life). Both are stored as JSON in
//! the state database, one transaction per change.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Podman's container statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Configured,
    Created,
    Running,
    Paused,
    Stopping,
    Exited,
    Stopped,
    Removing,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Configured => "configured",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopping => "stopping",
            Status::Exited => "exited",
            Status::Stopped => "stopped",
            Status::Removing => "removing",
        }
    }

    pub fn is_active(self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::Stopping)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountSpec {
    /// "bind", "tmpfs", "volume".
    pub kind: String,
    pub source: String,
    pub destination: String,
    pub options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: String,
    /// Number of consecutive ports (1 for a single port).
    pub range: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RestartPolicy {
    /// "", "no", "always", "on-failure", "unless-stopped".
    pub name: String,
    pub max_retries: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rlimit {
    /// OCI name, e.g. RLIMIT_NOFILE.
    pub kind: String,
    pub soft: u64,
    pub hard: u64,
}

/// How the container is networked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "mode", content = "value")]
pub enum NetworkMode {
    /// Bridge networks by name (the default network when empty).
    #[default]
    Bridge,
    None,
    Host,
    /// Share another container's network namespace.
    Container(String),
    /// Join the network namespace at this path (`ns:PATH`).
    Path(String),
    /// User-mode networking by slirp4netns, with its options.
    Slirp4netns(Vec<String>),
    /// User-mode networking by pasta, with pasta's own options.
    Pasta(Vec<String>),
}

impl NetworkMode {
    /// Modes whose netns podman makes and a tool configures.
    pub fn user_mode_tool(&self) -> Option<(&'static str, &[String])> {
        match self {
            NetworkMode::Slirp4netns(o) => Some(("slirp4netns", o)),
            NetworkMode::Pasta(o) => Some(("pasta", o)),
            _ => None,
        }
    }

    /// Podman's name of the mode (inspect's NetworkMode, messages).
    pub fn name(&self) -> String {
        match self {
            NetworkMode::Bridge => "bridge".into(),
            NetworkMode::None => "none".into(),
            NetworkMode::Host => "host".into(),
            NetworkMode::Container(c) => format!("container:{c}"),
            NetworkMode::Path(p) => format!("ns:{p}"),
            NetworkMode::Slirp4netns(_) => "slirp4netns".into(),
            NetworkMode::Pasta(_) => "pasta".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NetworkAttachment {
    pub name: String,
    pub aliases: Vec<String>,
    pub static_ip: Option<String>,
    pub static_mac: Option<String>,
    /// `--network NAME:ip6=` (and `--ip6`).
    #[serde(default)]
    pub static_ip6: Option<String>,
    /// `--network NAME:interface_name=`; empty: eth0, eth1… by position.
    #[serde(default)]
    pub interface_name: String,
}

/// Fixed at create time.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ContainerConfig {
    pub id: String,
    pub name: String,
    pub image_id: String,
    /// The name the user gave, as resolved (e.g. 127.0.0.1:5000/bb:latest).
    pub image_name: String,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
    pub groups: Vec<String>,
    pub hostname: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub read_only: bool,
    pub mounts: Vec<MountSpec>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    pub no_new_privileges: bool,
    pub rlimits: Vec<Rlimit>,
    pub init: bool,
    pub stop_signal: i32,
    pub stop_timeout: u32,
    pub restart: RestartPolicy,
    pub terminal: bool,
    pub stdin: bool,
    pub auto_remove: bool,
    pub log_driver: String,
    pub log_path: PathBuf,
    pub network_mode: NetworkMode,
    pub networks: Vec<NetworkAttachment>,
    pub ports: Vec<PortMapping>,
    pub exposed_ports: Vec<String>,
    pub dns_servers: Vec<String>,
    pub dns_search: Vec<String>,
    pub add_hosts: Vec<String>,
    pub detach_keys: String,
    pub created_ns: i64,
    /// The OCI runtime chosen at create (a path).
    pub runtime: String,
    /// Other containers this one depends on (network container, …).
    pub dependencies: Vec<String>,
    /// The run/create flags below came later: old records load with defaults.
    #[serde(default)]
    pub extra: RunExtras,
}

/// A host device node given to the container (`--device`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DeviceSpec {
    pub host_path: String,
    pub container_path: String,
    /// "c" or "b".
    pub kind: String,
    pub major: i64,
    pub minor: i64,
    pub file_mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Cgroup access: a subset of "rwm".
    pub access: String,
}

/// A `--device-cgroup-rule`: "c 1:3 rwm" (major/minor `None` for `*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DeviceRule {
    /// "a", "b" or "c".
    pub kind: String,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: String,
}

/// Flags of `run`/`create` beyond the first set; each defaults to "unused".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct RunExtras {
    /// `--rootfs`: the user's directory the container runs on ("" for an
    /// image container), and whether an overlay (`:O`) covers it.
    pub rootfs: String,
    pub rootfs_overlay: bool,
    /// systemd mode (`--systemd`, resolved at create; see spec::systemd).
    pub systemd: bool,
    /// `--sysctl` KEY=VALUE.
    pub sysctls: BTreeMap<String, String>,
    pub devices: Vec<DeviceSpec>,
    pub device_rules: Vec<DeviceRule>,
    /// `--ipc`, `--pid`, `--uts`: "" (private), "host", "ns:PATH" or
    /// "container:ID".
    pub ipc: String,
    /// A new IPC namespace's kind (`--ipc`): "" shareable (others may join
    /// it), "private" (they may not), "none" (private, no /dev/shm).
    pub ipc_kind: String,
    pub pid: String,
    pub uts: String,
    /// `--tz`: "", "local" or an IANA zone name.
    pub timezone: String,
    /// `--cgroupns`: "private", "" (the host's), "ns:PATH" or "container:ID".
    pub cgroupns: String,
    /// `--cgroups`: "" (enabled), "no-conmon" or "disabled".
    pub cgroups_mode: String,
    /// `--cgroup-parent`.
    pub cgroup_parent: String,
    /// `--cgroup-conf` KEY=VALUE (cgroup v2 files).
    pub cgroup_conf: BTreeMap<String, String>,
    /// `--read-only-tmpfs` (only meaningful with read_only).
    pub read_only_tmpfs: bool,
    /// `--pidfile`: where the container's pid is written.
    pub pid_file: String,
    /// `--conmon-pidfile`: where the monitor's pid is written.
    pub monitor_pid_file: String,
    /// `--log-opt max-size`: 0 is no limit.
    pub log_size_max: u64,
    /// `--log-opt tag`.
    pub log_tag: String,
    /// `--oom-score-adj`.
    pub oom_score_adj: Option<i32>,
    /// `--umask` (or containers.conf's), octal text as given; empty: 0022.
    pub umask: String,
    /// The working directory was given with `--workdir` (it must then
    /// exist; the image's own is made when missing).
    pub workdir_explicit: bool,
    /// `--shm-size` in bytes.
    pub shm_size: Option<u64>,
    /// `--unsetenv` names; `--unsetenv-all`.
    pub unsetenv: Vec<String>,
    pub unsetenv_all: bool,
    /// `--dns-option`.
    pub dns_options: Vec<String>,
    /// `--hosts-file`: the base of /etc/hosts ("" : containers.conf's).
    pub hosts_file: String,
    /// `--no-hosts`, `--no-hostname`.
    pub no_hosts: bool,
    pub no_hostname: bool,
    /// `--init-path`.
    pub init_path: String,
    /// `--rmi`: remove the image once the container is removed.
    pub remove_image: bool,
    /// `--timeout`: seconds until the monitor kills it; 0: never.
    pub timeout: u32,
    /// `--sdnotify`: "" or "ignore" / "conmon".
    pub sdnotify: String,
    /// `--security-opt` confinement and the pids limit.
    pub security: Confinement,
    /// `--memory`, `--cpus`, ... (see spec::resources).
    pub resources: Resources,
    /// `--health-*` or the image's HEALTHCHECK; None: no healthcheck.
    pub healthcheck: Option<Healthcheck>,
    /// `--userns`: "" (the host's), "private" (`--uidmap`...), "auto",
    /// "keep-id", "ns:PATH" or "container:ID".
    pub userns: String,
    /// The user namespace's mappings (none: the host's namespace).
    pub idmap: Option<super::idmap::IdMappings>,
    /// The pod the container belongs to (its ID), and whether it is that
    /// pod's infra container.
    pub pod: String,
    pub pod_infra: bool,
    /// `--secret NAME[,type=mount,...]`: files under /run/secrets.
    pub secrets: Vec<SecretMount>,
    /// `--secret NAME,type=env[,target=VAR]`: variables set at each start.
    pub env_secrets: Vec<EnvSecret>,
    /// `--chrootdirs`: the managed /etc files are mounted under each too.
    pub chrootdirs: Vec<String>,
    /// `--personality`: "LINUX" or "LINUX32" ("" : the runtime's).
    pub personality: String,
    /// `--rdt-class`: the resctrl class of service.
    pub rdt_class: String,
    /// `--hostuser`: host accounts added to the container's /etc/passwd.
    pub host_users: Vec<String>,
    /// `--passwd-entry`, `--group-entry`: templates of the added entries.
    pub passwd_entry: String,
    pub group_entry: String,
    /// `--passwd=false`: leave /etc/passwd and /etc/group as they are.
    pub no_passwd: bool,
}

/// A secret given to the container as a file; its bytes are copied into
/// the container's data directory at create, as Podman copies them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SecretMount {
    /// The secret's name (the file's name under /run/secrets).
    pub name: String,
    pub id: String,
    /// `target=`: "" (/run/secrets/NAME), a name under /run/secrets, or
    /// an absolute path.
    pub target: String,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

impl SecretMount {
    /// Where the file appears in the container.
    pub fn destination(&self) -> String {
        match self.target.as_str() {
            "" => format!("/run/secrets/{}", self.name),
            t if t.starts_with('/') => t.to_string(),
            t => format!("/run/secrets/{t}"),
        }
    }
}

/// A secret given to the container as an environment variable; its value
/// is read from the secret store at each start, as Podman does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct EnvSecret {
    pub variable: String,
    pub name: String,
    pub id: String,
}

/// How the container is confined, fixed at create (`--security-opt`,
/// `--pids-limit`, containers.conf).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Confinement {
    /// "unconfined", a profile's absolute path, or "" for the built-in copy
    /// of containers-common's profile.
    pub seccomp_profile: String,
    /// `apparmor=`: "" (none) or a profile name.
    pub apparmor_profile: String,
    /// `label=` values as given.
    pub labels: Vec<String>,
    /// `mask=` paths, `unmask=` paths or globs ("ALL": every default).
    pub mask: Vec<String>,
    pub unmask: Vec<String>,
    /// `proc-opts=`: the options /proc is mounted with, replacing ours.
    pub proc_opts: Vec<String>,
    /// The bounding capability set (for inspect; the spec recomputes it).
    pub capabilities: Vec<String>,
    /// `linux.resources.pids.limit`: 0 leaves the cgroup's own, -1 is no limit.
    pub pids_limit: i64,
}

impl ContainerConfig {
    /// The process environment: libpod's defaults (PATH,
    /// `container=podman`, TERM for a terminal) and `at_start` (HOME and
    /// HOSTNAME, which Podman adds when the container starts) under the
    /// image's and the user's variables, less `--unsetenv`. With no
    /// `at_start` it is what inspect's `Config.Env` shows.
    pub fn environment(&self, at_start: &[String]) -> Vec<String> {
        fn set(env: &mut Vec<String>, kv: String) {
            let key = kv.split('=').next().unwrap_or("").to_string();
            env.retain(|e| e.split('=').next() != Some(key.as_str()));
            env.push(kv);
        }
        let mut env: Vec<String> = Vec::new();
        set(
            &mut env,
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        );
        if self.terminal {
            set(&mut env, "TERM=xterm".into());
        }
        set(&mut env, "container=podman".into());
        for kv in at_start {
            set(&mut env, kv.clone());
        }
        if self.extra.unsetenv_all {
            env.clear();
        }
        for e in &self.env {
            set(&mut env, e.clone());
        }
        env.retain(|e| {
            let key = e.split('=').next().unwrap_or("");
            !self.extra.unsetenv.iter().any(|u| u == key)
        });
        env
    }

    /// The names a network knows the container by besides its own name, as
    /// libpod records them: the user's aliases, then the short id (Docker
    /// compatibility) and an explicitly set hostname.
    pub fn network_aliases(&self, user: &[String]) -> Vec<String> {
        let short = self.id.get(..12).unwrap_or(&self.id);
        let mut out = user.to_vec();
        out.push(short.to_string());
        if !self.hostname.is_empty() && self.hostname != short {
            out.push(self.hostname.clone());
        }
        out
    }

    /// The process args: entrypoint followed by cmd.
    pub fn command_line(&self) -> Vec<String> {
        self.entrypoint
            .iter()
            .chain(self.cmd.iter())
            .cloned()
            .collect()
    }
}

/// Changes over the container's life.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ContainerState {
    pub status: Status,
    pub pid: i32,
    pub monitor_pid: i32,
    pub exit_code: i32,
    pub started_ns: i64,
    pub finished_ns: i64,
    pub oom_killed: bool,
    /// The last error, for `inspect`'s `.State.Error`. Never set by a stop
    /// of a container that was not running.
    pub error: String,
    pub mountpoint: String,
    pub netns_path: String,
    pub bundle_path: String,
    pub restart_count: u32,
    /// Set when the user stopped it (for restart policies).
    pub stopped_by_user: bool,
    /// Results of network setup, per network.
    pub network_status: serde_json::Value,
    pub checkpointed: bool,
    /// Filesystem volumes this start counted a use of (given back at
    /// cleanup).
    #[serde(default)]
    pub volumes_mounted: Vec<String>,
    /// Images this start mounted for `--mount type=image` (IDs, given
    /// back at cleanup).
    #[serde(default)]
    pub images_mounted: Vec<String>,
}

/// Cgroup limits fixed at create (`--memory`, `--cpus`, `--blkio-weight`,
/// ...); `None` leaves the cgroup's own value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Resources {
    pub memory: Option<i64>,
    pub memory_reservation: Option<i64>,
    /// Memory plus swap; `None` with a memory limit: unlimited swap.
    pub memory_swap: Option<i64>,
    pub memory_swappiness: Option<u64>,
    pub oom_kill_disable: bool,
    pub cpu_shares: Option<u64>,
    pub cpu_period: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_rt_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    pub blkio_weight: Option<u16>,
    pub blkio_weight_device: Vec<DeviceWeight>,
    pub throttle_read_bps: Vec<DeviceRate>,
    pub throttle_write_bps: Vec<DeviceRate>,
    pub throttle_read_iops: Vec<DeviceRate>,
    pub throttle_write_iops: Vec<DeviceRate>,
}

/// `--blkio-weight-device PATH:WEIGHT`, with the node's numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DeviceWeight {
    pub path: String,
    pub major: i64,
    pub minor: i64,
    pub weight: u16,
}

/// `--device-{read,write}-{bps,iops} PATH:RATE`, with the node's numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DeviceRate {
    pub path: String,
    pub major: i64,
    pub minor: i64,
    pub rate: u64,
}

/// A container's healthcheck (Podman's HealthConfig plus its on-failure
/// action). Durations in nanoseconds; an interval of 0 runs only on demand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Healthcheck {
    /// `["CMD-SHELL", "cmd"]` or `["CMD", "prog", "arg"...]`.
    pub test: Vec<String>,
    pub interval_ns: i64,
    pub timeout_ns: i64,
    pub start_period_ns: i64,
    pub retries: u32,
    /// "none", "kill", "restart" or "stop".
    pub on_failure: String,
    /// `--health-max-log-count`: runs kept (None: Podman's 5; 0: all).
    pub max_log_count: Option<u32>,
    /// `--health-max-log-size`: output bytes kept per run (None: 500; 0: all).
    pub max_log_size: Option<u32>,
    /// `--health-log-destination`: "" or "local" (the bundle),
    /// "events_logger" (the health_status events), or a directory.
    pub log_destination: String,
    /// `--health-startup-*`: the check run after each start until it
    /// passes, before this one takes over.
    pub startup: Option<StartupHealthcheck>,
}

impl Healthcheck {
    /// A check to run (not Podman's `["NONE"]` that disables one).
    pub fn is_active(&self) -> bool {
        self.test
            .first()
            .is_some_and(|t| !t.is_empty() && t != "NONE")
    }
}

/// libpod's StartupHealthCheck.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct StartupHealthcheck {
    pub test: Vec<String>,
    pub interval_ns: i64,
    pub timeout_ns: i64,
    /// Failures in a row that restart the container (0: never).
    pub retries: u32,
    /// Successes in a row that pass it (0: the first success).
    pub successes: u32,
}
