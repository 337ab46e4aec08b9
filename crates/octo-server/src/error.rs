//! The one error type of the HTTP boundary. Every failure a handler can meet is
//! one of these variants, and each has one status, one code and one message shape:
//! `{"error": {"code": "snake_case", "message": "…"}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use octo_core::names::InvalidInput;
use octo_store::StoreError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A field failed to parse; the code is `invalid_<field>`.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The request is malformed in some other way (code given).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{message}")]
    Unauthenticated { code: &'static str, message: String },
    #[error("you may not {0} here")]
    Forbidden(&'static str),
    /// Missing, or invisible to the caller: the two must look the same.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("this route does not take that method")]
    MethodNotAllowed,
    #[error("{message}")]
    TooLarge { code: &'static str, message: String },
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    Unavailable(String),
    /// A dependency that is down or missing here, with its own code
    /// (`engine_unavailable`).
    #[error("{message}")]
    ServiceUnavailable { code: &'static str, message: String },
    /// A bug or a failed dependency. The detail is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// 429 for a bucket that refills in `wait`: whole seconds, at least one
    /// (the message and `Retry-After` never say "retry in 0 s").
    pub fn rate_limited(wait: std::time::Duration) -> Self {
        ApiError::RateLimited {
            retry_after_secs: (wait.as_secs_f64().ceil() as u64).max(1),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn unauthenticated(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Unauthenticated {
            code,
            message: message.into(),
        }
    }

    /// The code the HTTP answer carries (`rate_limited`, `not_found`, …),
    /// for answers that have no status: a WebSocket `error` frame.
    pub fn code(&self) -> String {
        self.status_and_code().1
    }

    fn status_and_code(&self) -> (StatusCode, String) {
        match self {
            ApiError::Invalid(e) => (StatusCode::BAD_REQUEST, format!("invalid_{}", e.field)),
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, (*code).into()),
            ApiError::Unauthenticated { code, .. } => (StatusCode::UNAUTHORIZED, (*code).into()),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden".into()),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found".into()),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict".into()),
            ApiError::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed".into())
            }
            ApiError::TooLarge { code, .. } => (StatusCode::PAYLOAD_TOO_LARGE, (*code).into()),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited".into()),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable".into()),
            ApiError::ServiceUnavailable { code, .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, (*code).into())
            }
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal".into()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("resource"),
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::AlreadySetUp => ApiError::Conflict("this server is already set up".into()),
            StoreError::Closed => ApiError::Unavailable("the server is shutting down".into()),
            StoreError::Backend(m) => ApiError::Internal(m),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable, snake_case.
    pub code: String,
    /// For people; may change.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message: self.to_string(),
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let ApiError::RateLimited { retry_after_secs } = self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs.max(1)),
            );
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_rate_limit_says_whole_seconds_and_never_zero() {
        for (wait, says) in [
            (Duration::ZERO, "retry in 1 s"),
            (Duration::from_millis(1), "retry in 1 s"),
            (Duration::from_millis(1200), "retry in 2 s"),
        ] {
            assert!(
                ApiError::rate_limited(wait).to_string().ends_with(says),
                "{wait:?}"
            );
        }
    }
}
