//! `subpath=` of a volume (`-v NAME:DST:subpath=SUB`, `--mount
//! type=volume,...,subpath=SUB`): SUB is resolved inside the volume's data
//! as if the data were `/` and opened (O_PATH, the last element never a
//! symlink), and that open handle is bind-mounted (`/proc/self/fd/N`) at a
//! place of ours that the runtime then mounts from, as Podman does. The
//! runtime never looks the path up again, so a container that shares the
//! volume cannot swap a directory on the way for a symlink between the
//! check and the mount. The places are taken down once the runtime has
//! made the container's own mounts.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::mount::{umount2, MntFlags, MsFlags};

/// The bind mounts made for one start, taken down when dropped (after the
/// runtime has created the container; its own mounts stay).
#[derive(Default)]
pub struct SubpathMounts(Vec<PathBuf>);

impl Drop for SubpathMounts {
    fn drop(&mut self) {
        for p in self.0.drain(..) {
            if let Err(e) = take_down(&p) {
                tracing::warn!(path = %p.display(), error = %e, "removing a subpath mount point");
            }
        }
    }
}

impl SubpathMounts {
    /// Bind-mount `sub` of the volume data `data` at
    /// `<run_root>/subpath/<id>/<n>`; returns that path.
    pub fn add(
        &mut self,
        run_root: &Path,
        id: &str,
        n: usize,
        data: &Path,
        sub: &str,
    ) -> anyhow::Result<PathBuf> {
        let fd = open_in_volume(data, sub)?;
        let fd_path = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
        let is_dir = std::fs::metadata(&fd_path)?.is_dir();
        let dir = run_root.join("subpath").join(id);
        common::private_dir::create(&dir)?;
        let target = dir.join(n.to_string());
        // What a killed start left: its mount, then its mount point.
        take_down(&target)?;
        if is_dir {
            std::fs::create_dir(&target)?;
        } else {
            std::fs::File::create(&target)?;
        }
        let mounted = nix::mount::mount(
            Some(&fd_path),
            &target,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        );
        if let Err(e) = mounted {
            let _ = take_down(&target);
            return Err(e.into());
        }
        self.0.push(target.clone());
        Ok(target)
    }
}

/// Unmount `p` if it is mounted and remove it. Never recursive: a mount
/// left on it would otherwise lose the volume's files.
fn take_down(p: &Path) -> std::io::Result<()> {
    match umount2(p, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(e.into()),
    }
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir(p),
        Ok(_) => std::fs::remove_file(p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// `sub` opened (O_PATH) inside the volume's data `data`, as if the data
/// were `/` (a symlink never leads out of it); a symlink as the last
/// element is refused, as Podman refuses it. The check is of the handle
/// that is mounted, not of a path looked up again.
fn open_in_volume(data: &Path, sub: &str) -> anyhow::Result<OwnedFd> {
    let rel = Path::new(sub.trim_start_matches('/'));
    let root = common::in_root::open_dir(data)?;
    let Some(name) = rel.file_name() else {
        return Ok(common::in_root::Resolver::Auto.open_path(root.as_fd(), rel)?);
    };
    let parent = rel.parent().unwrap_or(Path::new(""));
    let dir = common::in_root::open_dir_in_root(root.as_fd(), parent)?;
    let (fd, st) = common::in_root::open_child_path(dir.as_fd(), name)?;
    if common::in_root::is_symlink(&st) {
        anyhow::bail!("file {:?} is a symlink", data.join(rel));
    }
    Ok(fd)
}
