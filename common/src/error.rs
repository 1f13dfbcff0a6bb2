use std::path::PathBuf;

/// A configuration problem, always naming the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}: fix its permissions or remove it")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}: fix or remove the file")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("invalid {what} {value:?}: {hint}")]
    Value {
        what: &'static str,
        value: String,
        hint: String,
    },
}
