//! Where the service listens: a unix socket (the default), TCP when the
//! URI asks for it, or the socket a service manager hands over
//! (`LISTEN_FDS`, systemd's socket activation protocol).

use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

/// Podman's socket for root.
pub const ROOT_SOCKET: &str = "/run/podman/podman.sock";

/// Podman's default service socket: root's, else the user's under
/// `$XDG_RUNTIME_DIR`.
pub fn default_socket() -> PathBuf {
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from(ROOT_SOCKET);
    }
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d).join("podman/podman.sock"),
        None => PathBuf::from(format!(
            "/run/user/{}/podman/podman.sock",
            nix::unistd::getuid()
        )),
    }
}

/// The first descriptor of socket activation.
const LISTEN_FDS_START: RawFd = 3;

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("{0} is an invalid socket destination")]
    Invalid(String),
    #[error(
        "API Service endpoint scheme {scheme:?} is not supported. Try tcp://{uri} or unix://{uri}"
    )]
    Scheme { scheme: String, uri: String },
    #[error("unable to create socket {path}: {source}")]
    Bind {
        path: String,
        source: std::io::Error,
    },
    #[error("wrong number of file descriptors for socket activation protocol ({0} != 1)")]
    ActivationCount(usize),
    #[error("socket activation: {0}")]
    Activation(String),
}

/// What the URI names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp(String),
}

/// `unix:///path`, `unix:/path`, `unix:path`, `tcp://host:port`, `tcp:host:port`.
pub fn parse_uri(uri: &str) -> Result<Endpoint, ListenError> {
    // Go's url.Parse: no scheme at all reads as the empty one.
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Err(ListenError::Scheme {
            scheme: String::new(),
            uri: uri.to_string(),
        });
    };
    match scheme {
        "unix" => {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(ListenError::Invalid(uri.to_string()));
            }
            let p = Path::new(path);
            let abs = if p.is_absolute() {
                p.to_path_buf()
            } else {
                std::env::current_dir()
                    .map_err(|_| ListenError::Invalid(uri.to_string()))?
                    .join(p)
            };
            Ok(Endpoint::Unix(abs))
        }
        "tcp" => {
            let host = rest
                .strip_prefix("//")
                .unwrap_or(rest)
                .trim_end_matches('/');
            if host.is_empty() || !host.contains(':') {
                return Err(ListenError::Invalid(uri.to_string()));
            }
            Ok(Endpoint::Tcp(host.to_string()))
        }
        other => Err(ListenError::Scheme {
            scheme: other.to_string(),
            uri: uri.to_string(),
        }),
    }
}

/// A bound listener, not yet registered with a runtime.
pub enum Bound {
    Unix {
        listener: std::os::unix::net::UnixListener,
        /// Removed when the service ends (not for an activated socket).
        path: Option<PathBuf>,
    },
    Tcp(std::net::TcpListener),
}

impl Bound {
    pub fn describe(&self) -> String {
        match self {
            Bound::Unix { path: Some(p), .. } => format!("unix://{}", p.display()),
            Bound::Unix { path: None, .. } => "an activated unix socket".into(),
            Bound::Tcp(l) => l
                .local_addr()
                .map(|a| format!("tcp://{a}"))
                .unwrap_or_else(|_| "tcp".into()),
        }
    }
}

/// The sockets systemd passed us, when `LISTEN_PID` names this process.
fn activated() -> Result<Option<Vec<OwnedFd>>, ListenError> {
    let Ok(pid) = std::env::var("LISTEN_PID") else {
        return Ok(None);
    };
    if pid.trim().parse::<u32>().ok() != Some(std::process::id()) {
        return Ok(None);
    }
    let n: usize = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| ListenError::Activation("LISTEN_FDS is not a number".into()))?;
    let mut fds = Vec::with_capacity(n);
    for i in 0..n {
        let fd = LISTEN_FDS_START + i as RawFd;
        // Check that it is open before taking ownership of it.
        nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).map_err(|e| {
            ListenError::Activation(format!("descriptor {fd} from LISTEN_FDS: {e}"))
        })?;
        let _ = nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
        fds.push(owned(fd));
    }
    Ok(Some(fds))
}

