//! What makes a notification out of a new message: a mention of the user, or a direct
//! message or a reply to the user's message while the user has no live connection
//! (someone connected sees it arrive). One notification per user and message; a
//! mention wins over the other reasons.

use entity::{conversations, messages};
use sea_orm::{DatabaseTransaction, EntityTrait};
use uuid::Uuid;

use super::Notifications;
use super::{Category, NewNotification, NotesWritten};
use crate::domain::Actor;
use crate::error::AppResult;
use entity::enums::ConversationKind;

/// The notifications a new message makes, planned before it is stored: the message
/// writer stores them in the message's own transaction with [`MessageNotes::write`],
/// so a message and its notifications commit together (one typed step of the write).
pub(crate) struct MessageNotes {
    notifications: Notifications,
    tenant_id: Uuid,
    notes: Vec<NewNotification>,
}

impl MessageNotes {
    /// Stores the inbox rows and push outbox rows inside `txn` (again, if a failed
    /// batch is written row by row: nothing of the failed one was kept).
    pub(crate) async fn write(&self, txn: &DatabaseTransaction) -> AppResult<NotesWritten> {
        self.notifications
            .write_notes(txn, self.tenant_id, &self.notes)
            .await
    }
}

/// The preview of a message in a notification body.
const PREVIEW_CHARS: usize = 140;

impl Notifications {
    /// The notifications a message about to be stored makes (read before the write:
    /// who is connected, whom it replies to, the sender's name). Empty for most
    /// messages. A failure here is logged and notifies nobody, never stops the send.
    pub(crate) async fn plan_message_notes(
        &self,
        actor: &Actor,
        conv: &conversations::Model,
        message: &messages::Model,
        receiver: Option<Uuid>,
    ) -> Option<MessageNotes> {
        let notes = match self.message_notes(actor, conv, message, receiver).await {
            Ok(notes) => notes,
            Err(e) => {
                e.log_hidden("notifications for a new message");
                Vec::new()
            }
        };
        (!notes.is_empty()).then(|| MessageNotes {
            notifications: self.clone(),
            tenant_id: conv.tenant_id,
            notes,
        })
    }

    async fn message_notes(
        &self,
        actor: &Actor,
        conv: &conversations::Model,
        message: &messages::Model,
        receiver: Option<Uuid>,
    ) -> AppResult<Vec<NewNotification>> {
        let mut whom: Vec<(Uuid, Category, &str)> = Vec::new();
        let mut add = |user: Uuid, category: Category, why: &'static str| {
            if user != actor.user_id && !whom.iter().any(|(u, _, _)| *u == user) {
                whom.push((user, category, why));
            }
        };
        let mentioned: Vec<Uuid> =
            serde_json::from_value(message.mentions.clone()).unwrap_or_default();
        for user in mentioned {
            add(user, Category::Mention, "{} mentioned you");
        }
        if conv.kind == ConversationKind::Direct
            && let Some(receiver) = receiver
            && !self.presence.has_live_connection(receiver).await?
        {
            add(receiver, Category::Message, "New message from {}");
        }
        if let Some(original) = message.reply_to_id
            && let Some(original) = messages::Entity::find_by_id(original).one(&self.db).await?
            && !self
                .presence
                .has_live_connection(original.sender_id)
                .await?
        {
            add(
                original.sender_id,
                Category::Message,
                "{} replied to your message",
            );
        }
        if whom.is_empty() {
            return Ok(Vec::new());
        }
        let sender = entity::users::Entity::find_by_id(actor.user_id)
            .one(&self.db)
            .await?
            .ok_or(crate::error::AppError::NotFound("user"))?
            .display_name;
        let body: String = message.content.chars().take(PREVIEW_CHARS).collect();
        Ok(whom
            .into_iter()
            .map(|(user_id, category, why)| NewNotification {
                user_id,
                category,
                title: why.replacen("{}", &sender, 1),
                body: Some(body.clone()),
                data: serde_json::json!({
                    "conversation_id": conv.id,
                    "message_id": message.id,
                    "sender_id": actor.user_id,
                }),
                conversation_id: Some(conv.id),
                urgent: false,
            })
            .collect())
    }
}
