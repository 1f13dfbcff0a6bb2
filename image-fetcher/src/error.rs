//! What can go wrong while fetching or pushing, each variant one line that
//! names the reference (or blob) and the problem. Each classifies into the
//! one code set of every helper ([`proto::ErrorCode`], see
//! [`HelperError::code`]); the gRPC status comes from that, at the edge.

use std::path::PathBuf;

use proto::{ErrorCode, HelperError};

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("invalid image reference {reference:?}: {reason}")]
    InvalidReference { reference: String, reason: String },
    /// The request itself is wrong (a bad field, option or path).
    #[error("{0}")]
    InvalidArgument(String),
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
}

impl HelperError for FetchError {
    /// Credentials wanted or refused are `Unauthenticated` (podman login
    /// tells them apart); what the registry, its configuration or the trust
    /// policy refuses is `FailedPrecondition`; a network failure (or the
    /// caller gone) is `Unavailable`; any other registry answer, content
    /// that does not match its digest and local I/O are `Internal`.
    fn code(&self) -> ErrorCode {
        match self {
            FetchError::InvalidReference { .. } | FetchError::InvalidArgument(_) => {
                ErrorCode::InvalidArgument
            }
            FetchError::NotFound { .. } => ErrorCode::NotFound,
            FetchError::AuthRequired { .. } | FetchError::AuthRejected { .. } => {
                ErrorCode::Unauthenticated
            }
            FetchError::Denied { .. }
            | FetchError::Blocked { .. }
            | FetchError::Policy { .. }
            | FetchError::NoPlatform { .. }
            | FetchError::Unsupported { .. }
            | FetchError::Config(_) => ErrorCode::FailedPrecondition,
            FetchError::Network { .. } | FetchError::Cancelled => ErrorCode::Unavailable,
            FetchError::Registry { .. }
            | FetchError::DigestMismatch { .. }
            | FetchError::SizeMismatch { .. }
            | FetchError::Io { .. } => ErrorCode::Internal,
            FetchError::WithMirrors { primary, .. } => primary.code(),
        }
    }

    /// One line: whitespace runs that hold a newline collapse to a space.
    fn status_message(&self) -> String {
        one_line(&self.to_string())
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
        assert_eq!(e.code(), ErrorCode::NotFound);
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

    #[test]
    fn every_variant_classifies_into_the_code_set() {
        let c = || "ctx".to_string();
        let d = || "detail".to_string();
        let registry = |status| FetchError::Registry {
            context: c(),
            status,
            detail: d(),
        };
        let cases = [
            (
                FetchError::InvalidReference {
                    reference: "Bad".into(),
                    reason: d(),
                },
                ErrorCode::InvalidArgument,
            ),
            (FetchError::InvalidArgument(d()), ErrorCode::InvalidArgument),
            (
                FetchError::NotFound {
                    context: c(),
                    detail: d(),
                },
                ErrorCode::NotFound,
            ),
            (
                FetchError::AuthRequired { context: c() },
                ErrorCode::Unauthenticated,
            ),
            (
                FetchError::AuthRejected {
                    context: c(),
                    user: "u".into(),
                    detail: d(),
                },
                ErrorCode::Unauthenticated,
            ),
            (
                FetchError::Denied {
                    context: c(),
                    detail: d(),
                },
                ErrorCode::FailedPrecondition,
            ),
            (
                FetchError::Policy {
                    reference: "r".into(),
                    detail: d(),
                    file: "f".into(),
                },
                ErrorCode::FailedPrecondition,
            ),
            (
                FetchError::Blocked {
                    registry: "r".into(),
                    prefix: "p".into(),
                },
                ErrorCode::FailedPrecondition,
            ),
            (registry(400), ErrorCode::Internal),
            (registry(429), ErrorCode::Internal),
            (registry(503), ErrorCode::Internal),
            (
                FetchError::DigestMismatch {
                    digest: "a".into(),
                    source_name: "s".into(),
                    actual: "b".into(),
                },
                ErrorCode::Internal,
            ),
            (
                FetchError::SizeMismatch {
                    digest: "a".into(),
                    source_name: "s".into(),
                    expected: 1,
                    got: "2".into(),
                },
                ErrorCode::Internal,
            ),
            (
                FetchError::NoPlatform {
                    context: c(),
                    os: "linux".into(),
                    architecture: "arm64".into(),
                    variant: "".into(),
                },
                ErrorCode::FailedPrecondition,
            ),
            (
                FetchError::Unsupported {
                    context: c(),
                    detail: d(),
                },
                ErrorCode::FailedPrecondition,
            ),
            (
                FetchError::Network {
                    context: c(),
                    detail: d(),
                },
                ErrorCode::Unavailable,
            ),
            (
                FetchError::io("reading", "/x", std::io::Error::other("boom")),
                ErrorCode::Internal,
            ),
            (FetchError::Config(d()), ErrorCode::FailedPrecondition),
            (
                FetchError::WithMirrors {
                    primary: Box::new(FetchError::AuthRequired { context: c() }),
                    mirrors: d(),
                },
                ErrorCode::Unauthenticated,
            ),
            (FetchError::Cancelled, ErrorCode::Unavailable),
        ];
        for (e, code) in cases {
            assert_eq!(e.code(), code, "{e}");
            assert_eq!(ErrorCode::of(&e.to_status()), code, "{e}");
        }
    }
}
