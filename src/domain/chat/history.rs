//! History: pages of a conversation's messages by seq (chat clients) or by time
//! (the HR app, which also marks them delivered), and message views with the direct
//! chat's `receiver_id`.

use chrono::{DateTime, Utc};
use entity::{conversation_participants as cp, conversations, messages};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Messages;
use super::conversations::direct_receiver;
use crate::domain::views::{MessagePage, MessageView};
use crate::domain::{Actor, limits, validate};
use crate::error::AppResult;

/// Which slice of history to return.
#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
pub struct HistoryQuery {
    pub before_seq: Option<i64>,
    pub after_seq: Option<i64>,
    pub limit: Option<u64>,
}

impl Messages {
    /// A page of history, oldest first: the newest `limit` by default, or those
    /// before `before_seq` / after `after_seq`.
    pub async fn list_messages(
        &self,
        actor: &Actor,
        conversation_id: Uuid,
        q: HistoryQuery,
    ) -> AppResult<MessagePage> {
        let limit = validate::page_limit(q.limit, limits::PAGE)?;
        let (conv, part) = self.access.check(actor, conversation_id).await?;
        let mut find = messages::Entity::find()
            .filter(messages::Column::ConversationId.eq(conv.id))
            .filter(messages::Column::Seq.gt(part.cleared_before_seq));
        let ascending = q.after_seq.is_some() && q.before_seq.is_none();
        if let Some(b) = q.before_seq {
            find = find.filter(messages::Column::Seq.lt(b));
        }
        if let Some(a) = q.after_seq {
            find = find.filter(messages::Column::Seq.gt(a));
        }
        find = if ascending {
            find.order_by_asc(messages::Column::Seq)
        } else {
            find.order_by_desc(messages::Column::Seq)
        };
        let (mut rows, has_more) = split_page(find.limit(limit + 1).all(&self.db).await?, limit);
        if !ascending {
            rows.reverse();
        }
        Ok(MessagePage {
            chat_id: conv.id,
            messages: self.views(&conv, rows).await?,
            has_more,
        })
    }

    /// Views of stored messages of one conversation (with `receiver_id` for direct chats).
    pub(crate) async fn views(
        &self,
        conv: &conversations::Model,
        rows: Vec<messages::Model>,
    ) -> AppResult<Vec<MessageView>> {
        let participants = self.access.participant_ids(conv.id).await?;
        let mut views: Vec<MessageView> = rows
            .into_iter()
            .map(|m| {
                let receiver = direct_receiver(conv, &participants, m.sender_id);
                MessageView::from_model(m, receiver)
            })
            .collect();
        self.media.fill_attachments(&mut views).await?;
        Ok(views)
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
        let limit = validate::page_limit(limit, limits::PAGE)?;
        let (conv, part) = self.access.check(actor, conversation_id).await?;
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
}

/// Rows fetched with `limit + 1`: the first `limit`, and whether there were more.
pub(crate) fn split_page<T>(mut rows: Vec<T>, limit: u64) -> (Vec<T>, bool) {
    let has_more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    (rows, has_more)
}
