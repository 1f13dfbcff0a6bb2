//! `podman start`.

use clap::Args;

use super::targets::for_each;
use crate::container::filter::{self, ContainerFilter, DbLookup, Scope, Subject};
use crate::container::store;
use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct StartArgs {
    pub containers: Vec<String>,
    /// Attach the container's output (and exit with its code)
    #[arg(short, long)]
    pub attach: bool,
    /// Keep STDIN open and attach it
    #[arg(short, long)]
    pub interactive: bool,
    /// Start all containers regardless of their state or configuration
    #[arg(long)]
    pub all: bool,
    /// Filter the containers to start
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Act on the latest container podman is aware of
    #[arg(short, long)]
    pub latest: bool,
    /// Select the key sequence for detaching a container
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Proxy received signals to the process (with --attach)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub sig_proxy: Option<bool>,
}

pub async fn run(engine: &EngineConfig, args: &StartArgs) -> anyhow::Result<()> {
    if args.sig_proxy.is_some() && !args.attach && !args.interactive {
        anyhow::bail!("you cannot use sig-proxy without --attach");
    }
    if args.all && !args.containers.is_empty() {
        anyhow::bail!("either start all containers or the container(s) provided in the arguments");
    }
    if args.all && args.latest {
        anyhow::bail!("--all and --latest cannot be used together");
    }
    if (args.attach || args.interactive) && (args.all || !args.filter.is_empty()) {
        anyhow::bail!("you cannot start and attach multiple containers at once");
    }
    let db = crate::state::open_state(engine)?;
    let names: Vec<String> = if args.latest {
        vec![store::latest(&db)?.0.id]
    } else if args.all || !args.filter.is_empty() {
        let filters = filter::parse(&args.filter)?;
        let lookup = DbLookup {
            db: &db,
            networks: Vec::new(),
        };
        let f = ContainerFilter::new(&filters, &lookup, Scope::Podman)?;
        if args.containers.is_empty() {
            store::list(&db)?
                .into_iter()
                .filter(|(c, st)| f.matches(&Subject::new(c, st)))
                // `--all` names only the containers it starts (Podman
                // leaves running ones out of its output).
                .filter(|(_, st)| !(args.all && st.status.is_active()))
                .map(|(c, _)| c.id)
                .collect()
        } else {
            // A filter with names picks among the names (printed as given).
            let mut out = Vec::new();
            for n in &args.containers {
                let (c, st) = store::resolve(&db, n)?;
                if f.matches(&Subject::new(&c, &st)) {
                    out.push(n.clone());
                }
            }
            out
        }
    } else if args.containers.is_empty() {
        anyhow::bail!("start requires at least one argument");
    } else {
        args.containers.clone()
    };
    if args.attach || args.interactive {
        if names.len() != 1 {
            anyhow::bail!("you cannot start and attach multiple containers at once");
        }
        let (cfg, _) = store::resolve(&db, &names[0])?;
        drop(db);
        let opts = super::run::AttachOptions {
            detach_keys: args.detach_keys.clone(),
            no_sig_proxy: args.sig_proxy == Some(false),
            ..super::run::AttachOptions::default()
        };
        return super::run::start_and_attach_with(engine, &cfg, true, args.interactive, &opts)
            .await;
    }
    drop(db);
    for_each(
        &names,
        |c| async move {
            crate::lifecycle::start::start(engine, &c)
                .await
                .map(|_| ())
                .map_err(|e| crate::error::detached_start_error(&c, e))
        },
        true,
    )
    .await
}
