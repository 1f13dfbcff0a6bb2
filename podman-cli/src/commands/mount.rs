//! `podman mount` / `podman container mount` (the container's root file
//! system on the host: its mount point printed; no names lists what is
//! mounted) and `podman umount` / `unmount` (undo one mount; `--force`
//! all of them). Storage-helper counts the mounts, so a container that
//! runs and is mounted by hand stays mounted until both let go.

use clap::Args;
use proto::storage::v1::{MountRequest, UnmountRequest};

use crate::container::model::{ContainerConfig, Status};
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::helper_procs;

#[derive(Debug, Clone, Args)]
pub struct MountArgs {
    pub containers: Vec<String>,
    /// Mount all containers
    #[arg(short, long)]
    pub all: bool,
    /// Print the mounted containers in specified format (json)
    #[arg(long)]
    pub format: Option<String>,
    /// Do not truncate output
    #[arg(long = "no-trunc", alias = "notruncate")]
    pub no_trunc: bool,
    /// Act on the latest container podman is aware of
    #[arg(short, long)]
    pub latest: bool,
}

#[derive(Debug, Clone, Args)]
pub struct UnmountArgs {
    pub containers: Vec<String>,
    /// Unmount all of the currently mounted containers
    #[arg(short, long)]
    pub all: bool,
    /// Force the complete unmount of the specified mounted containers
    #[arg(short, long)]
    pub force: bool,
    /// Act on the latest container podman is aware of
    #[arg(short, long)]
    pub latest: bool,
}

/// The containers named, or the latest, or all (with `all`).
fn targets(
    engine: &EngineConfig,
    names: &[String],
    all: bool,
    latest: bool,
) -> anyhow::Result<Vec<ContainerConfig>> {
    if latest && !names.is_empty() {
        anyhow::bail!("--latest and containers cannot be used together");
    }
    if all && !names.is_empty() {
        anyhow::bail!("--all and containers cannot be used together");
    }
    let db = crate::state::open_state(engine)?;
    if all {
        return Ok(store::list(&db)?.into_iter().map(|(c, _)| c).collect());
    }
    if latest {
        return Ok(vec![store::latest(&db)?.0]);
    }
    names
        .iter()
        .map(|n| Ok(store::resolve(&db, n)?.0))
        .collect()
}

/// A name that is no container of ours, with the error that says so.
type NotOurs = (String, anyhow::Error);

/// The names that are no container of ours, with the error that says so:
/// they may be containers another containers/storage user (buildah) made
/// in the same graph root.
fn split_external(
    engine: &EngineConfig,
    names: &[String],
) -> anyhow::Result<(Vec<String>, Vec<NotOurs>)> {
    let db = crate::state::open_state(engine)?;
    let (mut ours, mut others) = (Vec::new(), Vec::new());
    for n in names {
        match store::resolve(&db, n) {
            Ok(_) => ours.push(n.clone()),
            Err(e @ store::ContainerStoreError::NotFound(_)) => others.push((n.clone(), e.into())),
            Err(e) => return Err(e.into()),
        }
    }
    Ok((ours, others))
}

/// Mount (or unmount) an external container; one storage does not know
/// either is reported with `missing`, our own not-found error.
async fn external(
    storage: &mut helper_procs::Session<helper_procs::StorageClient>,
    name: &str,
    missing: anyhow::Error,
    unmount: Option<bool>,
) -> anyhow::Result<String> {
    let req = proto::storage::v1::ExternalRequest {
        name: name.to_string(),
        force: unmount.unwrap_or(false),
    };
    let r = match unmount {
        None => storage
            .call("MountExternal", |mut c| async move {
                c.mount_external(req).await
            })
            .await
            .map(|m| m.mountpoint),
        Some(_) => storage
            .call("UnmountExternal", |mut c| async move {
                c.unmount_external(req).await
            })
            .await
            .map(|m| m.id),
    };
    match r {
        Ok(s) => Ok(s),
        Err(e) if e.code() == Some(proto::ErrorCode::NotFound) => Err(missing),
        Err(e) => Err(e.into()),
    }
}

pub async fn mount(engine: &EngineConfig, a: &MountArgs) -> anyhow::Result<()> {
    if a.containers.is_empty() && !a.all && !a.latest {
        return list(engine, a).await;
    }
    let (names, others) = split_external(engine, &a.containers)?;
    let ctrs = targets(engine, &names, a.all, a.latest)?;
    let mut storage = helper_procs::storage(engine).await?;
    for (name, missing) in others {
        match external(&mut storage, &name, missing, None).await {
            Ok(mp) => println!("{mp}"),
            Err(e) => {
                storage.close().await?;
                return Err(e);
            }
        }
    }
    let mut result = Ok(());
    for cfg in ctrs {
        let req = MountRequest { id: cfg.id.clone() };
        match storage
            .call("Mount", |mut c| async move { c.mount(req).await })
            .await
        {
            Ok(m) => {
                crate::events::container(&cfg, "mount");
                println!("{}", m.mountpoint);
            }
            Err(e) => {
                result = Err(e.into());
                break;
            }
        }
    }
    storage.close().await?;
    result
}

