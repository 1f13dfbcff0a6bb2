//! `podman volume create|ls|inspect|rm|prune|exists|export|import|mount|unmount`.

use std::collections::HashMap;
use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use crate::engine_config::EngineConfig;
use crate::error::{ExitError, EXIT_NO_SUCH_OBJECT, EXIT_STATE_IMPROPER};
use crate::volume::{self, filter, store, Volume, VolumeError};

#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// Volume name (a random name, and an anonymous volume, when omitted)
    pub name: Option<String>,
    /// Volume driver (local)
    #[arg(short, long, default_value = "local")]
    pub driver: String,
    /// Set metadata for a volume (KEY=VALUE)
    #[arg(short, long = "label")]
    pub label: Vec<String>,
    /// Driver options: type=, device=, o= (mount options; uid=, gid= own the volume), nocopy
    #[arg(short, long = "opt")]
    pub opt: Vec<String>,
    /// Do not fail if the volume exists (its options are not changed)
    #[arg(long)]
    pub ignore: bool,
    /// UID that owns the volume's directory
    #[arg(long)]
    pub uid: Option<u32>,
    /// GID that owns the volume's directory
    #[arg(long)]
    pub gid: Option<u32>,
}

#[derive(Debug, Clone, Args)]
pub struct LsArgs {
    /// Filter: name=, driver=, label=, label!=, opt=, dangling=, until=, anonymous=, since=
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Go template or json
    #[arg(long)]
    pub format: Option<String>,
    /// Print only volume names
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not print headers
    #[arg(short = 'n', long)]
    pub noheading: bool,
}

#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    pub names: Vec<String>,
    /// Inspect all volumes
    #[arg(short, long)]
    pub all: bool,
    /// Go template or json
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct RmArgs {
    pub names: Vec<String>,
    /// Remove all volumes
    #[arg(short, long)]
    pub all: bool,
    /// Remove the containers using the volume too; a missing volume is no error
    #[arg(short, long)]
    pub force: bool,
    /// Seconds to wait when stopping those containers (-1: wait forever)
    #[arg(short = 't', long = "time", allow_negative_numbers = true)]
    pub time: Option<i64>,
}

#[derive(Debug, Clone, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Remove named unused volumes too (not only anonymous ones)
    #[arg(short, long)]
    pub all: bool,
    /// Show which volumes would be pruned, remove none
    #[arg(long)]
    pub dry_run: bool,
    /// Filter: label=, label!=, until=, anonymous=, since=, all=
    #[arg(long)]
    pub filter: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct NameArg {
    pub name: String,
}

#[derive(Debug, Clone, Args)]
pub struct NamesArg {
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    pub name: String,
    /// Write to this file instead of standard output
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    pub name: String,
    /// A tar archive, or - for standard input
    pub source: String,
}

fn no_such(e: VolumeError) -> anyhow::Error {
    match e {
        VolumeError::NotFound(_) => ExitError {
            code: EXIT_NO_SUCH_OBJECT,
            source: e.into(),
        }
        .into(),
        e => e.into(),
    }
}

fn pairs(list: &[String]) -> std::collections::BTreeMap<String, String> {
    list.iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.clone(), String::new()),
        })
        .collect()
}

pub async fn create(engine: &EngineConfig, a: &CreateArgs) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    let name = a.name.clone().unwrap_or_default();
    if a.ignore && !name.is_empty() && store::exists(&db, &name)? {
        println!("{name}");
        return Ok(());
    }
    let req = volume::CreateRequest {
        name,
        driver: a.driver.clone(),
        labels: pairs(&a.label),
        options: a.opt.clone(),
        uid: a.uid,
        gid: a.gid,
        anonymous: false,
    };
    let v = volume::create(&db, &engine.volume_path, &req)?;
    println!("{}", v.config.name);
    Ok(())
}

/// Names of the volumes some container uses.
fn used_volumes(db: &crate::state::State) -> anyhow::Result<std::collections::HashSet<String>> {
    Ok(crate::container::store::list(db)?
        .into_iter()
        .flat_map(|(c, _)| {
            c.mounts
                .into_iter()
                .filter(|m| m.kind == "volume")
                .map(|m| m.source)
        })
        .collect())
}

