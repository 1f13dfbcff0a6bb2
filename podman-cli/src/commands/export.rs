//! `podman export` / `container export`: the container's root file system
//! (its image and its changes, without volumes or bind mounts) as a tar,
//! into a file (`-o`) or onto stdout when that is not a terminal.

use std::io::IsTerminal;
use std::os::fd::AsFd;

use clap::Args;
use proto::storage::v1::{
    CopyEnd, CopyRequest, CopyRoot, ExportContainerRequest, MountRequest, UnmountRequest,
};

use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::helper_procs;

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    pub container: String,
    /// Write to a specified file (default: stdout, which must be redirected)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<String>,
}

pub async fn run(engine: &EngineConfig, a: &ExportArgs) -> anyhow::Result<()> {
    let to_stdout = a.output.as_deref().is_none_or(|o| o.is_empty() || o == "-");
    if to_stdout && std::io::stdout().is_terminal() {
        anyhow::bail!("refusing to export to terminal. Use -o flag or redirect");
    }
    let db = crate::state::open_state(engine)?;
    let (cfg, _) = store::resolve(&db, &a.container)?;
    if let Some(out) = a.output.as_deref().filter(|_| !to_stdout) {
        let dest = std::path::absolute(out)?;
        let mut storage = helper_procs::storage(engine).await?;
        let req = ExportContainerRequest {
            id: cfg.id.clone(),
            dest_path: dest.display().to_string(),
        };
        let r = storage
            .call("ExportContainer", |mut c| async move {
                c.export_container(req).await
            })
            .await;
        storage.close().await?;
        r?;
        return Ok(());
    }
    // Stdout: streamed by a helper holding our stdout.
    drop(db);
    let out = std::io::stdout().as_fd().try_clone_to_owned()?;
    export_mounted(engine, &cfg.id, out).await
}

/// The container's root file system as a tar into `out` (the API's export).
pub async fn export_to(
    engine: &EngineConfig,
    name_or_id: &str,
    out: std::os::fd::OwnedFd,
) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    let (cfg, _) = store::resolve(&db, name_or_id)?;
    drop(db);
    export_mounted(engine, &cfg.id, out).await
}

/// Mount container `id`, stream its root as a tar into `out`, unmount.
async fn export_mounted(
    engine: &EngineConfig,
    id: &str,
    out: std::os::fd::OwnedFd,
) -> anyhow::Result<()> {
    let mut storage = helper_procs::storage(engine).await?;
    let req = MountRequest { id: id.to_string() };
    let mountpoint = storage
        .call("Mount", |mut c| async move { c.mount(req).await })
        .await?
        .mountpoint;
    let copied = stream_to(engine, &mountpoint, out).await;
    let req = UnmountRequest {
        id: id.to_string(),
        force: false,
    };
    let unmounted = storage
        .call("Unmount", |mut c| async move { c.unmount(req).await })
        .await;
    storage.close().await?;
    copied?;
    unmounted?;
    Ok(())
}

async fn stream_to(
    engine: &EngineConfig,
    root: &str,
    out: std::os::fd::OwnedFd,
) -> anyhow::Result<()> {
    let mut s = helper_procs::storage_with_data(engine, out.as_fd()).await?;
    drop(out);
    let req = CopyRequest {
        source: Some(CopyEnd {
            root: Some(CopyRoot {
                root: root.to_string(),
                mounts: Vec::new(),
            }),
            path: "/".into(),
            data_fd: false,
        }),
        destination: Some(CopyEnd {
            root: None,
            path: String::new(),
            data_fd: true,
        }),
        ..Default::default()
    };
    let r = s
        .call("Copy", |mut c| async move { c.copy(req).await })
        .await;
    s.finish().await?;
    r?;
    Ok(())
}
