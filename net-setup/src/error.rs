//! net-setup's error type. Library code returns these; each classifies into
//! the one code set of every helper ([`proto::ErrorCode`], see
//! [`HelperError::code`]), and they become a gRPC status (service.rs) or one
//! `Error:` line with exit code 125 (main.rs) only at the edge, as netavark
//! turns its errors into JSON and exit codes.

use std::path::PathBuf;

use proto::{ErrorCode, HelperError};

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// Bad input: names the thing and how to fix it.
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    /// A name, address, port or container already taken.
    #[error("{0}")]
    AlreadyExists(String),
    /// A request that is well-formed but not allowed in the current state.
    #[error("{0}")]
    FailedPrecondition(String),
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
}

impl HelperError for NetError {
    fn code(&self) -> ErrorCode {
        match self {
            NetError::InvalidArgument(_) => ErrorCode::InvalidArgument,
            NetError::NotFound(_) => ErrorCode::NotFound,
            NetError::AlreadyExists(_) => ErrorCode::AlreadyExists,
            NetError::FailedPrecondition(_) => ErrorCode::FailedPrecondition,
            NetError::SetupFailed { error, .. } => error.code(),
            NetError::Io { .. }
            | NetError::Sys { .. }
            | NetError::Netlink { .. }
            | NetError::Firewall { .. }
            | NetError::Json { .. }
            | NetError::Dns { .. }
            | NetError::Teardown { .. } => ErrorCode::Internal,
        }
    }
}

impl From<NetError> for tonic::Status {
    fn from(e: NetError) -> tonic::Status {
        e.to_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_classifies_into_the_code_set() {
        let m = || "network n\nbusy".to_string();
        let json = serde_json::from_str::<u8>("x").unwrap_err();
        let cases = [
            (NetError::InvalidArgument(m()), ErrorCode::InvalidArgument),
            (NetError::NotFound(m()), ErrorCode::NotFound),
            (NetError::AlreadyExists(m()), ErrorCode::AlreadyExists),
            (
                NetError::FailedPrecondition(m()),
                ErrorCode::FailedPrecondition,
            ),
            (
                NetError::io("reading", "/x", std::io::Error::other("boom")),
                ErrorCode::Internal,
            ),
            (
                NetError::sys("setns", nix::Error::EPERM),
                ErrorCode::Internal,
            ),
            (
                NetError::netlink("adding veth", "EEXIST"),
                ErrorCode::Internal,
            ),
            (
                NetError::Firewall {
                    backend: "nftables",
                    message: m(),
                },
                ErrorCode::Internal,
            ),
            (NetError::json("parsing", json), ErrorCode::Internal),
            (
                NetError::Dns {
                    network: "n".into(),
                    message: m(),
                },
                ErrorCode::Internal,
            ),
            (
                NetError::Teardown {
                    container: "c".into(),
                    errors: vec![m()],
                },
                ErrorCode::Internal,
            ),
            (
                NetError::SetupFailed {
                    error: Box::new(NetError::AlreadyExists(m())),
                    rollback_errors: vec![m()],
                },
                ErrorCode::AlreadyExists,
            ),
        ];
        for (e, code) in cases {
            assert_eq!(e.code(), code, "{e}");
            let s = tonic::Status::from(e);
            assert_eq!(ErrorCode::of(&s), code);
            assert!(!s.message().contains('\n'), "{}", s.message());
        }
    }
}
