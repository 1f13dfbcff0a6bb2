//! Carry out a plan: volumes first, then each pod with its containers,
//! started unless asked not to. A pod that fails is removed with what it
//! made, so a failed play leaves no half-made pod.

use std::path::Path;

use crate::engine_config::EngineConfig;
use crate::lifecycle::{create, pod_ops};
use crate::volume;

use super::plan::{Plan, PodPlan, PodVolume};

#[derive(Debug, Default)]
pub struct Report {
    /// Volumes made for PersistentVolumeClaims.
    pub volumes: Vec<String>,
    /// Each pod's ID and its containers' IDs.
    pub pods: Vec<(String, Vec<String>)>,
}

pub async fn play(
    engine: &EngineConfig,
    plan: &Plan,
    start: bool,
    replace: bool,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    if replace {
        for p in &plan.pods {
            remove_if_present(engine, &p.name).await?;
        }
    }
    for claim in &plan.claims {
        if ensure_volume(engine, claim, false)? {
            report.volumes.push(claim.clone());
        }
    }
    for p in &plan.pods {
        report.pods.push(play_pod(engine, p, start).await?);
    }
    Ok(report)
}

/// Stop and remove the pod `name` if it exists; its ID when it did.
pub async fn remove_if_present(
    engine: &EngineConfig,
    name: &str,
) -> anyhow::Result<Option<String>> {
    match pod_ops::remove(engine, name, true, Some(0)).await {
        Ok(pod) => Ok(Some(pod.id)),
        Err(e) if pod_ops::is_no_such_pod(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn play_pod(
    engine: &EngineConfig,
    p: &PodPlan,
    start: bool,
) -> anyhow::Result<(String, Vec<String>)> {
    for (path, kind) in &p.host_paths {
        check_host_path(path, kind)?;
    }
    for v in &p.volumes {
        match v {
            PodVolume::HostDir(d) => make_host_dir(d)?,
            PodVolume::HostFile(f) => make_host_file(f)?,
            PodVolume::Empty { volume } => {
                ensure_volume(engine, volume, true)?;
            }
            PodVolume::Config { name, files } => {
                ensure_volume(engine, name, false)?;
                write_config_files(engine, name, files)?;
            }
        }
    }
    let pod = crate::lifecycle::pod::create(engine, &p.pod).await?;
    let made = async {
        let mut ids = Vec::new();
        for c in &p.containers {
            ids.push(create::create(engine, c).await?.id);
        }
        if start {
            pod_ops::start(engine, &pod.id).await?;
        }
        anyhow::Ok(ids)
    }
    .await;
    match made {
        Ok(ids) => Ok((pod.id, ids)),
        Err(e) => {
            if let Err(undo) = pod_ops::remove(engine, &pod.id, true, Some(0)).await {
                tracing::warn!(error = %undo, pod = %pod.id, "removing the pod that failed to play");
            }
            Err(e)
        }
    }
}

/// Make volume `name` unless it exists; whether it was made.
fn ensure_volume(engine: &EngineConfig, name: &str, anonymous: bool) -> anyhow::Result<bool> {
    let db = crate::state::open_state(engine)?;
    if volume::store::exists(&db, name)? {
        return Ok(false);
    }
    let req = volume::CreateRequest {
        name: name.to_string(),
        anonymous,
        ..Default::default()
    };
    volume::create(&db, &engine.volume_path, &req)?;
    Ok(true)
}

/// A ConfigMap's items as files in its volume, written anew each play,
/// resolved inside the volume (a link there never leads out).
fn write_config_files(
    engine: &EngineConfig,
    name: &str,
    files: &std::collections::BTreeMap<String, String>,
) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::fd::AsFd;
    use std::os::unix::fs::OpenOptionsExt;
    let data = volume::dir(&engine.volume_path, name).join("_data");
    let root = common::in_root::open_dir(&data)?;
    for (rel, content) in files {
        let rel = Path::new(rel);
        let (Some(parent), Some(file)) = (rel.parent(), rel.file_name()) else {
            anyhow::bail!(
                "kube play: ConfigMap {name:?} item {:?} names no file",
                rel.display()
            );
        };
        let dir = common::in_root::mkdir_all_in_root(root.as_fd(), parent)?;
        // The directory by its descriptor, the file without following a link.
        let at = Path::new("/proc/self/fd")
            .join(std::os::fd::AsRawFd::as_raw_fd(&dir).to_string())
            .join(file);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&at)
            .map_err(|e| {
                anyhow::anyhow!("writing ConfigMap {name:?} item {:?}: {e}", rel.display())
            })?;
        f.write_all(content.as_bytes())?;
    }
    Ok(())
}

fn check_host_path(path: &str, kind: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_empty() {
        return Ok(());
    }
    let md = std::fs::metadata(path)
        .map_err(|e| anyhow::anyhow!("kube play: hostPath {path:?} ({kind}): {e}"))?;
    let t = md.file_type();
    let ok = match kind {
        "Directory" => t.is_dir(),
        "File" => t.is_file(),
        "Socket" => t.is_socket(),
        "CharDevice" => t.is_char_device(),
        "BlockDevice" => t.is_block_device(),
        _ => true,
    };
    if !ok {
        anyhow::bail!("kube play: hostPath {path:?} is not a {kind}");
    }
    Ok(())
}

fn make_host_dir(path: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::metadata(path) {
        Ok(md) if md.is_dir() => Ok(()),
        Ok(_) => anyhow::bail!("kube play: hostPath {path:?} exists and is not a directory"),
        Err(_) => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(path)
            .map_err(|e| anyhow::anyhow!("kube play: making hostPath {path:?}: {e}")),
    }
}

fn make_host_file(path: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::metadata(path) {
        Ok(md) if md.is_file() => Ok(()),
        Ok(_) => anyhow::bail!("kube play: hostPath {path:?} exists and is not a file"),
        Err(_) => {
            if let Some(parent) = Path::new(path).parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o644)
                .open(path)
                .map(drop)
                .map_err(|e| anyhow::anyhow!("kube play: making hostPath {path:?}: {e}"))
        }
    }
}
