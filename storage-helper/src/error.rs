//! What can go wrong in the store, typed by what the caller should do about
//! it. Messages are one line that names the image, layer or container and
//! the fix; gRPC codes are chosen only at the edge ([`StoreError::code`]).

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such image, container, manifest or blob.
    #[error("{0}")]
    NotFound(String),
    /// The request itself is wrong (bad name, id, path).
    #[error("{0}")]
    InvalidArgument(String),
    /// The store's state forbids it (in use, ambiguous, overlay unusable).
    #[error("{0}")]
    FailedPrecondition(String),
    /// A container with that id exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// Content does not match its digest.
    #[error("{0}")]
    DataLoss(String),
    #[error("{what}: {error}")]
    Io { what: String, error: std::io::Error },
    #[error("store index ({what}): {error}")]
    Db {
        what: String,
        error: rusqlite::Error,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<common::FsError> for StoreError {
    fn from(e: common::FsError) -> StoreError {
        StoreError::path(e.op, &e.path, e.source)
    }
}

impl StoreError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> StoreError {
        StoreError::Io {
            what: what.into(),
            error: source,
        }
    }

    /// An I/O error on `path`, described as `doing PATH`.
    pub fn path(doing: &str, path: &Path, source: std::io::Error) -> StoreError {
        StoreError::Io {
            what: format!("{doing} {}", path.display()),
            error: source,
        }
    }

    pub fn db(what: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> StoreError {
        let what = what.into();
        move |error| StoreError::Db { what, error }
    }

    pub fn code(&self) -> tonic::Code {
        match self {
            StoreError::NotFound(_) => tonic::Code::NotFound,
            StoreError::InvalidArgument(_) => tonic::Code::InvalidArgument,
            StoreError::FailedPrecondition(_) => tonic::Code::FailedPrecondition,
            StoreError::AlreadyExists(_) => tonic::Code::AlreadyExists,
            StoreError::DataLoss(_) => tonic::Code::DataLoss,
            StoreError::Io { .. } | StoreError::Db { .. } => tonic::Code::Internal,
        }
    }

    /// Prefix the message with context, keeping the kind.
    pub fn context(self, ctx: impl std::fmt::Display) -> StoreError {
        match self {
            StoreError::NotFound(m) => StoreError::NotFound(format!("{ctx}: {m}")),
            StoreError::InvalidArgument(m) => StoreError::InvalidArgument(format!("{ctx}: {m}")),
            StoreError::FailedPrecondition(m) => {
                StoreError::FailedPrecondition(format!("{ctx}: {m}"))
            }
            StoreError::AlreadyExists(m) => StoreError::AlreadyExists(format!("{ctx}: {m}")),
            StoreError::DataLoss(m) => StoreError::DataLoss(format!("{ctx}: {m}")),
            StoreError::Io { what, error } => StoreError::Io {
                what: format!("{ctx}: {what}"),
                error,
            },
            StoreError::Db { what, error } => StoreError::Db {
                what: format!("{ctx}: {what}"),
                error,
            },
        }
    }
}

impl From<StoreError> for tonic::Status {
    fn from(e: StoreError) -> tonic::Status {
        tonic::Status::new(e.code(), e.to_string().replace('\n', " "))
    }
}
