//! `podman rm`.

use clap::Args;

use super::targets::{for_each, for_each_parallel, select, Selection};
use crate::container::model::{ContainerConfig, NetworkMode};
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::error::ExitError;

#[derive(Debug, Clone, Args)]
pub struct RmArgs {
    pub containers: Vec<String>,
    /// Force removal of running containers
    #[arg(short, long)]
    pub force: bool,
    /// Remove all containers
    #[arg(short, long)]
    pub all: bool,
    /// Remove anonymous volumes too
    #[arg(short, long)]
    pub volumes: bool,
    /// Ignore errors when a specified container is missing
    #[arg(short, long)]
    pub ignore: bool,
    /// Remove the containers that depend on these first
    #[arg(long)]
    pub depend: bool,
    /// Seconds to wait for a forced stop before killing
    #[arg(short = 't', long = "time", allow_negative_numbers = true, value_parser = super::targets::stop_time)]
    pub time: Option<u32>,
    #[arg(short, long)]
    pub latest: bool,
    /// Read the container ID from the file
    #[arg(long)]
    pub cidfile: Vec<String>,
    /// Filter output based on conditions given
    #[arg(long)]
    pub filter: Vec<String>,
}

/// Whether `d` needs `c` (shares its network namespace).
fn depends_on(d: &ContainerConfig, c: &ContainerConfig) -> bool {
    matches!(&d.network_mode, NetworkMode::Container(x) if *x == c.id || *x == c.name)
        || d.dependencies.contains(&c.id)
}

