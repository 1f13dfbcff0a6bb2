//! `podman create`, and the flags it shares with `podman run`.

use std::path::PathBuf;

use clap::Args;

use crate::engine_config::EngineConfig;
use crate::lifecycle::create_options::CreateOptions;

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
    /// Additional groups to run as
    #[arg(long = "group-add")]
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
    /// Mount the root filesystem read-only
    #[arg(long)]
    pub read_only: bool,
    /// Mount a tmpfs: /path[:options]
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Bind mount a volume: HOST-DIR:CONTAINER-DIR[:OPTIONS]
    #[arg(short, long = "volume")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount: type=bind|tmpfs,source=...,destination=...
    #[arg(long)]
    pub mount: Vec<String>,
    /// Add Linux capabilities
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Give extended privileges to the container
    #[arg(long)]
    pub privileged: bool,
    /// Security options: no-new-privileges
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
    #[arg(short, long = "publish")]
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
    #[arg(long)]
    pub dns: Vec<String>,
    /// DNS search domains
    #[arg(long = "dns-search")]
    pub dns_search: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host")]
    pub add_host: Vec<String>,
    /// Override the key sequence for detaching a container
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Remove the container when it exits
    #[arg(long)]
    pub rm: bool,
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
            image,
            command,
        } = self.clone();
        CreateOptions {
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
            image,
            command,
        }
    }
}

pub async fn run(engine: &EngineConfig, args: &CreateArgs) -> anyhow::Result<()> {
    let cfg = crate::lifecycle::create::create(engine, &args.options()).await?;
    // Podman prints no ID for passthrough containers (stdout is theirs).
    if !cfg.log_driver.starts_with("passthrough") {
        println!("{}", cfg.id);
    }
    Ok(())
}
