//! Sync: what a device missed, by each conversation's `last_seq`: newer messages,
//! and edits and deletions of older ones since the previous sync's `server_time`.

use chrono::{DateTime, Utc};
use entity::messages;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Messages;
use super::history::split_page;
use crate::domain::views::MessageView;
use crate::domain::{Actor, limits, now, validate};
use crate::error::{AppError, AppResult};

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

impl Messages {
    /// What each device missed: messages after its `last_seq`, and edits/deletions
    /// of older messages since its previous sync.
    pub async fn sync(&self, actor: &Actor, input: SyncInput) -> AppResult<SyncResult> {
        let server_time = now();
        let limit = validate::page_limit(input.limit, limits::SYNC_PAGE)?;
        if input.conversations.is_empty()
            || input.conversations.len() > limits::MAX_SYNC_CONVERSATIONS
        {
            return Err(AppError::validation(
                "conversations",
                format!("give 1 to {} conversations", limits::MAX_SYNC_CONVERSATIONS),
            ));
        }
        let mut out = Vec::new();
        for cursor in input.conversations {
            if cursor.last_seq < 0 {
                return Err(AppError::validation("last_seq", "must not be negative"));
            }
            let (conv, part) = self.access.check(actor, cursor.id).await?;
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
}
