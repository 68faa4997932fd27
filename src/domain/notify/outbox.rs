//! The push outbox: every push (Web Push, Expo, email) is a row written in the same
//! transaction as its notification, then sent by the delivery worker
//! ([`super::delivery`]). A row moves `pending` → `sending` (claimed under a lease) →
//! `sent`, or `ticketed` (Expo took it; its receipt is read later) → `checking` →
//! `sent`; it ends `failed` (permanent error, or out of attempts) or `gone` (the
//! browser or phone no longer exists; the target is revoked). Here: what a row holds
//! and writing it; rows for one target and conversation merge while they wait, so a
//! burst is one push per window. Claiming and settling: [`super::outbox_claims`].

use std::time::Duration;

use entity::{
    conversation_participants as parts, device_tokens, push_outbox as outbox,
    push_subscriptions as subs,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Notifications;
use super::preferences::{Channel, Preferences};
use super::{Category, NewNotification};
use crate::domain::now;
use crate::error::AppResult;

/// How the outbox behaves; which channels this server can send on.
#[derive(Debug, Clone)]
pub struct OutboxSettings {
    /// Web Push (VAPID keys configured).
    pub web_push: bool,
    /// Expo push (an Expo endpoint configured).
    pub expo: bool,
    /// Email (SMTP configured).
    pub email: bool,
    /// A target gets at most one push per conversation in this window; later ones
    /// merge into the waiting row.
    pub collapse_window: Duration,
    /// Attempts before a row is `failed`.
    pub max_attempts: i32,
    /// First retry delay; doubles per attempt (with jitter) up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// How long a claimed row belongs to the node that claimed it.
    pub lease: Duration,
    /// When to read an Expo ticket's receipt.
    pub receipt_delay: Duration,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            web_push: false,
            expo: false,
            email: false,
            collapse_window: Duration::from_secs(5),
            max_attempts: 8,
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(900),
            lease: Duration::from_secs(60),
            receipt_delay: Duration::from_secs(900),
        }
    }
}

/// The outbox's channels, as stored in `push_outbox.channel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushChannel {
    WebPush,
    Expo,
    Email,
}

impl PushChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WebPush => "web_push",
            Self::Expo => "expo",
            Self::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::WebPush, Self::Expo, Self::Email]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// Row states.
pub(crate) mod status {
    pub const PENDING: &str = "pending";
    pub const SENDING: &str = "sending";
    pub const TICKETED: &str = "ticketed";
    pub const CHECKING: &str = "checking";
    pub const SENT: &str = "sent";
    pub const FAILED: &str = "failed";
    pub const GONE: &str = "gone";
}

/// What a push says, stored with its row: title, body and deep-link data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushPayload {
    pub notification_id: Uuid,
    #[serde(rename = "type")]
    pub category: Category,
    pub title: String,
    pub body: Option<String>,
    pub data: serde_json::Value,
    /// Calls ring: sent with the highest priority the service has.
    pub urgent: bool,
}

/// How one send ended, as the worker reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The service took it.
    Delivered,
    /// Expo took it and gave this ticket; its receipt says more later.
    Ticketed(String),
    /// The browser or phone is gone (404/410, `DeviceNotRegistered`).
    Gone(String),
    /// Try again later (429, 5xx, network), not before `after` when the service said.
    Retry {
        after: Option<Duration>,
        error: String,
    },
    /// Will never work (a request the service refuses).
    Failed(String),
}

