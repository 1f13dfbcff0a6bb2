//! What can go wrong in the store, typed by what the caller should do about
//! it. Messages are one line that names the image, layer or container and
//! the fix. Each classifies into the one code set of every helper
//! ([`proto::ErrorCode`], see [`HelperError::code`]); the gRPC status comes
//! from that, at the edge.

use std::path::Path;

use proto::{ErrorCode, HelperError};

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
    /// Content does not match its digest (classified `Internal`).
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

impl HelperError for StoreError {
    fn code(&self) -> ErrorCode {
        match self {
            StoreError::NotFound(_) => ErrorCode::NotFound,
            StoreError::InvalidArgument(_) => ErrorCode::InvalidArgument,
            StoreError::FailedPrecondition(_) => ErrorCode::FailedPrecondition,
            StoreError::AlreadyExists(_) => ErrorCode::AlreadyExists,
            StoreError::DataLoss(_) | StoreError::Io { .. } | StoreError::Db { .. } => {
                ErrorCode::Internal
            }
        }
    }
}

impl From<StoreError> for tonic::Status {
    fn from(e: StoreError) -> tonic::Status {
        e.to_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_classifies_into_the_code_set() {
        let m = || "image x\nnot known".to_string();
        let cases = [
            (StoreError::NotFound(m()), ErrorCode::NotFound),
            (StoreError::InvalidArgument(m()), ErrorCode::InvalidArgument),
            (
                StoreError::FailedPrecondition(m()),
                ErrorCode::FailedPrecondition,
            ),
            (StoreError::AlreadyExists(m()), ErrorCode::AlreadyExists),
            (StoreError::DataLoss(m()), ErrorCode::Internal),
            (
                StoreError::io("reading", std::io::Error::other("boom")),
                ErrorCode::Internal,
            ),
            (
                StoreError::db("opening")(rusqlite::Error::InvalidQuery),
                ErrorCode::Internal,
            ),
        ];
        for (e, code) in cases {
            assert_eq!(e.code(), code, "{e}");
            let e = e.context("ctx");
            assert_eq!(e.code(), code, "context keeps the kind: {e}");
            let s = tonic::Status::from(e);
            assert_eq!(ErrorCode::of(&s), code);
            assert!(!s.message().contains('\n'), "{}", s.message());
        }
    }
}
