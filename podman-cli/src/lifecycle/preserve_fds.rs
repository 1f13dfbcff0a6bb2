//! `--preserve-fds N` and `--preserve-fd FD,...` (run, exec): descriptors
//! of the podman process the container's process gets at the same numbers,
//! through the monitor and the runtime's `--preserve-fds`.

use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// The descriptors taken over at the command's start, each with the number
/// it has in the container.
#[derive(Debug, Default)]
pub struct Preserved {
    fds: Vec<(OwnedFd, u32)>,
}

impl Preserved {
    pub fn is_empty(&self) -> bool {
        self.fds.is_empty()
    }

    /// Hand them to the monitor of an exec (one batch on a connection to
    /// its descriptor socket).
    pub fn send(&self, socket: &std::path::Path) -> anyhow::Result<()> {
        let conn = std::os::unix::net::UnixStream::connect(socket)
            .map_err(|e| anyhow::anyhow!("connecting to {}: {e}", socket.display()))?;
        let raw: Vec<RawFd> = self
            .fds
            .iter()
            .map(|(fd, _)| std::os::fd::AsRawFd::as_raw_fd(fd))
            .collect();
        proto::fdpass::send_fds(&conn, proto::fdpass::EXEC_FDS_TAG, &raw)?;
        Ok(())
    }

    /// (descriptor, number in the container).
    pub fn borrowed(&self) -> Vec<(BorrowedFd<'_>, u32)> {
        self.fds.iter().map(|(fd, t)| (fd.as_fd(), *t)).collect()
    }
}

/// Whether `fd` is open in this process.
fn is_open(fd: RawFd) -> bool {
    nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).is_ok()
}

/// Check the flags as Podman does and take the descriptors over (as
/// close-on-exec copies, so nothing this process opens later can take
/// their place and no other child inherits them). Call before anything
/// else opens files.
pub fn take(count: u32, list: &[u32]) -> anyhow::Result<Preserved> {
    if count != 0 && !list.is_empty() {
        anyhow::bail!("cannot specify both --preserve-fds and --preserve-fd");
    }
    for &fd in list {
        if fd < 3 {
            anyhow::bail!("cannot preserve FD {fd}, consider using the passthrough log-driver to pass STDIO streams into the container: invalid argument");
        }
        if fd > i32::MAX as u32 || !is_open(fd as RawFd) {
            anyhow::bail!("file descriptor {fd} is not available - the preserve-fd option requires that file descriptors must be passed");
        }
    }
    let end = 3u32.saturating_add(count);
    for fd in 3..end {
        if !is_open(fd as RawFd) {
            anyhow::bail!("file descriptor {fd} is not available - the preserve-fds option requires that file descriptors must be passed");
        }
    }
    let mut targets: Vec<u32> = if list.is_empty() {
        (3..end).collect()
    } else {
        list.to_vec()
    };
    targets.sort_unstable();
    targets.dedup();
    if targets.len() > proto::fdpass::MAX_FDS {
        anyhow::bail!(
            "too many descriptors to preserve ({}): podman-rs passes at most {}",
            targets.len(),
            proto::fdpass::MAX_FDS
        );
    }
    let mut fds = Vec::new();
    for t in targets {
        // SAFETY: F_DUPFD_CLOEXEC on a descriptor checked open above;
        // the copy is new and ours alone.
        let copy = unsafe { libc::fcntl(t as RawFd, libc::F_DUPFD_CLOEXEC, 3) };
        if copy < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        // SAFETY: `copy` is the fresh descriptor fcntl just returned.
        fds.push((unsafe { OwnedFd::from_raw_fd(copy) }, t));
        // The original: not inherited by the helpers podman starts.
        let _ = nix::fcntl::fcntl(
            t as RawFd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
    }
    Ok(Preserved { fds })
}
