//! `/api/v1/users`: tenant admins create, list and (de)activate their users.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::AppState;
use super::extract::{ApiJson, ApiPath, AuthUser};
use crate::domain::accounts::users::{CreateUserInput, UpdateUserInput};
use crate::domain::views::UserView;
use crate::error::AppError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_user, list_users))
        .routes(routes!(update_user))
}

/// Add a user to the caller's tenant (admin only).
#[utoipa::path(post, path = "", tag = "users", request_body = CreateUserInput,
    security(("bearer" = ["admin"])),
    responses((status = 201, body = UserView), (status = 403), (status = 409)))]
async fn create_user(
    State(s): State<AppState>,
    AuthUser(actor): AuthUser,
    ApiJson(input): ApiJson<CreateUserInput>,
) -> Result<(StatusCode, Json<UserView>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(s.domain.accounts().create_user(&actor, input).await?),
    ))
}

/// The users of the caller's tenant (admin only).
#[utoipa::path(get, path = "", tag = "users", security(("bearer" = ["admin"])),
    responses((status = 200, body = [UserView]), (status = 403)))]
async fn list_users(
    State(s): State<AppState>,
    AuthUser(actor): AuthUser,
) -> Result<Json<Vec<UserView>>, AppError> {
    Ok(Json(s.domain.accounts().list_users(&actor).await?))
}

/// Change a user's role or active flag (admin only).
#[utoipa::path(patch, path = "/{id}", tag = "users", request_body = UpdateUserInput,
    params(("id" = Uuid, Path)), security(("bearer" = ["admin"])),
    responses((status = 200, body = UserView), (status = 403), (status = 404),
        (status = 409, description = "an admin may not deactivate or demote themselves")))]
async fn update_user(
    State(s): State<AppState>,
    AuthUser(actor): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<UpdateUserInput>,
) -> Result<Json<UserView>, AppError> {
    Ok(Json(
        s.domain.accounts().update_user(&actor, id, input).await?,
    ))
}
