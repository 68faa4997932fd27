//! Reading calls: one call a member may see, and a conversation's call history.

use entity::calls;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{CallHistoryQuery, CallView, Calls, HISTORY_MAX};
use crate::domain::Actor;
use crate::error::{AppError, AppResult};

impl Calls {
    /// The call if the caller is a member of its conversation (404 otherwise: calls
    /// of conversations one is not in are nobody's business).
    pub(super) async fn member_call(&self, actor: &Actor, id: Uuid) -> AppResult<calls::Model> {
        let call = calls::Entity::find_by_id(id)
            .filter(calls::Column::TenantId.eq(actor.tenant_id))
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("call"))?;
        self.access
            .check(actor, call.conversation_id)
            .await
            .map_err(|_| AppError::NotFound("call"))?;
        Ok(call)
    }

    pub(super) async fn call_view(&self, id: Uuid) -> AppResult<CallView> {
        Ok(calls::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("call"))?
            .into())
    }

    pub async fn get_call(&self, actor: &Actor, id: Uuid) -> AppResult<CallView> {
        Ok(self.member_call(actor, id).await?.into())
    }

    /// The calls of a conversation the caller is in, newest first.
    pub async fn call_history(
        &self,
        actor: &Actor,
        q: CallHistoryQuery,
    ) -> AppResult<Vec<CallView>> {
        self.access.check(actor, q.conversation_id).await?;
        Ok(calls::Entity::find()
            .filter(calls::Column::ConversationId.eq(q.conversation_id))
            .order_by_desc(calls::Column::StartedAt)
            .limit(HISTORY_MAX)
            .all(&self.db)
            .await?
            .into_iter()
            .map(CallView::from)
            .collect())
    }
}
