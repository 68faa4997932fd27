//! `/api/v1/service/*`: the host platform's backend, with an API key (Worknation's
//! Chat REST: find-or-create, onboarding, initialize, initialized users, chats and
//! their members; plus notifications and ending a user's sessions).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::AppState;
use super::extract::{ApiJson, ApiPath, ServiceKey};
use crate::domain::integration::broadcasts::{
    PublishInput, Published, ServiceNotificationInput, ServiceNotified,
};
use crate::domain::integration::service::{HostUser, HostUserInput, ServiceChatInput};
use crate::domain::views::{ChatView, ParticipantView, UserView};
use crate::error::AppError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(find_or_create))
        .routes(routes!(onboard))
        .routes(routes!(initialize))
        .routes(routes!(users))
        .routes(routes!(user_chats))
        .routes(routes!(disconnect))
        .routes(routes!(create_chat))
        .routes(routes!(chat))
        .routes(routes!(chat_members))
        .routes(routes!(notify))
        .routes(routes!(publish))
}

async fn upsert(
    s: &AppState,
    k: &ServiceKey,
    p: HostUserInput,
) -> Result<(StatusCode, Json<HostUser>), AppError> {
    let done = s
        .domain
        .integration()
        .find_or_create_host_user(&k.0, p)
        .await?;
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(done)))
}

/// The user with this external id, created when new (201) or as it is (200).
#[utoipa::path(post, path = "/users/find-or-create", tag = "service", request_body = HostUserInput,
    security(("api_key" = [])),
    responses((status = 200, body = HostUser), (status = 201, body = HostUser), (status = 400), (status = 403)))]
async fn find_or_create(
    State(s): State<AppState>,
    k: ServiceKey,
    ApiJson(p): ApiJson<HostUserInput>,
) -> Result<(StatusCode, Json<HostUser>), AppError> {
    upsert(&s, &k, p).await
}

/// Worknation's "User Onboarding" (the same upsert).
#[utoipa::path(post, path = "/users/onboard", tag = "service", request_body = HostUserInput,
    security(("api_key" = [])),
    responses((status = 200, body = HostUser), (status = 201, body = HostUser), (status = 400), (status = 403)))]
async fn onboard(
    State(s): State<AppState>,
    k: ServiceKey,
    ApiJson(p): ApiJson<HostUserInput>,
) -> Result<(StatusCode, Json<HostUser>), AppError> {
    upsert(&s, &k, p).await
}

/// Worknation's "Initialize User" (the same upsert).
#[utoipa::path(post, path = "/users/initialize", tag = "service", request_body = HostUserInput,
    security(("api_key" = [])),
    responses((status = 200, body = HostUser), (status = 201, body = HostUser), (status = 400), (status = 403)))]
async fn initialize(
    State(s): State<AppState>,
    k: ServiceKey,
    ApiJson(p): ApiJson<HostUserInput>,
) -> Result<(StatusCode, Json<HostUser>), AppError> {
    upsert(&s, &k, p).await
}

/// Worknation's "Get Initialized Users": users with an external id.
#[utoipa::path(get, path = "/users", tag = "service", security(("api_key" = [])),
    responses((status = 200, body = [UserView]), (status = 403)))]
async fn users(State(s): State<AppState>, k: ServiceKey) -> Result<Json<Vec<UserView>>, AppError> {
    Ok(Json(s.domain.integration().host_users(&k.0).await?))
}

/// Worknation's "Get All Chats By User ID" (`{id}`: a Switchboard id, `ext:<id>` or
/// the host's id).
#[utoipa::path(get, path = "/users/{id}/chats", tag = "service", params(("id" = String, Path)),
    security(("api_key" = [])),
    responses((status = 200, body = [ChatView]), (status = 403), (status = 404)))]
async fn user_chats(
    State(s): State<AppState>,
    k: ServiceKey,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<ChatView>>, AppError> {
    Ok(Json(
        s.domain.integration().service_user_chats(&k.0, &id).await?,
    ))
}

/// Closes every live connection of a user (scope `users`).
#[utoipa::path(post, path = "/users/{id}/disconnect", tag = "service", params(("id" = String, Path)),
    security(("api_key" = [])),
    responses((status = 200, body = UserView), (status = 403), (status = 404)))]
async fn disconnect(
    State(s): State<AppState>,
    k: ServiceKey,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<UserView>, AppError> {
    Ok(Json(
        s.domain.integration().service_disconnect(&k.0, &id).await?,
    ))
}

/// Worknation's "Create Chat": members by Switchboard id or `ext:<id>`; two members
/// are a direct chat (the existing one, 200) unless `type` says otherwise.
#[utoipa::path(post, path = "/chats", tag = "service", request_body = ServiceChatInput,
    security(("api_key" = [])),
    responses((status = 200, body = ChatView), (status = 201, body = ChatView), (status = 400), (status = 403), (status = 404)))]
async fn create_chat(
    State(s): State<AppState>,
    k: ServiceKey,
    ApiJson(p): ApiJson<ServiceChatInput>,
) -> Result<(StatusCode, Json<ChatView>), AppError> {
    let (chat, created) = s.domain.integration().service_create_chat(&k.0, p).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(chat)))
}

/// Worknation's "Get Chat By Id".
#[utoipa::path(get, path = "/chats/{id}", tag = "service", params(("id" = Uuid, Path)),
    security(("api_key" = [])), responses((status = 200, body = ChatView), (status = 403), (status = 404)))]
async fn chat(
    State(s): State<AppState>,
    k: ServiceKey,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ChatView>, AppError> {
    Ok(Json(s.domain.integration().service_chat(&k.0, id).await?))
}

/// Worknation's "Get Chat Members".
#[utoipa::path(get, path = "/chats/{id}/members", tag = "service", params(("id" = Uuid, Path)),
    security(("api_key" = [])),
    responses((status = 200, body = [ParticipantView]), (status = 403), (status = 404)))]
async fn chat_members(
    State(s): State<AppState>,
    k: ServiceKey,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Vec<ParticipantView>>, AppError> {
    Ok(Json(
        s.domain
            .integration()
            .service_chat_members(&k.0, id)
            .await?,
    ))
}

/// Notifications from the host, through preferences, inbox, events and push
/// (scope `notifications`).
#[utoipa::path(post, path = "/notifications", tag = "service", request_body = ServiceNotificationInput,
    security(("api_key" = [])),
    responses((status = 200, body = ServiceNotified), (status = 400), (status = 403), (status = 404)))]
async fn notify(
    State(s): State<AppState>,
    k: ServiceKey,
    ApiJson(p): ApiJson<ServiceNotificationInput>,
) -> Result<Json<ServiceNotified>, AppError> {
    Ok(Json(s.domain.integration().service_notify(&k.0, p).await?))
}

/// The host's own event to a channel (`conversation:<id>`, `user:<id>`) or users, on
/// every dialect: Socket.IO clients get it under `event`; `/api/v1/ws` as a
/// `publication` envelope (scope `publish`).
#[utoipa::path(post, path = "/publish", tag = "service", request_body = PublishInput,
    security(("api_key" = [])),
    responses((status = 202, body = Published), (status = 400), (status = 403), (status = 404), (status = 413)))]
async fn publish(
    State(s): State<AppState>,
    k: ServiceKey,
    ApiJson(p): ApiJson<PublishInput>,
) -> Result<(StatusCode, Json<Published>), AppError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(s.domain.integration().service_publish(&k.0, p).await?),
    ))
}
