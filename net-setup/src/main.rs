//! net-setup: network namespaces <-> bridges, veths, IPAM, firewall, port
//! forwards and container DNS (netavark's and aardvark-dns's job).
//!
//! `net-setup serve --grpc-fd 3` is how podman runs it;
//! `net-setup serve --listen unix:PATH` serves other tools;
//! `net-setup setup --netns PATH < config.json` and the other subcommands
//! run one stage by hand and print JSON.

#![deny(unsafe_code)]

mod active;
mod config_store;
mod context;
mod dns;
mod error;
#[allow(unsafe_code)]
mod firewall;
mod firewall_tools;
mod ids;
mod info;
mod ipam;
#[allow(unsafe_code)]
mod netlink;
mod netns;
mod network_config;
mod ports;
mod records;
mod service;
mod setup;
mod state_files;
mod subnet;
mod sysctl;
mod teardown;
mod types;
mod usernet;

use std::io::Read;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use common::helper_cli::{LogArgs, ServeArgs};

/// The state dir podman's default run root implies.
pub const DEFAULT_STATE_DIR: &str = "/run/podman-rs/networks";

#[derive(Parser)]
#[command(name = "net-setup", version, about = "Container networking for podman")]
struct Cli {
    #[command(flatten)]
    log: LogArgs,
    /// Where network configurations (one JSON file per network) live.
    #[arg(long, global = true, default_value = "/etc/containers/networks")]
    config_dir: PathBuf,
    /// Where IPAM leases, applied-state records and DNS records live
    /// (podman passes <runroot>/networks).
    #[arg(long, global = true, default_value = DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// Where state every store on this host shares lives (the leases of
    /// bridges, which are one link whichever store made them): for root
    /// /run/podman-rs/host, else $XDG_RUNTIME_DIR/podman-rs/host.
    #[arg(long, global = true)]
    host_state_dir: Option<PathBuf>,
    /// auto, nftables, iptables or none.
    #[arg(long, global = true, default_value = "auto")]
    firewall_driver: String,
    /// Port the per-network DNS servers listen on.
    #[arg(long, global = true, default_value_t = 53)]
    dns_port: u16,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the netsetup.v1 gRPC API.
    Serve(ServeArgs),
    /// Show firewall tools and forwarding settings.
    Info {
        /// Also check that the firewall tools can read the kernel's rules.
        #[arg(long)]
        probe: bool,
        #[arg(long)]
        json: bool,
    },
    /// Attach a netns to networks; reads a SetupRequest as JSON on stdin.
    Setup {
        #[arg(long)]
        netns: Option<PathBuf>,
    },
    /// Detach a container; reads the same JSON as setup on stdin.
    Teardown {
        #[arg(long)]
        netns: Option<PathBuf>,
    },
    /// Re-apply every container's firewall rules from disk.
    Reload {
        /// Also forget the networks no container is on (their chains go).
        #[arg(long)]
        release_idle_networks: bool,
        /// Tear down every recorded container first, then forget every
        /// network (`system reset`): the store's table goes.
        #[arg(long)]
        teardown_all: bool,
    },
    /// Create a network namespace pinned at PATH.
    CreateNetns { path: PathBuf },
    /// Unmount and remove a pinned network namespace.
    RemoveNetns { path: PathBuf },
    /// Create a network (`podman network create`).
    NetworkCreate(NetworkCreateArgs),
    /// List networks.
    NetworkLs {
        /// KEY=VALUE: name, id, driver, label.
        #[arg(long)]
        filter: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Print a network's configuration.
    NetworkInspect { name: String },
    /// Remove a network.
    NetworkRm {
        name: String,
        #[arg(long, short)]
        force: bool,
    },
    /// Exit 0 if the network exists, 1 if not.
    NetworkExists { name: String },
    /// Run a network's DNS server (started by setup; not for people).
    #[command(hide = true)]
    DnsServe(DnsServeArgs),
}

#[derive(Args)]
struct NetworkCreateArgs {
    name: Option<String>,
    #[arg(long, short)]
    driver: Option<String>,
    /// Bridge name.
    #[arg(long)]
    interface_name: Option<String>,
    #[arg(long)]
    subnet: Vec<String>,
    /// One per --subnet, in order.
    #[arg(long)]
    gateway: Vec<String>,
    /// CIDR or START-END, one per --subnet, in order.
    #[arg(long)]
    ip_range: Vec<String>,
    #[arg(long)]
    ipv6: bool,
    #[arg(long)]
    internal: bool,
    #[arg(long)]
    disable_dns: bool,
    /// KEY=VALUE
    #[arg(long)]
    label: Vec<String>,
    /// KEY=VALUE: mtu, isolate, metric, no_default_route.
    #[arg(long, short)]
    opt: Vec<String>,
    #[arg(long)]
    ignore: bool,
}

#[derive(Args)]
struct DnsServeArgs {
    #[arg(long)]
    network: String,
    #[arg(long)]
    records: PathBuf,
    #[arg(long)]
    pid_file: PathBuf,
    #[arg(long, required = true)]
    listen: Vec<IpAddr>,
    /// Answer only sources inside these subnets (the network's own).
    #[arg(long, required = true)]
    allow: Vec<ipnet::IpNet>,
    #[arg(long, default_value_t = 53)]
    port: u16,
    #[arg(long)]
    ready_fd: Option<i32>,
    #[arg(long)]
    hold_fd: Option<i32>,
}

fn main() -> std::process::ExitCode {
    // Die with podman (PR_SET_PDEATHSIG) when it started us.
    proto::transport::watch_parent();
    let cli = Cli::parse();
    cli.log.init("net-setup");
    if let Cmd::DnsServe(a) = cli.cmd {
        // Plain threads, no async runtime: it only answers datagrams.
        let opts = dns::server::ServeOptions {
            network: a.network,
            records: a.records,
            pid_file: a.pid_file,
            listen: a.listen,
            allow: a.allow,
            port: a.port,
            ready_fd: a.ready_fd,
            hold_fd: a.hold_fd,
        };
        return match dns::server::run(opts) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("Error: net-setup dns-serve: {e}");
                std::process::ExitCode::from(125)
            }
        };
    }
    common::helper_cli::run("net-setup", async move {
        let ctx = Arc::new(context::Ctx {
            firewall: firewall::Firewall::select(&cli.firewall_driver, &cli.state_dir)?,
            config_dir: cli.config_dir,
            host_state_dir: cli
                .host_state_dir
                .unwrap_or_else(|| default_host_state_dir(&cli.state_dir)),
            state_dir: cli.state_dir,
            dns_port: cli.dns_port,
        });
        run(ctx, cli.cmd).await
    })
}

