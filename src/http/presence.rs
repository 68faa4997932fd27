//! `/api/v1/presence/*`: device heartbeats, going offline, and looking users up.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::AppState;
use super::extract::{ApiJson, ApiQuery, AuthUser};
use crate::domain::presence::{HeartbeatInput, OfflineInput, PresenceView};
use crate::error::AppError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(heartbeat))
        .routes(routes!(offline))
        .routes(routes!(users))
}

/// The device is alive; keeps the user online for `ONLINE_PRESENCE_TTL_SECONDS`.
#[utoipa::path(post, path = "/heartbeat", tag = "presence", request_body = HeartbeatInput,
    security(("bearer" = [])), responses((status = 200, body = PresenceView), (status = 400)))]
async fn heartbeat(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiJson(input): ApiJson<HeartbeatInput>,
) -> Result<Json<PresenceView>, AppError> {
    Ok(Json(s.domain.presence().heartbeat(&a, input).await?))
}

/// The device goes offline.
#[utoipa::path(post, path = "/offline", tag = "presence", request_body = OfflineInput,
    security(("bearer" = [])), responses((status = 200, body = PresenceView), (status = 400)))]
async fn offline(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiJson(input): ApiJson<OfflineInput>,
) -> Result<Json<PresenceView>, AppError> {
    Ok(Json(s.domain.presence().go_offline(&a, input).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Ids {
    /// Comma-separated user ids (at most 100).
    ids: String,
}

/// Presence of users of the caller's tenant, by id.
#[utoipa::path(get, path = "/users", tag = "presence", params(Ids), security(("bearer" = [])),
    responses((status = 200, body = HashMap<String, PresenceView>), (status = 400)))]
async fn users(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiQuery(q): ApiQuery<Ids>,
) -> Result<Json<HashMap<Uuid, PresenceView>>, AppError> {
    Ok(Json(s.domain.presence().presence_of(&a, &q.ids).await?))
}
