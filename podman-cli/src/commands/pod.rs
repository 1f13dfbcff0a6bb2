//! `podman pod create|start|stop|restart|kill|pause|unpause|rm|exists|
//! prune|top|logs`; `pod ps` and `pod inspect` are in `pod_ps`.

use std::path::PathBuf;

use clap::Args;

use crate::engine_config::EngineConfig;
use crate::error::ExitError;
use crate::lifecycle::pod::PodCreateOptions;
use crate::lifecycle::pod_ops;
use crate::pod::store as pods;

#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// Name of the new pod (or give it with --name)
    #[arg(value_name = "NAME")]
    pub pos_name: Option<String>,
    /// Assign a name to the pod
    #[arg(short, long)]
    pub name: Option<String>,
    /// Publish a port of the pod to the host: [[IP:]HOSTPORT:]CTRPORT[/PROTO]
    #[arg(short, long = "publish", value_delimiter = ',', value_parser = crate::cli::pflag::csv_field)]
    pub publish: Vec<String>,
    /// Network mode of the pod: bridge, none, host, or network names
    #[arg(long = "network", alias = "net")]
    pub network: Vec<String>,
    /// Network aliases of the pod
    #[arg(long = "network-alias")]
    pub network_alias: Vec<String>,
    /// Static IPv4 address of the pod
    #[arg(long)]
    pub ip: Option<String>,
    /// Static MAC address of the pod
    #[arg(long)]
    pub mac_address: Option<String>,
    /// Namespaces the pod's containers share: cgroup, ipc, net, pid, uts or none (+NS adds to the default)
    #[arg(long)]
    pub share: Option<String>,
    /// Create an infra container for the pod
    #[arg(long, num_args = 0..=1, require_equals = true, default_value_t = true, default_missing_value = "true", action = clap::ArgAction::Set, value_name = "BOOL")]
    pub infra: bool,
    /// Image of the infra container (default: a local pause image built from catatonit)
    #[arg(long, value_name = "IMAGE")]
    pub infra_image: Option<String>,
    /// Command the infra container runs
    #[arg(long, value_name = "COMMAND")]
    pub infra_command: Option<String>,
    /// Name of the infra container
    #[arg(long, value_name = "NAME")]
    pub infra_name: Option<String>,
    /// Hostname of the pod
    #[arg(long)]
    pub hostname: Option<String>,
    /// Set metadata on the pod (KEY=VALUE)
    #[arg(short, long = "label")]
    pub label: Vec<String>,
    /// What the pod does when its last container exits: continue or stop
    #[arg(long, value_name = "POLICY")]
    pub exit_policy: Option<String>,
    /// DNS servers of the pod
    #[arg(long, value_delimiter = ',', value_parser = crate::cli::pflag::csv_field)]
    pub dns: Vec<String>,
    /// DNS search domains of the pod
    #[arg(long = "dns-search", value_delimiter = ',', value_parser = crate::cli::pflag::csv_field)]
    pub dns_search: Vec<String>,
    /// DNS options of the pod
    #[arg(long = "dns-option", value_delimiter = ',', value_parser = crate::cli::pflag::csv_field)]
    pub dns_option: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host", value_delimiter = ',', value_parser = crate::cli::pflag::csv_field)]
    pub add_host: Vec<String>,
    /// Write the pod ID to the file
    #[arg(long = "pod-id-file", value_name = "FILE")]
    pub pod_id_file: Option<PathBuf>,
    /// If a pod with the same name exists, replace it
    #[arg(long)]
    pub replace: bool,
    /// Restart policy for the pod's containers that give none
    #[arg(long)]
    pub restart: Option<String>,
    /// User namespace of the pod's containers: auto[:OPTS], keep-id[:uid=,gid=], nomap, private, ns:PATH (host: none)
    #[arg(long, value_name = "MODE")]
    pub userns: Option<String>,
    #[command(flatten)]
    pub resources: super::create_resources::PodResourceArgs,
}

