//! Unix sockets the monitor listens on, including paths longer than
//! sun_path allows (bound through /proc/self/fd/DIRFD/NAME, as conmon does).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::sys::socket::{
    bind, listen, socket, AddressFamily, Backlog, SockFlag, SockType, UnixAddr,
};

/// Longest path a sockaddr_un holds (with its terminating NUL).
pub const MAX_SOCKET_PATH: usize = 107;

/// A non-blocking, close-on-exec listening socket of `ty` at `path`
/// (replacing a stale socket file), mode 0600 from the start: bound in a
/// private directory and moved into place (`proto::unix_path::bind_private`).
pub fn listen_at(path: &Path, ty: SockType) -> std::io::Result<OwnedFd> {
    let fd = proto::unix_path::bind_private(path, |p| {
        let fd = socket(
            AddressFamily::Unix,
            ty,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        let p = proto::unix_path::SocketPath::new(p)?;
        bind(fd.as_raw_fd(), &UnixAddr::new(p.path())?)?;
        Ok(fd)
    })?;
    listen(&fd, Backlog::new(32).unwrap_or(Backlog::MAXCONN))?;
    Ok(fd)
}

/// Which file a path names now (device, inode), to remove later only the
/// socket this process bound: after a restart the container's next monitor
/// binds the same path while this one may still be shutting down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId(u64, u64);

pub fn file_id(path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| FileId(m.dev(), m.ino()))
}

/// Remove `path` when it is still the file `id` names.
pub fn remove_if_same(path: &Path, id: Option<FileId>) {
    if id.is_some() && file_id(path) == id {
        let _ = std::fs::remove_file(path);
    }
}

/// A tokio stream listener at `path`.
pub fn stream_listener(path: &Path) -> std::io::Result<tokio::net::UnixListener> {
    let fd = listen_at(path, SockType::Stream)?;
    // SAFETY: we own fd and hand it over whole.
    let std_listener = unsafe {
        std::os::unix::net::UnixListener::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(fd))
    };
    tokio::net::UnixListener::from_std(std_listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_socket_bound_here_is_removed() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("monitor.sock");
        let first = listen_at(&p, SockType::Stream).unwrap();
        let mine = file_id(&p);
        // The next monitor binds the same path.
        let second = listen_at(&p, SockType::Stream).unwrap();
        remove_if_same(&p, mine);
        assert!(p.exists(), "the next monitor's socket stays");
        remove_if_same(&p, file_id(&p));
        assert!(!p.exists());
        drop((first, second));
    }
}
