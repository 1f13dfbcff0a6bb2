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
    let mut errors: Vec<anyhow::Error> = Vec::new();
    for n in names {
        match f(n.clone()).await {
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

/// Names of all containers (for `--all`), or the given ones; `--latest`
/// picks the newest.
pub fn targets(
    engine: &EngineConfig,
    given: &[String],
    all: bool,
    latest: bool,
) -> anyhow::Result<Vec<String>> {
    if all || latest {
        let db = crate::state::open_state(engine)?;
        let list = store::list(&db)?;
        if latest {
            return Ok(list
                .last()
                .map(|(c, _)| vec![c.name.clone()])
                .unwrap_or_default());
        }
        return Ok(list.into_iter().map(|(c, _)| c.name).collect());
    }
    if given.is_empty() {
        anyhow::bail!(
            "you must provide at least one container name or ID, or use --all or --latest"
        );
    }
    Ok(given.to_vec())
}

/// The names that exist (for `--ignore`).
pub fn existing(engine: &EngineConfig, names: Vec<String>) -> anyhow::Result<Vec<String>> {
    let db = crate::state::open_state(engine)?;
    Ok(names
        .into_iter()
        .filter(|n| store::exists(&db, n).unwrap_or(false))
        .collect())
}
