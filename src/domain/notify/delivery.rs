//! Sending what the outbox holds: the worker's two steps (send due rows; read the
//! receipts of Expo tickets), each row's target and payload, and `push/test`. The
//! services themselves are behind [`PushGateway`] (`crate::infra::push` speaks Web
//! Push, Expo and SMTP); this module decides what is sent to whom and what each
//! answer means for the row.

use std::collections::HashMap;
use std::sync::Arc;

use entity::{device_tokens, push_outbox as outbox, push_subscriptions as subs, users};
use futures::StreamExt;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use tokio::sync::Notify;
use utoipa::ToSchema;

use super::Notifications;
use super::outbox::{OutboxSettings, Outcome, PushChannel, PushPayload, status};
use crate::domain::Actor;
use crate::error::AppResult;

/// Rows claimed per round.
pub const BATCH: u64 = 64;
/// Web Push requests in flight at once.
const WEB_PUSH_CONCURRENCY: usize = 16;
/// Mails in flight at once.
const MAIL_CONCURRENCY: usize = 4;
/// Expo takes at most 100 messages per request.
const EXPO_PER_REQUEST: usize = 100;
/// Expo answers at most 1000 receipts per request.
const EXPO_RECEIPTS_PER_REQUEST: u64 = 1000;
/// Why a queued push was dropped when its phone or browser changed hands.
const MOVED: &str = "the device is now signed in by another user";

/// A browser to push to.
#[derive(Debug, Clone)]
pub struct WebPushTarget {
    pub endpoint: String,
    /// base64url uncompressed P-256 point of the browser.
    pub p256dh: String,
    /// base64url 16-byte auth secret.
    pub auth: String,
}

/// One message in Expo's push format.
#[derive(Debug, Clone, Serialize)]
pub struct ExpoMessage {
    pub to: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub data: serde_json::Value,
    /// `high` for calls, else `default`.
    pub priority: &'static str,
    pub sound: &'static str,
}

/// The services pushes go to.
#[async_trait::async_trait]
pub trait PushGateway: Send + Sync {
    /// Encrypts `payload` for the browser and POSTs it, signed with VAPID.
    async fn web_push(&self, target: &WebPushTarget, payload: &[u8], urgent: bool) -> Outcome;
    /// Sends up to 100 messages in one request; one outcome per message, in order.
    async fn expo_send(&self, messages: &[ExpoMessage]) -> Vec<Outcome>;
    /// The receipts Expo has for these tickets (a ticket without one is missing);
    /// `Err` when the request itself failed.
    async fn expo_receipts(&self, tickets: &[String]) -> Result<HashMap<String, Outcome>, String>;
    /// Sends one plain-text mail.
    async fn email(&self, to: &str, subject: &str, text: &str) -> Outcome;
}

/// The outbox's settings, the services, and the bell that wakes the worker when a
/// row is written.
pub struct PushDelivery {
    pub settings: OutboxSettings,
    pub gateway: Arc<dyn PushGateway>,
    wake: Notify,
}

impl PushDelivery {
    pub fn new(settings: OutboxSettings, gateway: Arc<dyn PushGateway>) -> Self {
        Self {
            settings,
            gateway,
            wake: Notify::new(),
        }
    }
}

/// The answer of `push/test` (000 names the counts, not their keys).
#[derive(Debug, Serialize, ToSchema)]
pub struct PushTestResult {
    /// Whether VAPID keys are configured.
    pub configured: bool,
    pub message: String,
    /// Active browser subscriptions of the caller.
    pub subscriptions: u64,
    pub attempted: u64,
    pub delivered: u64,
    pub failed: u64,
}

impl From<&subs::Model> for WebPushTarget {
    fn from(s: &subs::Model) -> Self {
        Self {
            endpoint: s.endpoint.clone(),
            p256dh: s.p256dh.clone(),
            auth: s.auth.clone(),
        }
    }
}

/// What a row says, or the outcome for a row whose payload cannot be read.
fn payload_of(row: &outbox::Model) -> Result<PushPayload, Outcome> {
    serde_json::from_value(row.payload.clone())
        .map_err(|_| Outcome::Failed("unreadable payload".into()))
}

/// What the service worker receives (decrypted) in a Web Push.
fn web_push_body(row: &outbox::Model, p: &PushPayload) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "notification_id": p.notification_id,
        "type": p.category,
        "title": p.title,
        "body": p.body,
        "data": p.data,
        "tag": row.collapse_key,
        "collapsed": row.collapsed,
    }))
    .expect("a push body serialises")
}

