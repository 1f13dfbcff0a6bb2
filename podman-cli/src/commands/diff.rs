//! `podman diff` / `container diff`: what a container changed against its
//! image (storage-helper's ContainerDiff: A added, C changed, D deleted).

use clap::Args;
use proto::storage::v1::{ChangeKind, ContainerDiffRequest};

use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::helper_procs;

#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    /// The container (a second name is refused: comparing two objects is not supported)
    pub names: Vec<String>,
    /// Change the output format (json)
    #[arg(long)]
    pub format: Option<String>,
    /// Act on the latest container podman is aware of
    #[arg(short, long)]
    pub latest: bool,
}

/// What podman itself puts into every container (mount points of the
/// files it bind-mounts, the container environment file): not the
/// container's changes, and left out as Podman does.
const PODMAN_MADE: &[&str] = &[
    "/dev",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/mtab",
    "/proc",
    "/run",
    "/run/notify",
    "/run/.containerenv",
    "/run/secrets",
    "/run/podman-init",
    "/sys",
];

/// The container's changes against its image, without what podman made.
async fn container_changes(
    engine: &EngineConfig,
    id: &str,
) -> anyhow::Result<Vec<proto::storage::v1::Change>> {
    let mut storage = helper_procs::storage(engine).await?;
    let req = ContainerDiffRequest { id: id.to_string() };
    let r = storage
        .call("ContainerDiff", |mut c| async move {
            c.container_diff(req).await
        })
        .await;
    storage.close().await?;
    Ok(r?
        .changes
        .into_iter()
        .filter(|c| !PODMAN_MADE.contains(&c.path.as_str()))
        .collect())
}

/// (A|C|D, path) of each change (the API's `/changes`).
pub async fn changes(
    engine: &EngineConfig,
    name_or_id: &str,
) -> anyhow::Result<Vec<(char, String)>> {
    let id = store::resolve(&*crate::state::open_state(engine)?, name_or_id)?
        .0
        .id;
    Ok(container_changes(engine, &id)
        .await?
        .into_iter()
        .map(|c| {
            let letter = match ChangeKind::try_from(c.kind).unwrap_or(ChangeKind::Unspecified) {
                ChangeKind::Added => 'A',
                ChangeKind::Deleted => 'D',
                _ => 'C',
            };
            (letter, c.path)
        })
        .collect())
}

#[derive(serde::Serialize, Default)]
struct ChangesJson {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    changed: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    added: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    deleted: Vec<String>,
}

pub async fn run(engine: &EngineConfig, a: &DiffArgs) -> anyhow::Result<()> {
    match a.format.as_deref() {
        None | Some("") | Some("json") => {}
        Some(f) => anyhow::bail!("format {f:?} not supported: use json or leave --format out"),
    }
    let db = crate::state::open_state(engine)?;
    let cfg = match (a.latest, a.names.as_slice()) {
        (true, []) => store::latest(&db)?.0,
        (true, _) => anyhow::bail!("--latest and containers cannot be used together"),
        (false, [one]) => match store::resolve(&db, one) {
            Ok((cfg, _)) => cfg,
            Err(store::ContainerStoreError::NotFound(_)) => anyhow::bail!(
                "{one}: no such container (podman-rs diffs containers only; an image's changes are its top layer, see podman history)"
            ),
            Err(e) => return Err(e.into()),
        },
        (false, []) => anyhow::bail!("podman diff requires a container name or ID, or --latest"),
        (false, _) => anyhow::bail!(
            "comparing two objects is not supported: give one container"
        ),
    };
    let changes = container_changes(engine, &cfg.id).await?;
    if a.format.as_deref() == Some("json") {
        let mut j = ChangesJson::default();
        for c in changes {
            match ChangeKind::try_from(c.kind).unwrap_or(ChangeKind::Unspecified) {
                ChangeKind::Added => j.added.push(c.path),
                ChangeKind::Deleted => j.deleted.push(c.path),
                _ => j.changed.push(c.path),
            }
        }
        println!("{}", serde_json::to_string_pretty(&j)?);
        return Ok(());
    }
    for c in changes {
        let letter = match ChangeKind::try_from(c.kind).unwrap_or(ChangeKind::Unspecified) {
            ChangeKind::Added => 'A',
            ChangeKind::Deleted => 'D',
            _ => 'C',
        };
        println!("{letter} {}", c.path);
    }
    Ok(())
}
