//! The tenant's user directory as chat clients see it (list, search, agents) and
//! blocking between users.

use entity::enums::UserRole;
use entity::{blocks, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Conversations;
use super::search::contains_ci;
use crate::domain::unique::is_unique_violation;
use crate::domain::{Actor, limits, now, validate};
use crate::error::{AppError, AppResult};

/// A user as other members of the tenant see them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DirectoryUser {
    pub id: Uuid,
    pub display_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub avatar_url: Option<String>,
    #[schema(value_type = String)]
    pub role: UserRole,
    pub last_seen_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<users::Model> for DirectoryUser {
    fn from(u: users::Model) -> Self {
        Self {
            id: u.id,
            display_name: u.display_name,
            email: u.email,
            phone: u.phone,
            avatar_url: u.avatar_url,
            role: u.role,
            last_seen_at: u.last_seen_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BlockView {
    pub user_id: Uuid,
    pub blocked_at: chrono::DateTime<chrono::Utc>,
}

impl Conversations {
    /// Active users of the caller's tenant, optionally matching `q` (name, email,
    /// phone) or only agents; by name.
    pub async fn directory(
        &self,
        actor: &Actor,
        q: Option<&str>,
        agents_only: bool,
        limit: Option<u64>,
    ) -> AppResult<Vec<DirectoryUser>> {
        let limit = validate::page_limit(limit, limits::PAGE)?;
        let mut find = users::Entity::find()
            .filter(users::Column::TenantId.eq(actor.tenant_id))
            .filter(users::Column::IsActive.eq(true));
        if agents_only {
            find = find.filter(users::Column::Role.eq(UserRole::Agent));
        }
        if let Some(q) = q {
            let q = validate::text("q", q, limits::LIST_SEARCH)?;
            let mut any = Condition::any()
                .add(contains_ci((users::Entity, users::Column::DisplayName), &q))
                .add(contains_ci((users::Entity, users::Column::Email), &q));
            // Phones are stored as digits (and a leading +): `555-0199` finds them.
            if let Some(digits) = validate::phone_digits(&q) {
                any = any.add(users::Column::Phone.contains(digits));
            }
            find = find.filter(any);
        }
        Ok(find
            .order_by_asc(users::Column::DisplayName)
            .order_by_asc(users::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(DirectoryUser::from)
            .collect())
    }

    pub async fn block(&self, actor: &Actor, user_id: Uuid) -> AppResult<BlockView> {
        if user_id == actor.user_id {
            return Err(AppError::validation("id", "cannot block yourself"));
        }
        self.accounts.user_in_tenant(actor, user_id).await?;
        if let Some(b) = self.block_row(actor.user_id, user_id).await? {
            return Ok(BlockView {
                user_id,
                blocked_at: b.created_at,
            });
        }
        let row = blocks::ActiveModel {
            id: Set(Uuid::now_v7()),
            blocker_id: Set(actor.user_id),
            blocked_id: Set(user_id),
            created_at: Set(now()),
        }
        .insert(&self.db)
        .await;
        match row {
            Ok(b) => Ok(BlockView {
                user_id,
                blocked_at: b.created_at,
            }),
            Err(e) if is_unique_violation(&e) => {
                let b = self
                    .block_row(actor.user_id, user_id)
                    .await?
                    .ok_or(AppError::NotFound("block"))?;
                Ok(BlockView {
                    user_id,
                    blocked_at: b.created_at,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn unblock(&self, actor: &Actor, user_id: Uuid) -> AppResult<()> {
        self.accounts.user_in_tenant(actor, user_id).await?;
        blocks::Entity::delete_many()
            .filter(blocks::Column::BlockerId.eq(actor.user_id))
            .filter(blocks::Column::BlockedId.eq(user_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub async fn list_blocks(&self, actor: &Actor) -> AppResult<Vec<BlockView>> {
        Ok(blocks::Entity::find()
            .filter(blocks::Column::BlockerId.eq(actor.user_id))
            .order_by_desc(blocks::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|b| BlockView {
                user_id: b.blocked_id,
                blocked_at: b.created_at,
            })
            .collect())
    }

    async fn block_row(&self, blocker: Uuid, blocked: Uuid) -> AppResult<Option<blocks::Model>> {
        Ok(blocks::Entity::find()
            .filter(blocks::Column::BlockerId.eq(blocker))
            .filter(blocks::Column::BlockedId.eq(blocked))
            .one(&self.db)
            .await?)
    }
}