fn expo_message(token: String, row: &outbox::Model, p: &PushPayload) -> ExpoMessage {
    let mut data = p.data.clone();
    if let Some(obj) = data.as_object_mut() {
        obj.insert(
            "notification_id".into(),
            p.notification_id.to_string().into(),
        );
        obj.insert("type".into(), p.category.as_str().into());
        obj.insert("collapsed".into(), row.collapsed.into());
    }
    ExpoMessage {
        to: token,
        title: p.title.clone(),
        body: p.body.clone(),
        data,
        priority: if p.urgent { "high" } else { "default" },
        sound: "default",
    }
}

impl Notifications {
    /// Wakes the delivery worker (a row was written).
    pub(super) fn wake_push_worker(&self) {
        self.push.wake.notify_one();
    }

    /// Resolves when a row was written since the last call.
    pub async fn push_written(&self) {
        self.push.wake.notified().await
    }

    /// One round of the worker: claims due rows and sends them, Web Push concurrently,
    /// Expo in requests of up to 100, mail a few at a time. Returns how many were claimed.
    pub async fn deliver_due_pushes(&self) -> AppResult<usize> {
        let rows = self
            .claim_outbox(status::PENDING, status::SENDING, BATCH)
            .await?;
        let claimed = rows.len();
        let (mut web, mut expo, mut email) = (Vec::new(), Vec::new(), Vec::new());
        for row in rows {
            match PushChannel::parse(&row.channel) {
                Some(PushChannel::WebPush) => web.push(row),
                Some(PushChannel::Expo) => expo.push(row),
                Some(PushChannel::Email) => email.push(row),
                None => {
                    let why = Outcome::Failed(format!("unknown channel {}", row.channel));
                    self.settle_outbox(&row, why).await?;
                }
            }
        }
        let web_round = futures::stream::iter(web)
            .map(|row| async move {
                let outcome = self.send_web_push(&row).await;
                self.record(&row, outcome).await
            })
            .buffer_unordered(WEB_PUSH_CONCURRENCY)
            .collect::<Vec<_>>();
        let expo_round = async {
            for chunk in expo.chunks(EXPO_PER_REQUEST) {
                self.send_expo(chunk).await;
            }
        };
        let mail_round = futures::stream::iter(email)
            .map(|row| async move {
                let outcome = self.send_email(&row).await;
                self.record(&row, outcome).await
            })
            .buffer_unordered(MAIL_CONCURRENCY)
            .collect::<Vec<_>>();
        let _ = tokio::join!(web_round, expo_round, mail_round);
        Ok(claimed)
    }

