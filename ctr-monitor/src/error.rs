//! The monitor's errors. Each classifies into the one code set of every
//! helper ([`proto::ErrorCode`], see [`HelperError::code`]); they become gRPC
//! statuses only at the edge.

use proto::{ErrorCode, HelperError};

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The request is wrong; the message names the field and the fix.
    #[error("{0}")]
    InvalidArgument(String),
    /// The OCI runtime failed: its own error output, verbatim.
    #[error("{0}")]
    Runtime(String),
    /// The request does not fit the container's (or the monitor's) state.
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    /// Nobody came in time (e.g. no client attached to an exec session).
    #[error("{0}")]
    Timeout(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

impl MonitorError {
    /// `map_err(MonitorError::io("opening the log"))`
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> MonitorError {
        let what = what.into();
        move |source| MonitorError::Io { what, source }
    }
}

impl HelperError for MonitorError {
    /// The runtime's own failure is `FailedPrecondition` (the container, its
    /// command or its configuration is what must change); a timeout waiting
    /// for a client is `Unavailable`.
    fn code(&self) -> ErrorCode {
        match self {
            MonitorError::InvalidArgument(_) => ErrorCode::InvalidArgument,
            MonitorError::Runtime(_) | MonitorError::FailedPrecondition(_) => {
                ErrorCode::FailedPrecondition
            }
            MonitorError::NotFound(_) => ErrorCode::NotFound,
            MonitorError::AlreadyExists(_) => ErrorCode::AlreadyExists,
            MonitorError::Timeout(_) => ErrorCode::Unavailable,
            MonitorError::Io { .. } => ErrorCode::Internal,
        }
    }

    /// Verbatim: the runtime's error output reaches the caller as it was.
    fn status_message(&self) -> String {
        self.to_string()
    }
}

impl From<MonitorError> for tonic::Status {
    fn from(e: MonitorError) -> tonic::Status {
        e.to_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_classifies_into_the_code_set() {
        let m = || "container_linux.go:1: starting\nexec: \"nope\": not found".to_string();
        let cases = [
            (
                MonitorError::InvalidArgument(m()),
                ErrorCode::InvalidArgument,
            ),
            (MonitorError::Runtime(m()), ErrorCode::FailedPrecondition),
            (
                MonitorError::FailedPrecondition(m()),
                ErrorCode::FailedPrecondition,
            ),
            (MonitorError::NotFound(m()), ErrorCode::NotFound),
            (MonitorError::AlreadyExists(m()), ErrorCode::AlreadyExists),
            (MonitorError::Timeout(m()), ErrorCode::Unavailable),
            (
                MonitorError::io("opening the log")(std::io::Error::other("boom")),
                ErrorCode::Internal,
            ),
        ];
        for (e, code) in cases {
            assert_eq!(e.code(), code, "{e}");
            let text = e.to_string();
            let s = tonic::Status::from(e);
            assert_eq!(ErrorCode::of(&s), code);
            assert_eq!(s.message(), text, "the message stays verbatim");
        }
    }
}
