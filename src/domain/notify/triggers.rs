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
        // Who, and why, first: most messages notify nobody, and then nothing more is
        // read (this runs on every send).
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
            && let Some(receiver) = message.receiver_id
            && !self.has_live_connection(receiver).await?
        {
            add(receiver, Category::Message, "New message from {}");
        }
        if let Some(original) = message.reply_to_id
            && let Some(original) = messages::Entity::find_by_id(original).one(&self.db).await?
            && !self.has_live_connection(original.sender_id).await?
        {
            add(
                original.sender_id,
                Category::Message,
                "{} replied to your message",
            );
        }
        if whom.is_empty() {
            return Ok(());
        }
        let sender = self.user(actor.user_id).await?.display_name;
        let body: String = message.content.chars().take(PREVIEW_CHARS).collect();
        let notes = whom
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
            .collect();
        self.notify(conv.tenant_id, notes).await
    }
}
