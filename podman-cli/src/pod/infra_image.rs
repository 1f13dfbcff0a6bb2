//! The infra container's image, made locally as Podman makes
//! `localhost/podman-pause:<version>-<timestamp>`: a root file system
//! holding only catatonit, imported into storage the first time a pod
//! needs it. Nothing is pulled.

use std::path::Path;

use anyhow::Context;
use proto::storage::v1::ImportRootfsTarRequest;

use crate::engine_config::EngineConfig;
use crate::helper_procs;
use crate::image::config_change::parse_changes;
use crate::image::staging::Staging;

/// Where catatonit is looked for (containers.conf's `init_path` first).
const CATATONIT: &[&str] = &["/usr/libexec/podman/catatonit", "/usr/bin/catatonit"];

fn catatonit(engine: &EngineConfig) -> anyhow::Result<std::path::PathBuf> {
    if let Some(p) = &engine.containers.containers.init_path {
        if p.ends_with("catatonit") && common::paths::is_executable(Path::new(p)) {
            return Ok(p.into());
        }
    }
    CATATONIT
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| common::paths::is_executable(p))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "building the pod's infra image needs catatonit ({}): install it (Debian: catatonit) or give --infra-image",
                CATATONIT.join(" or ")
            )
        })
}

/// The name of the local pause image for this catatonit binary: its
/// modification time changes when the package is upgraded, and so the name.
fn image_name(bin: &Path) -> anyhow::Result<String> {
    let mtime = std::fs::metadata(bin)
        .with_context(|| format!("{}", bin.display()))?
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(format!(
        "localhost/podman-pause:{}-{mtime}",
        crate::compat::PODMAN_VERSION
    ))
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

fn write_rootfs_tar(bin: &Path, out: &Path) -> anyhow::Result<()> {
    let f = std::fs::File::create(out).with_context(|| format!("{}", out.display()))?;
    let mut b = tar::Builder::new(std::io::BufWriter::new(f));
    b.mode(tar::HeaderMode::Deterministic);
    for d in ["dev", "etc", "proc", "sys", "run", "tmp"] {
        let mode = if d == "tmp" { 0o1777 } else { 0o755 };
        let mut h = header(tar::EntryType::Directory, mode, 0);
        b.append_data(&mut h, format!("{d}/"), std::io::empty())?;
    }
    let data = std::fs::read(bin).with_context(|| format!("{}", bin.display()))?;
    let mut h = header(tar::EntryType::Regular, 0o755, data.len() as u64);
    b.append_data(&mut h, "catatonit", data.as_slice())?;
    b.into_inner()?.into_inner()?.sync_all()?;
    Ok(())
}

/// The local pause image's name, importing it when storage lacks it.
pub async fn ensure(engine: &EngineConfig) -> anyhow::Result<String> {
    let bin = catatonit(engine)?;
    let name = image_name(&bin)?;
    let mut storage = helper_procs::storage(engine).await?;
    let found = crate::image::lookup::find(&mut storage, &name).await;
    let result = match found {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => import(engine, &bin, &name, &mut storage).await,
        Err(e) => Err(e.into()),
    };
    storage.close().await?;
    result.map(|()| name)
}

async fn import(
    engine: &EngineConfig,
    bin: &Path,
    name: &str,
    storage: &mut helper_procs::Session<helper_procs::StorageClient>,
) -> anyhow::Result<()> {
    let staging = Staging::new(&engine.graph_root, "pause")?;
    let tar_path = staging.join("rootfs.tar");
    write_rootfs_tar(bin, &tar_path)?;
    let changes = parse_changes(&[r#"ENTRYPOINT ["/catatonit","-P"]"#.to_string()])?;
    let req = ImportRootfsTarRequest {
        tar_path: tar_path.display().to_string(),
        names: vec![name.to_string()],
        changes: Some(changes),
        message: "pause image for pods, built from catatonit".into(),
        architecture: String::new(),
        os: String::new(),
        variant: String::new(),
    };
    storage
        .call("ImportRootfsTar", |mut c| async move {
            c.import_rootfs_tar(req).await
        })
        .await?;
    Ok(())
}
