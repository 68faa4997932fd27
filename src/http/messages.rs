//! `/api/v1/messages/*`: the HR app's messaging surface (conversations, time-cursor
//! history, posting with mentions/replies/attachments/sanitised html, unread counts).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use crate::domain::chat::conversation_admin::CreateConversation;
use crate::domain::chat::conversations::ChatQuery;
use crate::domain::chat::messages::{NewMessage, Sent};
use crate::domain::chat::unread::UnreadTotals;
use crate::domain::views::{ChatView, MessageView};
use crate::error::AppError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_conversations, create_conversation))
        .routes(routes!(get_conversation))
        .routes(routes!(list_messages, post_message))
        .routes(routes!(unread_count))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// direct | group | channel | …
    #[serde(rename = "type")]
    #[param(value_type = Option<String>)]
    pub kind: Option<entity::enums::ConversationKind>,
    pub search: Option<String>,
    pub unread_only: Option<bool>,
    /// 1–100, default 50
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

impl From<ListParams> for ChatQuery {
    fn from(p: ListParams) -> Self {
        ChatQuery {
            kind: p.kind,
            search: p.search,
            unread_only: p.unread_only.unwrap_or(false),
            limit: p.limit,
            offset: p.offset,
        }
    }
}

/// The caller's conversations, most recently active first: an array (000: "Array of
/// ConversationRead objects"); paging stays in the query string.
#[utoipa::path(get, path = "/conversations", tag = "messages", params(ListParams),
    security(("bearer" = [])), responses((status = 200, body = [ChatView]), (status = 400)))]
pub async fn list_conversations(
    State(s): State<AppState>,
    AuthUser(actor): AuthUser,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<Vec<ChatView>>, AppError> {
    Ok(Json(
        s.domain
            .conversations()
            .list_chats(&actor, p.into())
            .await?,
    ))
}

/// Create a conversation; a direct one with the same pair returns the existing one (200).
#[utoipa::path(post, path = "/conversations", tag = "messages", request_body = CreateConversation,
    security(("bearer" = [])),
    responses((status = 201, body = ChatView), (status = 200, body = ChatView), (status = 400)))]
pub async fn create_conversation(
    State(s): State<AppState>,
    AuthUser(actor): AuthUser,
    ApiJson(input): ApiJson<CreateConversation>,
) -> Result<(StatusCode, Json<ChatView>), AppError> {
    let (chat, created) = s
        .domain
        .conversations()
        .create_conversation(&actor, input)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(chat)))
}

/// One conversation.
#[utoipa::path(get, path = "/conversations/{id}", tag = "messages", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = ChatView), (status = 403), (status = 404)))]
pub async fn get_conversation(
    State(s): State<AppState>,
    AuthUser(actor): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ChatView>, AppError> {
    Ok(Json(s.domain.conversations().chat_view(&actor, id).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// 1–100, default 50
    pub limit: Option<u64>,
    /// Only messages created before this instant (ISO-8601).
    pub before: Option<DateTime<Utc>>,
}

/// Messages, oldest first, as an array; marks them delivered to the caller. Page
/// backwards with `before` = the oldest `created_at` received.
#[utoipa::path(get, path = "/conversations/{id}/messages", tag = "messages",
    params(("id" = Uuid, Path), HistoryParams), security(("bearer" = [])),
    responses((status = 200, body = [MessageView]), (status = 403), (status = 404)))]
pub async fn list_messages(
    State(s): State<AppState>,
    AuthUser(actor): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(p): ApiQuery<HistoryParams>,
) -> Result<Json<Vec<MessageView>>, AppError> {
    let page = s
        .domain
        .messages()
        .messages_before(&actor, id, p.before, p.limit)
        .await?;
    Ok(Json(page.messages))
}

#[derive(Deserialize, ToSchema)]
pub struct PostMessage {
    /// Required unless there are attachments.
    pub content: Option<String>,
    /// Sanitised server-side.
    pub html: Option<String>,
    #[serde(default)]
    pub mention_user_ids: Vec<Uuid>,
    pub reply_to_id: Option<Uuid>,
    #[serde(default)]
    pub attachment_ids: Vec<Uuid>,
    pub client_msg_id: Option<String>,
}

/// Post a message (201; 200 with the stored one when `client_msg_id` was already used).
#[utoipa::path(post, path = "/conversations/{id}/messages", tag = "messages",
    params(("id" = Uuid, Path)), request_body = PostMessage, security(("bearer" = [])),
    responses((status = 201, body = MessageView), (status = 200, body = MessageView),
        (status = 400), (status = 403), (status = 404)))]
pub async fn post_message(
    State(s): State<AppState>,
    AuthUser(actor): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(p): ApiJson<PostMessage>,
) -> Result<(StatusCode, Json<MessageView>), AppError> {
    let sent = s
        .domain
        .messages()
        .send_message(&actor, p.into_new(id))
        .await?;
    Ok(created_or_existing(sent))
}

impl PostMessage {
    /// The domain request for posting this body to `conversation_id`.
    pub fn into_new(self, conversation_id: Uuid) -> NewMessage {
        NewMessage {
            conversation_id,
            content: self.content,
            html: self.html,
            client_msg_id: self.client_msg_id,
            reply_to_id: self.reply_to_id,
            mention_user_ids: self.mention_user_ids,
            attachment_ids: self.attachment_ids,
            forwarded_from_id: None,
        }
    }
}

/// 201 for a new message, 200 with the stored one for a repeated `client_msg_id`.
pub fn created_or_existing(sent: Sent) -> (StatusCode, Json<MessageView>) {
    let status = if sent.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    (status, Json(sent.message))
}

/// Conversations with unread messages, unread messages, unread mentions of the caller.
#[utoipa::path(get, path = "/unread-count", tag = "messages", security(("bearer" = [])),
    responses((status = 200, body = UnreadTotals)))]
pub async fn unread_count(
    State(s): State<AppState>,
    AuthUser(actor): AuthUser,
) -> Result<Json<UnreadTotals>, AppError> {
    Ok(Json(s.domain.conversations().unread_totals(&actor).await?))
}