/// Root shares /run; a user shares their runtime dir (their bridges live
/// in their own network namespace), or only this state dir without one.
fn default_host_state_dir(state_dir: &std::path::Path) -> PathBuf {
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/run/podman-rs/host");
    }
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d).join("podman-rs/host"),
        None => state_dir.join("host"),
    }
}

fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn read_stdin_json<T: serde::de::DeserializeOwned + Default>() -> anyhow::Result<T> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("reading the request from stdin")?;
    if s.trim().is_empty() {
        return Ok(T::default());
    }
    serde_json::from_str(&s)
        .context("parsing the request on stdin (JSON as in netsetup.v1 SetupRequest)")
}

fn key_values(
    what: &str,
    items: &[String],
) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    items
        .iter()
        .map(|i| {
            let (k, v) = i.split_once('=').unwrap_or((i.as_str(), ""));
            if k.is_empty() {
                anyhow::bail!("{what} {i:?} must be KEY=VALUE");
            }
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

async fn run(ctx: Arc<context::Ctx>, cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Serve(args) => {
            let svc = proto::netsetup::v1::net_setup_server::NetSetupServer::new(
                service::NetSetupService { ctx },
            );
            proto::transport::serve(args.target()?, tonic::service::Routes::new(svc)).await?;
        }
        Cmd::Info { probe, json } => {
            let i = info::gather(&ctx, probe).await;
            if json {
                print_json(&i)?;
            } else {
                print!("{}", info::human(&i));
            }
        }
        Cmd::Setup { netns } => {
            let mut req: types::SetupRequest = read_stdin_json()?;
            if let Some(p) = netns {
                req.netns_path = p.display().to_string();
            }
            print_json(&setup::setup(&ctx, req).await?)?;
        }
        Cmd::Teardown { netns } => {
            let mut req: types::TeardownRequest = read_stdin_json()?;
            if let Some(p) = netns {
                req.netns_path = p.display().to_string();
            }
            let id = req.container_id.clone();
            teardown::teardown(&ctx, req).await?;
            print_json(&serde_json::json!({ "container_id": id, "torn_down": true }))?;
        }
        Cmd::Reload {
            release_idle_networks,
            teardown_all,
        } => {
            let mode = if teardown_all {
                service::ReloadMode::TeardownAll
            } else if release_idle_networks {
                service::ReloadMode::ReleaseIdle
            } else {
                service::ReloadMode::Reapply
            };
            let (containers, networks) = service::reload(&ctx, mode).await?;
            print_json(&serde_json::json!({
                "containers": containers, "networks": networks, "firewall_backend": ctx.firewall.name()
            }))?;
        }
        Cmd::CreateNetns { path } => {
            netns::create(&path).await?;
            print_json(&serde_json::json!({ "path": path }))?;
        }
        Cmd::RemoveNetns { path } => netns::remove(&path)?,
        Cmd::NetworkCreate(a) => {
            let mut subnets = Vec::new();
            for (i, s) in a.subnet.iter().enumerate() {
                let (start_ip, end_ip) = match a.ip_range.get(i) {
                    Some(r) => config_store::parse_ip_range(r)?,
                    None => Default::default(),
                };
                let gateway = a.gateway.get(i).cloned().unwrap_or_default();
                subnets.push(config_store::SubnetSpec {
                    subnet: s.clone(),
                    gateway,
                    start_ip,
                    end_ip,
                });
            }
            let spec = config_store::CreateSpec {
                name: a.name.unwrap_or_default(),
                driver: a.driver.unwrap_or_default(),
                network_interface: a.interface_name.unwrap_or_default(),
                subnets,
                ipv6_enabled: a.ipv6,
                internal: a.internal,
                dns_enabled: Some(!a.disable_dns),
                labels: key_values("label", &a.label)?,
                options: key_values("option", &a.opt)?,
                ignore_if_exists: a.ignore,
            };
            print_json(&service::create_network(&ctx, &spec).await?)?;
        }
        Cmd::NetworkLs { filter, json } => {
            let nets = service::list_networks(&ctx, &filter)?;
            if json {
                print_json(&nets)?;
            } else {
                println!(
                    "{:<14} {:<20} {:<8} SUBNETS",
                    "NETWORK ID", "NAME", "DRIVER"
                );
                for n in nets {
                    let subnets: Vec<String> =
                        n.subnets.iter().map(|s| s.subnet.to_string()).collect();
                    println!(
                        "{:<14} {:<20} {:<8} {}",
                        &n.id[..n.id.len().min(12)],
                        n.name,
                        n.driver,
                        subnets.join(",")
                    );
                }
            }
        }
        Cmd::NetworkInspect { name } => print_json(&ctx.configs().find(&name)?)?,
        Cmd::NetworkRm { name, force } => {
            println!(
                "{}",
                service::remove_network(&ctx, &name, force).await?.name
            )
        }
        Cmd::NetworkExists { name } => match ctx.configs().find(&name) {
            Ok(_) => {}
            Err(error::NetError::NotFound(_)) => std::process::exit(1),
            Err(e) => return Err(e.into()),
        },
        Cmd::DnsServe(_) => unreachable!("handled before the runtime starts"),
    }
    Ok(())
}