#[derive(serde::Serialize)]
struct MountedJson {
    id: String,
    #[serde(rename = "Names")]
    names: Vec<String>,
    mountpoint: String,
}

/// Every container of ours that storage has mounted.
async fn list(engine: &EngineConfig, a: &MountArgs) -> anyhow::Result<()> {
    match a.format.as_deref() {
        None | Some("") | Some("json") => {}
        Some(f) => anyhow::bail!("unknown --format argument: {f:?}"),
    }
    let mut storage = helper_procs::storage(engine).await?;
    let listed = helper_procs::storage_containers(&mut storage).await;
    let externals = storage
        .call("ListExternal", |mut c| async move {
            c.list_external(proto::storage::v1::ListExternalRequest {})
                .await
        })
        .await;
    storage.close().await?;
    let db = crate::state::open_state(engine)?;
    let ours: std::collections::HashMap<String, ContainerConfig> = store::list(&db)?
        .into_iter()
        .map(|(c, _)| (c.id.clone(), c))
        .collect();
    let mounted: Vec<MountedJson> = listed?
        .into_iter()
        .filter(|c| c.mount_count > 0)
        .filter_map(|c| {
            ours.get(&c.id).map(|cfg| MountedJson {
                id: c.id.clone(),
                names: vec![cfg.name.clone()],
                mountpoint: c.mountpoint.clone(),
            })
        })
        .chain(
            externals?
                .containers
                .into_iter()
                .filter(|c| c.mount_count > 0)
                .map(|c| MountedJson {
                    id: c.id,
                    names: c.names,
                    mountpoint: c.mountpoint,
                }),
        )
        .collect();
    if a.format.as_deref() == Some("json") {
        // Podman indents this one with a single space.
        println!("{}", crate::format::json_indent(&mounted, " ")?);
        return Ok(());
    }
    for m in &mounted {
        let id = if a.no_trunc {
            m.id.as_str()
        } else {
            &m.id[..m.id.len().min(12)]
        };
        let width = if a.no_trunc { id.len() } else { 12 };
        println!("{id:<width$}  {}", m.mountpoint);
    }
    Ok(())
}

pub async fn unmount(engine: &EngineConfig, a: &UnmountArgs) -> anyhow::Result<()> {
    let mut external_names = Vec::new();
    let ctrs = if a.all {
        let db = crate::state::open_state(engine)?;
        store::list(&db)?.into_iter().map(|(c, _)| c).collect()
    } else {
        if a.containers.is_empty() && !a.latest {
            anyhow::bail!(
                "you must provide at least one container name or ID, or use --all or --latest"
            );
        }
        let (names, others) = split_external(engine, &a.containers)?;
        external_names = others;
        targets(engine, &names, false, a.latest)?
    };
    let db = crate::state::open_state(engine)?;
    let mut storage = helper_procs::storage(engine).await?;
    let mut errors = Vec::new();
    for (name, missing) in std::mem::take(&mut external_names) {
        match external(&mut storage, &name, missing, Some(a.force)).await {
            Ok(id) => println!("{id}"),
            Err(e) => errors.push(format!("{e}")),
        }
    }
    let mounted: std::collections::HashMap<String, u32> =
        helper_procs::storage_containers(&mut storage)
            .await?
            .into_iter()
            .map(|c| (c.id, c.mount_count))
            .collect();
    for cfg in ctrs {
        // A running container's mount is its runtime's: Podman skips it.
        let running = store::resolve(&db, &cfg.id)
            .is_ok_and(|(_, st)| matches!(st.status, Status::Running | Status::Paused));
        if running {
            tracing::debug!(container = %cfg.id, "running: not unmounted");
            continue;
        }
        if a.all && mounted.get(&cfg.id).copied().unwrap_or(0) == 0 {
            continue;
        }
        let req = UnmountRequest {
            id: cfg.id.clone(),
            force: a.force,
        };
        match storage
            .call("Unmount", |mut c| async move { c.unmount(req).await })
            .await
        {
            Ok(_) => {
                crate::events::container(&cfg, "unmount");
                println!("{}", cfg.id);
            }
            Err(e) => errors.push(format!("unmounting container {}: {e}", cfg.id)),
        }
    }
    storage.close().await?;
    if errors.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{}", errors.join("; "))
    }
}