pub async fn run(engine: &EngineConfig, args: &RmArgs) -> anyhow::Result<()> {
    if args.time.is_some() && !args.force {
        anyhow::bail!("--force option must be specified to use the --time option");
    }
    crate::lifecycle::reconcile::pending(engine).await;
    // As Podman: an ID only storage knows (a container podman never
    // recorded) is removed from storage.
    let mut given = Vec::new();
    let mut external_errors: Vec<anyhow::Error> = Vec::new();
    {
        let db = crate::state::open_state(engine)?;
        for n in &args.containers {
            if store::exists(&db, n)? {
                given.push(n.clone());
                continue;
            }
            match crate::lifecycle::reconcile::find_storage_only(engine, n).await {
                Ok(Some(c)) => {
                    match crate::lifecycle::reconcile::remove_storage_container(engine, &c.id).await
                    {
                        Ok(()) => println!("{}", c.id),
                        Err(e) => external_errors.push(e),
                    }
                }
                Ok(None) => {
                    // A container another containers/storage user (buildah)
                    // made in the graph root.
                    match crate::lifecycle::reconcile::remove_external(engine, n, args.force).await
                    {
                        Ok(Some(id)) => println!("{id}"),
                        Ok(None) => given.push(n.clone()),
                        Err(e) => external_errors.push(e),
                    }
                }
                Err(e) => external_errors.push(e),
            }
        }
    }
    if !args.containers.is_empty() && given.is_empty() {
        return match external_errors.pop() {
            None => Ok(()),
            Some(last) => {
                for e in &external_errors {
                    eprintln!("Error: {}", crate::error::one_line(e));
                }
                Err(last)
            }
        };
    }
    let names = select(
        engine,
        &Selection {
            given: &given,
            all: args.all,
            latest: args.latest,
            cidfiles: &args.cidfile,
            filters: &args.filter,
            // `rm --force` skips missing containers too, as Podman's does.
            ignore: args.ignore || args.force,
        },
    )?;
    let db = crate::state::open_state(engine)?;
    let all = store::list(&db)?;
    // Missing containers: exit 1, with rm's own wording.
    let mut resolved: Vec<(String, ContainerConfig)> = Vec::new();
    let mut missing: Vec<anyhow::Error> = Vec::new();
    for n in &names {
        match store::resolve(&db, n) {
            Ok((c, _)) => resolved.push((n.clone(), c)),
            Err(store::ContainerStoreError::NotFound(_)) => missing.push(
                ExitError {
                    code: 1,
                    source: anyhow::anyhow!(
                        "no container with ID or name \"{n}\" found: no such container"
                    ),
                }
                .into(),
            ),
            Err(e) => return Err(e.into()),
        }
    }
    drop(db);
    // Dependents go first with --depend; without it they block the removal.
    let mut ordered: Vec<String> = Vec::new();
    let mut blocked: Vec<anyhow::Error> = Vec::new();
    let removing: std::collections::HashSet<&str> =
        resolved.iter().map(|(_, c)| c.id.as_str()).collect();
    let db = crate::state::open_state(engine)?;
    let mut gone_with_pod: std::collections::HashSet<String> = Default::default();
    for (n, c) in &resolved {
        if gone_with_pod.contains(&c.id) {
            continue;
        }
        if (args.depend || args.all) && c.extra.pod_infra {
            // Everything depends on a pod's infra container: the pod goes
            // (Podman's RemoveContainerAndDependencies, for --all too).
            let ids: Vec<String> = crate::pod::store::members(&db, &c.extra.pod)?
                .into_iter()
                .map(|(m, _)| m.id)
                .collect();
            match crate::lifecycle::pod_ops::remove(engine, &c.extra.pod, args.force, args.time)
                .await
            {
                Ok(_) => {
                    ids.iter().for_each(|id| println!("{id}"));
                    gone_with_pod.extend(ids);
                }
                Err(e) => blocked.push(e),
            }
            continue;
        }
        if let Err(e) = crate::lifecycle::pod::refuse_infra_removal(&db, c) {
            blocked.push(e);
            continue;
        }
        let deps: Vec<&ContainerConfig> = all
            .iter()
            .map(|(d, _)| d)
            .filter(|d| depends_on(d, c))
            .collect();
        if args.depend {
            for d in deps {
                if !ordered.contains(&d.id) && !removing.contains(d.id.as_str()) {
                    ordered.push(d.id.clone());
                }
            }
        } else if deps.iter().any(|d| !removing.contains(d.id.as_str())) {
            blocked.push(anyhow::anyhow!(
                "container {} has dependent containers which must be removed before it: {}: container already exists",
                c.id,
                deps.iter().map(|d| d.id.as_str()).collect::<Vec<_>>().join(", ")
            ));
            continue;
        }
        // Among the named ones, a dependent goes before what it needs.
        if !ordered.contains(n) {
            ordered.push(n.clone());
        }
    }
    if !args.depend {
        // Dependents named in the same command go first.
        ordered.sort_by_key(|n| {
            let c = resolved.iter().find(|(m, _)| m == n).map(|(_, c)| c);
            !c.is_some_and(|c| all.iter().any(|(o, _)| depends_on(c, o)))
        });
    }
    // Named too, but already removed with their pod.
    ordered.retain(|n| {
        !gone_with_pod.contains(n)
            && resolved
                .iter()
                .find(|(m, _)| m == n)
                .is_none_or(|(_, c)| !gone_with_pod.contains(&c.id))
    });
    let remove = |c: String| async move {
        crate::lifecycle::remove::remove_with_volumes(
            engine,
            &c,
            args.force,
            args.time,
            args.volumes,
        )
        .await
    };
    // Containers that need one another go in the order made above; without
    // such ties (the common `rm -af`) they are removed at the same time.
    let chained = all
        .iter()
        .any(|(d, _)| all.iter().any(|(c, _)| c.id != d.id && depends_on(d, c)));
    let result = if chained {
        for_each(&ordered, remove, true).await
    } else {
        for_each_parallel(&ordered, remove, true).await
    };
    let mut errors: Vec<anyhow::Error> = external_errors
        .into_iter()
        .chain(missing)
        .chain(blocked)
        .collect();
    if let Err(e) = result {
        errors.push(e);
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => {
            // Podman prints every error; the exit code is the last one's.
            let last = errors.pop().unwrap();
            for e in &errors {
                eprintln!("Error: {}", crate::error::one_line(e));
            }
            Err(last)
        }
    }
}
