//! What domain calls return to transports: plain serialisable views of stored rows.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub avatar_url: Option<String>,
    pub phone: Option<String>,
    pub timezone: String,
    /// member | admin | hr | agent
    #[schema(value_type = String, example = "member")]
    pub role: entity::enums::UserRole,
    pub is_active: bool,
    pub external_id: Option<String>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<entity::users::Model> for UserView {
    fn from(u: entity::users::Model) -> Self {
        Self {
            id: u.id,
            tenant_id: u.tenant_id,
            email: u.email,
            display_name: u.display_name,
            avatar_url: u.avatar_url,
            phone: u.phone,
            timezone: u.timezone,
            role: u.role,
            is_active: u.is_active,
            external_id: u.external_id,
            last_seen_at: u.last_seen_at,
            created_at: u.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TenantView {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<entity::tenants::Model> for TenantView {
    fn from(t: entity::tenants::Model) -> Self {
        Self {
            id: t.id,
            name: t.name,
            created_at: t.created_at,
        }
    }
}

/// A new access token and refresh token for a signed-in user.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuthSession {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Access-token lifetime in seconds.
    pub expires_in: u64,
    pub user: UserView,
    pub tenant: TenantView,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeView {
    pub user: UserView,
    pub tenant: TenantView,
}

/// A conversation as one participant sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatView {
    pub id: Uuid,
    /// Same as `id` (the Worknation client's name for it).
    pub chat_id: Uuid,
    /// direct | group | channel | task_thread | …
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: entity::enums::ConversationKind,
    pub title: Option<String>,
    /// Same as `title` (003's clients call it the conversation's name).
    pub name: Option<String>,
    pub description: Option<String>,
    pub participants: Vec<ParticipantView>,
    pub last_message: Option<MessageView>,
    pub unread_count: i64,
    pub last_seq: i64,
    pub last_read_seq: i64,
    pub muted: bool,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ParticipantView {
    pub user_id: Uuid,
    pub display_name: String,
    pub avatar_url: Option<String>,
    /// owner | admin | member
    #[schema(value_type = String)]
    pub role: entity::enums::ParticipantRole,
    pub last_read_seq: i64,
    /// The highest seq this participant's history fetches have delivered (000).
    pub last_delivered_seq: i64,
}

/// A message; `message` and `content` carry the same text for both client families.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MessageView {
    pub id: Uuid,
    pub chat_id: Uuid,
    pub conversation_id: Uuid,
    pub seq: i64,
    pub sender_id: Uuid,
    /// The other participant, for direct conversations.
    pub receiver_id: Option<Uuid>,
    pub message: String,
    pub content: String,
    pub html: Option<String>,
    pub client_msg_id: Option<String>,
    pub reply_to_id: Option<Uuid>,
    pub forwarded_from_id: Option<Uuid>,
    #[schema(value_type = Vec<String>)]
    pub mentions: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted: bool,
    /// The files it carries, in order (none once deleted).
    pub attachments: Vec<crate::domain::media::MediaView>,
}

impl MessageView {
    pub fn from_model(m: entity::messages::Model, receiver_id: Option<Uuid>) -> Self {
        let deleted = m.deleted_at.is_some();
        let text = if deleted { String::new() } else { m.content };
        Self {
            id: m.id,
            chat_id: m.conversation_id,
            conversation_id: m.conversation_id,
            seq: m.seq,
            sender_id: m.sender_id,
            receiver_id,
            message: text.clone(),
            content: text,
            html: if deleted { None } else { m.html },
            client_msg_id: m.client_msg_id,
            reply_to_id: m.reply_to_id,
            forwarded_from_id: m.forwarded_from_id,
            mentions: m.mentions,
            created_at: m.created_at,
            edited_at: m.edited_at,
            deleted,
            attachments: Vec::new(),
        }
    }
}

/// A read marker after `seen_message` / `POST …/read`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReadReceipt {
    pub conversation_id: Uuid,
    pub chat_id: Uuid,
    pub user_id: Uuid,
    pub last_read_seq: i64,
}

/// One page of a conversation's messages, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessagePage {
    pub chat_id: Uuid,
    pub messages: Vec<MessageView>,
    pub has_more: bool,
}