/// The pods a verb acts on.
#[derive(Debug, Clone, Args)]
pub struct PodsArgs {
    pub pods: Vec<String>,
    /// Act on all pods
    #[arg(short, long)]
    pub all: bool,
    /// Act on the latest pod podman is aware of
    #[arg(short, long)]
    pub latest: bool,
    /// Read the pod ID from the file
    #[arg(long = "pod-id-file", value_name = "FILE")]
    pub pod_id_file: Vec<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct StopArgs {
    #[command(flatten)]
    pub pods: PodsArgs,
    /// Seconds to wait for the containers to stop before killing them (-1: their own timeouts)
    #[arg(short = 't', long = "time", allow_negative_numbers = true)]
    pub time: Option<i64>,
    /// Ignore errors when a specified pod is missing
    #[arg(short, long)]
    pub ignore: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RmArgs {
    #[command(flatten)]
    pub pods: PodsArgs,
    /// Stop running containers and remove them
    #[arg(short, long)]
    pub force: bool,
    /// Seconds to wait for the containers to stop before killing them (-1: their own timeouts)
    #[arg(short = 't', long = "time", allow_negative_numbers = true)]
    pub time: Option<i64>,
    /// Ignore errors when a specified pod is missing
    #[arg(short, long)]
    pub ignore: bool,
}

#[derive(Debug, Clone, Args)]
pub struct KillArgs {
    #[command(flatten)]
    pub pods: PodsArgs,
    /// Signal to send to the containers of the pod
    #[arg(short, long, default_value = "KILL", allow_hyphen_values = true)]
    pub signal: String,
}

#[derive(Debug, Clone, Args)]
pub struct ExistsArgs {
    pub pod: String,
}

#[derive(Debug, Clone, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Clone, Args)]
pub struct TopArgs {
    /// The pod, then ps descriptors
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
    /// Act on the latest pod podman is aware of
    #[arg(short, long)]
    pub latest: bool,
}

pub async fn create(engine: &EngineConfig, a: &CreateArgs) -> anyhow::Result<()> {
    if a.pos_name.is_some() && a.name.is_some() {
        anyhow::bail!("cannot specify --name and give a pod name as an argument");
    }
    let o = PodCreateOptions {
        name: a.name.clone().or_else(|| a.pos_name.clone()),
        publish: crate::cli::pflag::nonempty(a.publish.clone()),
        network: a
            .network
            .iter()
            .flat_map(|n| n.split(',').map(String::from))
            .filter(|n| !n.is_empty())
            .collect(),
        network_alias: a.network_alias.clone(),
        ip: a.ip.clone(),
        mac_address: a.mac_address.clone(),
        share: a.share.clone(),
        infra: a.infra,
        infra_image: a.infra_image.clone(),
        infra_command: a.infra_command.clone(),
        infra_name: a.infra_name.clone(),
        hostname: a.hostname.clone(),
        labels: a.label.clone(),
        exit_policy: a.exit_policy.clone(),
        dns: crate::cli::pflag::nonempty(a.dns.clone()),
        dns_search: crate::cli::pflag::nonempty(a.dns_search.clone()),
        dns_option: crate::cli::pflag::nonempty(a.dns_option.clone()),
        add_host: crate::cli::pflag::nonempty(a.add_host.clone()),
        restart: a.restart.clone(),
        pod_id_file: a.pod_id_file.clone(),
        replace: a.replace,
        create_command: std::env::args().collect(),
        resources: a.resources.flags(),
        userns: a.userns.clone(),
    };
    let pod = crate::lifecycle::pod::create(engine, &o).await?;
    println!("{}", pod.id);
    Ok(())
}

/// The pods named by the arguments, `--all`, `--latest` and
/// `--pod-id-file` (a missing file is skipped with `ignore`).
fn targets(engine: &EngineConfig, a: &PodsArgs, ignore: bool) -> anyhow::Result<Vec<String>> {
    let given = !a.pods.is_empty() || !a.pod_id_file.is_empty();
    if a.all && (given || a.latest) {
        anyhow::bail!("--all, --latest and pods cannot be used together");
    }
    if !a.all && !a.latest && !given {
        anyhow::bail!("you must provide at least one name or id");
    }
    let mut out = a.pods.clone();
    for f in &a.pod_id_file {
        match std::fs::read_to_string(f) {
            Ok(id) => out.push(id.trim().to_string()),
            Err(e) if ignore && e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => anyhow::bail!("reading pod ID file {}: {e}", f.display()),
        }
    }
    if a.all || a.latest {
        let db = crate::state::open_state(engine)?;
        let all = pods::list(&db)?;
        let mut ids = all.iter().map(|p| p.id.clone());
        out = if a.latest {
            ids.next_back().into_iter().collect()
        } else {
            ids.collect()
        };
    }
    Ok(out)
}

/// Run `f` on each pod, printing its ID; errors are printed as they come
/// and the last one is returned (Podman's exit code: 1 when every failure
/// is a missing pod under `missing_is_1`, else 125).
async fn each<F, Fut>(
    names: Vec<String>,
    ignore: bool,
    missing_is_1: bool,
    f: F,
) -> anyhow::Result<()>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<crate::pod::PodConfig>>,
{
    let mut failed: Option<u8> = None;
    for n in names {
        match f(n).await {
            Ok(p) => println!("{}", p.id),
            Err(e) if pod_ops::is_no_such_pod(&e) && ignore => {}
            Err(e) => {
                failed = Some(if pod_ops::is_no_such_pod(&e) && missing_is_1 {
                    crate::error::EXIT_NO_SUCH_OBJECT
                } else {
                    crate::error::exit_code(&e)
                });
                // Podman's pod errors may span lines (one per container).
                let text = match e.downcast_ref::<ExitError>() {
                    Some(x) => format!("{:#}", x.source),
                    None => format!("{e:#}"),
                };
                eprintln!("Error: {text}");
            }
        }
    }
    match failed {
        // Printed above: the error that ends the command carries no text.
        Some(code) => Err(ExitError {
            code,
            source: anyhow::anyhow!(""),
        }
        .into()),
        None => Ok(()),
    }
}

/// `-t/--time`: a negative value means the containers' own stop timeouts.
fn timeout(t: Option<i64>) -> Option<u32> {
    t.and_then(|t| u32::try_from(t).ok())
}

pub async fn start(engine: &EngineConfig, a: &PodsArgs) -> anyhow::Result<()> {
    let names = targets(engine, a, false)?;
    each(names, false, false, |n| async move {
        pod_ops::start(engine, &n).await
    })
    .await
}

pub async fn stop(engine: &EngineConfig, a: &StopArgs) -> anyhow::Result<()> {
    let names = targets(engine, &a.pods, a.ignore)?;
    each(names, a.ignore, false, |n| async move {
        pod_ops::stop(engine, &n, timeout(a.time)).await
    })
    .await
}

pub async fn restart(engine: &EngineConfig, a: &PodsArgs) -> anyhow::Result<()> {
    let names = targets(engine, a, false)?;
    each(names, false, false, |n| async move {
        pod_ops::stop(engine, &n, None).await?;
        pod_ops::start(engine, &n).await
    })
    .await
}

pub async fn kill(engine: &EngineConfig, a: &KillArgs) -> anyhow::Result<()> {
    let sig = crate::container::parse::signal(&a.signal)?;
    let names = targets(engine, &a.pods, false)?;
    each(names, false, false, |n| async move {
        pod_ops::kill(engine, &n, sig).await
    })
    .await
}

pub async fn pause(engine: &EngineConfig, a: &PodsArgs, pause: bool) -> anyhow::Result<()> {
    let names = targets(engine, a, false)?;
    each(names, false, false, |n| async move {
        pod_ops::pause(engine, &n, pause).await
    })
    .await
}

pub async fn rm(engine: &EngineConfig, a: &RmArgs) -> anyhow::Result<()> {
    // As Podman: --force skips missing pods too.
    let ignore = a.ignore || a.force;
    let names = targets(engine, &a.pods, ignore)?;
    let r = each(names, ignore, true, |n| async move {
        pod_ops::remove(engine, &n, a.force, timeout(a.time)).await
    })
    .await;
    // As Podman: a --pod-id-file goes with the pod it names.
    let db = crate::state::open_state(engine)?;
    for f in &a.pods.pod_id_file {
        let Ok(id) = std::fs::read_to_string(f) else {
            continue;
        };
        if matches!(
            pods::resolve(&db, id.trim()),
            Err(pods::PodStoreError::NotFound(_))
        ) {
            if let Err(e) = std::fs::remove_file(f) {
                tracing::warn!(file = %f.display(), error = %e, "removing the pod ID file");
            }
        }
    }
    r
}

pub async fn exists(engine: &EngineConfig, a: &ExistsArgs) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    match pods::resolve(&db, &a.pod) {
        Ok(_) => Ok(()),
        Err(pods::PodStoreError::NotFound(_)) => Err(ExitError {
            code: crate::error::EXIT_NO_SUCH_OBJECT,
            source: anyhow::anyhow!(""),
        }
        .into()),
        Err(e) => Err(e.into()),
    }
}

pub async fn prune(engine: &EngineConfig, a: &PruneArgs) -> anyhow::Result<()> {
    if !a.force
        && !super::prompt::confirm(
            "WARNING! This will remove all stopped/exited pods..\nAre you sure you want to continue? [y/N] ",
        )?
    {
        return Ok(());
    }
    let db = crate::state::open_state(engine)?;
    let mut last = None;
    for pod in pods::list(&db)? {
        let members = pod_ops::refreshed(engine, &pod).await?;
        if members.iter().any(|(_, s)| s.status.is_active()) {
            continue;
        }
        match pod_ops::remove(engine, &pod.id, false, None).await {
            Ok(p) => println!("{}", p.id),
            Err(e) => {
                if let Some(prev) = last.replace(e) {
                    eprintln!("Error: {}", crate::error::one_line(&prev));
                }
            }
        }
    }
    last.map_or(Ok(()), Err)
}

pub async fn top(engine: &EngineConfig, a: &TopArgs) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    let (pod, descriptors) = if a.latest {
        let p = pods::list(&db)?
            .pop()
            .ok_or_else(|| anyhow::anyhow!("no pods to act on (--latest)"))?;
        (p, &a.args[..])
    } else {
        let (name, rest) = a
            .args
            .split_first()
            .ok_or_else(|| anyhow::anyhow!("you must provide the name or id of a running pod"))?;
        (pods::resolve(&db, name)?, rest)
    };
    let members = pod_ops::refreshed(engine, &pod).await?;
    let running: Vec<(i32, String)> = members
        .iter()
        .filter(|(_, s)| s.status == crate::container::model::Status::Running && s.pid > 0)
        .map(|(c, s)| (s.pid, c.id.clone()))
        .collect();
    if running.is_empty() {
        anyhow::bail!("pod top can only be used on pods with at least one running container: container state improper");
    }
    print!("{}", super::top::table_of_many(&running, descriptors)?);
    Ok(())
}

