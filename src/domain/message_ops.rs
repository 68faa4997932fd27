//! Changes to existing messages (edit, soft delete, reaction toggle, forward) and
//! reading them back: sync by `last_seq` with tombstones, time-cursor history
//! (HR app) and unread totals.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    conversation_participants as cp, conversations, message_reactions as reactions, messages,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, ExprTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::messages::{NewMessage, split_page};
use super::views::{MessagePage, MessageView};
use super::{Actor, Domain, now, validate};
use crate::error::{AppError, AppResult};
use crate::realtime::{Audience, EventType, RealtimeEvent};

#[derive(Debug, Deserialize, ToSchema)]
pub struct SyncInput {
    /// Up to 100 conversations with the last seq the device holds.
    pub conversations: Vec<SyncCursor>,
    /// Server time of the previous sync: edits and deletions after it are returned.
    pub since: Option<DateTime<Utc>>,
    /// Messages per conversation (1–500, default 100).
    pub limit: Option<u64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SyncCursor {
    pub id: Uuid,
    pub last_seq: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncResult {
    pub conversations: Vec<SyncedConversation>,
    /// Pass as `since` next time.
    pub server_time: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncedConversation {
    pub id: Uuid,
    /// Messages after `last_seq`, oldest first.
    pub messages: Vec<MessageView>,
    pub has_more: bool,
    /// Already-held messages edited since `since`.
    pub updated: Vec<MessageView>,
    /// Ids of already-held messages deleted since `since`.
    pub deleted: Vec<Uuid>,
    pub last_seq: i64,
}

#[derive(Debug, Serialize, ToSchema)]
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

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadTotals {
    pub conversations: u64,
    pub messages: i64,
    pub mentions: u64,
}

impl Domain {
    /// A message the caller can see, with its conversation.
    async fn visible_message(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> AppResult<(messages::Model, conversations::Model, cp::Model)> {
        let msg = messages::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("message"))?;
        let (conv, part) = self
            .access(actor, msg.conversation_id)
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

    async fn message_view(
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
        let mut am: messages::ActiveModel = msg.into();
        am.content = Set(content);
        am.html = Set(html.map(|h| ammonia::clean(&h)));
        am.edited_at = Set(Some(now()));
        let msg = am.update(&self.db).await?;
        let view = self.message_view(&conv, msg).await?;
        self.publish_message(actor, EventType::MessageUpdated, &view)
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
        self.publish_message(actor, EventType::MessageDeleted, &view)
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
        let emoji = validate::text("emoji", emoji, 1, 16)?;
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
                    Err(e)
                        if matches!(
                            e.sql_err(),
                            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                        ) =>
                    {
                        true
                    }
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
                RealtimeEvent::new(EventType::MessageReaction, &change)
                    .actor(actor.user_id)
                    .conversation(conv.id)
                    .entity("message", id),
                Audience::users(self.participant_ids(conv.id).await?).with_conversation(conv.id),
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
        if targets.is_empty() || targets.len() > 20 {
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
            self.access(actor, *t).await?;
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

    /// What each device missed: messages after its `last_seq`, and edits/deletions
    /// of older messages since its previous sync.
    pub async fn sync(&self, actor: &Actor, input: SyncInput) -> AppResult<SyncResult> {
        let server_time = now();
        let limit = validate::page_limit(input.limit, 100, 500)?;
        if input.conversations.is_empty() || input.conversations.len() > 100 {
            return Err(AppError::validation(
                "conversations",
                "give 1 to 100 conversations",
            ));
        }
        let mut out = Vec::new();
        for cursor in input.conversations {
            if cursor.last_seq < 0 {
                return Err(AppError::validation("last_seq", "must not be negative"));
            }
            let (conv, part) = self.access(actor, cursor.id).await?;
            let floor = Ord::max(cursor.last_seq, part.cleared_before_seq);
            let (rows, has_more) = split_page(
                messages::Entity::find()
                    .filter(messages::Column::ConversationId.eq(conv.id))
                    .filter(messages::Column::Seq.gt(floor))
                    .order_by_asc(messages::Column::Seq)
                    .limit(limit + 1)
                    .all(&self.db)
                    .await?,
                limit,
            );
            let (mut updated, mut deleted) = (Vec::new(), Vec::new());
            if let Some(since) = input.since {
                let changed = messages::Entity::find()
                    .filter(messages::Column::ConversationId.eq(conv.id))
                    .filter(messages::Column::Seq.lte(cursor.last_seq))
                    .filter(messages::Column::Seq.gt(part.cleared_before_seq))
                    .filter(
                        Condition::any()
                            .add(messages::Column::EditedAt.gt(since))
                            .add(messages::Column::DeletedAt.gt(since)),
                    )
                    .order_by_asc(messages::Column::Seq)
                    .limit(1000)
                    .all(&self.db)
                    .await?;
                for m in changed {
                    if m.deleted_at.is_some() {
                        deleted.push(m.id);
                    } else {
                        updated.push(self.message_view(&conv, m).await?);
                    }
                }
            }
            let messages = self.views(&conv, rows).await?;
            out.push(SyncedConversation {
                id: conv.id,
                messages,
                has_more,
                updated,
                deleted,
                last_seq: conv.last_seq,
            });
        }
        Ok(SyncResult {
            conversations: out,
            server_time,
        })
    }

    /// History by time (HR app): the newest `limit` messages before `before`, oldest
    /// first; marks them delivered to the caller.
    pub async fn messages_before(
        &self,
        actor: &Actor,
        conversation_id: Uuid,
        before: Option<DateTime<Utc>>,
        limit: Option<u64>,
    ) -> AppResult<MessagePage> {
        let limit = validate::page_limit(limit, 50, 100)?;
        let (conv, part) = self.access(actor, conversation_id).await?;
        let mut find = messages::Entity::find()
            .filter(messages::Column::ConversationId.eq(conv.id))
            .filter(messages::Column::Seq.gt(part.cleared_before_seq));
        if let Some(b) = before {
            find = find.filter(messages::Column::CreatedAt.lt(b));
        }
        let (mut rows, has_more) = split_page(
            find.order_by_desc(messages::Column::Seq)
                .limit(limit + 1)
                .all(&self.db)
                .await?,
            limit,
        );
        rows.reverse();
        if let Some(max) = rows.iter().map(|m| m.seq).max()
            && max > part.last_delivered_seq
        {
            cp::Entity::update_many()
                .col_expr(cp::Column::LastDeliveredSeq, Expr::value(max))
                .filter(cp::Column::Id.eq(part.id))
                .filter(cp::Column::LastDeliveredSeq.lt(max))
                .exec(&self.db)
                .await?;
        }
        let messages = self.views(&conv, rows).await?;
        Ok(MessagePage {
            chat_id: conv.id,
            messages,
            has_more,
        })
    }

    /// Totals across the caller's conversations: with unread, unread messages, and
    /// unread messages that mention the caller.
    pub async fn unread_totals(&self, actor: &Actor) -> AppResult<UnreadTotals> {
        let per = self.unread_by_conversation(actor).await?;
        let mut mentions = Condition::any();
        for u in &per {
            // The caller's read floor: unread_count = last_seq - floor.
            let floor = u.last_seq - u.unread_count;
            mentions = mentions.add(
                messages::Column::ConversationId
                    .eq(u.conversation_id)
                    .and(messages::Column::Seq.gt(floor)),
            );
        }
        let mention_count = if per.is_empty() {
            0
        } else {
            messages::Entity::find()
                .filter(mentions)
                .filter(messages::Column::DeletedAt.is_null())
                .filter(
                    Expr::col(messages::Column::Mentions)
                        .cast_as("text")
                        .like(format!("%{}%", actor.user_id)),
                )
                .count(&self.db)
                .await?
        };
        Ok(UnreadTotals {
            conversations: per.len() as u64,
            messages: per.iter().map(|u| u.unread_count).sum(),
            mentions: mention_count,
        })
    }

    async fn publish_message(
        &self,
        actor: &Actor,
        kind: EventType,
        view: &MessageView,
    ) -> AppResult<()> {
        let audience = Audience::users(self.participant_ids(view.conversation_id).await?)
            .with_conversation(view.conversation_id);
        self.hub
            .publish(
                RealtimeEvent::new(kind, view)
                    .actor(actor.user_id)
                    .conversation(view.conversation_id)
                    .entity("message", view.id),
                audience,
            )
            .await;
        Ok(())
    }
}
