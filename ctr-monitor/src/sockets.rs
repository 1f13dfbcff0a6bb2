//! Unix sockets the monitor listens on, including paths longer than
//! sun_path allows (bound through /proc/self/fd/DIRFD/NAME, as conmon does).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::sys::socket::{
    bind, listen, socket, AddressFamily, Backlog, SockFlag, SockType, UnixAddr,
};

/// Longest path a sockaddr_un holds (with its terminating NUL).
pub const MAX_SOCKET_PATH: usize = 107;

fn bind_path(fd: &OwnedFd, path: &Path) -> std::io::Result<()> {
    if path.as_os_str().len() <= MAX_SOCKET_PATH {
        return Ok(bind(fd.as_raw_fd(), &UnixAddr::new(path)?)?);
    }
    let (dir, name) = match (path.parent(), path.file_name()) {
        (Some(d), Some(n)) => (d, n),
        _ => {
            return Err(std::io::Error::other(format!(
                "socket path {} has no directory",
                path.display()
            )))
        }
    };
    let dirfd = std::fs::File::open(dir)?;
    let short = Path::new("/proc/self/fd")
        .join(dirfd.as_raw_fd().to_string())
        .join(name);
    Ok(bind(fd.as_raw_fd(), &UnixAddr::new(&short)?)?)
}

/// A non-blocking, close-on-exec listening socket of `ty` at `path`
/// (replacing a stale socket file), mode 0600.
pub fn listen_at(path: &Path, ty: SockType) -> std::io::Result<OwnedFd> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let fd = socket(
        AddressFamily::Unix,
        ty,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    bind_path(&fd, path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    listen(&fd, Backlog::new(32).unwrap_or(Backlog::MAXCONN))?;
    Ok(fd)
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
