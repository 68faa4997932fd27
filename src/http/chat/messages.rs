//! `/chat/messages/*` and a conversation's history by seq: send, sync, forward,
//! full-text search, edit, delete, reactions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::Id;
use crate::app::AppState;
use crate::domain::chat::history::HistoryQuery;
use crate::domain::chat::message_edits::ReactionChange;
use crate::domain::chat::search::SearchQuery;
use crate::domain::chat::sync::{SyncInput, SyncResult};
use crate::domain::views::{MessagePage, MessageView};
use crate::error::AppError;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use crate::http::messages::{PostMessage, created_or_existing};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(history))
        .routes(routes!(send))
        .routes(routes!(sync))
        .routes(routes!(forward))
        .routes(routes!(search))
        .routes(routes!(edit, delete_message))
        .routes(routes!(react))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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
    Ok(Json(s.domain.messages().list_messages(&a, id, q).await?))
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
        .messages()
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
    Ok(Json(s.domain.messages().sync(&a, p).await?))
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
                .messages()
                .forward_message(&a, p.message_id, p.conversation_ids)
                .await?,
        ),
    ))
}

/// Full-text search over the conversations the caller can read.
#[utoipa::path(get, path = "/messages/search", tag = "chat", params(SearchQuery),
    security(("bearer" = [])), responses((status = 200, body = [MessageView]), (status = 400),
        (status = 403, description = "`conversation_id` names a conversation the caller is not in"),
        (status = 404, description = "`conversation_id` names no conversation of the tenant")))]
async fn search(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<Vec<MessageView>>, AppError> {
    Ok(Json(s.domain.messages().search_messages(&a, q).await?))
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
        s.domain
            .messages()
            .edit_message(&a, id, p.content, p.html)
            .await?,
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
    Ok(Json(s.domain.messages().delete_message(&a, id).await?))
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
    Ok(Json(
        s.domain
            .messages()
            .toggle_reaction(&a, id, &p.emoji)
            .await?,
    ))
}