impl Notifications {
    /// Writes the outbox rows for one notification inside `txn`: one per active
    /// browser, phone and (when enabled) the email address, as the recipient's
    /// preferences allow. A muted conversation sends no push. Returns how many rows
    /// were written or merged.
    pub(super) async fn enqueue_pushes(
        &self,
        txn: &DatabaseTransaction,
        note: &NewNotification,
        notification_id: Uuid,
        prefs: &Preferences,
    ) -> AppResult<usize> {
        let settings = &self.push.settings;
        let mut targets: Vec<(PushChannel, Uuid)> = Vec::new();
        if settings.web_push && prefs.allows(note.category, Channel::WebPush) {
            let rows: Vec<Uuid> = subs::Entity::find()
                .select_only()
                .column(subs::Column::Id)
                .filter(subs::Column::UserId.eq(note.user_id))
                .filter(subs::Column::RevokedAt.is_null())
                .into_tuple()
                .all(txn)
                .await?;
            targets.extend(rows.into_iter().map(|id| (PushChannel::WebPush, id)));
        }
        if settings.expo && prefs.allows(note.category, Channel::MobilePush) {
            let rows: Vec<Uuid> = device_tokens::Entity::find()
                .select_only()
                .column(device_tokens::Column::Id)
                .filter(device_tokens::Column::UserId.eq(note.user_id))
                .filter(device_tokens::Column::RevokedAt.is_null())
                .into_tuple()
                .all(txn)
                .await?;
            targets.extend(rows.into_iter().map(|id| (PushChannel::Expo, id)));
        }
        if settings.email && prefs.allows(note.category, Channel::Email) {
            targets.push((PushChannel::Email, note.user_id));
        }
        if targets.is_empty() {
            return Ok(0);
        }
        if let Some(conv) = note.conversation_id
            && parts::Entity::find()
                .filter(parts::Column::ConversationId.eq(conv))
                .filter(parts::Column::UserId.eq(note.user_id))
                .filter(parts::Column::Muted.eq(true))
                .one(txn)
                .await?
                .is_some()
        {
            return Ok(0);
        }
        let payload = serde_json::to_value(PushPayload {
            notification_id,
            category: note.category,
            title: note.title.clone(),
            body: note.body.clone(),
            data: note.data.clone(),
            urgent: note.urgent,
        })
        .expect("a push payload serialises");
        // Only message-like pushes merge: a call (ringing or missed) stands alone.
        let collapse_key = (!note.urgent
            && note.category != Category::Call
            && !settings.collapse_window.is_zero())
        .then(|| note.conversation_id.map(|c| c.to_string()))
        .flatten();
        for (channel, target) in &targets {
            self.put_in_outbox(
                txn,
                note.user_id,
                *channel,
                *target,
                &payload,
                collapse_key.as_deref(),
                notification_id,
            )
            .await?;
        }
        Ok(targets.len())
    }

    /// One row for one target, or the payload merged into the row already waiting for
    /// that target and conversation. A new row waits until a window after the last
    /// one went out, so a target gets one push per conversation and window.
    #[allow(clippy::too_many_arguments)]
    async fn put_in_outbox(
        &self,
        txn: &DatabaseTransaction,
        user_id: Uuid,
        channel: PushChannel,
        target: Uuid,
        payload: &serde_json::Value,
        collapse_key: Option<&str>,
        notification_id: Uuid,
    ) -> AppResult<()> {
        let at = now();
        let mut next = at;
        if let Some(key) = collapse_key {
            let same = || {
                outbox::Entity::find()
                    .filter(outbox::Column::TargetId.eq(target))
                    .filter(outbox::Column::CollapseKey.eq(key))
            };
            if let Some(waiting) = same()
                .filter(outbox::Column::Status.eq(status::PENDING))
                .one(txn)
                .await?
            {
                let collapsed = waiting.collapsed + 1;
                let mut am: outbox::ActiveModel = waiting.into();
                am.payload = Set(payload.clone());
                am.collapsed = Set(collapsed);
                am.notification_id = Set(Some(notification_id));
                am.update(txn).await?;
                return Ok(());
            }
            if let Some(last) = same()
                .order_by_desc(outbox::Column::CreatedAt)
                .one(txn)
                .await?
            {
                let went = std::cmp::max(last.next_attempt_at, last.created_at);
                let window = chrono::Duration::from_std(self.push.settings.collapse_window)
                    .unwrap_or_default();
                next = std::cmp::max(next, went + window);
            }
        }
        outbox::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user_id),
            channel: Set(channel.as_str().into()),
            target_id: Set(target),
            payload: Set(payload.clone()),
            attempts: Set(0),
            status: Set(status::PENDING.into()),
            next_attempt_at: Set(next),
            last_error: Set(None),
            created_at: Set(at),
            sent_at: Set(None),
            lease_until: Set(None),
            collapse_key: Set(collapse_key.map(str::to_string)),
            notification_id: Set(Some(notification_id)),
            ticket_id: Set(None),
            collapsed: Set(0),
        }
        .insert(txn)
        .await?;
        Ok(())
    }
}
