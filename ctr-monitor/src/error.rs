//! The monitor's errors; they become gRPC statuses only at the edge.

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The request is wrong; the message names the field and the fix.
    #[error("{0}")]
    Invalid(String),
    /// The OCI runtime failed: its own error output, verbatim.
    #[error("{0}")]
    Runtime(String),
    /// The request does not fit the container's (or the monitor's) state.
    #[error("{0}")]
    State(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
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

impl From<MonitorError> for tonic::Status {
    fn from(e: MonitorError) -> tonic::Status {
        let msg = e.to_string();
        match e {
            MonitorError::Invalid(_) => tonic::Status::invalid_argument(msg),
            MonitorError::Runtime(_) | MonitorError::State(_) => {
                tonic::Status::failed_precondition(msg)
            }
            MonitorError::NotFound(_) => tonic::Status::not_found(msg),
            MonitorError::AlreadyExists(_) => tonic::Status::already_exists(msg),
            MonitorError::Timeout(_) => tonic::Status::deadline_exceeded(msg),
            MonitorError::Io { .. } => tonic::Status::internal(msg),
        }
    }
}
