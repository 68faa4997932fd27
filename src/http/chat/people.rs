//! `/chat/users`, `/chat/agents` and blocks: the people directory of the caller's
//! tenant (by name, email or phone) and who the caller has blocked.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::Id;
use crate::app::AppState;
use crate::domain::chat::directory::{BlockView, DirectoryUser};
use crate::error::AppError;
use crate::http::extract::{ApiPath, ApiQuery, AuthUser};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(users))
        .routes(routes!(search_users))
        .routes(routes!(agents))
        .routes(routes!(block, unblock))
        .routes(routes!(blocks))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UserParams {
    q: Option<String>,
    /// 1–100, default 50
    limit: Option<u64>,
}

/// Active users of the caller's tenant.
#[utoipa::path(get, path = "/users", tag = "chat", params(UserParams), security(("bearer" = [])),
    responses((status = 200, body = [DirectoryUser])))]
async fn users(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiQuery(p): ApiQuery<UserParams>,
) -> Result<Json<Vec<DirectoryUser>>, AppError> {
    Ok(Json(
        s.domain
            .conversations()
            .directory(&a, p.q.as_deref(), false, p.limit)
            .await?,
    ))
}

/// Search users of the caller's tenant by name, email or phone.
#[utoipa::path(get, path = "/users/search", tag = "chat", params(UserParams), security(("bearer" = [])),
    responses((status = 200, body = [DirectoryUser]), (status = 400)))]
async fn search_users(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiQuery(p): ApiQuery<UserParams>,
) -> Result<Json<Vec<DirectoryUser>>, AppError> {
    let q =
        p.q.as_deref()
            .ok_or_else(|| AppError::validation("q", "is required"))?;
    Ok(Json(
        s.domain
            .conversations()
            .directory(&a, Some(q), false, p.limit)
            .await?,
    ))
}

/// Support agents of the caller's tenant.
#[utoipa::path(get, path = "/agents", tag = "chat", params(UserParams), security(("bearer" = [])),
    responses((status = 200, body = [DirectoryUser])))]
async fn agents(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiQuery(p): ApiQuery<UserParams>,
) -> Result<Json<Vec<DirectoryUser>>, AppError> {
    Ok(Json(
        s.domain
            .conversations()
            .directory(&a, p.q.as_deref(), true, p.limit)
            .await?,
    ))
}

/// Block a user: they can no longer open a direct chat with or message the caller.
#[utoipa::path(post, path = "/users/{id}/block", tag = "chat", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, body = BlockView), (status = 404)))]
async fn block(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): Id,
) -> Result<Json<BlockView>, AppError> {
    Ok(Json(s.domain.conversations().block(&a, id).await?))
}

/// Unblock a user.
#[utoipa::path(delete, path = "/users/{id}/block", tag = "chat", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200), (status = 404)))]
async fn unblock(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): Id,
) -> Result<Json<Value>, AppError> {
    s.domain.conversations().unblock(&a, id).await?;
    Ok(Json(json!({"user_id": id, "blocked": false})))
}

/// Users the caller has blocked.
#[utoipa::path(get, path = "/blocks", tag = "chat", security(("bearer" = [])),
    responses((status = 200, body = [BlockView])))]
async fn blocks(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
) -> Result<Json<Vec<BlockView>>, AppError> {
    Ok(Json(s.domain.conversations().list_blocks(&a).await?))
}
