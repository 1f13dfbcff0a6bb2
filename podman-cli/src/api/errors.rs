//! Errors as the API answers them: a status code and Podman's error body
//! (`{"cause": ..., "message": ..., "response": CODE}`; Docker's clients
//! read `message`).

use http::StatusCode;

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        let cause = self
            .message
            .rsplit(": ")
            .next()
            .unwrap_or(&self.message)
            .to_string();
        serde_json::json!({
            "cause": cause,
            "message": self.message,
            "response": self.status.as_u16(),
        })
    }

    /// An engine error, classified as Podman's handlers classify them: no
    /// such object 404, a state that forbids the request 409, else 500.
    pub fn from_engine(e: &anyhow::Error) -> ApiError {
        let message = crate::error::one_line(e);
        let status = status_of(e, &message);
        ApiError { status, message }
    }
}

fn status_of(e: &anyhow::Error, message: &str) -> StatusCode {
    use crate::container::store::ContainerStoreError;
    for cause in e.chain() {
        if let Some(ContainerStoreError::NotFound(_)) = cause.downcast_ref::<ContainerStoreError>()
        {
            return StatusCode::NOT_FOUND;
        }
        if let Some(crate::volume::VolumeError::NotFound(_)) =
            cause.downcast_ref::<crate::volume::VolumeError>()
        {
            return StatusCode::NOT_FOUND;
        }
        if let Some(x) = cause.downcast_ref::<crate::error::ExitError>() {
            match x.code {
                crate::error::EXIT_NO_SUCH_OBJECT => return StatusCode::NOT_FOUND,
                crate::error::EXIT_STATE_IMPROPER => return StatusCode::CONFLICT,
                _ => {}
            }
        }
        if let Some(proto::transport::TransportError::Call { code, .. }) =
            cause.downcast_ref::<proto::transport::TransportError>()
        {
            match code {
                proto::ErrorCode::NotFound => return StatusCode::NOT_FOUND,
                proto::ErrorCode::AlreadyExists | proto::ErrorCode::FailedPrecondition => {
                    return StatusCode::CONFLICT
                }
                proto::ErrorCode::InvalidArgument => return StatusCode::BAD_REQUEST,
                _ => {}
            }
        }
    }
    let m = message.to_ascii_lowercase();
    if m.contains("no such") || m.contains("not found") || m.contains("image not known") {
        StatusCode::NOT_FOUND
    } else if m.contains("state improper")
        || m.contains("in use")
        || m.contains("already in use")
        || m.contains("is running")
        || m.contains("is being used")
        || m.contains("has associated containers")
    {
        StatusCode::CONFLICT
    } else if m.contains("invalid") {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> ApiError {
        ApiError::from_engine(&e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
