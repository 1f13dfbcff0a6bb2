//! What `podman create` (and `run`) asks for, as plain options: the
//! command line's flags, parsed into these by the commands layer.

use std::path::PathBuf;

#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Assign a name to the container
    pub name: Option<String>,
    /// Set environment variables (KEY=VALUE, or KEY to copy it from podman's environment)
    pub env: Vec<String>,
    /// Read environment variables from a file
    pub env_file: Vec<PathBuf>,
    /// Working directory inside the container
    pub workdir: Option<String>,
    /// Username or UID[:GROUP]
    pub user: Option<String>,
    /// Additional groups to run as
    pub group_add: Vec<String>,
    /// Container host name
    pub hostname: Option<String>,
    /// Set metadata (KEY=VALUE)
    pub label: Vec<String>,
    /// Add annotations (KEY=VALUE)
    pub annotation: Vec<String>,
    /// Mount the root filesystem read-only (`None`: containers.conf
    /// `read_only`, else read-write)
    pub read_only: Option<bool>,
    /// Mount a tmpfs: /path[:options]
    pub tmpfs: Vec<String>,
    /// Bind mount a volume: HOST-DIR:CONTAINER-DIR[:OPTIONS]
    pub volume: Vec<String>,
    /// Attach a filesystem mount: type=bind|volume|tmpfs|devpts,source=...,destination=...
    pub mount: Vec<String>,
    /// `--volumes-from CONTAINER[:ro|rw]`
    pub volumes_from: Vec<String>,
    /// `--image-volume`: anonymous (bind), tmpfs or ignore
    pub image_volume: Option<String>,
    /// Add Linux capabilities
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    pub cap_drop: Vec<String>,
    /// Give extended privileges to the container
    pub privileged: bool,
    /// Security options: seccomp=PROFILE|unconfined, mask=PATHS, unmask=PATHS|ALL, apparmor=, label=disable, no-new-privileges
    pub security_opt: Vec<String>,
    /// Ulimit options: NAME=SOFT[:HARD]
    pub ulimit: Vec<String>,
    /// Run an init inside the container that forwards signals and reaps processes
    pub init: bool,
    /// Signal to stop the container
    pub stop_signal: Option<String>,
    /// Seconds to wait before forcibly stopping the container
    pub stop_timeout: Option<u32>,
    /// Restart policy: no, always, on-failure[:N], unless-stopped
    pub restart: Option<String>,
    /// Keep STDIN open even if not attached
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    pub tty: bool,
    /// Override the image's entrypoint
    pub entrypoint: Option<String>,
    /// Logging driver: k8s-file, none, passthrough
    pub log_driver: Option<String>,
    /// Network mode: bridge, none, host, container:NAME, or network names (comma separated)
    pub network: Vec<String>,
    /// Publish a container's port to the host: [[IP:]HOSTPORT:]CTRPORT[/PROTO]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random host ports
    pub publish_all: bool,
    /// Static IPv4 address
    pub ip: Option<String>,
    /// Static MAC address
    pub mac_address: Option<String>,
    /// Network aliases
    pub network_alias: Vec<String>,
    /// DNS servers
    pub dns: Vec<String>,
    /// DNS search domains
    pub dns_search: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    pub add_host: Vec<String>,
    /// Override the key sequence for detaching a container
    pub detach_keys: Option<String>,
    /// Remove the container when it exits
    pub rm: bool,
    /// If a container with the same name exists, replace it
    pub replace: bool,
    /// Pull policy: missing, always, never, newer
    pub pull: String,
    /// Require HTTPS and verify certificates when pulling
    pub tls_verify: Option<bool>,
    /// Suppress pull progress
    pub quiet: bool,
    /// The flags beyond the first set.
    pub resources: crate::spec::resources::ResourceFlags,
    /// `--cgroupns`, `--cgroups`, `--cgroup-parent`, `--cgroup-conf`.
    pub cgroups: super::cgroups::CgroupFlags,
    /// The `--health-*` flags, unparsed.
    pub health: super::health::HealthFlags,
    pub more: MoreOptions,
    pub extra: ExtraOptions,
    /// Podman flags given that podman-rs does not implement yet (`--NAME`).
    pub not_yet: Vec<&'static str>,
    /// Image to create the container from
    pub image: String,
    /// Command and arguments
    pub command: Vec<String>,
    /// `--pod NAME|ID|new:NAME`, `--pod-id-file`.
    pub pod: Option<String>,
    pub pod_id_file: Option<PathBuf>,
    /// Made by `pod create` as the pod's infra container.
    pub pod_infra: bool,
}

