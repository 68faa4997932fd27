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
            Self::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED"),
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
        if let Self::RateLimited(Some(secs)) = &self {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(*secs));
        }
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

/// The body of every error answer, as the OpenAPI document describes it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// `VALIDATION_ERROR`, `AUTH_ERROR`, `PERMISSION_ERROR`, `NOT_FOUND`, `CONFLICT`, …
    code: String,
    message: String,
    /// The offending field, on validation errors.
    field: Option<String>,
}

/// Documents once, on every operation, the error answers every route can give: 400
/// (bad input), 401 (secured operations), 500 and 503, each with [`ErrorBody`]; and
/// keeps operation ids unique.
pub fn document_errors(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let answer = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    };
    // Handlers served under two resources (the HR and chat conversation routes) would
    // repeat an operation id; the second and later get their resource as a suffix.
    let mut seen = std::collections::HashSet::new();
    for (path, item) in api.paths.paths.iter_mut() {
        let resource = path
            .trim_start_matches("/api/v1/")
            .split('/')
            .next()
            .unwrap_or("");
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            if let Some(id) = &op.operation_id
                && !seen.insert(id.clone())
            {
                op.operation_id = Some(format!("{id}_{resource}"));
            }
        }
    }
    for item in api.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in ops.into_iter().flatten() {
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let r = &mut op.responses.responses;
            r.entry("400".into())
                .or_insert_with(|| answer("VALIDATION_ERROR: bad input, naming the field"));
            if secured {
                r.entry("401".into())
                    .or_insert_with(|| answer("AUTH_ERROR: missing, invalid or expired token"));
            }
            r.entry("500".into())
                .or_insert_with(|| answer("INTERNAL_ERROR: details only in the log"));
            r.entry("503".into())
                .or_insert_with(|| answer("SERVICE_UNAVAILABLE: the database or Redis is down"));
        }
    }
}
