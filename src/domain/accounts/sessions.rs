//! Sign-up, sign-in, token refresh with rotation and reuse detection, logout,
//! profile and password changes.

use entity::enums::UserRole;
use entity::{refresh_tokens, tenants, users};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Accounts;
use super::login_guard;
use crate::auth::{password, tokens};
use crate::domain::unique::is_unique_violation;
use crate::domain::views::{AuthSession, MeView, TenantView, UserView};
use crate::domain::{Actor, limits, now, validate};
use crate::error::{AppError, AppResult};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupInput {
    pub email: String,
    pub password: String,
    pub display_name: String,
    pub tenant_name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

/// Where a login attempt comes from (the client's address, for the brute-force guard).
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin {
    pub ip: Option<std::net::IpAddr>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshInput {
    pub refresh_token: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    pub display_name: Option<String>,
    /// An http(s) URL, or null to clear it.
    #[serde(default, with = "validate::double_option")]
    #[schema(value_type = Option<String>)]
    pub avatar_url: Option<Option<String>>,
    /// IANA zone name, e.g. `Europe/Berlin`.
    pub timezone: Option<String>,
    /// A phone number (searchable in the user directory), or null to clear it.
    #[serde(default, with = "validate::double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordInput {
    pub current_password: String,
    pub new_password: String,
}

/// Distinguishes an absent field (`None`) from an explicit null (`Some(None)`).
impl Accounts {
    /// Creates a tenant and its first user, an admin, and signs them in.
    pub async fn signup(&self, input: SignupInput) -> AppResult<AuthSession> {
        let tenant_name = validate::text("tenant_name", &input.tenant_name, limits::TENANT_NAME)?;
        let (email, display_name, hash) = self
            .account_fields(&input.email, &input.password, &input.display_name)
            .await?;
        let at = now();
        let tx = crate::domain::begin_write(&self.db).await?;
        let tenant = tenants::ActiveModel {
            id: Set(Uuid::now_v7()),
            name: Set(tenant_name),
            created_at: Set(at),
        }
        .insert(&tx)
        .await?;
        let user = new_user(tenant.id, email, display_name, UserRole::Admin, Some(hash))
            .insert(&tx)
            .await
            .map_err(unique_email)?;
        tx.commit().await?;
        tracing::info!(user_id = %user.id, tenant_id = %tenant.id, "tenant signed up");
        self.open_session(user, tenant, None).await
    }

    /// Exchanges email and password for a session.
    pub async fn login(&self, input: LoginInput, origin: Origin) -> AppResult<AuthSession> {
        validate::printable("email", &input.email)?;
        let email = input.email.trim().to_lowercase();
        let guard = self.login_failures.as_ref();
        login_guard::check(guard, self.settings.login_limits, &email, origin.ip).await?;
        let user = users::Entity::find()
            .filter(users::Column::Email.eq(&email))
            .one(&self.db)
            .await?;
        let phc = match user.as_ref().and_then(|u| u.password_hash.clone()) {
            Some(h) => h,
            None => password::dummy_hash().await?.to_string(),
        };
        let ok = password::verify(input.password, phc).await?;
        let user = match user {
            Some(u) if ok && u.password_hash.is_some() => u,
            _ => {
                login_guard::failed(guard, self.settings.login_limits, &email, origin.ip).await?;
                return Err(AppError::Unauthorized("invalid email or password".into()));
            }
        };
        login_guard::succeeded(guard, &email).await?;
        if !user.is_active {
            return Err(AppError::UserInactive);
        }
        let tenant = self.tenant(user.tenant_id).await?;
        self.open_session(user, tenant, None).await
    }

    /// Rotates a refresh token: the presented one stops working and a new one is
    /// issued in the same family. Presenting an already-rotated token is treated as
    /// theft: the whole family is revoked.
    pub async fn refresh(&self, input: RefreshInput) -> AppResult<AuthSession> {
        let hash = tokens::hash_token(input.refresh_token.trim());
        let Some(row) = refresh_tokens::Entity::find()
            .filter(refresh_tokens::Column::TokenHash.eq(hash))
            .one(&self.db)
            .await?
        else {
            return Err(AppError::Unauthorized("invalid refresh token".into()));
        };
        if row.revoked_at.is_some() {
            if row.replaced_by.is_some() {
                self.revoke_family(row.family_id).await?;
                tracing::warn!(user_id = %row.user_id, family = %row.family_id,
                    "refresh token reuse detected; family revoked");
                return Err(AppError::Unauthorized("refresh token reused".into()));
            }
            return Err(AppError::Unauthorized("refresh token revoked".into()));
        }
        if row.expires_at <= now() {
            return Err(AppError::Unauthorized("refresh token expired".into()));
        }
        let user = users::Entity::find_by_id(row.user_id)
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::Unauthorized("invalid refresh token".into()))?;
        if !user.is_active {
            return Err(AppError::UserInactive);
        }
        let tenant = self.tenant(user.tenant_id).await?;
        self.open_session(user, tenant, Some(row)).await
    }

    /// Revokes the session (refresh-token family) the given token belongs to.
    pub async fn logout(&self, actor: &Actor, refresh_token: &str) -> AppResult<()> {
        let hash = tokens::hash_token(refresh_token.trim());
        let row = refresh_tokens::Entity::find()
            .filter(refresh_tokens::Column::TokenHash.eq(hash))
            .filter(refresh_tokens::Column::UserId.eq(actor.user_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::validation("refresh_token", "unknown refresh token"))?;
        self.revoke_family(row.family_id).await
    }

    pub async fn me(&self, actor: &Actor) -> AppResult<MeView> {
        let user = crate::domain::accounts::sessions::user_by_id(&self.db, actor.user_id).await?;
        let tenant = self.tenant(user.tenant_id).await?;
        Ok(MeView {
            user: user.into(),
            tenant: tenant.into(),
        })
    }

    pub async fn update_profile(&self, actor: &Actor, patch: ProfilePatch) -> AppResult<UserView> {
        let user = crate::domain::accounts::sessions::user_by_id(&self.db, actor.user_id).await?;
        let mut am: users::ActiveModel = user.into();
        if let Some(name) = patch.display_name {
            am.display_name = Set(validate::text("display_name", &name, limits::DISPLAY_NAME)?);
        }
        if let Some(avatar) = patch.avatar_url {
            am.avatar_url = Set(match avatar {
                Some(u) => Some(validate::url("avatar_url", &u)?),
                None => None,
            });
        }
        if let Some(tz) = patch.timezone {
            am.timezone = Set(validate::timezone(&tz)?);
            am.timezone_set = Set(true);
        }
        if let Some(phone) = patch.phone {
            am.phone = Set(phone.as_deref().map(validate::phone).transpose()?);
        }
        am.updated_at = Set(now());
        Ok(am.update(&self.db).await?.into())
    }

    /// Changes the password after checking the current one. Every existing refresh
    /// token of the user is revoked and the caller gets a fresh session.
    pub async fn change_password(
        &self,
        actor: &Actor,
        input: ChangePasswordInput,
    ) -> AppResult<AuthSession> {
        validate::password("new_password", &input.new_password)?;
        let user = crate::domain::accounts::sessions::user_by_id(&self.db, actor.user_id).await?;
        let current = user.password_hash.clone().unwrap_or_default();
        if current.is_empty() || !password::verify(input.current_password, current).await? {
            return Err(AppError::validation("current_password", "is incorrect"));
        }
        let hash = password::hash(input.new_password).await?;
        let tx = crate::domain::begin_write(&self.db).await?;
        let mut am: users::ActiveModel = user.into();
        am.password_hash = Set(Some(hash));
        am.updated_at = Set(now());
        // Access tokens issued before now stop working (the new session's token is
        // issued after; tokens count in whole seconds).
        am.tokens_valid_from = Set(Some(now()));
        let user = am.update(&tx).await?;
        revoke_all_of_user(&tx, user.id).await?;
        tx.commit().await?;
        // Every other live connection holds the old credentials: end them.
        self.end_sessions(user.id).await;
        let tenant = self.tenant(user.tenant_id).await?;
        self.open_session(user, tenant, None).await
    }

    /// Issues an access token and a refresh token. With `rotate`, the old refresh
    /// token is retired in the same transaction (and only if nobody beat us to it).
    async fn open_session(
        &self,
        user: users::Model,
        tenant: tenants::Model,
        rotate: Option<refresh_tokens::Model>,
    ) -> AppResult<AuthSession> {
        let (access_token, expires_in) =
            self.keys
                .issue(user.id, user.tenant_id, user.role.to_value().as_str())?;
        let refresh_token = tokens::random_token();
        let at = now();
        let new_id = Uuid::now_v7();
        let family_id = rotate.as_ref().map_or_else(Uuid::now_v7, |r| r.family_id);
        let tx = crate::domain::begin_write(&self.db).await?;
        if let Some(old) = &rotate {
            let res = refresh_tokens::Entity::update_many()
                .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(at))
                .col_expr(refresh_tokens::Column::ReplacedBy, Expr::value(new_id))
                .filter(refresh_tokens::Column::Id.eq(old.id))
                .filter(refresh_tokens::Column::RevokedAt.is_null())
                .exec(&tx)
                .await?;
            if res.rows_affected != 1 {
                drop(tx);
                self.revoke_family(family_id).await?;
                return Err(AppError::Unauthorized("refresh token reused".into()));
            }
        }
        refresh_tokens::ActiveModel {
            id: Set(new_id),
            user_id: Set(user.id),
            family_id: Set(family_id),
            token_hash: Set(tokens::hash_token(&refresh_token)),
            expires_at: Set(at
                + chrono::Duration::from_std(self.settings.refresh_ttl)
                    .map_err(AppError::internal)?),
            created_at: Set(at),
            revoked_at: Set(None),
            replaced_by: Set(None),
        }
        .insert(&tx)
        .await?;
        tx.commit().await?;
        Ok(AuthSession {
            access_token,
            refresh_token,
            token_type: "bearer",
            expires_in,
            user: UserView::from(user),
            tenant: TenantView::from(tenant),
        })
    }

    async fn revoke_family(&self, family_id: Uuid) -> AppResult<()> {
        refresh_tokens::Entity::update_many()
            .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(now()))
            .filter(refresh_tokens::Column::FamilyId.eq(family_id))
            .filter(refresh_tokens::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Validates a new account's email, password and name, checks the email is free,
    /// and hashes the password: `(email, display_name, password_hash)`.
    pub(crate) async fn account_fields(
        &self,
        email: &str,
        password: &str,
        display_name: &str,
    ) -> AppResult<(String, String, String)> {
        let email = validate::email(email)?;
        validate::password("password", password)?;
        let display_name = validate::text("display_name", display_name, limits::DISPLAY_NAME)?;
        if users::Entity::find()
            .filter(users::Column::Email.eq(&email))
            .one(&self.db)
            .await?
            .is_some()
        {
            return Err(AppError::Conflict("email already registered".into()));
        }
        let hash = password::hash(password.to_string()).await?;
        Ok((email, display_name, hash))
    }

    pub(crate) async fn user(&self, id: Uuid) -> AppResult<users::Model> {
        user_by_id(&self.db, id).await
    }

    pub(crate) async fn tenant(&self, id: Uuid) -> AppResult<tenants::Model> {
        tenants::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("tenant"))
    }
}

/// Revokes every live refresh token of a user (password change, deactivation).
pub(crate) async fn revoke_all_of_user(db: &impl ConnectionTrait, user_id: Uuid) -> AppResult<()> {
    refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(now()))
        .filter(refresh_tokens::Column::UserId.eq(user_id))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// A new, active user row with defaults.
pub(crate) fn new_user(
    tenant_id: Uuid,
    email: String,
    display_name: String,
    role: UserRole,
    password_hash: Option<String>,
) -> users::ActiveModel {
    let at = now();
    users::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        external_id: Set(None),
        email: Set(email),
        phone: Set(None),
        display_name: Set(display_name),
        avatar_url: Set(None),
        timezone: Set("UTC".into()),
        timezone_set: Set(false),
        role: Set(role),
        is_active: Set(true),
        password_hash: Set(password_hash),
        last_seen_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        tokens_valid_from: Set(None),
    }
}

/// Maps a unique-constraint race on `users.email` to 409.
pub(crate) fn unique_email(e: sea_orm::DbErr) -> AppError {
    if is_unique_violation(&e) {
        AppError::Conflict("email already registered".into())
    } else {
        e.into()
    }
}

/// A user by id, any tenant (callers check the tenant).
pub(crate) async fn user_by_id(
    db: &impl sea_orm::ConnectionTrait,
    id: Uuid,
) -> AppResult<users::Model> {
    users::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("user"))
}
