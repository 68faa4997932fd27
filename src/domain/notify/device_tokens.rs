//! Expo push tokens of a user's phones (000): registered or refreshed, revoked on
//! logout (one or all), revoked by id (owner only). Sending waits for the push outbox.
//!
//! Who holds a token: a phone belongs to one user at a time. Within a tenant, a token
//! registered by another user moves to the caller (the same row: one phone, passed
//! on or signed into by a colleague). Across tenants it never changes hands silently:
//! while a user of another organisation holds it (not revoked), registering it is
//! 409 CONFLICT and nothing changes; once they let it go (logout, `DELETE`, or Expo
//! saying it is gone) it is registered here as a new row, so nothing queued for its
//! former owner can reach it.

use entity::{device_tokens as tokens, users};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Notifications;
use crate::domain::limits::Len;
use crate::domain::unique::is_unique_violation;
use crate::domain::{Actor, begin_write, now, validate};
use crate::error::{AppError, AppResult};

#[derive(Debug, Deserialize, ToSchema)]
pub struct DeviceTokenInput {
    /// `ExponentPushToken[…]` or `ExpoPushToken[…]`.
    pub expo_push_token: String,
    /// android | ios (anything else is stored as unknown)
    pub platform: Option<String>,
    pub device_name: Option<String>,
    pub device_id: Option<String>,
    pub app_version: Option<String>,
    pub build_number: Option<String>,
    /// development (default) | preview | production
    pub environment: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceTokenRegistered {
    pub id: Uuid,
    pub registered: bool,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CurrentTokenInput {
    /// Only this token; all of the caller's active tokens when omitted.
    pub expo_push_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceTokenRevoked {
    /// Always "Device token unregistered."
    pub message: &'static str,
    pub revoked: u64,
}

const UNREGISTERED: &str = "Device token unregistered.";

fn registered(id: Uuid) -> DeviceTokenRegistered {
    DeviceTokenRegistered {
        id,
        registered: true,
    }
}

/// An Expo push token: `ExponentPushToken[…]` or `ExpoPushToken[…]`.
fn expo_token(value: &str) -> AppResult<String> {
    let v = value.trim();
    let inner = v
        .strip_prefix("ExponentPushToken[")
        .or_else(|| v.strip_prefix("ExpoPushToken["))
        .and_then(|rest| rest.strip_suffix(']'));
    match inner {
        Some(id)
            if !id.is_empty()
                && id.len() <= 256
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            Ok(v.to_string())
        }
        _ => Err(AppError::validation(
            "expo_push_token",
            "must be ExponentPushToken[…] or ExpoPushToken[…]",
        )),
    }
}

fn optional(field: &str, value: Option<&str>, max: usize) -> AppResult<Option<String>> {
    value
        .map(|v| validate::text(field, v, Len { min: 1, max }))
        .transpose()
}

impl Notifications {
    /// Registers or refreshes a phone's token for the caller.
    pub async fn register_device_token(
        &self,
        actor: &Actor,
        input: DeviceTokenInput,
    ) -> AppResult<DeviceTokenRegistered> {
        let token = expo_token(&input.expo_push_token)?;
        let platform = match input.platform.as_deref().map(str::to_lowercase).as_deref() {
            Some("android") => "android",
            Some("ios") => "ios",
            _ => "unknown",
        };
        let environment = match input.environment.as_deref() {
            None => "development",
            Some(e @ ("development" | "preview" | "production")) => e,
            Some(_) => {
                return Err(AppError::validation(
                    "environment",
                    "must be development, preview or production",
                ));
            }
        };
        let device_name = optional("device_name", input.device_name.as_deref(), 128)?;
        let device_id = optional("device_id", input.device_id.as_deref(), 128)?;
        let app_version = optional("app_version", input.app_version.as_deref(), 32)?;
        let build_number = optional("build_number", input.build_number.as_deref(), 32)?;
        let details = tokens::ActiveModel {
            user_id: Set(actor.user_id),
            platform: Set(platform.into()),
            device_id: Set(device_id),
            device_name: Set(device_name),
            app_version: Set(app_version),
            build_number: Set(build_number),
            environment: Set(environment.into()),
            last_used_at: Set(Some(now())),
            revoked_at: Set(None),
            ..Default::default()
        };
        // Read, decide, then write only if the row is still as read (same owner, same
        // revoked or not); a concurrent registration makes the write miss or break the
        // unique token, and the next round decides again on what it left.
        for _ in 0..3 {
            let existing = tokens::Entity::find()
                .filter(tokens::Column::Token.eq(&token))
                .one(&self.db)
                .await?;
            let Some(row) = existing else {
                let mut new = details.clone();
                new.id = Set(Uuid::now_v7());
                new.token = Set(token.clone());
                new.created_at = Set(now());
                new.last_used_at = Set(None);
                match new.insert(&self.db).await {
                    Ok(row) => return Ok(registered(row.id)),
                    Err(e) if is_unique_violation(&e) => continue,
                    Err(e) => return Err(e.into()),
                }
            };
            let elsewhere = row.user_id != actor.user_id
                && users::Entity::find_by_id(row.user_id)
                    .one(&self.db)
                    .await?
                    .is_none_or(|owner| owner.tenant_id != actor.tenant_id);
            let still_as_read = |q: sea_orm::UpdateMany<tokens::Entity>| {
                q.filter(tokens::Column::Id.eq(row.id))
                    .filter(tokens::Column::UserId.eq(row.user_id))
                    .filter(match row.revoked_at {
                        Some(_) => tokens::Column::RevokedAt.is_not_null(),
                        None => tokens::Column::RevokedAt.is_null(),
                    })
            };
            if !elsewhere {
                // The caller's own device, or one moving between users of one tenant.
                let moved = still_as_read(tokens::Entity::update_many().set(details.clone()))
                    .exec(&self.db)
                    .await?;
                if moved.rows_affected == 1 {
                    return Ok(registered(row.id));
                }
                continue;
            }
            if row.revoked_at.is_none() {
                return Err(AppError::Conflict(
                    "this device token is registered to another organisation".into(),
                ));
            }
            // Released there (its owner signed out, or Expo said it is gone): the phone
            // signs in here as a new registration, so nothing still queued for its
            // former owner can reach it.
            let txn = begin_write(&self.db).await?;
            let released = tokens::Entity::delete_many()
                .filter(tokens::Column::Id.eq(row.id))
                .filter(tokens::Column::UserId.eq(row.user_id))
                .filter(tokens::Column::RevokedAt.is_not_null())
                .exec(&txn)
                .await?;
            if released.rows_affected != 1 {
                continue;
            }
            let mut new = details.clone();
            new.id = Set(Uuid::now_v7());
            new.token = Set(token.clone());
            new.created_at = Set(now());
            new.last_used_at = Set(None);
            match new.insert(&txn).await {
                Ok(new) => {
                    txn.commit().await?;
                    return Ok(registered(new.id));
                }
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::Conflict(
            "this device token is being registered elsewhere at the same time; try again".into(),
        ))
    }

    /// Revokes the caller's token named in the body, or all their active tokens.
    pub async fn revoke_current_device_tokens(
        &self,
        actor: &Actor,
        input: CurrentTokenInput,
    ) -> AppResult<DeviceTokenRevoked> {
        let mut update = tokens::Entity::update_many()
            .col_expr(tokens::Column::RevokedAt, Expr::value(now()))
            .filter(tokens::Column::UserId.eq(actor.user_id))
            .filter(tokens::Column::RevokedAt.is_null());
        if let Some(t) = input.expo_push_token.as_deref() {
            update = update.filter(tokens::Column::Token.eq(expo_token(t)?));
        }
        let res = update.exec(&self.db).await?;
        Ok(DeviceTokenRevoked {
            message: UNREGISTERED,
            revoked: res.rows_affected,
        })
    }

    /// Revokes one token by id; only its owner may (another user's is 404).
    pub async fn revoke_device_token(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> AppResult<DeviceTokenRevoked> {
        let row = tokens::Entity::find_by_id(id)
            .filter(tokens::Column::UserId.eq(actor.user_id))
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("device token"))?;
        let revoked = u64::from(row.revoked_at.is_none());
        let mut am: tokens::ActiveModel = row.into();
        am.revoked_at = Set(Some(now()));
        am.update(&self.db).await?;
        Ok(DeviceTokenRevoked {
            message: UNREGISTERED,
            revoked,
        })
    }

    /// Revokes a token Expo says is no longer registered.
    pub(super) async fn revoke_token_by_id(&self, id: Uuid) -> AppResult<()> {
        tokens::Entity::update_many()
            .col_expr(tokens::Column::RevokedAt, Expr::value(now()))
            .filter(tokens::Column::Id.eq(id))
            .filter(tokens::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
