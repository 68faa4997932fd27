//! The host platform's users: `PUT/GET /api/v1/host-auth` (a tenant admin binds the
//! host's issuer and key) and `GET /v1/messaging/token` (also under `/api/v1`): the
//! host's JWT, as `Authorization: Bearer`, exchanged for a Switchboard session.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::AppState;
use super::extract::{ApiJson, AuthUser};
use crate::domain::integration::host_auth::{HostAuthInput, HostAuthView, MessagingToken};
use crate::error::AppError;

/// Mounted at `/api/v1/host-auth`.
pub fn binding() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_binding, put_binding))
}

/// Mounted at `/api/v1/messaging` and `/v1/messaging` (003).
pub fn messaging() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(token))
}

/// Binds the tenant's host platform: `issuer`, optional `audience`, and one of
/// `hs256_secret`, `public_key_pem` (RS256/ES256), `jwks_url` (under
/// `JWKS_ALLOWED_URLS`). The secret is never read back.
#[utoipa::path(put, path = "", tag = "host", request_body = HostAuthInput,
    security(("bearer" = ["admin"])),
    responses((status = 200, body = HostAuthView), (status = 400), (status = 403), (status = 409)))]
async fn put_binding(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiJson(p): ApiJson<HostAuthInput>,
) -> Result<Json<HostAuthView>, AppError> {
    Ok(Json(s.domain.host_auth().put_host_auth(&a, p).await?))
}

/// The binding (issuer, audience, which kind of key; never the key).
#[utoipa::path(get, path = "", tag = "host", security(("bearer" = ["admin"])),
    responses((status = 200, body = HostAuthView), (status = 403), (status = 404)))]
async fn get_binding(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
) -> Result<Json<HostAuthView>, AppError> {
    Ok(Json(s.domain.host_auth().get_host_auth(&a).await?))
}

/// 003's messaging token: the host platform's JWT (Bearer) → `{token, expires_in,
/// user_id}`, a Switchboard access token for the user whose external id is the
/// JWT's `sub` (created on first use). Expired, wrongly signed or unknown-issuer
/// tokens are 401.
#[utoipa::path(get, path = "/token", tag = "host", security(("host_jwt" = [])),
    responses((status = 200, body = MessagingToken), (status = 401)))]
async fn token(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<MessagingToken>, AppError> {
    let jwt = crate::auth::bearer_token(&headers)
        .ok_or_else(|| AppError::Unauthorized("missing the host platform's bearer token".into()))?;
    Ok(Json(s.domain.host_auth().exchange_host_token(jwt).await?))
}
