//! `podman diff` / `container diff` / `image diff`: what a container changed
//! against its image (storage-helper's ContainerDiff), or what an image's top
//! layer changed against the layers below it (ImageDiff): A added, C
//! changed, D deleted. `podman diff` looks for a container first, then an
//! image, as Podman does.

use clap::Args;
use proto::storage::v1::{
    tree_ref, ChangeKind, ContainerDiffRequest, ImageDiffRequest, TreeDiffRequest, TreeRef,
};

use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::helper_procs;

#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    /// The container or image, and optionally a second one to compare it with (instead of its own base)
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

/// The changes of a container another containers/storage user (buildah)
/// made in this graph root (`None`: no such container).
async fn external_changes(
    engine: &EngineConfig,
    name: &str,
) -> anyhow::Result<Option<Vec<proto::storage::v1::Change>>> {
    let mut storage = helper_procs::storage(engine).await?;
    let req = proto::storage::v1::ExternalRequest {
        name: name.to_string(),
        force: false,
    };
    let r = storage
        .call(
            "ExternalDiff",
            |mut c| async move { c.external_diff(req).await },
        )
        .await;
    storage.close().await?;
    match r {
        Ok(r) => Ok(Some(
            r.changes
                .into_iter()
                .filter(|c| !PODMAN_MADE.contains(&c.path.as_str()))
                .collect(),
        )),
        Err(e) if e.code() == Some(proto::ErrorCode::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The changes of image `spec`'s top layer against its parent layers
/// (`None`: no such image).
async fn image_changes(
    engine: &EngineConfig,
    spec: &str,
) -> anyhow::Result<Option<Vec<proto::storage::v1::Change>>> {
    let mut storage = helper_procs::storage(engine).await?;
    let r = async {
        let id = match crate::image::lookup::find(&mut storage, spec).await {
            Ok(img) => img.id,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(anyhow::Error::from(e)),
        };
        let req = ImageDiffRequest { image: id };
        let r = storage
            .call("ImageDiff", |mut c| async move { c.image_diff(req).await })
            .await?;
        Ok(Some(r.changes))
    }
    .await;
    storage.close().await?;
    r
}

/// A container (our record's ID) or an image, as `target` allows: a
/// container first, as for one name.
async fn tree_ref(
    engine: &EngineConfig,
    name: &str,
    target: DiffTarget,
) -> anyhow::Result<TreeRef> {
    if target != DiffTarget::Image {
        let db = crate::state::open_state(engine)?;
        match store::resolve(&db, name) {
            Ok((cfg, _)) => {
                return Ok(TreeRef {
                    what: Some(tree_ref::What::Container(cfg.id)),
                })
            }
            Err(store::ContainerStoreError::NotFound(_)) if target == DiffTarget::Any => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut storage = helper_procs::storage(engine).await?;
    let found = crate::image::lookup::find(&mut storage, name).await;
    storage.close().await?;
    match found {
        Ok(img) => Ok(TreeRef {
            what: Some(tree_ref::What::Image(img.id)),
        }),
        Err(e) if e.is_not_found() => Err(anyhow::anyhow!(
            "{name} not found: no {} of that name or ID",
            if target == DiffTarget::Image {
                "image"
            } else {
                "container or image"
            }
        )),
        Err(e) => Err(e.into()),
    }
}

/// `diff A B`: A's whole file system against B's, without what podman made.
async fn two_changes(
    engine: &EngineConfig,
    to: &str,
    from: &str,
    target: DiffTarget,
) -> anyhow::Result<Vec<proto::storage::v1::Change>> {
    let req = TreeDiffRequest {
        from: Some(tree_ref(engine, from, target).await?),
        to: Some(tree_ref(engine, to, target).await?),
    };
    let mut storage = helper_procs::storage(engine).await?;
    let r = storage
        .call("TreeDiff", |mut c| async move { c.tree_diff(req).await })
        .await;
    storage.close().await?;
    Ok(r?
        .changes
        .into_iter()
        .filter(|c| !PODMAN_MADE.contains(&c.path.as_str()))
        .collect())
}

/// Which objects a `diff` looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffTarget {
    /// `podman diff`: a container, else an image.
    Any,
    Container,
    Image,
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

pub async fn run(engine: &EngineConfig, a: &DiffArgs, target: DiffTarget) -> anyhow::Result<()> {
    match a.format.as_deref() {
        None | Some("") | Some("json") => {}
        Some(f) => anyhow::bail!("format {f:?} not supported: use json or leave --format out"),
    }
    let db = crate::state::open_state(engine)?;
    let changes = match (a.latest, a.names.as_slice()) {
        (true, []) if target != DiffTarget::Image => {
            container_changes(engine, &store::latest(&db)?.0.id).await?
        }
        (true, []) => anyhow::bail!("--latest applies to containers: give an image name or ID"),
        (true, _) => anyhow::bail!("--latest and containers cannot be used together"),
        (false, [one]) => match (target, store::resolve(&db, one)) {
            (DiffTarget::Image, _) => image_changes(engine, one)
                .await?
                .ok_or_else(|| anyhow::anyhow!("{one}: image not known"))?,
            (_, Ok((cfg, _))) => container_changes(engine, &cfg.id).await?,
            (DiffTarget::Any, Err(store::ContainerStoreError::NotFound(_))) => {
                match image_changes(engine, one).await? {
                    Some(c) => c,
                    None => external_changes(engine, one).await?.ok_or_else(|| {
                        anyhow::anyhow!("{one} not found: no container or image of that name or ID")
                    })?,
                }
            }
            (_, Err(e @ store::ContainerStoreError::NotFound(_))) => {
                match external_changes(engine, one).await? {
                    Some(c) => c,
                    None => return Err(e.into()),
                }
            }
            (_, Err(e)) => return Err(e.into()),
        },
        (false, []) => anyhow::bail!("podman diff requires a name, id, or the \"--latest\" flag"),
        (false, [to, from]) => two_changes(engine, to, from, target).await?,
        (false, _) => {
            anyhow::bail!("podman diff takes at most two containers or images: the one to look at and the one to compare it with")
        }
    };
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
