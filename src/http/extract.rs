//! Request extractors that turn every rejection into an [`AppError`] (never axum's
//! plain-text default) and resolve the bearer token to the calling [`Actor`].

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use crate::domain::Actor;
use crate::error::AppError;

/// JSON body; malformed JSON, wrong types and unknown fields become 400, oversize 413.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(data_error(&e.body_text())),
            Err(JsonRejection::JsonSyntaxError(_)) => {
                Err(AppError::validation("body", "malformed JSON"))
            }
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::validation(
                "body",
                "expected a JSON body with Content-Type: application/json",
            )),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(AppError::PayloadTooLarge("request body too large".into()))
            }
            Err(e) => Err(AppError::validation("body", e.body_text())),
        }
    }
}

/// A JSON body that may be left out: none (only whitespace, or `null`) is `T::default()`;
/// anything else must parse (400 naming why), an oversize one is 413.
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => {
                    AppError::PayloadTooLarge("request body too large".into())
                }
                _ => AppError::validation("body", e.body_text()),
            })?;
        let trimmed = body.trim_ascii();
        if trimmed.is_empty() || trimmed == b"null" {
            return Ok(Self(T::default()));
        }
        serde_json::from_slice(&body)
            .map(Self)
            .map_err(|e| AppError::validation("body", e.to_string()))
    }
}

/// Path parameters; a malformed id is a 400 naming the parameter.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|e: PathRejection| AppError::validation("path", e.body_text()))
    }
}

/// Query string; bad values are a 400 naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e: QueryRejection| data_error(&e.body_text()))
    }
}

/// Splits serde's "path: message" into a field-naming validation error.
fn data_error(text: &str) -> AppError {
    let text = text
        .split_once("target type: ")
        .map(|(_, rest)| rest)
        .or_else(|| text.split_once("query string: ").map(|(_, rest)| rest))
        .unwrap_or(text);
    match text.split_once(": ") {
        Some((path, msg)) if !path.contains(' ') => AppError::validation(path, msg),
        _ => AppError::validation("body", text),
    }
}

/// The authenticated, active caller (`Authorization: Bearer <access token>`).
pub struct AuthUser(pub Actor);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = crate::auth::bearer_token(&parts.headers)
            .ok_or_else(|| AppError::Unauthorized("missing bearer token".into()))?;
        state.domain.accounts().authenticate(token).await.map(Self)
    }
}

/// A host backend's API key (`x-api-key: <key>` or `Authorization: Bearer <key>`):
/// its tenant and scopes.
pub struct ServiceKey(pub crate::domain::integration::api_keys::ServiceActor);

impl FromRequestParts<AppState> for ServiceKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let key = parts
            .headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .or_else(|| crate::auth::bearer_token(&parts.headers))
            .ok_or_else(|| AppError::Unauthorized("missing API key (x-api-key)".into()))?;
        state
            .domain
            .integration()
            .authenticate_key(key)
            .await
            .map(Self)
    }
}

/// The client's address: the TCP peer, or what a trusted proxy says in
/// `X-Forwarded-For` (`TRUSTED_PROXIES`).
pub struct ClientIp(pub std::net::IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        state
            .config
            .rate_limits
            .client_ip_of(parts)
            .map(Self)
            .ok_or_else(|| AppError::internal("no peer address on the request"))
    }
}
