//! `podman ps` (`podman container ps|ls|list`), as Podman 5 prints it
//! (cmd/podman/containers/ps.go, pkg/ps/ps.go).
//!
//! Every container is read from the state database (its state refreshed
//! cheaply), filtered with [`crate::container::filter`], and becomes an
//! [`Entry`]: Podman's `ListContainer` ([`entry`]). `--format json` prints
//! entries with Podman's JSON shape and field order; tables and templates
//! see Podman's `psReporter` fields ([`reporter`]: truncated IDs, a joined
//! command, human times). [`listing`] gathers the entries; storage-helper is
//! asked only for `--external` (containers that exist only in storage) and
//! `--size`.

mod entry;
mod listing;
mod reporter;
#[cfg(test)]
mod tests;

use clap::Args;
use serde::Serialize;

use crate::engine_config::EngineConfig;
use crate::format::report::is_json;

pub use entry::Entry;
pub use listing::list;
use reporter::Output;

#[derive(Debug, Clone, Args)]
pub struct PsArgs {
    /// Show all the containers, default is only running containers
    #[arg(short, long)]
    pub all: bool,
    /// Show containers in storage not controlled by Podman
    #[arg(long, alias = "storage")]
    pub external: bool,
    /// Filter output based on conditions given
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Pretty-print containers to JSON or using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Print the n last created containers (all states)
    #[arg(short = 'n', long, allow_negative_numbers = true)]
    pub last: Option<i64>,
    /// Act on the latest container podman is aware of
    #[arg(short, long)]
    pub latest: bool,
    /// Display namespace information
    #[arg(long = "ns", visible_alias = "namespace")]
    pub ns: bool,
    /// Display the extended information
    #[arg(long, alias = "notruncate")]
    pub no_trunc: bool,
    /// Print the ID and name of the pod the containers are associated with
    #[arg(short, long)]
    pub pod: bool,
    /// Print the numeric IDs of the containers only
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not print headers
    #[arg(long)]
    pub noheading: bool,
    /// Display the total file sizes
    #[arg(short, long)]
    pub size: bool,
    /// Sync container state with OCI runtime
    #[arg(long)]
    pub sync: bool,
    /// Watch the ps output on an interval in seconds
    #[arg(short, long, value_name = "SECONDS")]
    pub watch: Option<u64>,
    /// Sort output by: command, created, id, image, names, runningfor, size, status
    #[arg(long, value_name = "CHOICE")]
    pub sort: Option<String>,
}

const SORT_CHOICES: [&str; 8] = [
    "command",
    "created",
    "id",
    "image",
    "names",
    "runningfor",
    "size",
    "status",
];

fn check_flags(a: &PsArgs) -> anyhow::Result<()> {
    if a.last.is_some_and(|n| n >= 0) && a.latest {
        anyhow::bail!("last and latest are mutually exclusive");
    }
    if a.quiet && (a.size || a.ns) {
        anyhow::bail!("quiet conflicts with size and namespace");
    }
    if a.size && a.ns {
        anyhow::bail!("size and namespace options conflict");
    }
    if a.watch.is_some_and(|w| w > 0) && a.latest {
        anyhow::bail!("the watch and latest flags cannot be used together");
    }
    if let Some(s) = &a.sort {
        if !SORT_CHOICES.contains(&s.as_str()) {
            anyhow::bail!(
                "invalid argument {s:?} for \"--sort\" flag: {s:?} is not a valid value.  Choose from: \"{}\"",
                SORT_CHOICES.join(", ")
            );
        }
    }
    Ok(())
}

/// `entities.SortPsOutput`.
pub(crate) fn sort_entries(by: &str, list: &mut [Entry]) {
    match by {
        "command" => list.sort_by_key(|e| e.command_line()),
        "created" => list.sort_by_key(|e| e.created_ns),
        "id" => list.sort_by(|a, b| a.id.cmp(&b.id)),
        "image" => list.sort_by(|a, b| a.image.cmp(&b.image)),
        "names" => list.sort_by(|a, b| a.names.first().cmp(&b.names.first())),
        "runningfor" => list.sort_by_key(|e| e.started_at),
        "status" => list.sort_by(|a, b| a.state.cmp(&b.state)),
        "size" => list.sort_by_key(|e| e.size.map(|s| s.root_fs)),
        _ => {}
    }
}

/// Go's json.MarshalIndent escapes HTML characters.
fn go_json(v: &impl Serialize) -> anyhow::Result<String> {
    let s = serde_json::to_string_pretty(v)?;
    Ok(s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029"))
}

/// Where the containers come from: this store, or a service (`--remote`).
pub enum Source<'a> {
    Local(&'a EngineConfig),
    Remote(&'a crate::remote::Target),
}

impl Source<'_> {
    async fn list(&self, a: &PsArgs) -> anyhow::Result<Vec<Entry>> {
        match self {
            Source::Local(engine) => list(engine, a).await,
            Source::Remote(t) => crate::remote::containers::list(t, a).await,
        }
    }
}

pub async fn run(engine: &EngineConfig, a: &PsArgs) -> anyhow::Result<()> {
    run_from(Source::Local(engine), a).await
}

pub async fn run_from(source: Source<'_>, a: &PsArgs) -> anyhow::Result<()> {
    check_flags(a)?;
    let format = a.format.as_deref();
    let with_pod = a.pod || format.is_some_and(|f| f.contains(".PodName"));
    // Parse the template before any work.
    let output = match format {
        Some(f) if is_json(f) => None,
        _ if a.quiet && format.is_none() => None,
        _ => Some(Output::new(a, with_pod)?),
    };
    if format.is_some_and(|f| f.contains(".Size")) && !a.size {
        tracing::error!("Size format requires --size option");
    }
    let mut entries = source.list(a).await?;
    if format.is_some_and(is_json) {
        for e in &mut entries {
            e.created_at = e.created_human();
            e.status = e.status_text();
        }
        println!("{}", go_json(&entries)?);
        return Ok(());
    }
    let Some(output) = output else {
        let mut out = String::new();
        for e in &entries {
            if a.no_trunc {
                out.push_str(&e.id);
            } else {
                out.extend(e.id.chars().take(12));
            }
            out.push('\n');
        }
        print!("{out}");
        return Ok(());
    };
    match a.watch.filter(|w| *w > 0) {
        None => print!("{}", output.render(&entries)?),
        Some(secs) => {
            use std::io::Write;
            let tty = nix::unistd::isatty(libc::STDOUT_FILENO).unwrap_or(false);
            loop {
                let text = output.render(&entries)?;
                let mut stdout = std::io::stdout().lock();
                if tty {
                    stdout.write_all(b"\x1b[2J\x1b[1;1H")?;
                }
                stdout.write_all(text.as_bytes())?;
                stdout.flush()?;
                drop(stdout);
                tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
                entries = source.list(a).await?;
            }
        }
    }
    Ok(())
}