    /// Reads the receipts of Expo tickets that are due: `DeviceNotRegistered`
    /// revokes the token; an error fails the row; no receipt yet looks again later.
    pub async fn check_push_receipts(&self) -> AppResult<usize> {
        let rows = self
            .claim_outbox(
                status::TICKETED,
                status::CHECKING,
                EXPO_RECEIPTS_PER_REQUEST,
            )
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let tickets: Vec<String> = rows.iter().filter_map(|r| r.ticket_id.clone()).collect();
        match self.push.gateway.expo_receipts(&tickets).await {
            Ok(mut receipts) => {
                for row in &rows {
                    match row.ticket_id.as_ref().and_then(|t| receipts.remove(t)) {
                        Some(outcome) => self.record(row, outcome).await,
                        None => {
                            if let Err(e) = self.receipt_pending(row).await {
                                e.log_hidden("expo receipt");
                            }
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, tickets = tickets.len(), "expo receipts unavailable");
                for row in &rows {
                    if let Err(e) = self.receipt_pending(row).await {
                        e.log_hidden("expo receipt");
                    }
                }
            }
        }
        Ok(rows.len())
    }

    /// Settles a row, trying the write a few times: a row left unsettled waits for its
    /// lease to run out before it is tried again.
    async fn record(&self, row: &outbox::Model, outcome: Outcome) {
        match &outcome {
            Outcome::Delivered | Outcome::Ticketed(_) => {
                tracing::debug!(id = %row.id, channel = %row.channel, "push sent")
            }
            other => {
                tracing::info!(id = %row.id, channel = %row.channel, attempt = row.attempts, outcome = ?other, "push not sent")
            }
        }
        for attempt in 1..=3 {
            match self.settle_outbox(row, outcome.clone()).await {
                Ok(()) => return,
                Err(e) if attempt == 3 => e.log_hidden("settling a push"),
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await,
            }
        }
    }

    async fn send_web_push(&self, row: &outbox::Model) -> Outcome {
        let payload = match payload_of(row) {
            Ok(p) => p,
            Err(outcome) => return outcome,
        };
        let sub = match subs::Entity::find_by_id(row.target_id).one(&self.db).await {
            Ok(Some(s)) if s.user_id != row.user_id => return Outcome::Failed(MOVED.into()),
            Ok(Some(s)) if s.revoked_at.is_none() => s,
            Ok(_) => return Outcome::Gone("subscription removed".into()),
            Err(e) => return retry(e),
        };
        if self
            .web_push
            .allowed_endpoints
            .check(&sub.endpoint)
            .is_err()
        {
            return Outcome::Failed("the endpoint is no longer allowed".into());
        }
        let target = WebPushTarget::from(&sub);
        self.push
            .gateway
            .web_push(&target, &web_push_body(row, &payload), payload.urgent)
            .await
    }

    async fn send_expo(&self, rows: &[outbox::Model]) {
        // The tokens of the whole request in one read.
        let tokens = match device_tokens::Entity::find()
            .filter(device_tokens::Column::Id.is_in(rows.iter().map(|r| r.target_id)))
            .all(&self.db)
            .await
        {
            Ok(found) => found,
            Err(e) => {
                for row in rows {
                    self.record(row, retry(&e)).await;
                }
                return;
            }
        };
        let mut sendable = Vec::new();
        let mut messages = Vec::new();
        for row in rows {
            let payload = match payload_of(row) {
                Ok(p) => p,
                Err(outcome) => {
                    self.record(row, outcome).await;
                    continue;
                }
            };
            match tokens.iter().find(|t| t.id == row.target_id) {
                // The phone was signed in by another user since this was queued: it
                // is theirs now, and this push is not (nor is the token gone).
                Some(t) if t.user_id != row.user_id => {
                    self.record(row, Outcome::Failed(MOVED.into())).await
                }
                Some(t) if t.revoked_at.is_none() => {
                    messages.push(expo_message(t.token.clone(), row, &payload));
                    sendable.push(row);
                }
                _ => {
                    self.record(row, Outcome::Gone("device token removed".into()))
                        .await
                }
            }
        }
        if messages.is_empty() {
            return;
        }
        let outcomes = self.push.gateway.expo_send(&messages).await;
        for (row, outcome) in sendable.into_iter().zip(outcomes) {
            self.record(row, outcome).await;
        }
    }

    async fn send_email(&self, row: &outbox::Model) -> Outcome {
        let payload = match payload_of(row) {
            Ok(p) => p,
            Err(outcome) => return outcome,
        };
        let user = match users::Entity::find_by_id(row.target_id).one(&self.db).await {
            Ok(Some(u)) if u.is_active => u,
            Ok(_) => return Outcome::Gone("user inactive or deleted".into()),
            Err(e) => return retry(e),
        };
        let mut text = payload.body.clone().unwrap_or_default();
        if row.collapsed > 0 {
            text.push_str(&format!("\n\n(and {} more)", row.collapsed));
        }
        self.push
            .gateway
            .email(&user.email, &payload.title, &text)
            .await
    }

    /// Sends a test Web Push to every active browser of the caller, now (not through
    /// the outbox), and counts what happened; a browser that is gone is revoked.
    pub async fn push_test(&self, actor: &Actor) -> AppResult<PushTestResult> {
        if !self.push.settings.web_push {
            return Ok(PushTestResult {
                configured: false,
                message: "Web Push is not configured on this server.".into(),
                subscriptions: 0,
                attempted: 0,
                delivered: 0,
                failed: 0,
            });
        }
        let rows = subs::Entity::find()
            .filter(subs::Column::UserId.eq(actor.user_id))
            .filter(subs::Column::RevokedAt.is_null())
            .all(&self.db)
            .await?;
        let body = serde_json::to_vec(&serde_json::json!({
            "type": "system",
            "title": "Test notification",
            "body": "Push notifications work on this device.",
            "data": {"test": true},
        }))
        .expect("a push body serialises");
        let (mut delivered, mut failed) = (0, 0);
        for sub in &rows {
            if self
                .web_push
                .allowed_endpoints
                .check(&sub.endpoint)
                .is_err()
            {
                failed += 1;
                continue;
            }
            match self
                .push
                .gateway
                .web_push(&WebPushTarget::from(sub), &body, false)
                .await
            {
                Outcome::Delivered | Outcome::Ticketed(_) => delivered += 1,
                Outcome::Gone(_) => {
                    failed += 1;
                    self.revoke_subscription(sub.id).await?;
                }
                _ => failed += 1,
            }
        }
        let found = rows.len() as u64;
        Ok(PushTestResult {
            configured: true,
            message: if found == 0 {
                "No active push subscriptions.".into()
            } else {
                format!("Test notification delivered to {delivered} of {found} subscriptions.")
            },
            subscriptions: found,
            attempted: found,
            delivered,
            failed,
        })
    }
}

fn retry(e: impl std::fmt::Display) -> Outcome {
    Outcome::Retry {
        after: None,
        error: e.to_string(),
    }
}