/// `run`/`create` flags beyond the first set, unparsed (create validates).
#[derive(Debug, Clone, Default)]
pub struct MoreOptions {
    pub cidfile: Option<PathBuf>,
    pub conmon_pidfile: Option<PathBuf>,
    pub pidfile: Option<PathBuf>,
    pub env_host: bool,
    pub http_proxy: bool,
    pub tz: Option<String>,
    pub read_only_tmpfs: bool,
    pub sysctl: Vec<String>,
    pub device: Vec<String>,
    pub device_cgroup_rule: Vec<String>,
    pub ipc: Option<String>,
    pub pid: Option<String>,
    pub uts: Option<String>,
    pub userns: Option<String>,
    /// `--uidmap`, `--gidmap`, `--subuidname`, `--subgidname`.
    pub uidmap: Vec<String>,
    pub gidmap: Vec<String>,
    pub subuidname: Option<String>,
    pub subgidname: Option<String>,
    pub platform: Option<String>,
    pub arch: Option<String>,
    pub os: Option<String>,
    pub variant: Option<String>,
    pub log_opt: Vec<String>,
    pub attach: Vec<String>,
    pub sdnotify: Option<String>,
    pub unsetenv: Vec<String>,
    pub unsetenv_all: bool,
    pub oom_score_adj: Option<String>,
    pub umask: Option<String>,
    pub shm_size: Option<String>,
    /// `--pids-limit`: a number, -1 for no limit.
    pub pids_limit: Option<String>,
    pub dns_option: Vec<String>,
    /// `--hosts-file PATH|image|none`.
    pub hosts_file: Option<String>,
    /// `--ip6`.
    pub ip6: Option<String>,
    pub label_file: Vec<PathBuf>,
    pub no_hosts: bool,
    pub no_hostname: bool,
    pub init_path: Option<String>,
    pub expose: Vec<String>,
    pub systemd: Option<String>,
    /// `--rootfs`: the image argument is `PATH[:O]`, an exploded root.
    pub rootfs: bool,
    pub timeout: Option<u32>,
    /// `run --rmi`.
    pub remove_image: bool,
}

/// Later `run`/`create` flags, unparsed (create validates).
#[derive(Debug, Clone, Default)]
pub struct ExtraOptions {
    /// `--secret NAME[,type=mount|env,target=,uid=,gid=,mode=]`.
    pub secret: Vec<String>,
    /// `--env-merge KEY=VALUE` over the image's environment.
    pub env_merge: Vec<String>,
    /// `--requires`: containers started before this one.
    pub requires: Vec<String>,
    /// `--chrootdirs`.
    pub chrootdirs: Vec<String>,
    /// `--personality LINUX|LINUX32`.
    pub personality: Option<String>,
    /// `--retry`, `--retry-delay` of the pull run/create may do.
    pub retry: Option<u32>,
    pub retry_delay: Option<String>,
    /// `--gpus`, `--rdt-class`, `--decryption-key`.
    pub gpus: Vec<String>,
    pub rdt_class: Option<String>,
    pub decryption_key: Vec<String>,
    /// `--hostuser`, `--passwd-entry`, `--group-entry`.
    pub hostuser: Vec<String>,
    pub passwd_entry: Option<String>,
    pub group_entry: Option<String>,
    /// `--authfile`, `--creds` of the pull run/create may do.
    pub authfile: Option<PathBuf>,
    pub creds: Option<String>,
    /// `--passwd=false`: no entries added to /etc/passwd and /etc/group.
    pub passwd: Option<bool>,
    /// `--seccomp-policy default|image`.
    pub seccomp_policy: Option<String>,
}
