use std::path::PathBuf;

/// A failed file-system step, naming the step and the file it was done to.
/// The fields are public so a crate can fold it into its own error type
/// (`op`, `path`, `source`) without printing the path twice.
#[derive(Debug, thiserror::Error)]
#[error("{op} {}: {source}", path.display())]
pub struct FsError {
    pub op: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl FsError {
    pub fn new(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> FsError {
        FsError {
            op,
            path: path.into(),
            source,
        }
    }

    /// A closure for `map_err` that records `op` on `path`.
    pub fn at<'a>(
        op: &'static str,
        path: &'a std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> FsError + 'a {
        move |source| FsError::new(op, path, source)
    }
}

/// For callers that speak `io::Error`: the kind is kept (so `NotFound` and
/// friends still match) and the message names the step and the file.
impl From<FsError> for std::io::Error {
    fn from(e: FsError) -> std::io::Error {
        std::io::Error::new(e.source.kind(), e.to_string())
    }
}
