//! What makes a notification out of a new message: a mention of the user, or a direct
//! message or a reply to the user's message while the user has no live connection
//! (someone connected sees it arrive). One notification per user and message; a
//! mention wins over the other reasons.

use entity::{conversations, messages};
use sea_orm::EntityTrait;
use uuid::Uuid;

use super::{Category, NewNotification};
use crate::domain::views::MessageView;
use crate::domain::{Actor, Domain};
use crate::error::AppResult;
use entity::enums::ConversationKind;

/// The preview of a message in a notification body.
const PREVIEW_CHARS: usize = 140;

impl Domain {
    /// Notifies who a freshly stored message concerns. Called after it is published;
    /// a failure here is logged, never undoes the send.
    pub(crate) async fn notify_new_message(
        &self,
        actor: &Actor,
        conv: &conversations::Model,
        message: &MessageView,
    ) {
        if let Err(e) = self.message_notifications(actor, conv, message).await {
            e.log_hidden("notifications for a new message");
        }
    }

    async fn message_notifications(
        &self,
        actor: &Actor,
        conv: &conversations::Model,
        message: &MessageView,
    ) -> AppResult<()> {
        let sender = self.user(actor.user_id).await?;
        let mut notes: Vec<NewNotification> = Vec::new();
        let mut add = |user: Uuid, category: Category, title: String| {
            if user != actor.user_id && !notes.iter().any(|n| n.user_id == user) {
                notes.push(NewNotification {
                    user_id: user,
                    category,
                    title,
                    body: Some(message.content.chars().take(PREVIEW_CHARS).collect()),
                    data: serde_json::json!({
                        "conversation_id": conv.id,
                        "message_id": message.id,
                        "sender_id": actor.user_id,
                    }),
                });
            }
        };
        let mentioned: Vec<Uuid> =
            serde_json::from_value(message.mentions.clone()).unwrap_or_default();
        for user in mentioned {
            add(
                user,
                Category::Mention,
                format!("{} mentioned you", sender.display_name),
            );
        }
        if conv.kind == ConversationKind::Direct
            && let Some(receiver) = message.receiver_id
            && !self.has_live_connection(receiver).await?
        {
            add(
                receiver,
                Category::Message,
                format!("New message from {}", sender.display_name),
            );
        }
        if let Some(original) = message.reply_to_id
            && let Some(original) = messages::Entity::find_by_id(original).one(&self.db).await?
            && !self.has_live_connection(original.sender_id).await?
        {
            add(
                original.sender_id,
                Category::Message,
                format!("{} replied to your message", sender.display_name),
            );
        }
        self.notify(conv.tenant_id, notes).await
    }
}
