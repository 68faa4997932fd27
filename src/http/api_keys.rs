//! `/api/v1/api-keys`: tenant admins create (the secret shown once), list and revoke
//! their backend's service API keys.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::AppState;
use super::extract::{ApiJson, ApiPath, AuthUser};
use crate::domain::integration::api_keys::{ApiKeyCreated, ApiKeyInput, ApiKeyView};
use crate::error::AppError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
}

/// A new key with scopes (users, chats, notifications, publish); `key` is shown
/// only in this answer.
#[utoipa::path(post, path = "", tag = "api-keys", request_body = ApiKeyInput,
    security(("bearer" = ["admin"])),
    responses((status = 201, body = ApiKeyCreated), (status = 400), (status = 403)))]
async fn create(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiJson(p): ApiJson<ApiKeyInput>,
) -> Result<(StatusCode, Json<ApiKeyCreated>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(s.domain.integration().create_api_key(&a, p).await?),
    ))
}

/// The tenant's keys: name, prefix, scopes, created, last used, revoked.
#[utoipa::path(get, path = "", tag = "api-keys", security(("bearer" = ["admin"])),
    responses((status = 200, body = [ApiKeyView]), (status = 403)))]
async fn list(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
) -> Result<Json<Vec<ApiKeyView>>, AppError> {
    Ok(Json(s.domain.integration().list_api_keys(&a).await?))
}

/// Revokes a key: it stops working at once.
#[utoipa::path(delete, path = "/{id}", tag = "api-keys", params(("id" = Uuid, Path)),
    security(("bearer" = ["admin"])),
    responses((status = 200, body = ApiKeyView), (status = 403), (status = 404)))]
async fn revoke(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ApiKeyView>, AppError> {
    Ok(Json(s.domain.integration().revoke_api_key(&a, id).await?))
}
