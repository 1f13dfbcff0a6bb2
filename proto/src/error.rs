//! The one error vocabulary of every helper: [`ErrorCode`] (declared in
//! `common.proto`), its conversion to and from gRPC status codes, and the
//! [`HelperError`] trait through which each helper's own typed error
//! classifies itself and becomes a [`tonic::Status`].
//!
//! This is the only place where an error category meets a gRPC code: helpers
//! build their statuses with [`HelperError::to_status`] (or [`status`]), and
//! callers read them back with [`ErrorCode::of`] (the transport does it for
//! them in `TransportError::Call`).

pub use crate::common::v1::ErrorCode;

impl ErrorCode {
    /// Every code, for tests and documentation.
    pub const ALL: [ErrorCode; 7] = [
        ErrorCode::Internal,
        ErrorCode::NotFound,
        ErrorCode::AlreadyExists,
        ErrorCode::InvalidArgument,
        ErrorCode::FailedPrecondition,
        ErrorCode::Unavailable,
        ErrorCode::Unauthenticated,
    ];

    /// The gRPC status code this category travels as.
    pub fn grpc(self) -> tonic::Code {
        match self {
            ErrorCode::Internal => tonic::Code::Internal,
            ErrorCode::NotFound => tonic::Code::NotFound,
            ErrorCode::AlreadyExists => tonic::Code::AlreadyExists,
            ErrorCode::InvalidArgument => tonic::Code::InvalidArgument,
            ErrorCode::FailedPrecondition => tonic::Code::FailedPrecondition,
            ErrorCode::Unavailable => tonic::Code::Unavailable,
            ErrorCode::Unauthenticated => tonic::Code::Unauthenticated,
        }
    }

    /// The category of a gRPC code. Lossless for the codes of
    /// [`ErrorCode::grpc`]; a code no helper sends (it came from the
    /// transport, or from another implementation) falls into the category a
    /// caller should treat it as.
    pub fn from_grpc(code: tonic::Code) -> ErrorCode {
        use tonic::Code;
        match code {
            Code::NotFound => ErrorCode::NotFound,
            Code::AlreadyExists => ErrorCode::AlreadyExists,
            Code::InvalidArgument | Code::OutOfRange => ErrorCode::InvalidArgument,
            Code::FailedPrecondition
            | Code::PermissionDenied
            | Code::Aborted
            | Code::Unimplemented => ErrorCode::FailedPrecondition,
            Code::Unavailable
            | Code::Cancelled
            | Code::DeadlineExceeded
            | Code::ResourceExhausted => ErrorCode::Unavailable,
            Code::Unauthenticated => ErrorCode::Unauthenticated,
            Code::Ok | Code::Unknown | Code::Internal | Code::DataLoss => ErrorCode::Internal,
        }
    }

    /// The category of a status a helper answered with.
    pub fn of(status: &tonic::Status) -> ErrorCode {
        ErrorCode::from_grpc(status.code())
    }

    /// A short stable name (`not_found`, …) for JSON and logs.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::Internal => "internal",
            ErrorCode::NotFound => "not_found",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::FailedPrecondition => "failed_precondition",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Unauthenticated => "unauthenticated",
        }
    }
}

impl From<ErrorCode> for tonic::Code {
    fn from(c: ErrorCode) -> tonic::Code {
        c.grpc()
    }
}

impl From<tonic::Code> for ErrorCode {
    fn from(c: tonic::Code) -> ErrorCode {
        ErrorCode::from_grpc(c)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A status with the category's gRPC code and `message` as it is.
pub fn status(code: ErrorCode, message: impl Into<String>) -> tonic::Status {
    tonic::Status::new(code.grpc(), message)
}

/// A helper's own error type: typed variants with their context, each
/// classified into exactly one [`ErrorCode`].
pub trait HelperError: std::error::Error {
    /// The category a caller can branch on.
    fn code(&self) -> ErrorCode;

    /// The status message: by default the error's text on one line
    /// (newlines become spaces).
    fn status_message(&self) -> String {
        self.to_string().replace('\n', " ")
    }

    /// The error as a gRPC status.
    fn to_status(&self) -> tonic::Status {
        status(self.code(), self.status_message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_grpc() {
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_grpc(c.grpc()), c, "{c}");
            let t: tonic::Code = c.into();
            assert_eq!(ErrorCode::from(t), c);
            let s = status(c, "m");
            assert_eq!(ErrorCode::of(&s), c);
            assert_eq!(s.message(), "m");
        }
        // Distinct codes on the wire, distinct names.
        let grpc: std::collections::HashSet<_> = ErrorCode::ALL.iter().map(|c| c.grpc()).collect();
        let names: std::collections::HashSet<_> = ErrorCode::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(grpc.len(), ErrorCode::ALL.len());
        assert_eq!(names.len(), ErrorCode::ALL.len());
    }

    #[test]
    fn all_lists_every_proto_value() {
        // ALL must follow the .proto enum: every value 0..n, once.
        let mut v: Vec<i32> = ErrorCode::ALL.iter().map(|c| *c as i32).collect();
        v.sort();
        assert_eq!(v, (0..ErrorCode::ALL.len() as i32).collect::<Vec<_>>());
        assert!(ErrorCode::try_from(ErrorCode::ALL.len() as i32).is_err());
        assert_eq!(ErrorCode::default(), ErrorCode::Internal);
    }

    #[test]
    fn foreign_grpc_codes_fall_into_the_set() {
        use tonic::Code;
        for (g, c) in [
            (Code::Unknown, ErrorCode::Internal),
            (Code::DataLoss, ErrorCode::Internal),
            (Code::Cancelled, ErrorCode::Unavailable),
            (Code::DeadlineExceeded, ErrorCode::Unavailable),
            (Code::ResourceExhausted, ErrorCode::Unavailable),
            (Code::PermissionDenied, ErrorCode::FailedPrecondition),
            (Code::Unimplemented, ErrorCode::FailedPrecondition),
            (Code::OutOfRange, ErrorCode::InvalidArgument),
        ] {
            assert_eq!(ErrorCode::from_grpc(g), c, "{g:?}");
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("line one\nline two")]
    struct E;
    impl HelperError for E {
        fn code(&self) -> ErrorCode {
            ErrorCode::NotFound
        }
    }

    #[test]
    fn helper_errors_become_one_line_statuses() {
        let s = E.to_status();
        assert_eq!(s.code(), tonic::Code::NotFound);
        assert_eq!(s.message(), "line one line two");
    }
}