fn owned(fd: RawFd) -> OwnedFd {
    // SAFETY: `fd` was checked open (F_GETFD) and socket activation hands
    // it to this process alone; nothing else in podman owns it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Bind what `uri` names (None: socket activation, else Podman's default).
/// `tls`: the service will speak TLS on it (no warning for TCP then).
pub fn bind(uri: Option<&str>, tls: bool) -> Result<Bound, ListenError> {
    let activated = activated()?;
    for v in ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"] {
        std::env::remove_var(v);
    }
    let endpoint = match uri {
        Some(u) => Some(parse_uri(u)?),
        None => None,
    };
    if let Some(fds) = activated {
        if endpoint
            .as_ref()
            .is_some_and(|e| matches!(e, Endpoint::Tcp(_)))
        {
            return Err(ListenError::Activation(
                "a tcp URI cannot be served from an activated socket".into(),
            ));
        }
        if fds.len() != 1 {
            return Err(ListenError::ActivationCount(fds.len()));
        }
        let fd = fds.into_iter().next().expect("one descriptor");
        let listener = std::os::unix::net::UnixListener::from(fd);
        return Ok(Bound::Unix {
            listener,
            path: None,
        });
    }
    match endpoint.unwrap_or_else(|| Endpoint::Unix(default_socket())) {
        Endpoint::Unix(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| ListenError::Bind {
                    path: dir.display().to_string(),
                    source: e,
                })?;
            }
            // A socket left by a service that died: only a socket is replaced.
            if let Ok(m) = std::fs::symlink_metadata(&path) {
                use std::os::unix::fs::FileTypeExt;
                if m.file_type().is_socket()
                    && std::os::unix::net::UnixStream::connect(&path).is_err()
                {
                    let _ = std::fs::remove_file(&path);
                }
            }
            let listener = proto::unix_path::bind_private(&path, |p| {
                std::os::unix::net::UnixListener::bind(p)
            })
            .map_err(|e| ListenError::Bind {
                path: path.display().to_string(),
                source: e,
            })?;
            Ok(Bound::Unix {
                listener,
                path: Some(path),
            })
        }
        Endpoint::Tcp(host) => {
            if !tls {
                tracing::warn!("Using the Podman API service with TCP sockets without TLS is not recommended, please see `podman system service` manpage for details");
            }
            let listener = std::net::TcpListener::bind(&host).map_err(|e| ListenError::Bind {
                path: host.clone(),
                source: e,
            })?;
            Ok(Bound::Tcp(listener))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert_eq!(
            parse_uri("unix:///run/x.sock").unwrap(),
            Endpoint::Unix("/run/x.sock".into())
        );
        assert_eq!(
            parse_uri("unix:/run/x.sock").unwrap(),
            Endpoint::Unix("/run/x.sock".into())
        );
        assert_eq!(
            parse_uri("tcp://127.0.0.1:8080").unwrap(),
            Endpoint::Tcp("127.0.0.1:8080".into())
        );
        assert_eq!(
            parse_uri("tcp:localhost:1").unwrap(),
            Endpoint::Tcp("localhost:1".into())
        );
        assert!(matches!(
            parse_uri("http://x:1"),
            Err(ListenError::Scheme { .. })
        ));
        assert!(matches!(
            parse_uri("myunix.sock"),
            Err(ListenError::Scheme { scheme, .. }) if scheme.is_empty()
        ));
        assert_eq!(
            parse_uri("localhost:9292").unwrap_err().to_string(),
            "API Service endpoint scheme \"localhost\" is not supported. Try tcp://localhost:9292 or unix://localhost:9292"
        );
        assert!(parse_uri("tcp://").is_err());
    }
}
