//! Errors as the HTTP API answers them, and the extractors whose rejections become those
//! errors in one place: every body, path and query of every handler goes through them.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::MAX_BODY_BYTES;
use crate::api::{ApiError, ErrorKind};

/// An error as the HTTP API answers it: a status and `{"code", "message"}`.
#[derive(Debug)]
pub struct HttpError {
    pub(super) status: StatusCode,
    body: ApiError,
}

pub(super) type Result<T> = std::result::Result<T, HttpError>;

impl HttpError {
    pub(super) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> HttpError {
        let kind = if status.is_server_error() {
            ErrorKind::Internal
        } else {
            ErrorKind::BadRequest
        };
        HttpError {
            status,
            body: ApiError::new(kind, code, message),
        }
    }
}

impl From<ApiError> for HttpError {
    fn from(e: ApiError) -> Self {
        let status = match e.kind {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        HttpError { status, body: e }
    }
}

impl From<JsonRejection> for HttpError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            s if s.is_server_error() => return ApiError::internal(r.body_text()).into(),
            _ => "bad_json",
        };
        // Well-formed JSON of the wrong shape is as much the caller's mistake as broken JSON.
        let status = if code == "bad_json" {
            StatusCode::BAD_REQUEST
        } else {
            status
        };
        let message = match status {
            StatusCode::PAYLOAD_TOO_LARGE => {
                format!("the request body is larger than {MAX_BODY_BYTES} bytes")
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                "send the body as JSON with Content-Type: application/json".to_string()
            }
            _ => r.body_text(),
        };
        HttpError::new(status, code, message)
    }
}

impl From<QueryRejection> for HttpError {
    fn from(r: QueryRejection) -> Self {
        HttpError::new(StatusCode::BAD_REQUEST, "bad_query", r.body_text())
    }
}

impl From<PathRejection> for HttpError {
    fn from(r: PathRejection) -> Self {
        HttpError::new(StatusCode::BAD_REQUEST, "bad_path", r.body_text())
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// A JSON body; its rejection is an [`HttpError`].
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(HttpError))]
pub(super) struct AppJson<T>(pub T);

/// Path parameters; their rejection is an [`HttpError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(HttpError))]
pub(super) struct AppPath<T>(pub T);

/// Query parameters; their rejection is an [`HttpError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(HttpError))]
pub(super) struct AppQuery<T>(pub T);
