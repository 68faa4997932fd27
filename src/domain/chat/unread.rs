//! Unread counts: per conversation (the caller's read floor against the last seq)
//! and the totals the HR app shows (conversations, messages, mentions).

use entity::{conversation_participants as cp, conversations, messages};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, ExprTrait, PaginatorTrait, QueryFilter};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Conversations;
use crate::domain::Actor;
use crate::error::AppResult;

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadEntry {
    pub conversation_id: Uuid,
    pub unread_count: i64,
    pub last_seq: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadTotals {
    pub conversations: u64,
    pub messages: i64,
    pub mentions: u64,
}

impl Conversations {
    /// Conversations with unread messages for the caller.
    pub async fn unread_by_conversation(&self, actor: &Actor) -> AppResult<Vec<UnreadEntry>> {
        let parts = cp::Entity::find()
            .filter(cp::Column::UserId.eq(actor.user_id))
            .filter(cp::Column::LeftAt.is_null())
            .all(&self.db)
            .await?;
        let ids: Vec<Uuid> = parts.iter().map(|p| p.conversation_id).collect();
        let convs = conversations::Entity::find()
            .filter(conversations::Column::Id.is_in(ids))
            .filter(conversations::Column::DeletedAt.is_null())
            .all(&self.db)
            .await?;
        Ok(convs
            .into_iter()
            .filter_map(|c| {
                let p = parts.iter().find(|p| p.conversation_id == c.id)?;
                let unread = c.last_seq - Ord::max(p.last_read_seq, p.cleared_before_seq);
                (unread > 0).then_some(UnreadEntry {
                    conversation_id: c.id,
                    unread_count: unread,
                    last_seq: c.last_seq,
                })
            })
            .collect())
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
}
