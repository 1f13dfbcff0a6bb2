//! Which containers a command acts on (the names given, `--all` or
//! `--latest`), and acting on each of them.

use clap::Args;

use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::error::ExitError;

#[derive(Debug, Clone, Args)]
pub struct NamesArgs {
    pub containers: Vec<String>,
    #[arg(short, long)]
    pub all: bool,
    #[arg(short, long)]
    pub latest: bool,
}

/// `-t/--time` of `stop`, `rm` and `restart`: seconds, or a negative
/// number (Podman's `-1`) to wait for the stop signal for ever.
pub fn stop_time(s: &str) -> Result<u32, String> {
    match s.parse::<i64>() {
        Ok(n) if n < 0 => Ok(crate::lifecycle::stop::WAIT_FOREVER),
        Ok(n) => u32::try_from(n)
            .ok()
            .filter(|n| *n != crate::lifecycle::stop::WAIT_FOREVER)
            .ok_or_else(|| format!("{n} seconds is too long: use -1 to wait for ever")),
        Err(_) => Err(format!("{s:?} is not a number of seconds")),
    }
}

/// The containers `init`, `pause`, `unpause` and `restart` act on: the
/// names given, every container's ID (`--all`) or the newest's (`--latest`).
pub fn names(engine: &EngineConfig, a: &NamesArgs) -> anyhow::Result<Vec<String>> {
    let db = crate::state::open_state(engine)?;
    if a.all {
        return Ok(store::list(&db)?.into_iter().map(|(c, _)| c.id).collect());
    }
    if a.latest {
        return Ok(vec![store::latest(&db)?.0.id]);
    }
    if a.containers.is_empty() {
        anyhow::bail!(
            "you must provide at least one container name or ID, or use --all or --latest"
        );
    }
    Ok(a.containers.clone())
}

/// Run `f` on each name, printing each name on success; errors are
/// collected and reported together (exit 125).
pub async fn for_each<F, Fut>(names: &[String], f: F, print: bool) -> anyhow::Result<()>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    for_each_bounded(names, f, print, 1).await
}

/// [`for_each`] with every name's work running at the same time, at most
/// [`crate::lifecycle::parallel::workers`] at once; names are printed in the order given.
pub async fn for_each_parallel<F, Fut>(names: &[String], f: F, print: bool) -> anyhow::Result<()>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    for_each_bounded(names, f, print, crate::lifecycle::parallel::workers()).await
}

async fn for_each_bounded<F, Fut>(
    names: &[String],
    f: F,
    print: bool,
    limit: usize,
) -> anyhow::Result<()>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    use futures_util::stream::StreamExt;
    let mut errors: Vec<anyhow::Error> = Vec::new();
    let mut results = futures_util::stream::iter(names.iter().map(|n| {
        let work = f(n.clone());
        async move { (n, work.await) }
    }))
    .buffered(limit.max(1));
    while let Some((n, r)) = results.next().await {
        match r {
            Ok(()) => {
                if print {
                    println!("{n}");
                }
            }
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => {
            let code = errors
                .iter()
                .map(crate::error::exit_code)
                .max()
                .unwrap_or(crate::error::EXIT_ENGINE);
            Err(ExitError {
                code,
                source: anyhow::anyhow!(
                    "{}",
                    errors
                        .iter()
                        .map(crate::error::one_line)
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            }
            .into())
        }
    }
}

/// What a verb (`stop`, `kill`, `rm`, `start`) was asked to act on, as
/// Podman takes it: names, `--all`, `--latest`, `--cidfile` and `--filter`.
#[derive(Debug, Clone, Default)]
pub struct Selection<'a> {
    pub given: &'a [String],
    pub all: bool,
    pub latest: bool,
    pub cidfiles: &'a [String],
    pub filters: &'a [String],
    /// `--ignore`: missing containers and CID files are skipped.
    pub ignore: bool,
}

/// Go's text for an I/O error: `open PATH: no such file or directory`.
pub fn go_io_error(op: &str, path: &str, e: &std::io::Error) -> String {
    let text = match e.raw_os_error() {
        Some(n) => {
            let d = nix::errno::Errno::from_raw(n).desc();
            let mut c = d.chars();
            match c.next() {
                Some(f) => f.to_lowercase().chain(c).collect(),
                None => String::new(),
            }
        }
        None => e.to_string(),
    };
    format!("{op} {path}: {text}")
}

/// The containers a [`Selection`] names, in Podman's way: the names as
/// given (printed back as given), IDs for `--all`, `--latest`, `--filter`
/// and CID files. Validation errors read as Podman's.
pub fn select(engine: &EngineConfig, s: &Selection) -> anyhow::Result<Vec<String>> {
    if !s.filters.is_empty() && !s.given.is_empty() {
        anyhow::bail!("--filter takes no arguments");
    }
    if s.all && s.latest {
        anyhow::bail!("--all and --latest cannot be used together");
    }
    if (s.all || s.latest) && !s.given.is_empty() {
        anyhow::bail!(
            "no arguments are needed with {}",
            if s.all { "--all" } else { "--latest" }
        );
    }
    let mut out: Vec<String> = Vec::new();
    for f in s.cidfiles {
        match std::fs::read_to_string(f) {
            Ok(id) => out.push(id.trim().to_string()),
            Err(_) if s.ignore => {}
            Err(e) => anyhow::bail!("reading CIDFile: {}", go_io_error("open", f, &e)),
        }
    }
    let db = crate::state::open_state(engine)?;
    if s.all || s.latest || !s.filters.is_empty() {
        let mut list = store::list(&db)?;
        if !s.filters.is_empty() {
            use crate::container::filter::{self, ContainerFilter, DbLookup, Scope, Subject};
            let filters = filter::parse(s.filters)?;
            let lookup = DbLookup {
                db: &db,
                networks: Vec::new(),
            };
            let f = ContainerFilter::new(&filters, &lookup, Scope::Podman)?;
            list.retain(|(c, st)| f.matches(&Subject::new(c, st)));
        }
        if s.latest {
            list.sort_by_key(|(c, _)| c.created_ns);
            list = list.pop().into_iter().collect();
        }
        out.extend(list.into_iter().map(|(c, _)| c.id));
        return Ok(out);
    }
    out.extend(s.given.iter().cloned());
    if out.is_empty() && s.cidfiles.is_empty() {
        anyhow::bail!("you must provide at least one name or id");
    }
    if s.ignore {
        out.retain(|n| store::exists(&db, n).unwrap_or(false));
    }
    Ok(out)
}
