//! `/api/v1/chat/*`: the richer chat client's surface: conversation management,
//! seq-based history and sync, edits, deletes, reactions, forwarding, search, the
//! user directory and blocks.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use super::messages::{PostMessage, created_or_existing};
use crate::domain::directory::{BlockView, DirectoryUser};
use crate::domain::manage::{ConversationPatch, DeleteScope, Flag, ParticipantFlags, UnreadEntry};
use crate::domain::message_ops::{ReactionChange, SyncInput, SyncResult};
use crate::domain::messages::HistoryQuery;
use crate::domain::search::SearchQuery;
use crate::domain::views::{ChatView, MessagePage, MessageView, ParticipantView, ReadReceipt};
use crate::error::AppError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            super::messages::list_conversations,
            super::messages::create_conversation
        ))
        .routes(routes!(unread))
        .routes(routes!(
            super::messages::get_conversation,
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
        .routes(routes!(history))
        .routes(routes!(send))
        .routes(routes!(sync))
        .routes(routes!(forward))
        .routes(routes!(search))
        .routes(routes!(edit, delete_message))
        .routes(routes!(react))
        .routes(routes!(users))
        .routes(routes!(search_users))
        .routes(routes!(agents))
        .routes(routes!(block, unblock))
        .routes(routes!(blocks))
}

type Id = ApiPath<Uuid>;

/// Unread counts per conversation (only those with unread messages).
#[utoipa::path(get, path = "/conversations/unread", tag = "chat", security(("bearer" = [])),
    responses((status = 200, body = [UnreadEntry])))]
async fn unread(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
) -> Result<Json<Vec<UnreadEntry>>, AppError> {
    Ok(Json(s.domain.unread_by_conversation(&a).await?))
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
    Ok(Json(s.domain.update_conversation(&a, id, p).await?))
}

#[derive(Deserialize, IntoParams)]
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
    Ok(Json(s.domain.list_participants(&a, id).await?))
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
    Ok(Json(s.domain.add_participants(&a, id, p.user_ids).await?))
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
    s.domain.remove_participant(&a, id, user_id).await?;
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
    Ok(Json(s.domain.mark_read(&a, id, p.seq).await?))
}

/// Tell the other participants the caller is typing.
#[utoipa::path(post, path = "/conversations/{id}/typing", tag = "chat", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 204), (status = 403), (status = 404)))]
async fn typing(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): Id,
) -> Result<StatusCode, AppError> {
    s.domain.typing(&a, id).await?;
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
            Ok(Json(s.domain.set_flag(&a, id, $flag).await?))
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

#[derive(Deserialize, IntoParams)]
struct SeqParams {
    before_seq: Option<i64>,
    after_seq: Option<i64>,
    /// 1–100, default 50
    limit: Option<u64>,
}

/// History by seq, oldest first.
#[utoipa::path(get, path = "/conversations/{id}/messages", tag = "chat",
    params(("id" = Uuid, Path), SeqParams), security(("bearer" = [])),
    responses((status = 200, body = MessagePage), (status = 403), (status = 404)))]
async fn history(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): Id,
    ApiQuery(p): ApiQuery<SeqParams>,
) -> Result<Json<MessagePage>, AppError> {
    let q = HistoryQuery {
        before_seq: p.before_seq,
        after_seq: p.after_seq,
        limit: p.limit,
    };
    Ok(Json(s.domain.list_messages(&a, id, q).await?))
}

#[derive(Deserialize, ToSchema)]
struct SendInput {
    conversation_id: Uuid,
    #[serde(flatten)]
    body: PostMessage,
}

/// Send a message (201; 200 with the stored one for a repeated `client_msg_id`).
#[utoipa::path(post, path = "/messages/send", tag = "chat", request_body = SendInput,
    security(("bearer" = [])),
    responses((status = 201, body = MessageView), (status = 200, body = MessageView),
        (status = 400), (status = 403), (status = 404)))]
async fn send(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiJson(p): ApiJson<SendInput>,
) -> Result<(StatusCode, Json<MessageView>), AppError> {
    let sent = s
        .domain
        .send_message(&a, p.body.into_new(p.conversation_id))
        .await?;
    Ok(created_or_existing(sent))
}

