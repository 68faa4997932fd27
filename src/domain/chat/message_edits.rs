//! Changes to existing messages: edit, soft delete (a tombstone stays), reaction
//! toggle, forward into other conversations; each published after it commits.

use std::collections::HashMap;

use entity::{
    conversation_participants as cp, conversations, message_reactions as reactions, messages,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Messages;
use super::messages::NewMessage;
use crate::domain::events::Payload;
use crate::domain::unique::is_unique_violation;
use crate::domain::views::MessageView;
use crate::domain::{Actor, limits, now, validate};
use crate::error::{AppError, AppResult};
use crate::realtime::{Audience, RealtimeEvent};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReactionChange {
    pub message_id: Uuid,
    pub conversation_id: Uuid,
    pub user_id: Uuid,
    pub emoji: String,
    /// True when the reaction was added, false when removed.
    pub added: bool,
    /// Count per emoji after the change.
    pub counts: HashMap<String, u64>,
}

impl Messages {
    /// A message the caller can see, with its conversation.
    pub(crate) async fn visible_message(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> AppResult<(messages::Model, conversations::Model, cp::Model)> {
        let msg = messages::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("message"))?;
        let (conv, part) = self
            .access
            .check(actor, msg.conversation_id)
            .await
            .map_err(|e| match e {
                // Never reveal another tenant's message: both are plain 404s.
                AppError::NotFound(_) => AppError::NotFound("message"),
                other => other,
            })?;
        if msg.seq <= part.cleared_before_seq {
            return Err(AppError::NotFound("message"));
        }
        Ok((msg, conv, part))
    }

    pub(crate) async fn message_view(
        &self,
        conv: &conversations::Model,
        m: messages::Model,
    ) -> AppResult<MessageView> {
        let mut views = self.views(conv, vec![m]).await?;
        views.pop().ok_or(AppError::NotFound("message"))
    }

    /// The sender changes the text of a live message.
    pub async fn edit_message(
        &self,
        actor: &Actor,
        id: Uuid,
        content: String,
        html: Option<String>,
    ) -> AppResult<MessageView> {
        let (msg, conv, _) = self.visible_message(actor, id).await?;
        if msg.sender_id != actor.user_id {
            return Err(AppError::Forbidden(
                "only the sender may edit a message".into(),
            ));
        }
        if msg.deleted_at.is_some() {
            return Err(AppError::Conflict("message was deleted".into()));
        }
        let content = self.message_text(&content)?;
        let html = self.message_html(html)?;
        let mut am: messages::ActiveModel = msg.into();
        am.content = Set(content);
        am.html = Set(html);
        am.edited_at = Set(Some(now()));
        let msg = am.update(&self.db).await?;
        let view = self.message_view(&conv, msg).await?;
        self.publish_message(actor, Payload::MessageUpdated, &view)
            .await?;
        Ok(view)
    }

    /// Soft-deletes: the row stays as a tombstone so syncing devices learn of it.
    /// The sender, or an owner/admin of the conversation, may delete.
    pub async fn delete_message(&self, actor: &Actor, id: Uuid) -> AppResult<MessageView> {
        let (msg, conv, part) = self.visible_message(actor, id).await?;
        if msg.sender_id != actor.user_id && part.role == entity::enums::ParticipantRole::Member {
            return Err(AppError::Forbidden(
                "only the sender or a conversation admin may delete".into(),
            ));
        }
        if msg.deleted_at.is_some() {
            return self.message_view(&conv, msg).await;
        }
        let mut am: messages::ActiveModel = msg.into();
        am.deleted_at = Set(Some(now()));
        let msg = am.update(&self.db).await?;
        let view = self.message_view(&conv, msg).await?;
        self.publish_message(actor, Payload::MessageDeleted, &view)
            .await?;
        Ok(view)
    }

    /// Adds the caller's `emoji` reaction, or removes it when already there.
    pub async fn toggle_reaction(
        &self,
        actor: &Actor,
        id: Uuid,
        emoji: &str,
    ) -> AppResult<ReactionChange> {
        let emoji = validate::text("emoji", emoji, limits::EMOJI)?;
        let (msg, conv, _) = self.visible_message(actor, id).await?;
        if msg.deleted_at.is_some() {
            return Err(AppError::Conflict("message was deleted".into()));
        }
        let existing = reactions::Entity::find()
            .filter(reactions::Column::MessageId.eq(id))
            .filter(reactions::Column::UserId.eq(actor.user_id))
            .filter(reactions::Column::Emoji.eq(&emoji))
            .one(&self.db)
            .await?;
        let added = match existing {
            Some(r) => {
                reactions::Entity::delete_by_id(r.id).exec(&self.db).await?;
                false
            }
            None => {
                let inserted = reactions::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    message_id: Set(id),
                    user_id: Set(actor.user_id),
                    emoji: Set(emoji.clone()),
                    created_at: Set(now()),
                }
                .insert(&self.db)
                .await;
                match inserted {
                    Ok(_) => true,
                    // A concurrent toggle inserted it first: that one stands.
                    Err(e) if is_unique_violation(&e) => true,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let mut counts = HashMap::new();
        for r in reactions::Entity::find()
            .filter(reactions::Column::MessageId.eq(id))
            .all(&self.db)
            .await?
        {
            *counts.entry(r.emoji).or_insert(0) += 1;
        }
        let change = ReactionChange {
            message_id: id,
            conversation_id: conv.id,
            user_id: actor.user_id,
            emoji,
            added,
            counts,
        };
        self.hub
            .publish(
                RealtimeEvent::new(Payload::MessageReaction(change.clone()))
                    .actor(actor.user_id)
                    .conversation(conv.id)
                    .entity("message", id),
                Audience::users(self.access.participant_ids(conv.id).await?)
                    .with_conversation(conv.id),
            )
            .await;
        Ok(change)
    }

    /// Copies a message the caller can read into other conversations they can post to.
    pub async fn forward_message(
        &self,
        actor: &Actor,
        message_id: Uuid,
        targets: Vec<Uuid>,
    ) -> AppResult<Vec<MessageView>> {
        if targets.is_empty() || targets.len() > limits::MAX_FORWARD_TARGETS {
            return Err(AppError::validation(
                "conversation_ids",
                "give 1 to 20 conversations",
            ));
        }
        let (msg, _, _) = self.visible_message(actor, message_id).await?;
        if msg.deleted_at.is_some() {
            return Err(AppError::Conflict("message was deleted".into()));
        }
        // Check every target before writing anything.
        for t in &targets {
            self.access.check(actor, *t).await?;
        }
        let mut out = Vec::new();
        for t in targets {
            let sent = self
                .send_message(
                    actor,
                    NewMessage {
                        conversation_id: t,
                        content: Some(msg.content.clone()),
                        html: msg.html.clone(),
                        forwarded_from_id: Some(msg.id),
                        ..NewMessage::default()
                    },
                )
                .await?;
            out.push(sent.message);
        }
        Ok(out)
    }

    pub(crate) async fn publish_message(
        &self,
        actor: &Actor,
        kind: fn(MessageView) -> Payload,
        view: &MessageView,
    ) -> AppResult<()> {
        let audience = Audience::users(self.access.participant_ids(view.conversation_id).await?)
            .with_conversation(view.conversation_id);
        self.hub
            .publish(
                RealtimeEvent::new(kind(view.clone()))
                    .actor(actor.user_id)
                    .conversation(view.conversation_id)
                    .entity("message", view.id),
                audience,
            )
            .await;
        Ok(())
    }
}
