//! net-setup's error type. Library code returns these; they become a gRPC
//! status (service.rs) or one `Error:` line with exit code 125 (main.rs)
//! only at the edge, as netavark turns its errors into JSON and exit codes.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// Bad input: names the thing and how to fix it.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    /// A name, address, port or container already taken.
    #[error("{0}")]
    Conflict(String),
    /// A request that is well-formed but not allowed in the current state.
    #[error("{0}")]
    Refused(String),
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Sys { what: String, source: nix::Error },
    #[error("netlink: {what}: {message}")]
    Netlink { what: String, message: String },
    #[error("firewall ({backend}): {message}")]
    Firewall {
        backend: &'static str,
        message: String,
    },
    #[error("{what}: {source}")]
    Json {
        what: String,
        source: serde_json::Error,
    },
    #[error("dns server for network {network}: {message}")]
    Dns { network: String, message: String },
    /// Every step of a teardown was tried; these failed.
    #[error("teardown of container {container} incomplete: {}", errors.join("; "))]
    Teardown {
        container: String,
        errors: Vec<String>,
    },
    /// A setup step failed and what was done was rolled back (rollback
    /// problems, if any, are appended).
    #[error("{error}{}", rollback_note(rollback_errors))]
    SetupFailed {
        error: Box<NetError>,
        rollback_errors: Vec<String>,
    },
}

fn rollback_note(errs: &[String]) -> String {
    if errs.is_empty() {
        String::new()
    } else {
        format!(" (rollback also failed: {})", errs.join("; "))
    }
}

pub type Result<T, E = NetError> = std::result::Result<T, E>;

impl NetError {
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> NetError {
        NetError::Io {
            what,
            path: path.into(),
            source,
        }
    }

    pub fn sys(what: impl Into<String>, source: nix::Error) -> NetError {
        NetError::Sys {
            what: what.into(),
            source,
        }
    }

    pub fn netlink(what: impl Into<String>, e: impl std::fmt::Display) -> NetError {
        NetError::Netlink {
            what: what.into(),
            message: e.to_string(),
        }
    }

    pub fn json(what: impl Into<String>, source: serde_json::Error) -> NetError {
        NetError::Json {
            what: what.into(),
            source,
        }
    }

    /// The gRPC code this error maps to.
    pub fn code(&self) -> tonic::Code {
        match self {
            NetError::Invalid(_) => tonic::Code::InvalidArgument,
            NetError::NotFound(_) => tonic::Code::NotFound,
            NetError::Conflict(_) => tonic::Code::AlreadyExists,
            NetError::Refused(_) => tonic::Code::FailedPrecondition,
            NetError::SetupFailed { error, .. } => error.code(),
            _ => tonic::Code::Internal,
        }
    }
}

impl From<NetError> for tonic::Status {
    fn from(e: NetError) -> tonic::Status {
        tonic::Status::new(e.code(), e.to_string().replace('\n', " "))
    }
}
