//! Sending a message: the sender's checks (access, channel roles, blocks, mentions,
//! replies, attachments, sanitised html), a gapless per-conversation `seq` through
//! the group-commit writer, and an idempotent `client_msg_id` resend.

use entity::enums::{ConversationKind, ParticipantRole};
use entity::{conversations, messages};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::Messages;
use super::conversations::direct_receiver;
use super::message_writer::{self, Stored};
use crate::domain::events::Payload;
use crate::domain::views::MessageView;
use crate::domain::{Actor, limits, now, validate};
use crate::error::{AppError, AppResult};
use crate::realtime::{Audience, RealtimeEvent};

/// What a client asks to post.
#[derive(Debug, Default, Clone)]
pub struct NewMessage {
    pub conversation_id: Uuid,
    pub content: Option<String>,
    pub html: Option<String>,
    pub client_msg_id: Option<String>,
    pub reply_to_id: Option<Uuid>,
    pub mention_user_ids: Vec<Uuid>,
    pub attachment_ids: Vec<Uuid>,
    /// Set only by `forward_message`, which has checked that the caller can read that
    /// message: the new one carries its files.
    pub forwarded_from_id: Option<Uuid>,
}

/// The stored message, and whether it was already there (an idempotent resend).
#[derive(Debug, Clone)]
pub struct Sent {
    pub message: MessageView,
    pub duplicate: bool,
}

impl Messages {
    /// Checks a message text: not blank, at most `max_message_length` characters.
    pub(crate) fn message_text(&self, content: &str) -> AppResult<String> {
        validate::printable("content", content)?;
        if content.trim().is_empty() {
            return Err(AppError::validation("content", "must not be empty"));
        }
        let max = self.limits.max_message_length;
        if content.chars().count() > max {
            return Err(AppError::validation(
                "content",
                format!("must be at most {max} characters"),
            ));
        }
        Ok(content.to_string())
    }

    /// Checks and sanitises a message's rich-text body: no control characters, at
    /// most `limits::HTML_FACTOR` times the text limit, then cleaned with ammonia.
    pub(crate) fn message_html(&self, html: Option<String>) -> AppResult<Option<String>> {
        let Some(html) = html else { return Ok(None) };
        validate::printable("html", &html)?;
        let max = self.limits.max_message_length * limits::HTML_FACTOR;
        if html.chars().count() > max {
            return Err(AppError::validation(
                "html",
                format!("must be at most {max} characters"),
            ));
        }
        Ok(Some(ammonia::clean(&html)))
    }

