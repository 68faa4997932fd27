//! `/api/v1/auth/*`: signup, login, refresh, logout, me, profile, change-password.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::AppState;
use super::extract::{ApiJson, AuthUser, ClientIp};

use crate::domain::accounts::sessions::{
    ChangePasswordInput, LoginInput, Origin, ProfilePatch, RefreshInput, SignupInput,
};
use crate::domain::accounts::ws_tickets::WsTicket;
use crate::domain::views::{AuthSession, MeView, UserView};
use crate::error::AppError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(profile))
        .routes(routes!(change_password))
        .routes(routes!(ws_ticket))
}

/// Create a tenant and its first (admin) user.
#[utoipa::path(post, path = "/signup", tag = "auth", request_body = SignupInput,
    responses((status = 201, body = AuthSession), (status = 400), (status = 409)))]
async fn signup(
    State(s): State<AppState>,
    ApiJson(input): ApiJson<SignupInput>,
) -> Result<(StatusCode, Json<AuthSession>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(s.domain.accounts().signup(input).await?),
    ))
}

/// Exchange email and password for an access and a refresh token.
/// After `LOGIN_MAX_FAILURES` failures for the account (or `LOGIN_MAX_FAILURES_PER_IP`
/// from the address) in a window, 429 with `Retry-After` until the window ends.
#[utoipa::path(post, path = "/login", tag = "auth", request_body = LoginInput,
    responses((status = 200, body = AuthSession), (status = 401), (status = 429)))]
async fn login(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(input): ApiJson<LoginInput>,
) -> Result<Json<AuthSession>, AppError> {
    let origin = Origin { ip: Some(ip) };
    Ok(Json(s.domain.accounts().login(input, origin).await?))
}

/// Rotate a refresh token; reusing a rotated one revokes the whole session.
#[utoipa::path(post, path = "/refresh", tag = "auth", request_body = RefreshInput,
    responses((status = 200, body = AuthSession), (status = 401)))]
async fn refresh(
    State(s): State<AppState>,
    ApiJson(input): ApiJson<RefreshInput>,
) -> Result<Json<AuthSession>, AppError> {
    Ok(Json(s.domain.accounts().refresh(input).await?))
}

/// Revoke the session the given refresh token belongs to.
#[utoipa::path(post, path = "/logout", tag = "auth", request_body = RefreshInput,
    security(("bearer" = [])), responses((status = 204), (status = 401)))]
async fn logout(
    State(s): State<AppState>,
    AuthUser(actor): AuthUser,
    ApiJson(input): ApiJson<RefreshInput>,
) -> Result<StatusCode, AppError> {
    s.domain
        .accounts()
        .logout(&actor, &input.refresh_token)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller and their tenant.
#[utoipa::path(get, path = "/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = MeView), (status = 401)))]
async fn me(
    State(s): State<AppState>,
    AuthUser(actor): AuthUser,
) -> Result<Json<MeView>, AppError> {
    Ok(Json(s.domain.accounts().me(&actor).await?))
}

/// Change display name, avatar URL or time zone.
#[utoipa::path(patch, path = "/profile", tag = "auth", request_body = ProfilePatch,
    security(("bearer" = [])), responses((status = 200, body = UserView), (status = 400)))]
async fn profile(
    State(s): State<AppState>,
    AuthUser(actor): AuthUser,
    ApiJson(patch): ApiJson<ProfilePatch>,
) -> Result<Json<UserView>, AppError> {
    Ok(Json(
        s.domain.accounts().update_profile(&actor, patch).await?,
    ))
}

/// Change the password; every other session is revoked and a fresh one returned.
#[utoipa::path(post, path = "/change-password", tag = "auth", request_body = ChangePasswordInput,
    security(("bearer" = [])), responses((status = 200, body = AuthSession), (status = 400)))]
async fn change_password(
    State(s): State<AppState>,
    AuthUser(actor): AuthUser,
    ApiJson(input): ApiJson<ChangePasswordInput>,
) -> Result<Json<AuthSession>, AppError> {
    Ok(Json(
        s.domain.accounts().change_password(&actor, input).await?,
    ))
}

/// A single-use ticket (60 s) for `GET /api/v1/ws?ticket=…`.
#[utoipa::path(post, path = "/ws-ticket", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = WsTicket), (status = 401)))]
async fn ws_ticket(
    State(s): State<AppState>,
    AuthUser(actor): AuthUser,
) -> Result<Json<WsTicket>, AppError> {
    Ok(Json(s.domain.accounts().issue_ws_ticket(&actor).await?))
}
