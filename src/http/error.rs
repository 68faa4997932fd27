//! The one mapping of [`AppError`] to an HTTP response: `{"error": {"code", "message"}}`.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::AppError;

impl AppError {
    /// HTTP status and machine code.
    pub fn http_status(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Validation { .. } | Self::SubscriptionFailed(_) => {
                (StatusCode::BAD_REQUEST, "VALIDATION_ERROR")
            }
            Self::Unauthorized(_) | Self::UserInactive => (StatusCode::UNAUTHORIZED, "AUTH_ERROR"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "PERMISSION_ERROR"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "CONFLICT"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
            Self::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED"),
            Self::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE"),
            Self::Internal { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR"),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.http_status();
        // Logged inside the request span, which carries the request id.
        self.log_hidden("http");
        let mut body = json!({ "code": code, "message": self.to_string() });
        if let Self::Validation { field, message } = &self {
            body["field"] = json!(field);
            body["message"] = json!(format!("{field}: {message}"));
        }
        let mut res = (status, Json(json!({ "error": body }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        res
    }
}

/// Fallback for unknown routes.
pub async fn no_route() -> AppError {
    AppError::NotFound("route")
}

/// Fallback for a known route called with the wrong method.
pub async fn wrong_method() -> Response {
    let body = json!({"error": {"code": "METHOD_NOT_ALLOWED", "message": "method not allowed"}});
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}
