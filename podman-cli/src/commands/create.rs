//! `podman create`, and the flags it shares with `podman run`.

use std::path::PathBuf;

use clap::Args;

use crate::engine_config::EngineConfig;
use crate::lifecycle::create_options::{CreateOptions, MoreOptions};

#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// Print help (-h is --hostname here, as in Podman)
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Set environment variables (KEY=VALUE, or KEY to copy it from podman's environment)
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Read environment variables from a file
    #[arg(long = "env-file")]
    pub env_file: Vec<PathBuf>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Username or UID[:GROUP]
    #[arg(short, long)]
    pub user: Option<String>,
    /// Additional groups to run as (comma-separated or repeated)
    #[arg(long = "group-add", value_delimiter = ',')]
    pub group_add: Vec<String>,
    /// Container host name
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Set metadata (KEY=VALUE)
    #[arg(short, long = "label")]
    pub label: Vec<String>,
    /// Add annotations (KEY=VALUE)
    #[arg(long = "annotation")]
    pub annotation: Vec<String>,
    /// Mount the root filesystem read-only (default: containers.conf read_only)
    #[arg(long = "read-only", num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set, value_name = "BOOL")]
    pub read_only: Option<bool>,
    /// Mount a tmpfs: /path[:options]
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Bind mount a volume: HOST-DIR:CONTAINER-DIR[:OPTIONS], NAME:CONTAINER-DIR[:OPTIONS] or CONTAINER-DIR (anonymous). Options: ro, rw, nocopy, U (chown to the container user), shared/slave/private propagation; z and Z are accepted and do nothing (no SELinux here)
    #[arg(short, long = "volume")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount: type=bind|volume|tmpfs|devpts,source=...,destination=...[,ro][,U][,bind-propagation=...]
    #[arg(long)]
    pub mount: Vec<String>,
    /// Mount the volumes of another container: CONTAINER[:ro|rw]
    #[arg(long = "volumes-from", value_name = "CONTAINER[:OPTIONS]")]
    pub volumes_from: Vec<String>,
    /// What the image's VOLUMEs become: anonymous (or bind), tmpfs or ignore
    #[arg(long = "image-volume", value_name = "MODE")]
    pub image_volume: Option<String>,
    /// Add Linux capabilities
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Give extended privileges to the container
    #[arg(long)]
    pub privileged: bool,
    /// Security options: seccomp=PROFILE|unconfined, mask=PATHS, unmask=PATHS|ALL, apparmor=, label=disable, no-new-privileges
    #[arg(long = "security-opt")]
    pub security_opt: Vec<String>,
    /// Ulimit options: NAME=SOFT[:HARD]
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Signal to stop the container
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// Seconds to wait before forcibly stopping the container
    #[arg(long)]
    pub stop_timeout: Option<u32>,
    /// Restart policy: no, always, on-failure[:N], unless-stopped
    #[arg(long)]
    pub restart: Option<String>,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Override the image's entrypoint
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Logging driver: k8s-file, none, passthrough
    #[arg(long)]
    pub log_driver: Option<String>,
    /// Network mode: bridge, none, host, container:NAME, or network names (comma separated)
    #[arg(long = "network", alias = "net")]
    pub network: Vec<String>,
    /// Publish a container's port to the host: [[IP:]HOSTPORT:]CTRPORT[/PROTO]
    #[arg(short, long = "publish", value_delimiter = ',', value_parser = crate::cli::pflag::csv_field)]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random host ports
    #[arg(short = 'P', long)]
    pub publish_all: bool,
    /// Static IPv4 address
    #[arg(long)]
    pub ip: Option<String>,
    /// Static MAC address
    #[arg(long)]
    pub mac_address: Option<String>,
    /// Network aliases
    #[arg(long = "network-alias")]
    pub network_alias: Vec<String>,
    /// DNS servers
    #[arg(long, value_delimiter = ',', value_parser = crate::cli::pflag::csv_field)]
    pub dns: Vec<String>,
    /// DNS search domains
    #[arg(long = "dns-search", value_delimiter = ',', value_parser = crate::cli::pflag::csv_field)]
    pub dns_search: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host", value_delimiter = ',', value_parser = crate::cli::pflag::csv_field)]
    pub add_host: Vec<String>,
    /// Override the key sequence for detaching a container
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Remove the container when it exits
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub rm: Option<bool>,
    /// If a container with the same name exists, replace it
    #[arg(long)]
    pub replace: bool,
    /// Pull policy: missing, always, never, newer
    #[arg(long, default_value = "missing")]
    pub pull: String,
    /// Require HTTPS and verify certificates when pulling
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub tls_verify: Option<bool>,
    /// Suppress pull progress
    #[arg(short, long)]
    pub quiet: bool,
    /// Run the container in an existing pod (NAME or ID), or a new one (new:NAME)
    #[arg(long, value_name = "POD")]
    pub pod: Option<String>,
    /// Read the pod ID from the file
    #[arg(long = "pod-id-file", value_name = "FILE")]
    pub pod_id_file: Option<PathBuf>,
    #[command(flatten)]
    pub more: MoreArgs,
    #[command(flatten)]
    pub resources: super::create_resources::ResourceArgs,
    #[command(flatten)]
    pub health: super::create_health::HealthArgs,
    #[command(flatten)]
    pub cgroups: super::create_cgroups::CgroupArgs,
    #[command(flatten)]
    pub extra: super::create_extra::ExtraArgs,
    #[command(flatten)]
    pub not_yet: NotYetArgs,
    /// Image to create the container from
    pub image: String,
    /// Command and arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

impl CreateArgs {
    /// The flags as the lifecycle's plain options.
    pub fn options(&self) -> CreateOptions {
        let CreateArgs {
            help: _,
            name,
            env,
            env_file,
            workdir,
            user,
            group_add,
            hostname,
            label,
            annotation,
            read_only,
            tmpfs,
            volume,
            mount,
            volumes_from,
            image_volume,
            cap_add,
            cap_drop,
            privileged,
            security_opt,
            ulimit,
            init,
            stop_signal,
            stop_timeout,
            restart,
            interactive,
            tty,
            entrypoint,
            log_driver,
            network,
            publish,
            publish_all,
            ip,
            mac_address,
            network_alias,
            dns,
            dns_search,
            add_host,
            detach_keys,
            rm,
            replace,
            pull,
            tls_verify,
            quiet,
            pod,
            pod_id_file,
            more,
            resources,
            health,
            cgroups,
            extra,
            not_yet,
            image,
            command,
        } = self.clone();
        CreateOptions {
            // Docker's API names containers "/NAME": Podman accepts the slash.
            name: name.map(|n| n.strip_prefix('/').map(str::to_string).unwrap_or(n)),
            env,
            env_file,
            workdir,
            user,
            group_add,
            hostname,
            label,
            annotation,
            read_only,
            tmpfs,
            volume,
            mount,
            volumes_from,
            image_volume,
            cap_add,
            cap_drop,
            privileged,
            security_opt,
            ulimit,
            init,
            stop_signal,
            stop_timeout,
            restart,
            interactive,
            tty,
            entrypoint,
            log_driver,
            network,
            publish: crate::cli::pflag::nonempty(publish),
            publish_all,
            ip,
            mac_address,
            network_alias,
            dns: crate::cli::pflag::nonempty(dns),
            dns_search: crate::cli::pflag::nonempty(dns_search),
            add_host: crate::cli::pflag::nonempty(add_host),
            detach_keys,
            rm: rm.unwrap_or(false),
            replace,
            pull,
            tls_verify,
            quiet,
            more: more.options(),
            resources: resources.flags(),
            health: health.flags(),
            cgroups: cgroups.flags(),
            extra: extra.options(),
            not_yet: not_yet.given(),
            image,
            command,
            pod,
            pod_id_file,
            pod_infra: false,
        }
    }
}

/// The flags of `run`/`create` beyond the first set.
#[derive(Debug, Clone, Default, Args)]
pub struct MoreArgs {
    /// Write the container ID to the file
    #[arg(long, value_name = "FILE")]
    pub cidfile: Option<PathBuf>,
    /// Path to the file that will receive the PID of conmon (our ctr-monitor)
    #[arg(long = "conmon-pidfile", value_name = "FILE")]
    pub conmon_pidfile: Option<PathBuf>,
    /// Write the container process ID to the file
    #[arg(long, value_name = "FILE")]
    pub pidfile: Option<PathBuf>,
    /// Use all current host environment variables in container
    #[arg(long = "env-host")]
    pub env_host: bool,
    /// Set proxy environment variables in the container based on the host proxy vars
    #[arg(long = "http-proxy", num_args = 0..=1, require_equals = true, default_value_t = true, default_missing_value = "true", action = clap::ArgAction::Set, value_name = "BOOL")]
    pub http_proxy: bool,
    /// Set timezone in container: local or an IANA time zone name
    #[arg(long, value_name = "TZ")]
    pub tz: Vec<String>,
    /// When running --read-only containers mount read-write tmpfs on /dev, /dev/shm, /run, /tmp and /var/tmp
    #[arg(long = "read-only-tmpfs", num_args = 0..=1, require_equals = true, default_value_t = true, default_missing_value = "true", action = clap::ArgAction::Set, value_name = "BOOL")]
    pub read_only_tmpfs: bool,
    /// Sysctl options: KEY=VALUE
    #[arg(long, value_name = "KEY=VALUE")]
    pub sysctl: Vec<String>,
    /// Add a host device to the container: HOST[:CONTAINER[:PERMISSIONS]]
    #[arg(long, value_name = "DEVICE")]
    pub device: Vec<String>,
    /// Add a rule to the cgroup allowed devices list: "TYPE MAJOR:MINOR ACCESS"
    #[arg(long = "device-cgroup-rule", value_name = "RULE")]
    pub device_cgroup_rule: Vec<String>,
    /// IPC namespace to use: host, private, shareable, none, ns:PATH, container:ID
    #[arg(long, value_name = "MODE")]
    pub ipc: Option<String>,
    /// PID namespace to use: host, private, ns:PATH, container:ID
    #[arg(long, value_name = "MODE")]
    pub pid: Option<String>,
    /// UTS namespace to use: host, private, ns:PATH, container:ID
    #[arg(long, value_name = "MODE")]
    pub uts: Option<String>,
    /// User namespace to use: host, auto[:OPTS], keep-id[:uid=,gid=], ns:PATH, container:ID
    #[arg(long, value_name = "MODE")]
    pub userns: Option<String>,
    /// UID map for the user namespace: [+ug]CONTAINER_UID:[@]HOST_UID[:AMOUNT]
    #[arg(long, value_name = "MAPPING")]
    pub uidmap: Vec<String>,
    /// GID map for the user namespace: [+ug]CONTAINER_GID:[@]HOST_GID[:AMOUNT]
    #[arg(long, value_name = "MAPPING")]
    pub gidmap: Vec<String>,
    /// Name of the user in /etc/subuid whose ranges map the UIDs
    #[arg(long, value_name = "NAME")]
    pub subuidname: Option<String>,
    /// Name of the group in /etc/subgid whose ranges map the GIDs
    #[arg(long, value_name = "NAME")]
    pub subgidname: Option<String>,
    /// Specify the platform for selecting the image (host platform only)
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// Use ARCH instead of the architecture of the machine for choosing images (host only)
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// Use OS instead of the running OS for choosing images (linux only)
    #[arg(long, value_name = "OS")]
    pub os: Option<String>,
    /// Use VARIANT instead of the running architecture variant for choosing images
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<String>,
    /// Logging driver options: path=, max-size=, tag=
    #[arg(long = "log-opt", value_name = "OPT")]
    pub log_opt: Vec<String>,
    /// Attach to STDIN, STDOUT or STDERR
    #[arg(short = 'a', long, value_name = "STREAM")]
    pub attach: Vec<String>,
    /// Control sd-notify behavior: container, conmon, healthy, ignore
    #[arg(long, value_name = "MODE")]
    pub sdnotify: Option<String>,
    /// Unset environment default variables in container
    #[arg(long, value_name = "NAME")]
    pub unsetenv: Vec<String>,
    /// Unset all default environment variables in container
    #[arg(long = "unsetenv-all")]
    pub unsetenv_all: bool,
    /// Set umask in container (default "0022")
    #[arg(long, value_name = "UMASK")]
    pub umask: Option<String>,
    /// Tune the host's OOM preferences (-1000 to 1000)
    #[arg(long = "oom-score-adj", value_name = "N", allow_hyphen_values = true)]
    pub oom_score_adj: Option<String>,
    /// Size of /dev/shm: NUMBER[UNIT]
    #[arg(long = "shm-size", value_name = "SIZE")]
    pub shm_size: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", value_name = "N", allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// Set custom DNS options
    #[arg(long = "dns-option", alias = "dns-opt", value_name = "OPT", value_delimiter = ',', value_parser = crate::cli::pflag::csv_field)]
    pub dns_option: Vec<String>,
    /// Base file to create the /etc/hosts file inside the container, or one of the special values. ("image"|"none")
    #[arg(long = "hosts-file", value_name = "PATH")]
    pub hosts_file: Option<String>,
    /// Specify a static IPv6 address for the container
    #[arg(long = "ip6", value_name = "IPV6")]
    pub ip6: Option<String>,
    /// Read in a line delimited file of labels
    #[arg(long = "label-file", value_name = "FILE")]
    pub label_file: Vec<PathBuf>,
    /// Do not create /etc/hosts within the container
    #[arg(long = "no-hosts")]
    pub no_hosts: bool,
    /// Do not create /etc/hostname within the container
    #[arg(long = "no-hostname")]
    pub no_hostname: bool,
    /// Path to the container-init binary
    #[arg(long = "init-path", value_name = "PATH")]
    pub init_path: Option<String>,
    /// Expose a port or a range of ports
    #[arg(long, value_name = "PORT")]
    pub expose: Vec<String>,
    /// This is a Docker-specific option and is a NOOP
    #[arg(long = "disable-content-trust", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub disable_content_trust: Option<bool>,
    /// Proxy received signals to the process (attached runs always do)
    #[arg(long = "sig-proxy", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub sig_proxy: Option<bool>,
    /// Maximum time (seconds) a container may run before it is killed; 0: disabled
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u32>,
    /// The first argument is not an image but the rootfs to the exploded container (PATH[:O])
    #[arg(long)]
    pub rootfs: bool,
    /// Run container in systemd mode: true (when the command is an init), false or always
    #[arg(long, value_name = "MODE")]
    pub systemd: Option<String>,
}

impl MoreArgs {
    fn options(self) -> MoreOptions {
        let MoreArgs {
            cidfile,
            conmon_pidfile,
            pidfile,
            env_host,
            http_proxy,
            tz,
            read_only_tmpfs,
            sysctl,
            device,
            device_cgroup_rule,
            ipc,
            pid,
            uts,
            userns,
            uidmap,
            gidmap,
            subuidname,
            subgidname,
            platform,
            arch,
            os,
            variant,
            log_opt,
            attach,
            sdnotify,
            unsetenv,
            unsetenv_all,
            oom_score_adj,
            umask,
            shm_size,
            pids_limit,
            dns_option,
            hosts_file,
            ip6,
            label_file,
            no_hosts,
            no_hostname,
            init_path,
            expose,
            disable_content_trust: _,
            sig_proxy: _,
            timeout,
            systemd,
            rootfs,
        } = self;
        MoreOptions {
            cidfile,
            conmon_pidfile,
            pidfile,
            env_host,
            http_proxy,
            // The last --tz wins, as in Podman.
            tz: tz.last().cloned(),
            read_only_tmpfs,
            sysctl,
            device,
            device_cgroup_rule,
            ipc,
            pid,
            uts,
            userns,
            uidmap,
            gidmap,
            subuidname,
            subgidname,
            platform,
            arch,
            os,
            variant,
            log_opt,
            attach,
            sdnotify,
            unsetenv,
            unsetenv_all,
            oom_score_adj,
            umask,
            shm_size,
            pids_limit,
            dns_option: crate::cli::pflag::nonempty(dns_option),
            hosts_file,
            ip6,
            label_file,
            no_hosts,
            no_hostname,
            init_path,
            expose,
            systemd,
            timeout,
            rootfs,
            remove_image: false,
        }
    }
}

/// Podman's flags that podman-rs does not implement yet: accepted by the
/// parser so the refusal names the flag (exit 125), never silently ignored.
macro_rules! not_yet {
    (valued: $( $vf:ident = $vflag:literal ),* ; switches: $( $sf:ident = $sflag:literal ),* $(,)?) => {
        #[derive(Debug, Clone, Default, Args)]
        pub struct NotYetArgs {
            $(
                #[arg(long = $vflag, value_name = "VALUE", help = concat!("Not implemented yet (Podman's --", $vflag, ")"))]
                pub $vf: Vec<String>,
            )*
            $(
                #[arg(long = $sflag, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL", help = concat!("Not implemented yet (Podman's --", $sflag, ")"))]
                pub $sf: Vec<String>,
            )*
        }

        impl NotYetArgs {
            /// The flags given, as `--NAME`.
            pub fn given(&self) -> Vec<&'static str> {
                let mut v = Vec::new();
                $( if !self.$vf.is_empty() { v.push(concat!("--", $vflag)); } )*
                $( if !self.$sf.is_empty() { v.push(concat!("--", $sflag)); } )*
                v
            }
        }
    };
}

not_yet! {
    valued:
    link_local_ip = "link-local-ip",
    cert_dir = "cert-dir";
    switches:
}

pub async fn run(engine: &EngineConfig, args: &CreateArgs) -> anyhow::Result<()> {
    let cfg = crate::lifecycle::create::create(engine, &args.options()).await?;
    // Podman prints no ID for passthrough containers (stdout is theirs).
    if !cfg.log_driver.starts_with("passthrough") {
        println!("{}", cfg.id);
    }
    Ok(())
}
