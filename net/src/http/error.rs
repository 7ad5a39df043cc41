//! [`ApiError`]: the one error type of the REST API, and [`ApiJson`], a JSON extractor
//! whose rejections are `ApiError`s.
//!
//! Every error answers `{"error": code, "message": text}` with a fitting status. Internal
//! causes are logged, never sent: a client only ever sees `{"error": "internal"}`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use persistence::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::AuthError;

/// An error answer of the REST API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or a field is invalid.
    #[error("{message}")]
    BadRequest {
        /// Machine-readable code, e.g. `invalid_json`, `invalid_name`.
        code: &'static str,
        /// Human-readable explanation.
        message: String,
    },
    /// 401: no token, or a bad one, or wrong credentials.
    #[error("{message}")]
    Unauthorized {
        /// Machine-readable code, e.g. `token_expired`, `invalid_credentials`.
        code: &'static str,
        /// Human-readable explanation.
        message: String,
    },
    /// 403: authenticated but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 404: the named thing does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 405: the path exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: a unique thing is taken.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is larger than the configured limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 415: the body is not `application/json`.
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    /// 429: too many requests; retry after the given seconds.
    #[error("too many requests, retry in {retry_after_secs} s")]
    TooManyRequests {
        /// Seconds until a request will be accepted again.
        retry_after_secs: u64,
    },
    /// 503: a dependency (the database) is not available.
    #[error("service unavailable")]
    Unavailable,
    /// 500: a bug or a failed dependency; the cause is logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
}

impl ApiError {
    /// A 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// An internal error; `cause` is logged when the response is built.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(cause.to_string())
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable code sent as `error`.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. } | ApiError::Unauthorized { code, .. } => code,
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::TooManyRequests { .. } => "rate_limited",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error answering a request");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        let mut response = (
            status,
            axum::Json(ErrorBody {
                error: self.code(),
                message,
            }),
        )
            .into_response();
        if let ApiError::TooManyRequests { retry_after_secs } = self
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::Conflict(what) => ApiError::Conflict(format!("{what} already exists")),
            StoreError::NotFound(what) => ApiError::NotFound(what),
            StoreError::Invalid(message) => ApiError::bad_request("invalid", message),
            other => ApiError::internal(other),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> ApiError {
        match err {
            AuthError::Sign(cause) => ApiError::internal(cause),
            other => ApiError::Unauthorized {
                code: other.code(),
                message: other.to_string(),
            },
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
            JsonRejection::JsonSyntaxError(e) => {
                ApiError::bad_request("invalid_json", e.body_text())
            }
            JsonRejection::JsonDataError(e) => ApiError::bad_request("invalid_body", e.body_text()),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge
            }
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            other => ApiError::bad_request("invalid_body", other.body_text()),
        }
    }
}

/// `axum::Json`, with rejections turned into [`ApiError`]s (400 / 413 / 415).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}
