//! A volume that is a filesystem (`-o type=tmpfs`, `type=bind,device=`,
//! `type=ext4,device=/dev/...`) is mounted on its `_data` by mount(8), as
//! Podman does, when its first user comes (a container start or `volume
//! mount`) and unmounted when its last goes. The count is in the volume's
//! state, changed under the volume's lock.

use std::path::{Path, PathBuf};

use super::{mountpoint, options, store, Volume, VolumeError};
use crate::state::State;

pub fn lock_path(run_root: &Path, name: &str) -> PathBuf {
    run_root.join("volumes").join(format!("{name}.lock"))
}

/// The volume's lock: its mount count and removal are changed under it.
pub fn lock(run_root: &Path, name: &str) -> Result<common::file_lock::FileLock, VolumeError> {
    let dir = run_root.join("volumes");
    common::private_dir::ensure(&dir).map_err(VolumeError::Fs)?;
    common::file_lock::FileLock::exclusive(&lock_path(run_root, name)).map_err(VolumeError::Fs)
}

fn mount_now(volume_path: &Path, vol: &Volume) -> Result<(), VolumeError> {
    let target = mountpoint(volume_path, &vol.config.name);
    let o = &vol.config.options;
    let ty = o.get("type").cloned().unwrap_or_default();
    let device = o.get("device").cloned().unwrap_or_else(|| ty.clone());
    let mut mount_opts = options::mount_options(o);
    let mut cmd = std::process::Command::new("mount");
    if ty == "bind" {
        mount_opts = if mount_opts.is_empty() {
            "bind".into()
        } else {
            format!("bind,{mount_opts}")
        };
    } else if !ty.is_empty() {
        cmd.args(["-t", &ty]);
    }
    if !mount_opts.is_empty() {
        cmd.args(["-o", &mount_opts]);
    }
    cmd.arg(&device).arg(&target);
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| VolumeError::Io(PathBuf::from("mount"), e))?;
    if !out.status.success() {
        return Err(VolumeError::Option(format!(
            "mounting volume {} ({ty} {device}): {}",
            vol.config.name,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    if vol.config.uid.is_some() || vol.config.gid.is_some() {
        std::os::unix::fs::lchown(&target, vol.config.uid, vol.config.gid)
            .map_err(|e| VolumeError::Io(target.clone(), e))?;
    }
    Ok(())
}

/// Unmount `_data` if something is mounted there (a removal, or a count
/// left behind by a command that died).
pub fn force_unmount(volume_path: &Path, name: &str) {
    let target = mountpoint(volume_path, name);
    while nix::mount::umount2(&target, nix::mount::MntFlags::MNT_DETACH).is_ok() {}
}

/// One more user: mount it when it is the first. Volumes that are plain
/// directories have nothing to mount and keep a count of zero, as Podman's.
/// Returns whether a count was taken (to be given back by [`release`]).
pub fn acquire(
    db: &State,
    volume_path: &Path,
    run_root: &Path,
    name: &str,
) -> Result<bool, VolumeError> {
    let _lock = lock(run_root, name)?;
    let mut vol = store::get(db, name)?;
    if !vol.needs_mount() {
        return Ok(false);
    }
    if vol.state.mount_count == 0 {
        mount_now(volume_path, &vol)?;
        crate::events::volume("mount", name);
    }
    vol.state.mount_count += 1;
    if let Err(e) = store::update_state(db, name, &vol.state) {
        if vol.state.mount_count == 1 {
            force_unmount(volume_path, name);
        }
        return Err(e);
    }
    Ok(true)
}

/// One user fewer: unmount it after the last.
pub fn release(
    db: &State,
    volume_path: &Path,
    run_root: &Path,
    name: &str,
) -> Result<(), VolumeError> {
    let _lock = lock(run_root, name)?;
    let mut vol = match store::get(db, name) {
        Ok(v) => v,
        Err(VolumeError::NotFound(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    if !vol.needs_mount() {
        return Ok(());
    }
    vol.state.mount_count = vol.state.mount_count.saturating_sub(1);
    if vol.state.mount_count == 0 {
        let target = mountpoint(volume_path, name);
        match nix::mount::umount2(&target, nix::mount::MntFlags::empty()) {
            Ok(()) | Err(nix::errno::Errno::EINVAL) => {}
            Err(e) => {
                return Err(VolumeError::Io(target, std::io::Error::from(e)));
            }
        }
        crate::events::volume("unmount", name);
    }
    store::update_state(db, name, &vol.state)
}