pub fn select(
    db: &crate::state::State,
    filters: &filter::Filters,
) -> anyhow::Result<(Vec<Volume>, std::collections::HashSet<String>)> {
    let all = store::list(db)?;
    let used = used_volumes(db)?;
    let in_use = |n: &str| used.contains(n);
    let ctx = filter::Ctx {
        in_use: &in_use,
        now: common::time::now_unix(),
        all: &all,
    };
    let mut out = Vec::new();
    for v in &all {
        if filter::matches(filters, v, &ctx)? {
            out.push(v.clone());
        }
    }
    Ok((out, used))
}

pub async fn ls(engine: &EngineConfig, a: &LsArgs) -> anyhow::Result<()> {
    let filters = filter::parse(&a.filter, false)?;
    let db = crate::state::open_state(engine)?;
    let (vols, _) = select(&db, &filters)?;
    print_ls(
        vols.iter()
            .map(|v| v.inspect_json(&engine.volume_path))
            .collect(),
        a,
    )
}

/// `volume ls` output from the volumes' inspect documents, here or from a
/// service.
pub fn print_ls(docs: Vec<serde_json::Value>, a: &LsArgs) -> anyhow::Result<()> {
    if a.quiet {
        for v in &docs {
            println!("{}", v["Name"].as_str().unwrap_or_default());
        }
        return Ok(());
    }
    if a.format.as_deref().map(str::trim) == Some("json") {
        println!("{}", serde_json::to_string_pretty(&docs)?);
        return Ok(());
    }
    // In templates Labels and Options read as "k=v,k2=v2" (Podman's
    // ListVolumeReport), not as Go maps.
    let rows: Vec<serde_json::Value> = docs
        .into_iter()
        .map(|mut d| {
            for k in ["Labels", "Options"] {
                let s = d[k]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default();
                d[k] = json!(s);
            }
            d
        })
        .collect();
    let headers: HashMap<&str, &str> = [
        ("Name", "VOLUME NAME"),
        ("Driver", "DRIVER"),
        ("Mountpoint", "MOUNT POINT"),
        ("CreatedAt", "CREATED AT"),
    ]
    .into_iter()
    .collect();
    let format = a
        .format
        .clone()
        .unwrap_or_else(|| "table {{.Driver}}\t{{.Name}}".into());
    print!(
        "{}",
        crate::format::table::render_rows(&format, &rows, &headers, a.noheading)?
    );
    Ok(())
}

pub async fn inspect(engine: &EngineConfig, a: &InspectArgs) -> anyhow::Result<()> {
    if a.all != a.names.is_empty() {
        anyhow::bail!("provide one or more volume names or use --all");
    }
    let db = crate::state::open_state(engine)?;
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    if a.all {
        docs = store::list(&db)?
            .iter()
            .map(|v| v.inspect_json(&engine.volume_path))
            .collect();
    }
    for n in &a.names {
        match store::get(&db, n) {
            Ok(v) => docs.push(v.inspect_json(&engine.volume_path)),
            Err(VolumeError::NotFound(_)) => errors.push(format!("no such volume {n}")),
            Err(e) => return Err(e.into()),
        }
    }
    crate::format::print_inspect(&docs, a.format.as_deref())?;
    if !errors.is_empty() {
        anyhow::bail!("{}", errors.join("; "));
    }
    Ok(())
}

/// Remove one volume; `force` removes the containers using it first.
pub async fn remove_one(
    engine: &EngineConfig,
    name: &str,
    force: bool,
    time: Option<i64>,
) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    store::get(&db, name).map_err(no_such)?;
    let users = volume::users(&db, name)?;
    if !users.is_empty() {
        if !force {
            return Err(ExitError {
                code: EXIT_STATE_IMPROPER,
                source: VolumeError::InUse {
                    name: name.to_string(),
                    ids: users
                        .iter()
                        .map(|(id, _)| id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                }
                .into(),
            }
            .into());
        }
        // -t -1: wait as long as the container's own stop timeout says.
        let timeout = time.and_then(|t| u32::try_from(t).ok());
        for (id, _) in &users {
            crate::lifecycle::remove::remove_with_timeout(engine, id, true, timeout).await?;
        }
    }
    volume::remove(&db, &engine.volume_path, &engine.run_root, name).map_err(no_such)
}

