//! What can go wrong while fetching or pushing, each variant one line that
//! names the reference (or blob) and the problem. The gRPC status code and
//! the CLI exit come from here, at the edge.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("invalid image reference {reference:?}: {reason}")]
    InvalidReference { reference: String, reason: String },
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{context}: {detail}")]
    NotFound { context: String, detail: String },
    #[error("{context}: authentication required: use --creds or podman login")]
    AuthRequired { context: String },
    #[error(
        "{context}: authentication failed for {user:?}: {detail}; check --creds or podman login"
    )]
    AuthRejected {
        context: String,
        user: String,
        detail: String,
    },
    #[error("{context}: access denied: {detail}")]
    Denied { context: String, detail: String },
    #[error("source image rejected: {reference}: {detail} (policy {file})")]
    Policy {
        reference: String,
        detail: String,
        file: String,
    },
    #[error("registry {registry} is blocked in registries.conf ({prefix:?})")]
    Blocked { registry: String, prefix: String },
    #[error("{context}: {detail}")]
    Registry {
        context: String,
        status: u16,
        detail: String,
    },
    #[error("blob {digest} from {source_name}: digest mismatch, got {actual}")]
    DigestMismatch {
        digest: String,
        source_name: String,
        actual: String,
    },
    #[error(
        "blob {digest} from {source_name}: size mismatch, expected {expected} bytes, got {got}"
    )]
    SizeMismatch {
        digest: String,
        source_name: String,
        expected: u64,
        got: String,
    },
    #[error("{context}: no image found in manifest list for architecture {architecture:?}, variant {variant:?}, OS {os:?}")]
    NoPlatform {
        context: String,
        os: String,
        architecture: String,
        variant: String,
    },
    #[error("{context}: {detail}")]
    Unsupported { context: String, detail: String },
    #[error("{context}: {detail}")]
    Network { context: String, detail: String },
    #[error("{context}: {path}: {source}")]
    Io {
        context: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Config(String),
    #[error("{primary} (mirrors also failed: {mirrors})")]
    WithMirrors {
        primary: Box<FetchError>,
        mirrors: String,
    },
    #[error("cancelled: the caller went away")]
    Cancelled,
}

impl FetchError {
    /// The gRPC code a caller can branch on.
    pub fn code(&self) -> tonic::Code {
        use tonic::Code;
        match self {
            FetchError::InvalidReference { .. } | FetchError::InvalidRequest(_) => {
                Code::InvalidArgument
            }
            FetchError::NotFound { .. } => Code::NotFound,
            FetchError::AuthRequired { .. } | FetchError::AuthRejected { .. } => {
                Code::Unauthenticated
            }
            FetchError::Denied { .. } | FetchError::Blocked { .. } | FetchError::Policy { .. } => {
                Code::PermissionDenied
            }
            FetchError::Registry { status, .. } if *status == 429 => Code::ResourceExhausted,
            FetchError::Registry { .. } => Code::Unknown,
            FetchError::DigestMismatch { .. } | FetchError::SizeMismatch { .. } => Code::DataLoss,
            FetchError::NoPlatform { .. }
            | FetchError::Unsupported { .. }
            | FetchError::Config(_) => Code::FailedPrecondition,
            FetchError::Network { .. } => Code::Unavailable,
            FetchError::Io { .. } => Code::Internal,
            FetchError::Cancelled => Code::Cancelled,
            FetchError::WithMirrors { primary, .. } => primary.code(),
        }
    }

    pub fn io(
        context: impl Into<String>,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> FetchError {
        FetchError::Io {
            context: context.into(),
            path: path.into(),
            source,
        }
    }

    /// Whether trying again (or another mirror) may help.
    pub fn is_transient(&self) -> bool {
        matches!(self, FetchError::Network { .. })
            || matches!(self, FetchError::Registry { status, .. } if *status >= 500 || *status == 429)
    }

    /// The error as a gRPC status: one line, the code from [`FetchError::code`].
    pub fn to_status(&self) -> tonic::Status {
        tonic::Status::new(self.code(), one_line(&self.to_string()))
    }
}

/// Collapse whitespace runs that contain newlines so a message stays on one line.
pub fn one_line(s: &str) -> String {
    s.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The chain of an error's sources, joined with ": " (reqwest hides the
/// interesting part, e.g. "connection refused", in its sources).
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    one_line(&parts.join(": "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_and_codes_fit() {
        let e = FetchError::NotFound {
            context: "reading manifest nope in 127.0.0.1:5000/bb".into(),
            detail: "manifest unknown".into(),
        };
        assert_eq!(
            e.to_string(),
            "reading manifest nope in 127.0.0.1:5000/bb: manifest unknown"
        );
        assert_eq!(e.code(), tonic::Code::NotFound);
        let e = FetchError::AuthRequired {
            context: "reading manifest latest in h/r".into(),
        };
        assert!(e
            .to_string()
            .ends_with("authentication required: use --creds or podman login"));
        assert_eq!(one_line("a\n  b\r\nc"), "a b c");
        let s = FetchError::Config("x\ny".into()).to_status();
        assert_eq!(s.message(), "x y");
        assert_eq!(s.code(), tonic::Code::FailedPrecondition);
    }
}
