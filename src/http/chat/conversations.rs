//! `/chat/conversations/*`: listing and creating (shared with the HR routes),
//! renaming, deleting, participants, read markers, typing, mute and archive.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::Id;
use crate::app::AppState;
use crate::domain::chat::conversation_admin::{ConversationPatch, DeleteScope};
use crate::domain::chat::participants::{Flag, ParticipantFlags};
use crate::domain::chat::unread::UnreadEntry;
use crate::domain::views::{ChatView, ParticipantView, ReadReceipt};
use crate::error::AppError;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use crate::http::messages as hr;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(hr::list_conversations, hr::create_conversation))
        .routes(routes!(unread))
        .routes(routes!(
            hr::get_conversation,
            patch_conversation,
            delete_conversation
        ))
        .routes(routes!(participants, add_participants))
        .routes(routes!(remove_participant))
        .routes(routes!(read))
        .routes(routes!(typing))
        .routes(routes!(mute, unmute))
        .routes(routes!(unmute_alias))
        .routes(routes!(archive, unarchive))
        .routes(routes!(unarchive_alias))
}

/// Unread counts per conversation (only those with unread messages).
#[utoipa::path(get, path = "/conversations/unread", tag = "chat", security(("bearer" = [])),
    responses((status = 200, body = [UnreadEntry])))]
async fn unread(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
) -> Result<Json<Vec<UnreadEntry>>, AppError> {
    Ok(Json(
        s.domain.conversations().unread_by_conversation(&a).await?,
    ))
}

/// Rename or describe a group or channel.
#[utoipa::path(patch, path = "/conversations/{id}", tag = "chat", params(("id" = Uuid, Path)),
    request_body = ConversationPatch, security(("bearer" = [])),
    responses((status = 200, body = ChatView), (status = 403), (status = 404)))]
async fn patch_conversation(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): Id,
    ApiJson(p): ApiJson<ConversationPatch>,
) -> Result<Json<ChatView>, AppError> {
    Ok(Json(
        s.domain
            .conversations()
            .update_conversation(&a, id, p)
            .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ScopeParams {
    /// for_me (default) | for_everyone
    #[param(value_type = Option<String>)]
    scope: Option<DeleteScope>,
}

/// Delete for the caller (hides history up to now) or for everyone (owners/admins).
#[utoipa::path(delete, path = "/conversations/{id}", tag = "chat",
    params(("id" = Uuid, Path), ScopeParams), security(("bearer" = [])),
    responses((status = 204), (status = 403), (status = 404)))]
async fn delete_conversation(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): Id,
    ApiQuery(p): ApiQuery<ScopeParams>,
) -> Result<StatusCode, AppError> {
    s.domain
        .conversations()
        .delete_conversation(&a, id, p.scope.unwrap_or(DeleteScope::ForMe))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Current participants.
#[utoipa::path(get, path = "/conversations/{id}/participants", tag = "chat",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = [ParticipantView]), (status = 403), (status = 404)))]
async fn participants(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): Id,
) -> Result<Json<Vec<ParticipantView>>, AppError> {
    Ok(Json(
        s.domain.conversations().list_participants(&a, id).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
struct AddParticipants {
    user_ids: Vec<Uuid>,
}

/// Add users (same tenant) to a group or channel.
#[utoipa::path(post, path = "/conversations/{id}/participants", tag = "chat",
    params(("id" = Uuid, Path)), request_body = AddParticipants, security(("bearer" = [])),
    responses((status = 200, body = [ParticipantView]), (status = 400), (status = 403), (status = 404)))]
async fn add_participants(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): Id,
    ApiJson(p): ApiJson<AddParticipants>,
) -> Result<Json<Vec<ParticipantView>>, AppError> {
    Ok(Json(
        s.domain
            .conversations()
            .add_participants(&a, id, p.user_ids)
            .await?,
    ))
}

/// Remove a participant (owners/admins), or leave (your own id).
#[utoipa::path(delete, path = "/conversations/{id}/participants/{user_id}", tag = "chat",
    params(("id" = Uuid, Path), ("user_id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403), (status = 404)))]
async fn remove_participant(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath((id, user_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, AppError> {
    s.domain
        .conversations()
        .remove_participant(&a, id, user_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema, Default)]
struct ReadInput {
    /// Read up to this seq (default: the latest); never moves backwards.
    seq: Option<i64>,
}

/// Move the caller's read marker.
#[utoipa::path(post, path = "/conversations/{id}/read", tag = "chat", params(("id" = Uuid, Path)),
    request_body = ReadInput, security(("bearer" = [])),
    responses((status = 200, body = ReadReceipt), (status = 403), (status = 404)))]
async fn read(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): Id,
    ApiJson(p): ApiJson<ReadInput>,
) -> Result<Json<ReadReceipt>, AppError> {
    Ok(Json(
        s.domain.conversations().mark_read(&a, id, p.seq).await?,
    ))
}

/// Tell the other participants the caller is typing.
#[utoipa::path(post, path = "/conversations/{id}/typing", tag = "chat", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 204), (status = 403), (status = 404)))]
async fn typing(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): Id,
) -> Result<StatusCode, AppError> {
    s.domain.conversations().typing(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

macro_rules! flag_route {
    ($name:ident, $method:ident, $path:literal, $flag:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path($method, path = $path, tag = "chat", params(("id" = Uuid, Path)),
            security(("bearer" = [])),
            responses((status = 200, body = ParticipantFlags), (status = 403), (status = 404)))]
        async fn $name(
            State(s): State<AppState>,
            AuthUser(a): AuthUser,
            ApiPath(id): Id,
        ) -> Result<Json<ParticipantFlags>, AppError> {
            Ok(Json(s.domain.conversations().set_flag(&a, id, $flag).await?))
        }
    };
}
// 003 documents `POST …/mute` + `DELETE …/mute` and the same pair for archive; the
// `POST …/unmute` and `POST …/unarchive` spellings stay as aliases.
flag_route!(
    mute,
    post,
    "/conversations/{id}/mute",
    Flag::Muted(true),
    "Mute notifications."
);
flag_route!(
    unmute,
    delete,
    "/conversations/{id}/mute",
    Flag::Muted(false),
    "Unmute."
);
flag_route!(
    unmute_alias,
    post,
    "/conversations/{id}/unmute",
    Flag::Muted(false),
    "Unmute (alias of `DELETE …/mute`)."
);
flag_route!(
    archive,
    post,
    "/conversations/{id}/archive",
    Flag::Archived(true),
    "Archive for the caller."
);
flag_route!(
    unarchive,
    delete,
    "/conversations/{id}/archive",
    Flag::Archived(false),
    "Unarchive."
);
flag_route!(
    unarchive_alias,
    post,
    "/conversations/{id}/unarchive",
    Flag::Archived(false),
    "Unarchive (alias of `DELETE …/archive`)."
);
