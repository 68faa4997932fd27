//! Service API keys: tenant admins create (the secret shown once), list and revoke
//! them; a host backend sends one as `x-api-key` or `Authorization: Bearer`. Stored
//! as a SHA-256 hash (a key is 256 random bits, so a fast hash is enough), found by
//! its public prefix, compared in constant time. A key acts for its tenant only and
//! only within its scopes.

use chrono::{DateTime, Utc};
use entity::api_keys as keys;
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Integration;
use crate::auth::tokens;
use crate::domain::{Actor, limits, now, validate};
use crate::error::{AppError, AppResult};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Onboard and look up users, end their sessions.
    Users,
    /// Open and read chats.
    Chats,
    /// Send notifications.
    Notifications,
    /// Publish events.
    Publish,
}

/// The caller of a service route: a key of one tenant with its scopes.
#[derive(Debug, Clone)]
pub struct ServiceActor {
    pub tenant_id: Uuid,
    pub scopes: Vec<Scope>,
}

impl ServiceActor {
    /// 403 unless the key has `scope`.
    pub fn require(&self, scope: Scope) -> AppResult<()> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this API key lacks the `{}` scope",
                serde_json::to_value(scope)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            )))
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyInput {
    pub name: String,
    /// users | chats | notifications | publish
    pub scopes: Vec<String>,
}

/// A key as its tenant's admins see it (never the secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    /// The public start of the key, to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new key: the secret `key` is shown here once and never again.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreated {
    #[serde(flatten)]
    pub view: ApiKeyView,
    pub key: String,
}

fn scopes_of(k: &keys::Model) -> Vec<Scope> {
    k.scopes
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

impl From<keys::Model> for ApiKeyView {
    fn from(k: keys::Model) -> Self {
        Self {
            scopes: scopes_of(&k),
            id: k.id,
            name: k.name,
            prefix: k.key_prefix,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// `sbk_<8 hex>`: the part of a key that is stored in clear to find it.
const PREFIX_TAG: &str = "sbk_";

fn admin(actor: &Actor) -> AppResult<()> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only tenant admins manage API keys".into(),
        ))
    }
}

impl Integration {
    /// A new key for the caller's tenant (admins only).
    pub async fn create_api_key(
        &self,
        actor: &Actor,
        input: ApiKeyInput,
    ) -> AppResult<ApiKeyCreated> {
        admin(actor)?;
        let name = validate::text("name", &input.name, limits::DISPLAY_NAME)?;
        let mut scopes = Vec::new();
        for s in &input.scopes {
            let scope: Scope = serde_json::from_value(serde_json::Value::String(s.clone()))
                .map_err(|_| {
                    AppError::validation("scopes", "each is users, chats, notifications or publish")
                })?;
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        if scopes.is_empty() {
            return Err(AppError::validation("scopes", "name at least one scope"));
        }
        let mut id_bytes = [0u8; 4];
        rand::rngs::OsRng.fill_bytes(&mut id_bytes);
        let prefix = format!("{PREFIX_TAG}{}", hex::encode(id_bytes));
        let key = format!("{prefix}_{}", tokens::random_token());
        let row = keys::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(actor.tenant_id),
            name: Set(name),
            key_prefix: Set(prefix),
            key_hash: Set(tokens::hash_token(&key)),
            created_at: Set(now()),
            revoked_at: Set(None),
            scopes: Set(Some(
                serde_json::to_value(&scopes).expect("scopes serialise"),
            )),
            last_used_at: Set(None),
            created_by: Set(Some(actor.user_id)),
        }
        .insert(&self.db)
        .await?;
        Ok(ApiKeyCreated {
            view: row.into(),
            key,
        })
    }

    /// The tenant's keys, newest first (admins only).
    pub async fn list_api_keys(&self, actor: &Actor) -> AppResult<Vec<ApiKeyView>> {
        admin(actor)?;
        Ok(keys::Entity::find()
            .filter(keys::Column::TenantId.eq(actor.tenant_id))
            .order_by_desc(keys::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(ApiKeyView::from)
            .collect())
    }

    /// Revokes one of the tenant's keys (another tenant's is 404).
    pub async fn revoke_api_key(&self, actor: &Actor, id: Uuid) -> AppResult<ApiKeyView> {
        admin(actor)?;
        let k = keys::Entity::find_by_id(id)
            .filter(keys::Column::TenantId.eq(actor.tenant_id))
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("api key"))?;
        if k.revoked_at.is_some() {
            return Ok(k.into());
        }
        let mut am: keys::ActiveModel = k.into();
        am.revoked_at = Set(Some(now()));
        Ok(am.update(&self.db).await?.into())
    }

    /// The tenant and scopes of a presented key; anything wrong is 401 (one message:
    /// a caller learns nothing about which part was wrong).
    pub async fn authenticate_key(&self, raw: &str) -> AppResult<ServiceActor> {
        let refused = || AppError::Unauthorized("invalid or revoked API key".into());
        let raw = raw.trim();
        let prefix = raw
            .strip_prefix(PREFIX_TAG)
            .and_then(|rest| rest.split_once('_'))
            .map(|(id, _)| format!("{PREFIX_TAG}{id}"))
            .ok_or_else(refused)?;
        let candidates = keys::Entity::find()
            .filter(keys::Column::KeyPrefix.eq(&prefix))
            .filter(keys::Column::RevokedAt.is_null())
            .all(&self.db)
            .await?;
        let presented = tokens::hash_token(raw);
        let k = candidates
            .into_iter()
            .find(|k| bool::from(k.key_hash.as_bytes().ct_eq(presented.as_bytes())))
            .ok_or_else(refused)?;
        // Last use to the minute: one write a minute per key, not one per request.
        if k.last_used_at
            .is_none_or(|t| now() - t > chrono::Duration::minutes(1))
        {
            let mut am: keys::ActiveModel = k.clone().into();
            am.last_used_at = Set(Some(now()));
            am.update(&self.db).await?;
        }
        tracing::debug!(key = %k.id, tenant = %k.tenant_id, "service call");
        Ok(ServiceActor {
            scopes: scopes_of(&k),
            tenant_id: k.tenant_id,
        })
    }
}