/// What devices missed: messages after each `last_seq`, edits and deletions since `since`.
#[utoipa::path(post, path = "/messages/sync", tag = "chat", request_body = SyncInput,
    security(("bearer" = [])), responses((status = 200, body = SyncResult), (status = 403), (status = 404)))]
async fn sync(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiJson(p): ApiJson<SyncInput>,
) -> Result<Json<SyncResult>, AppError> {
    Ok(Json(s.domain.sync(&a, p).await?))
}

#[derive(Deserialize, ToSchema)]
struct ForwardInput {
    message_id: Uuid,
    conversation_ids: Vec<Uuid>,
}

/// Copy a message into other conversations.
#[utoipa::path(post, path = "/messages/forward", tag = "chat", request_body = ForwardInput,
    security(("bearer" = [])),
    responses((status = 201, body = [MessageView]), (status = 403), (status = 404)))]
async fn forward(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiJson(p): ApiJson<ForwardInput>,
) -> Result<(StatusCode, Json<Vec<MessageView>>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.domain
                .forward_message(&a, p.message_id, p.conversation_ids)
                .await?,
        ),
    ))
}

/// Full-text search over the conversations the caller can read.
#[utoipa::path(get, path = "/messages/search", tag = "chat", params(SearchQuery),
    security(("bearer" = [])), responses((status = 200, body = [MessageView]), (status = 400)))]
async fn search(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<Vec<MessageView>>, AppError> {
    Ok(Json(s.domain.search_messages(&a, q).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EditInput {
    content: String,
    html: Option<String>,
}

/// Edit a message (sender only).
#[utoipa::path(patch, path = "/messages/{id}", tag = "chat", params(("id" = Uuid, Path)),
    request_body = EditInput, security(("bearer" = [])),
    responses((status = 200, body = MessageView), (status = 403), (status = 404), (status = 409)))]
async fn edit(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): Id,
    ApiJson(p): ApiJson<EditInput>,
) -> Result<Json<MessageView>, AppError> {
    Ok(Json(
        s.domain.edit_message(&a, id, p.content, p.html).await?,
    ))
}

/// Delete a message (sender, or conversation owner/admin); a tombstone remains.
#[utoipa::path(delete, path = "/messages/{id}", tag = "chat", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, body = MessageView), (status = 403), (status = 404)))]
async fn delete_message(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): Id,
) -> Result<Json<MessageView>, AppError> {
    Ok(Json(s.domain.delete_message(&a, id).await?))
}

#[derive(Deserialize, ToSchema)]
struct ReactInput {
    emoji: String,
}

/// Toggle the caller's reaction.
#[utoipa::path(post, path = "/messages/{id}/reactions", tag = "chat", params(("id" = Uuid, Path)),
    request_body = ReactInput, security(("bearer" = [])),
    responses((status = 200, body = ReactionChange), (status = 403), (status = 404)))]
async fn react(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): Id,
    ApiJson(p): ApiJson<ReactInput>,
) -> Result<Json<ReactionChange>, AppError> {
    Ok(Json(s.domain.toggle_reaction(&a, id, &p.emoji).await?))
}

#[derive(Deserialize, IntoParams)]
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
    Ok(Json(s.domain.directory(&a, Some(q), false, p.limit).await?))
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
    Ok(Json(s.domain.block(&a, id).await?))
}

/// Unblock a user.
#[utoipa::path(delete, path = "/users/{id}/block", tag = "chat", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200), (status = 404)))]
async fn unblock(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): Id,
) -> Result<Json<Value>, AppError> {
    s.domain.unblock(&a, id).await?;
    Ok(Json(json!({"user_id": id, "blocked": false})))
}

/// Users the caller has blocked.
#[utoipa::path(get, path = "/blocks", tag = "chat", security(("bearer" = [])),
    responses((status = 200, body = [BlockView])))]
async fn blocks(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
) -> Result<Json<Vec<BlockView>>, AppError> {
    Ok(Json(s.domain.list_blocks(&a).await?))
}
