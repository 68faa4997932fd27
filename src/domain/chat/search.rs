//! Full-text message search, limited to what the caller can read (FTS5 on SQLite,
//! tsvector on PostgreSQL; see migration m20261122_000005).

use entity::messages;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Messages;
use crate::domain::views::MessageView;
use crate::domain::{Actor, limits, validate};
use crate::error::AppResult;

#[derive(Debug, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    pub q: String,
    pub conversation_id: Option<Uuid>,
    pub limit: Option<u64>,
}

impl Messages {
    /// Live messages matching every word of `q`, newest first, from conversations the
    /// caller currently takes part in (and after their "delete for me" point).
    pub async fn search_messages(
        &self,
        actor: &Actor,
        q: SearchQuery,
    ) -> AppResult<Vec<MessageView>> {
        let text = validate::text("q", &q.q, limits::MESSAGE_SEARCH)?;
        let limit = validate::page_limit(q.limit, limits::SEARCH_PAGE)?;
        if let Some(c) = q.conversation_id {
            self.access.check(actor, c).await?;
        }
        let backend = self.db.get_database_backend();
        let matches = match backend {
            DbBackend::Sqlite => Expr::cust_with_values(
                "messages.rowid IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)",
                [fts5_query(&text)],
            ),
            _ => Expr::cust_with_values(
                "to_tsvector('simple', messages.content) @@ plainto_tsquery('simple', $1)",
                [text.clone()],
            ),
        };
        let (p1, p2) = match backend {
            DbBackend::Sqlite => ("?", "?"),
            _ => ("$1", "$2"),
        };
        let readable = Expr::cust_with_values(
            format!(
                "EXISTS (SELECT 1 FROM conversation_participants p JOIN conversations c \
                 ON c.id = p.conversation_id WHERE p.conversation_id = messages.conversation_id \
                 AND p.user_id = {p1} AND p.left_at IS NULL AND messages.seq > p.cleared_before_seq \
                 AND c.deleted_at IS NULL AND c.tenant_id = {p2})"
            ),
            [actor.user_id, actor.tenant_id],
        );
        let mut find = messages::Entity::find()
            .filter(matches)
            .filter(readable)
            .filter(messages::Column::DeletedAt.is_null());
        if let Some(c) = q.conversation_id {
            find = find.filter(messages::Column::ConversationId.eq(c));
        }
        let rows = find
            .order_by_desc(messages::Column::CreatedAt)
            .limit(limit)
            .all(&self.db)
            .await?;
        let mut views: Vec<MessageView> = rows
            .into_iter()
            .map(|m| MessageView::from_model(m, None))
            .collect();
        self.media.fill_attachments(&mut views).await?;
        Ok(views)
    }
}

/// Each word as a quoted FTS5 string, so user input cannot use query syntax.
fn fts5_query(text: &str) -> String {
    text.split_whitespace()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `column` contains `needle`, ignoring case, on both backends (SQLite's LIKE folds
/// ASCII case by itself, PostgreSQL's does not); `%` and `_` in the needle are literal.
pub(crate) fn contains_ci(
    column: impl sea_orm::sea_query::IntoColumnRef,
    needle: &str,
) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::ExprTrait;
    use sea_orm::sea_query::{Func, LikeExpr};
    let escaped = needle
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Expr::expr(Func::lower(Expr::col(column)))
        .like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}
