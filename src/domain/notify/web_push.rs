//! Web Push subscriptions (000): the server's VAPID public key, and the browsers a user
//! registers (`PushSubscription.toJSON()` or the flat shape), updated in place by
//! endpoint and revoked softly. Only endpoints under the configured allow-list are
//! taken: the server will POST to them, so a user must not choose where.

use entity::push_subscriptions as subs;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Notifications;
use crate::auth::tokens;
use crate::domain::{Actor, now, validate};
use crate::error::{AppError, AppResult};

/// The Web Push side of the configuration.
#[derive(Debug, Clone, Default)]
pub struct WebPushSettings {
    /// The VAPID public key (base64url), when Web Push is configured.
    pub public_key: Option<String>,
    /// URL prefixes a subscription's endpoint must start with.
    pub allowed_endpoints: crate::outbound::AllowList,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PushPublicKey {
    /// base64url VAPID public key, or null when Web Push is not configured.
    pub public_key: Option<String>,
    pub configured: bool,
}

/// The browser's keys: `{p256dh, auth}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PushKeys {
    pub p256dh: String,
    pub auth: String,
}

/// `PushSubscription.toJSON()` (`{endpoint, keys: {p256dh, auth}}`) or the flat
/// `{endpoint, p256dh, auth}`, with an optional `user_agent`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PushSubscriptionInput {
    pub endpoint: String,
    pub keys: Option<PushKeys>,
    pub p256dh: Option<String>,
    pub auth: Option<String>,
    pub user_agent: Option<String>,
    /// `PushSubscription.toJSON()` also carries this; it is not used.
    #[serde(rename = "expirationTime")]
    #[allow(dead_code)]
    pub expiration_time: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PushSubscriptionDone {
    pub id: Uuid,
    /// "Push subscription registered." | "Push subscription updated." | "Push subscription removed."
    pub message: &'static str,
}

fn key(field: &str, value: &str, bytes: usize) -> AppResult<String> {
    let v = value.trim();
    if tokens::is_base64url_key(v, bytes) {
        Ok(v.to_string())
    } else {
        Err(AppError::validation(
            field,
            format!("must be a base64url key of {bytes} bytes"),
        ))
    }
}

impl Notifications {
    pub fn push_public_key(&self) -> PushPublicKey {
        PushPublicKey {
            public_key: self.web_push.public_key.clone(),
            configured: self.web_push.public_key.is_some(),
        }
    }

    /// The endpoint and keys of a subscription, checked (400 naming the field).
    fn push_target(&self, input: &PushSubscriptionInput) -> AppResult<(String, String, String)> {
        if self.web_push.public_key.is_none() {
            return Err(AppError::Unavailable {
                what: "web push (VAPID keys are not configured)".into(),
                source: None,
            });
        }
        let endpoint = validate::url("endpoint", &input.endpoint)?;
        self.web_push
            .allowed_endpoints
            .check(&endpoint)
            .map_err(|why| AppError::validation("endpoint", why))?;
        let (p256dh, auth) = match (&input.keys, &input.p256dh, &input.auth) {
            (Some(k), _, _) => (k.p256dh.as_str(), k.auth.as_str()),
            (None, Some(p), Some(a)) => (p.as_str(), a.as_str()),
            _ => return Err(AppError::validation("keys", "p256dh and auth are required")),
        };
        Ok((endpoint, key("p256dh", p256dh, 65)?, key("auth", auth, 16)?))
    }

    /// Registers a browser for the caller; the same endpoint is updated in place
    /// (and moves to the caller, as a browser now belongs to whoever subscribed it).
    pub async fn subscribe_push(
        &self,
        actor: &Actor,
        input: PushSubscriptionInput,
    ) -> AppResult<PushSubscriptionDone> {
        let (endpoint, p256dh, auth) = self.push_target(&input)?;
        let user_agent = match input.user_agent.as_deref() {
            Some(ua) => Some(validate::text(
                "user_agent",
                ua,
                crate::domain::limits::USER_AGENT,
            )?),
            None => None,
        };
        let existing = subs::Entity::find()
            .filter(subs::Column::Endpoint.eq(&endpoint))
            .one(&self.db)
            .await?;
        Ok(match existing {
            Some(row) => {
                let id = row.id;
                let mut am: subs::ActiveModel = row.into();
                am.user_id = Set(actor.user_id);
                am.p256dh = Set(p256dh);
                am.auth = Set(auth);
                am.user_agent = Set(user_agent);
                am.revoked_at = Set(None);
                am.update(&self.db).await?;
                PushSubscriptionDone {
                    id,
                    message: "Push subscription updated.",
                }
            }
            None => {
                let row = subs::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    user_id: Set(actor.user_id),
                    endpoint: Set(endpoint),
                    p256dh: Set(p256dh),
                    auth: Set(auth),
                    user_agent: Set(user_agent),
                    created_at: Set(now()),
                    revoked_at: Set(None),
                }
                .insert(&self.db)
                .await?;
                PushSubscriptionDone {
                    id: row.id,
                    message: "Push subscription registered.",
                }
            }
        })
    }

    /// Revokes (softly) the caller's subscription with this endpoint; another user's
    /// or an unknown one is 404.
    pub async fn unsubscribe_push(
        &self,
        actor: &Actor,
        input: PushSubscriptionInput,
    ) -> AppResult<PushSubscriptionDone> {
        let endpoint = validate::url("endpoint", &input.endpoint)?;
        let row = subs::Entity::find()
            .filter(subs::Column::Endpoint.eq(&endpoint))
            .filter(subs::Column::UserId.eq(actor.user_id))
            .filter(subs::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("push subscription"))?;
        let id = row.id;
        let mut am: subs::ActiveModel = row.into();
        am.revoked_at = Set(Some(now()));
        am.update(&self.db).await?;
        Ok(PushSubscriptionDone {
            id,
            message: "Push subscription removed.",
        })
    }

    /// Revokes a subscription the push service says is gone.
    pub(super) async fn revoke_subscription(&self, id: Uuid) -> AppResult<()> {
        subs::Entity::update_many()
            .col_expr(subs::Column::RevokedAt, Expr::value(now()))
            .filter(subs::Column::Id.eq(id))
            .filter(subs::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
