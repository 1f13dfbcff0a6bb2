//! Unix socket paths longer than a `sockaddr_un` holds (107 bytes plus the
//! terminating NUL). A long run root pushes `<runroot>/m/<64-char id>/NAME`
//! past that limit, so such a path is reached through its directory instead:
//! the directory is opened `O_PATH` and the socket is named
//! `/proc/self/fd/N/NAME`, which resolves to the same inode (conmon and
//! Podman do the same). The directory descriptor must stay open until the
//! `bind` or `connect` returns: keep the [`SocketPath`] alive until then.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Longest path a `sockaddr_un` holds (without its terminating NUL).
pub const MAX_SOCKET_PATH: usize = 107;

/// A path to hand to `bind`/`connect` for a socket file: the path itself
/// when it fits, else a short `/proc/self/fd/N/NAME` alias valid while this
/// value lives.
#[derive(Debug)]
pub struct SocketPath {
    short: PathBuf,
    _dir: Option<OwnedFd>,
}

impl SocketPath {
    pub fn new(path: &Path) -> std::io::Result<SocketPath> {
        if path.as_os_str().len() <= MAX_SOCKET_PATH {
            return Ok(SocketPath {
                short: path.to_path_buf(),
                _dir: None,
            });
        }
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "socket path {} names no file in a directory",
                    path.display()
                ),
            ));
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let fd = nix::fcntl::open(
            dir,
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| {
            std::io::Error::new(
                std::io::Error::from(e).kind(),
                format!("opening socket directory {}: {e}", dir.display()),
            )
        })?;
        // SAFETY: open returned a new descriptor that nothing else owns.
        let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        let short = Path::new("/proc/self/fd")
            .join(fd.as_raw_fd().to_string())
            .join(name);
        if short.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "socket name {:?} is too long for a unix socket even through its directory",
                    name
                ),
            ));
        }
        Ok(SocketPath {
            short,
            _dir: Some(fd),
        })
    }

    /// What to pass to `bind`/`connect`.
    pub fn path(&self) -> &Path {
        &self.short
    }
}

/// Bind a socket at `path` that no other user can ever connect to, even
/// in a directory others can enter: `bind` is called with a path inside a
/// fresh 0700 directory beside `path`, the socket made 0600 there, then
/// renamed over `path` (replacing a stale socket file). A socket bound at
/// its final name and chmod'ed after would be open to anyone in between.
/// `bind` gets a path that may be longer than a `sockaddr_un` holds: it
/// binds through [`SocketPath`].
pub fn bind_private<T>(
    path: &Path,
    bind: impl FnOnce(&Path) -> std::io::Result<T>,
) -> std::io::Result<T> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let (dir, name) = match (path.parent(), path.file_name()) {
        (Some(d), Some(n)) => (
            if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            },
            n,
        ),
        _ => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "socket path {} names no file in a directory",
                    path.display()
                ),
            ))
        }
    };
    let private = dir.join(format!(
        ".{}.bind-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&private)
        .map_err(|e| annotate(e, "creating", &private))?;
    let temp = private.join("s");
    let bound = bind(&temp).and_then(|t| {
        std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o600))
            .and_then(|_| std::fs::rename(&temp, path))
            .map_err(|e| annotate(e, "placing", path))?;
        Ok(t)
    });
    let _ = std::fs::remove_file(&temp);
    let _ = std::fs::remove_dir(&private);
    bound
}

fn annotate(e: std::io::Error, doing: &str, path: &Path) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{doing} {}: {e}", path.display()))
}

/// `connect` a tokio stream to the socket at `path`, however long.
pub async fn connect_stream(path: &Path) -> std::io::Result<tokio::net::UnixStream> {
    let p = SocketPath::new(path)?;
    tokio::net::UnixStream::connect(p.path()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn private_sockets_are_0600_from_the_start_and_replace_stale_ones() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = std::env::temp_dir().join(format!("unix-private-{}", std::process::id()));
        let deep = tmp.join("d".repeat(60)).join("e".repeat(60));
        std::fs::create_dir_all(&deep).unwrap();
        let sock = deep.join("server.sock");
        std::fs::write(&sock, b"stale").unwrap();
        let listener = bind_private(&sock, |p| {
            assert_eq!(
                std::fs::metadata(p.parent().unwrap())
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777,
                0o700
            );
            let sp = SocketPath::new(p)?;
            tokio::net::UnixListener::bind(sp.path())
        })
        .unwrap();
        let meta = std::fs::metadata(&sock).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(
            std::fs::read_dir(&deep).unwrap().count(),
            1,
            "only the socket is left"
        );
        let (client, server) = tokio::join!(connect_stream(&sock), listener.accept());
        client.unwrap();
        server.unwrap();
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[tokio::test]
    async fn long_paths_bind_and_connect_through_the_directory() {
        let tmp = std::env::temp_dir().join(format!("unix-path-{}", std::process::id()));
        let deep = tmp.join("d".repeat(60)).join("e".repeat(60));
        std::fs::create_dir_all(&deep).unwrap();
        let sock = deep.join("server.sock");
        assert!(sock.as_os_str().len() > MAX_SOCKET_PATH);
        let listener = {
            let p = SocketPath::new(&sock).unwrap();
            assert!(p.path().starts_with("/proc/self/fd/"));
            tokio::net::UnixListener::bind(p.path()).unwrap()
        };
        assert!(sock.exists(), "bound under its real name");
        let (client, server) = tokio::join!(connect_stream(&sock), listener.accept());
        client.unwrap();
        server.unwrap();
        let short = SocketPath::new(Path::new("/run/x.sock")).unwrap();
        assert_eq!(short.path(), Path::new("/run/x.sock"));
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
