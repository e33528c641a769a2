//! One error type for every route, mapped once to a JSON response with the right status.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use petty_api::{ErrorBody, ErrorDetail};

use crate::dynamo::StoreError;
use crate::jwt::JwtError;
use crate::secrets::SecretError;

/// Everything a handler can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Bad input: malformed JSON, a wrong field, an invalid cursor. `code` is stable for clients.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// No or invalid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials without the needed scope.
    #[error("{0}")]
    Forbidden(String),
    /// Unknown route or resource; also what another owner's resource looks like.
    #[error("{0}")]
    NotFound(String),
    /// The route exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A conflicting resource exists.
    #[error("{0}")]
    Conflict(String),
    /// A conflict with a stable code of its own (`already_verified`, `email_taken`).
    #[error("{message}")]
    ConflictCode { code: &'static str, message: String },
    /// The body exceeds the limit.
    #[error("request body exceeds {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// Well-formed input that breaks a rule.
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    /// Rate limited or locked out.
    #[error("too many requests")]
    TooManyRequests { retry_after_s: u64 },
    /// A dependency is down; the client may retry.
    #[error("{message}")]
    Unavailable { message: String, retry_after_s: Option<u64> },
    /// A 503 whose body is a report of what was and was not done (ingest's `not_stored`,
    /// readiness's failed checks) rather than the error body; its `request_id` is set here.
    #[error("partly unavailable")]
    UnavailableReport { report: serde_json::Value, retry_after_s: Option<u64> },
    /// A bug or misconfiguration; details are logged, never returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 with a stable code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest { code, message: message.into() }
    }

    /// A 422 with a stable code.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Unprocessable { code, message: message.into() }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) | ApiError::ConflictCode { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } | ApiError::UnavailableReport { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Unprocessable { code, .. }
            | ApiError::ConflictCode { code, .. } => code,
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::Unavailable { .. } | ApiError::UnavailableReport { .. } => "service_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// The message clients see: internals are never exposed.
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        }
    }

    /// A 503 answering `report` (a wire type with a `request_id` field).
    pub fn unavailable_report<T: serde::Serialize>(report: &T, retry_after_s: Option<u64>) -> Self {
        match serde_json::to_value(report) {
            Ok(report) => ApiError::UnavailableReport { report, retry_after_s },
            Err(e) => ApiError::Internal(format!("serializing a report: {e}")),
        }
    }

    /// The response: [`ErrorBody`] (or the report) plus status-specific headers.
    pub fn into_response(self, request_id: &str) -> Response<Body> {
        let body = match &self {
            ApiError::UnavailableReport { report, .. } => {
                let mut report = report.clone();
                report["request_id"] = serde_json::Value::from(request_id);
                report.to_string()
            }
            _ => serde_json::to_string(&ErrorBody {
                error: ErrorDetail { code: self.code().to_owned(), message: self.public_message() },
                request_id: Some(request_id.to_owned()),
            })
            .expect("an error body serializes"),
        };
        let mut response = Response::builder()
            .status(self.status())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::Text(body))
            .expect("static response parts are valid");
        let headers = response.headers_mut();
        match &self {
            ApiError::Unauthorized(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"petty\", error=\"invalid_token\""),
                );
            }
            ApiError::TooManyRequests { retry_after_s }
            | ApiError::Unavailable { retry_after_s: Some(retry_after_s), .. }
            | ApiError::UnavailableReport { retry_after_s: Some(retry_after_s), .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_s));
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::ConditionFailed => ApiError::Conflict("the resource changed or already exists".into()),
            StoreError::Throttled => {
                ApiError::Unavailable { message: "storage is busy, retry shortly".into(), retry_after_s: Some(1) }
            }
            StoreError::Unavailable(_) => {
                ApiError::Unavailable { message: "storage is unavailable".into(), retry_after_s: Some(2) }
            }
            StoreError::Other(detail) => ApiError::Internal(detail),
        }
    }
}

impl From<JwtError> for ApiError {
    fn from(err: JwtError) -> Self {
        match err {
            JwtError::KeysUnavailable(_) => {
                ApiError::Unavailable { message: "token keys are unavailable".into(), retry_after_s: Some(2) }
            }
            other => ApiError::Unauthorized(other.to_string()),
        }
    }
}

impl From<SecretError> for ApiError {
    fn from(err: SecretError) -> Self {
        match err {
            SecretError::Unavailable(_) => {
                ApiError::Unavailable { message: "a dependency is unavailable".into(), retry_after_s: Some(2) }
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<crate::cursor::InvalidCursor> for ApiError {
    fn from(_: crate::cursor::InvalidCursor) -> Self {
        ApiError::bad_request("invalid_cursor", "the pagination cursor is invalid")
    }
}