    /// Stores a message with the next `seq` of its conversation (assigned in the same
    /// transaction as the insert) and tells every participant's devices after commit.
    pub async fn send_message(&self, actor: &Actor, input: NewMessage) -> AppResult<Sent> {
        let content = input.content.unwrap_or_default();
        let may_be_blank = !input.attachment_ids.is_empty() || input.forwarded_from_id.is_some();
        let content = if content.trim().is_empty() && may_be_blank {
            String::new()
        } else {
            self.message_text(&content)?
        };
        let html = self.message_html(input.html)?;
        let client_msg_id = match input.client_msg_id.as_deref() {
            Some(id) => Some(validate::text("client_msg_id", id, limits::CLIENT_MSG_ID)?),
            None => None,
        };
        let (conv, part, participants) = self
            .access
            .access_with_members(actor, input.conversation_id)
            .await?;
        if conv.kind == ConversationKind::Channel && part.role == ParticipantRole::Member {
            return Err(AppError::Forbidden(
                "only channel owners and admins may post".into(),
            ));
        }
        if let Some(cid) = &client_msg_id
            && let Some(sent) = self.resend_of(actor, &conv, cid).await?
        {
            return Ok(sent);
        }
        let files = self
            .media
            .files_for_new_message(
                actor,
                conv.id,
                &input.attachment_ids,
                input.forwarded_from_id,
            )
            .await?;
        if content.is_empty() && files.is_empty() {
            return Err(AppError::validation("content", "must not be empty"));
        }
        if conv.kind == ConversationKind::Direct
            && let Some(other) = participants.iter().find(|u| **u != actor.user_id)
        {
            self.access
                .ensure_not_blocked(actor.user_id, *other)
                .await?;
        }
        if let Some(reply) = input.reply_to_id {
            let ok = messages::Entity::find_by_id(reply)
                .filter(messages::Column::ConversationId.eq(conv.id))
                .one(&self.db)
                .await?
                .is_some();
            if !ok {
                return Err(AppError::validation(
                    "reply_to_id",
                    "must be a message of this conversation",
                ));
            }
        }
        if input.mention_user_ids.len() > limits::MAX_MENTIONS {
            return Err(AppError::validation(
                "mention_user_ids",
                format!("at most {} mentions", limits::MAX_MENTIONS),
            ));
        }
        if let Some(u) = input
            .mention_user_ids
            .iter()
            .find(|u| !participants.contains(u))
        {
            return Err(AppError::validation(
                "mention_user_ids",
                format!("{u} cannot access this conversation"),
            ));
        }

        let message = messages::Model {
            id: Uuid::now_v7(),
            conversation_id: conv.id,
            seq: 0,
            sender_id: actor.user_id,
            client_msg_id: client_msg_id.clone(),
            content,
            html,
            reply_to_id: input.reply_to_id,
            forwarded_from_id: input.forwarded_from_id,
            mentions: serde_json::json!(input.mention_user_ids),
            created_at: now(),
            edited_at: None,
            deleted_at: None,
        };
        let receiver = direct_receiver(&conv, &participants, actor.user_id);
        let notes = self
            .notifications
            .plan_message_notes(actor, &conv, &message, receiver)
            .await;
        let row = message_writer::Row {
            message,
            sender_part_id: part.id,
            files: files.iter().map(|f| f.id).collect(),
            notes,
        };
        let (message, notes) = match self.writer.store(row).await? {
            Stored::Inserted(m, notes) => (*m, notes),
            Stored::Duplicate => {
                // The same client_msg_id committed concurrently: hand back that one.
                let cid = client_msg_id.ok_or(AppError::NotFound("message"))?;
                return self
                    .resend_of(actor, &conv, &cid)
                    .await?
                    .ok_or(AppError::NotFound("message"));
            }
            Stored::NoConversation => return Err(AppError::NotFound("conversation")),
        };

        let mut view = MessageView::from_model(message, receiver);
        view.attachments = self.media.media_views(files).await?;
        self.hub
            .publish(
                RealtimeEvent::new(Payload::NewMessage(view.clone()))
                    .actor(actor.user_id)
                    .conversation(conv.id)
                    .entity("message", view.id),
                Audience::users(participants).with_conversation(conv.id),
            )
            .await;
        if let Some(notes) = notes
            && let Err(e) = self.notifications.announce_notes(notes).await
        {
            e.log_hidden("announcing a new message's notifications");
        }
        Ok(Sent {
            message: view,
            duplicate: false,
        })
    }

    /// If the caller already stored a message under `cid`, that message back as a
    /// resend (nothing new stored); a `cid` used in another conversation conflicts.
    async fn resend_of(
        &self,
        actor: &Actor,
        conv: &conversations::Model,
        cid: &str,
    ) -> AppResult<Option<Sent>> {
        let Some(existing) = messages::Entity::find()
            .filter(messages::Column::SenderId.eq(actor.user_id))
            .filter(messages::Column::ClientMsgId.eq(cid))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        if existing.conversation_id != conv.id {
            return Err(AppError::Conflict(
                "client_msg_id already used for another conversation".into(),
            ));
        }
        let participants = self.access.participant_ids(conv.id).await?;
        let receiver = direct_receiver(conv, &participants, actor.user_id);
        let mut views = [MessageView::from_model(existing, receiver)];
        self.media.fill_attachments(&mut views).await?;
        let [message] = views;
        Ok(Some(Sent {
            message,
            duplicate: true,
        }))
    }
}