pub async fn rm(engine: &EngineConfig, a: &RmArgs) -> anyhow::Result<()> {
    if a.all != a.names.is_empty() {
        anyhow::bail!("choose either one or more volumes or all");
    }
    let names: Vec<String> = if a.all {
        let db = crate::state::open_state(engine)?;
        store::list(&db)?
            .into_iter()
            .map(|v| v.config.name)
            .collect()
    } else {
        a.names.clone()
    };
    let mut errors: Vec<anyhow::Error> = Vec::new();
    for n in &names {
        match remove_one(engine, n, a.force, a.time).await {
            Ok(()) => println!("{n}"),
            Err(e)
                if a.force
                    && e.downcast_ref::<ExitError>()
                        .is_some_and(|x| x.code == EXIT_NO_SUCH_OBJECT) => {}
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => {
            let last = errors.pop().map(|e| crate::error::exit_code(&e));
            for e in &errors {
                eprintln!("Error: {}", crate::error::one_line(e));
            }
            Err(ExitError {
                code: last.unwrap_or(crate::error::EXIT_ENGINE),
                source: anyhow::anyhow!(
                    "{} of {} volumes could not be removed",
                    errors.len() + 1,
                    names.len()
                ),
            }
            .into())
        }
    }
}

/// The unused volumes `prune` would remove: anonymous ones, or all with
/// `all` (or the `all=true` filter); `given` filters further.
fn prune_candidates(
    db: &crate::state::State,
    given: &[String],
    all: bool,
) -> anyhow::Result<(Vec<Volume>, bool)> {
    let mut filters = filter::parse(given, true)?;
    let all = all
        || filters
            .remove("all")
            .is_some_and(|v| v.iter().any(|x| x == "true" || x == "1"));
    if !all && !filters.contains_key("anonymous") {
        filters.insert("anonymous".into(), vec!["true".into()]);
    }
    let (chosen, used) = select(db, &filters)?;
    Ok((
        chosen
            .into_iter()
            .filter(|v| !used.contains(&v.config.name))
            .collect(),
        all,
    ))
}

fn remove_unused(
    engine: &EngineConfig,
    db: &crate::state::State,
    chosen: &[Volume],
) -> anyhow::Result<Vec<String>> {
    let mut removed = Vec::new();
    let mut errors = Vec::new();
    for v in chosen {
        // Used since the listing: left alone, as Podman does.
        if !volume::users(db, &v.config.name)?.is_empty() {
            continue;
        }
        match volume::remove(db, &engine.volume_path, &engine.run_root, &v.config.name) {
            Ok(()) => {
                crate::events::volume("prune", &v.config.name);
                removed.push(v.config.name.clone());
            }
            Err(VolumeError::NotFound(_)) => {}
            Err(e) => errors.push(format!("{}: {e}", v.config.name)),
        }
    }
    if !errors.is_empty() {
        anyhow::bail!("{}", errors.join("; "));
    }
    Ok(removed)
}

/// `system reset`: every volume, unmounted first; containers are gone.
pub fn remove_all(engine: &EngineConfig) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    let mut errors = Vec::new();
    for v in store::list(&db)? {
        match volume::remove(&db, &engine.volume_path, &engine.run_root, &v.config.name) {
            Ok(()) | Err(VolumeError::NotFound(_)) => {}
            Err(e) => errors.push(format!("{}: {e}", v.config.name)),
        }
    }
    if !errors.is_empty() {
        anyhow::bail!("{}", errors.join("; "));
    }
    Ok(())
}

/// `system prune --volumes`: every unused volume matching `given`
/// (label=, until=); the names removed.
pub fn prune_matching(engine: &EngineConfig, given: &[String]) -> anyhow::Result<Vec<String>> {
    let db = crate::state::open_state(engine)?;
    let (chosen, _) = prune_candidates(&db, given, true)?;
    remove_unused(engine, &db, &chosen)
}

