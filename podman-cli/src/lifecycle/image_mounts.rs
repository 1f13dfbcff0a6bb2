//! `--mount type=image,source=IMAGE,destination=PATH[,rw][,subpath=DIR]`:
//! at start the image is mounted read-only by storage-helper (counted, so a
//! `podman image mount` of the same image is unaffected) and bind-mounted
//! into the container; with `rw` an overlay with a throwaway upper layer
//! lies on top (the `O` volume option's code). Cleanup gives the mounts back.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use proto::storage::v1::{MountImageRequest, UnmountImageRequest};

use crate::container::model::{ContainerConfig, ContainerState};
use crate::helper_procs::{Session, StorageClient};

/// Mount the images `cfg`'s image mounts name; returns the configuration
/// with each one a bind mount of its host path. The IDs mounted are in
/// `st.images_mounted` (the caller releases them on failure).
pub async fn mount(
    storage: &mut Session<StorageClient>,
    cfg: &ContainerConfig,
    st: &mut ContainerState,
) -> anyhow::Result<ContainerConfig> {
    let mut out = cfg.clone();
    for m in out.mounts.iter_mut().filter(|m| m.kind == "image") {
        let id = match crate::image::lookup::find(storage, &m.source).await {
            Ok(img) => img.id,
            Err(e) => anyhow::bail!("--mount type=image,source={}: {e}", m.source),
        };
        let req = MountImageRequest { image: id.clone() };
        let mounted = storage
            .call(
                "MountImage",
                |mut c| async move { c.mount_image(req).await },
            )
            .await?;
        st.images_mounted.push(id);
        let mut source = PathBuf::from(&mounted.mountpoint);
        if let Some(sub) = m.options.iter().find_map(|o| o.strip_prefix("subpath=")) {
            source = in_image(&source, sub).map_err(|e| {
                anyhow::anyhow!("--mount type=image,source={},subpath={sub}: {e}", m.source)
            })?;
        }
        let rw = m.options.iter().any(|o| o == "rw");
        m.kind = "bind".into();
        m.source = source.display().to_string();
        m.options = vec![if rw { "O" } else { "ro" }.to_string()];
    }
    Ok(out)
}

/// `sub` resolved inside the mounted image at `root` (symlinks never lead
/// out of it): the host path of the directory it names.
fn in_image(root: &Path, sub: &str) -> std::io::Result<PathBuf> {
    let root_fd = common::in_root::open_dir(root)?;
    let rel = Path::new(sub.trim_start_matches('/'));
    use std::os::fd::AsFd;
    let dir = common::in_root::open_dir_in_root(root_fd.as_fd(), rel)?;
    std::fs::read_link(format!("/proc/self/fd/{}", dir.as_raw_fd()))
}

/// Give back the image mounts a start took (cleanup, a failed start).
/// Errors are logged: an image left mounted is seen in `image mount` and
/// can be unmounted there.
pub async fn release(storage: &mut Session<StorageClient>, st: &mut ContainerState) {
    for id in std::mem::take(&mut st.images_mounted) {
        let req = UnmountImageRequest {
            image: id.clone(),
            force: false,
        };
        if let Err(e) = storage
            .call(
                "UnmountImage",
                |mut c| async move { c.unmount_image(req).await },
            )
            .await
        {
            tracing::warn!(image = %id, error = %e, "giving back an image mount");
        }
    }
}
