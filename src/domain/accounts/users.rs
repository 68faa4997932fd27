//! Who is asking (token → active user) and tenant administration of users.

use entity::enums::UserRole;
use entity::users;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Accounts;
use super::sessions::{new_user, revoke_all_of_user, unique_email};
use crate::domain::events::{Payload, SessionRevoked};
use crate::domain::views::UserView;
use crate::domain::{Actor, now, validate};
use crate::error::{AppError, AppResult};
use crate::realtime::{Audience, RealtimeEvent};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserInput {
    pub email: String,
    pub password: String,
    pub display_name: String,
    /// member | admin | hr | agent (default member)
    #[schema(value_type = Option<String>)]
    pub role: Option<UserRole>,
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserInput {
    #[schema(value_type = Option<String>)]
    pub role: Option<UserRole>,
    pub is_active: Option<bool>,
    /// A phone number, or null to clear it.
    #[serde(default, with = "crate::domain::validate::double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
}

impl Accounts {
    /// Resolves an access token to its user; fails for unknown or inactive users,
    /// so a deactivated user's unexpired tokens stop working at once.
    pub async fn authenticate(&self, token: &str) -> AppResult<Actor> {
        let claims = self.keys.verify(token)?;
        let user = self
            .stored_user(claims.sub, claims.tid, "invalid token")
            .await?;
        if !user.is_active {
            return Err(AppError::UserInactive);
        }
        if user
            .tokens_valid_from
            .is_some_and(|from| claims.iat < from.timestamp())
        {
            return Err(AppError::Unauthorized(
                "token revoked: the password was changed; sign in again".into(),
            ));
        }
        actor_of(user)
    }

    /// The user `id` of `tenant` as it is stored now: unknown users and users of
    /// another tenant are refused (`unknown` is the message then).
    async fn stored_user(&self, id: Uuid, tenant: Uuid, unknown: &str) -> AppResult<users::Model> {
        users::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .filter(|u| u.tenant_id == tenant)
            .ok_or_else(|| AppError::Unauthorized(unknown.into()))
    }

    pub async fn create_user(&self, actor: &Actor, input: CreateUserInput) -> AppResult<UserView> {
        require_admin(actor)?;
        let phone = input.phone.as_deref().map(validate::phone).transpose()?;
        let (email, display_name, hash) = self
            .account_fields(&input.email, &input.password, &input.display_name)
            .await?;
        let mut am = new_user(
            actor.tenant_id,
            email,
            display_name,
            input.role.unwrap_or(UserRole::Member),
            Some(hash),
        );
        am.phone = Set(phone);
        let user = am.insert(&self.db).await.map_err(unique_email)?;
        Ok(user.into())
    }

    /// All users of the caller's tenant (admins only), oldest first.
    pub async fn list_users(&self, actor: &Actor) -> AppResult<Vec<UserView>> {
        require_admin(actor)?;
        Ok(users::Entity::find()
            .filter(users::Column::TenantId.eq(actor.tenant_id))
            .order_by_asc(users::Column::CreatedAt)
            .order_by_asc(users::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(UserView::from)
            .collect())
    }

    /// Changes a user's role or active flag. Deactivation revokes their sessions.
    pub async fn update_user(
        &self,
        actor: &Actor,
        id: Uuid,
        input: UpdateUserInput,
    ) -> AppResult<UserView> {
        require_admin(actor)?;
        let user = self.user_in_tenant(actor, id).await?;
        if user.id == actor.user_id
            && (input.is_active == Some(false) || input.role.is_some_and(|r| r != UserRole::Admin))
        {
            return Err(AppError::Conflict(
                "admins cannot deactivate or demote themselves".into(),
            ));
        }
        let phone = match input.phone {
            Some(p) => Some(p.as_deref().map(validate::phone).transpose()?),
            None => None,
        };
        let tx = crate::domain::begin_write(&self.db).await?;
        let mut am: users::ActiveModel = user.into();
        if let Some(phone) = phone {
            am.phone = Set(phone);
        }
        if let Some(role) = input.role {
            am.role = Set(role);
        }
        if let Some(active) = input.is_active {
            am.is_active = Set(active);
            if !active {
                revoke_all_of_user(&tx, id).await?;
                // Access tokens issued until now never work again, after a
                // reactivation either. Tokens count in whole seconds: the next one.
                let next_second = chrono::DateTime::from_timestamp(now().timestamp() + 1, 0);
                am.tokens_valid_from = Set(Some(next_second.unwrap_or_else(now)));
            }
        }
        am.updated_at = Set(now());
        let user = am.update(&tx).await?;
        tx.commit().await?;
        if input.is_active == Some(false) {
            self.end_sessions(id).await;
        }
        Ok(user.into())
    }

    /// Ends every live connection of `user` on every node (after its sessions were
    /// revoked in the database): each transport closes them with a reason.
    pub(crate) async fn end_sessions(&self, user: Uuid) {
        self.hub
            .publish(
                RealtimeEvent::new(Payload::SessionRevoked(SessionRevoked { user_id: user }))
                    .entity("user", user),
                Audience::users([user]),
            )
            .await;
    }

    /// Re-reads the acting user for a long-lived connection's next event: an
    /// inactive user (or one moved out of the tenant) may not act any more.
    pub async fn recheck(&self, actor: &Actor) -> AppResult<Actor> {
        actor_of(
            self.stored_user(actor.user_id, actor.tenant_id, "unknown user")
                .await?,
        )
    }

    /// A user of the caller's tenant; another tenant's id is reported as not found.
    pub(crate) async fn user_in_tenant(&self, actor: &Actor, id: Uuid) -> AppResult<users::Model> {
        users::Entity::find_by_id(id)
            .filter(users::Column::TenantId.eq(actor.tenant_id))
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("user"))
    }
}

/// The acting user for a stored one; inactive users may not act.
pub(crate) fn actor_of(user: users::Model) -> AppResult<Actor> {
    if !user.is_active {
        return Err(AppError::UserInactive);
    }
    Ok(Actor {
        user_id: user.id,
        tenant_id: user.tenant_id,
        role: user.role,
    })
}

fn require_admin(actor: &Actor) -> AppResult<()> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden("admin role required".into()))
    }
}