/// `pod logs`: the logs of the pod's containers (not the infra's), or of
/// one (`--container`), through `podman logs`' reader.
#[derive(Debug, Clone, Args)]
pub struct PodLogsArgs {
    pub pod: String,
    /// The container of the pod whose logs to show
    #[arg(short, long)]
    pub container: Option<String>,
    #[command(flatten)]
    pub logs: super::logs::LogsArgs,
}

pub async fn logs(engine: &EngineConfig, a: &PodLogsArgs) -> anyhow::Result<()> {
    if !a.logs.containers.is_empty() {
        anyhow::bail!("pod logs takes one pod: name its container with --container");
    }
    let db = crate::state::open_state(engine)?;
    let pod = pods::resolve(&db, &a.pod)?;
    let members = pods::members(&db, &pod.id)?;
    let mut containers: Vec<String> = members
        .iter()
        .filter(|(c, _)| !c.extra.pod_infra)
        .map(|(c, _)| c.id.clone())
        .collect();
    if let Some(want) = &a.container {
        let (c, _) = crate::container::store::resolve(&db, want)?;
        if !containers.contains(&c.id) {
            anyhow::bail!("container {want} is not in pod {}", pod.name);
        }
        containers = vec![c.id];
    }
    if containers.is_empty() {
        anyhow::bail!("pod {} has no containers with logs", pod.name);
    }
    let mut args = a.logs.clone();
    args.containers = containers;
    super::logs::run(engine, &args).await
}