pub async fn prune(engine: &EngineConfig, a: &PruneArgs) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    let (chosen, all) = prune_candidates(&db, &a.filter, a.all)?;
    if a.dry_run {
        println!("Volumes that would be pruned:");
        for v in &chosen {
            println!("{}", v.config.name);
        }
        return Ok(());
    }
    if !a.force {
        if all {
            println!("WARNING! This will remove all volumes not used by at least one container. The following volumes will be removed:");
        } else {
            println!("WARNING! This will remove anonymous local volumes not used by at least one container. The following volumes will be removed:");
        }
        if chosen.is_empty() {
            println!(
                "{}",
                if all {
                    "No dangling volumes found"
                } else {
                    "No dangling anonymous volumes found"
                }
            );
            return Ok(());
        }
        for v in &chosen {
            println!("{}", v.config.name);
        }
        if !super::prompt::confirm("Are you sure you want to continue? [y/N] ")? {
            return Ok(());
        }
    }
    for n in remove_unused(engine, &db, &chosen)? {
        println!("{n}");
    }
    Ok(())
}

pub async fn exists(engine: &EngineConfig, a: &NameArg) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    if store::exists(&db, &a.name)? {
        Ok(())
    } else {
        Err(ExitError {
            code: EXIT_NO_SUCH_OBJECT,
            source: anyhow::anyhow!(""),
        }
        .into())
    }
}

/// Mounted (counted) for the duration of `f`, when it is a filesystem.
fn with_mounted<T>(
    engine: &EngineConfig,
    name: &str,
    f: impl FnOnce(&std::path::Path) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let db = crate::state::open_state(engine)?;
    store::get(&db, name).map_err(no_such)?;
    let counted = volume::mount::acquire(&db, &engine.volume_path, &engine.run_root, name)?;
    let r = f(&volume::mountpoint(&engine.volume_path, name));
    if counted {
        volume::mount::release(&db, &engine.volume_path, &engine.run_root, name)?;
    }
    r
}

pub async fn export(engine: &EngineConfig, a: &ExportArgs) -> anyhow::Result<()> {
    if a.output.is_none() && nix::unistd::isatty(1).unwrap_or(false) {
        anyhow::bail!(
            "cannot write to terminal, use command-line redirection or the --output flag"
        );
    }
    with_mounted(engine, &a.name, |dir| {
        let out: Box<dyn std::io::Write> = match &a.output {
            Some(p) => Box::new(
                std::fs::File::create(p)
                    .map_err(|e| anyhow::anyhow!("creating {}: {e}", p.display()))?,
            ),
            None => Box::new(std::io::stdout().lock()),
        };
        let mut b = tar::Builder::new(out);
        b.follow_symlinks(false);
        b.mode(tar::HeaderMode::Complete);
        b.append_dir_all(".", dir)
            .map_err(|e| anyhow::anyhow!("archiving volume {}: {e}", a.name))?;
        b.into_inner()?.flush()?;
        Ok(())
    })
}

pub async fn import(engine: &EngineConfig, a: &ImportArgs) -> anyhow::Result<()> {
    let input: Box<dyn std::io::Read> = if a.source == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(
            std::fs::File::open(&a.source)
                .map_err(|e| anyhow::anyhow!("opening {}: {e}", a.source))?,
        )
    };
    with_mounted(engine, &a.name, |dir| {
        let mut ar = tar::Archive::new(input);
        ar.set_preserve_permissions(true);
        ar.set_preserve_ownerships(true);
        ar.set_preserve_mtime(true);
        ar.set_overwrite(true);
        // unpack keeps every entry inside `dir` (no `..`, no absolute
        // paths, no writes through a symlink it made).
        ar.unpack(dir)
            .map_err(|e| anyhow::anyhow!("importing into volume {}: {e}", a.name))?;
        Ok(())
    })
}

pub async fn mount(engine: &EngineConfig, a: &NamesArg) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    for n in &a.names {
        store::get(&db, n).map_err(no_such)?;
        volume::mount::acquire(&db, &engine.volume_path, &engine.run_root, n)?;
        println!("{}", volume::mountpoint(&engine.volume_path, n).display());
    }
    Ok(())
}

pub async fn unmount(engine: &EngineConfig, a: &NamesArg) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    for n in &a.names {
        store::get(&db, n).map_err(no_such)?;
        volume::mount::release(&db, &engine.volume_path, &engine.run_root, n)?;
        println!("{n}");
    }
    Ok(())
}
