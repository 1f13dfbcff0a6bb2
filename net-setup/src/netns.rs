//! Network namespaces kept alive by a bind mount on a file, as `ip netns
//! add` and Podman do: the runtime joins the path given in the OCI spec, and
//! `nsenter --net=PATH` works on it.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};

use crate::error::{NetError, Result};

const NSFS_MAGIC: i64 = 0x6e73_6673;

/// Create a new network namespace and pin it at `path` (which must not
/// exist); loopback is brought up, so it is ready for `--network none`.
pub async fn create(path: &Path) -> Result<()> {
    let started = std::time::Instant::now();
    if path.as_os_str().is_empty() || !path.is_absolute() {
        return Err(NetError::InvalidArgument(format!(
            "netns path {:?} must be absolute",
            path.display()
        )));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| NetError::io("creating netns directory", dir, e))?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                NetError::AlreadyExists(format!(
                    "netns path {} already exists: remove it first",
                    path.display()
                ))
            } else {
                NetError::io("creating netns file", path, e)
            }
        })?;
    let target = path.to_path_buf();
    let res = std::thread::spawn(move || -> Result<()> {
        // Only this thread moves to the new namespace; it ends right after.
        unshare(CloneFlags::CLONE_NEWNET).map_err(|e| NetError::sys("unshare(CLONE_NEWNET)", e))?;
        mount(
            Some("/proc/thread-self/ns/net"),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| {
            NetError::sys(
                format!("bind-mounting the new netns on {}", target.display()),
                e,
            )
        })
    })
    .join()
    .unwrap_or_else(|_| Err(NetError::netlink("netns thread", "panicked")));
    if let Err(e) = res {
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    let up = async {
        let ns = open(path)?;
        let nl = crate::netlink::Netlink::in_netns(&ns)?;
        let lo = nl
            .link("lo")
            .await?
            .ok_or_else(|| NetError::netlink("loopback", "missing in the new netns"))?;
        nl.set_up(lo.index).await
    };
    if let Err(e) = up.await {
        let _ = remove(path);
        return Err(e);
    }
    tracing::debug!(path = %path.display(), elapsed_ms = started.elapsed().as_millis() as u64, "netns created");
    Ok(())
}

/// Unmount and unlink; a path that is already gone is fine.
pub fn remove(path: &Path) -> Result<()> {
    match umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
        Err(e) => {
            return Err(NetError::sys(
                format!("unmounting netns {}", path.display()),
                e,
            ))
        }
    }
    crate::state_files::remove_file_if_exists(path)?;
    Ok(())
}

/// Whether the namespace pinned at `path` has no process in it (every
/// process's `/proc/PID/ns/net` is compared with it): released, it is then
/// freed by the kernel with its interfaces. A path that is not a pinned
/// namespace (gone, or a plain file) reads as busy, so callers fall back to
/// deleting interfaces themselves. A thread that joined the namespace alone,
/// or an open descriptor of it, is not seen: such a holder keeps the
/// namespace (and a veth in it, cut off) until it lets go.
pub fn unused(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(f) = open(path) else {
        return false;
    };
    let Ok(md) = f.metadata() else {
        return false;
    };
    let want = format!("net:[{}]", md.ino());
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    for e in procs.flatten() {
        let name = e.file_name();
        if !name.as_encoded_bytes().iter().all(u8::is_ascii_digit) {
            continue;
        }
        let link = Path::new("/proc").join(&name).join("ns/net");
        if std::fs::read_link(&link).is_ok_and(|l| l.as_os_str() == want.as_str()) {
            tracing::debug!(path = %path.display(), pid = ?name, "netns still has a process");
            return false;
        }
    }
    true
}

/// Open a netns file, checking that it really is one.
pub fn open(path: &Path) -> Result<File> {
    let f = File::open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            NetError::NotFound(format!(
                "netns {} does not exist: create it first (CreateNetns)",
                path.display()
            ))
        } else {
            NetError::io("opening netns", path, e)
        }
    })?;
    let st = nix::sys::statfs::fstatfs(f.as_fd())
        .map_err(|e| NetError::sys(format!("statfs {}", path.display()), e))?;
    if st.filesystem_type().0 as i64 != NSFS_MAGIC {
        return Err(NetError::InvalidArgument(format!(
            "{} is not a network namespace (a bind-mounted nsfs file such as /run/netns/NAME)",
            path.display()
        )));
    }
    Ok(f)
}
