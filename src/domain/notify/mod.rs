//! Notify: the in-app inbox and its one entry point, [`Notifications::notify`], through which
//! every source (mentions, direct messages to someone not connected, and later
//! meetings, calls, announcements and the service API) goes: the recipient's
//! preferences, the inbox row, `notification_created` and
//! `notifications_count_updated` on every dialect, and the push outbox rows (written
//! in the same transaction; sent by [`delivery`]). Listing, counting and reading the
//! inbox; preferences in [`preferences`].

pub mod delivery;
pub mod device_tokens;
pub mod outbox;
mod outbox_claims;
pub mod preferences;
mod triggers;

pub(crate) use self::triggers::MessageNotes;
pub mod web_push;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::notifications;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use self::delivery::PushDelivery;
use self::preferences::Channel;
use self::web_push::WebPushSettings;
use crate::domain::events::Payload;
use crate::domain::presence::Presence;
use crate::domain::{Actor, limits, now, validate};
use crate::error::{AppError, AppResult};
use crate::realtime::{Audience, Hub, RealtimeEvent};

/// The notifications service: the inbox, preferences, phones and browsers, and the
/// push outbox. It holds what it uses: the database, the publisher, the push
/// services, and presence (a message notifies someone who is not connected).
#[derive(Clone)]
pub struct Notifications(Arc<NotificationParts>);

impl std::ops::Deref for Notifications {
    type Target = NotificationParts;

    fn deref(&self) -> &NotificationParts {
        &self.0
    }
}

/// What [`Notifications`] holds.
pub struct NotificationParts {
    db: DatabaseConnection,
    hub: Hub,
    /// The push outbox's settings and the services it sends to.
    push: PushDelivery,
    web_push: WebPushSettings,
    presence: Arc<Presence>,
}

impl Notifications {
    pub fn new(
        db: DatabaseConnection,
        hub: Hub,
        push: PushDelivery,
        web_push: WebPushSettings,
        presence: Arc<Presence>,
    ) -> Self {
        Self(Arc::new(NotificationParts {
            db,
            hub,
            push,
            web_push,
            presence,
        }))
    }
}

/// What a notification is about; preferences are kept per category and channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Message,
    Mention,
    Meeting,
    Announcement,
    Call,
    System,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Self::Message,
        Self::Mention,
        Self::Meeting,
        Self::Announcement,
        Self::Call,
        Self::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Mention => "mention",
            Self::Meeting => "meeting",
            Self::Announcement => "announcement",
            Self::Call => "call",
            Self::System => "system",
        }
    }

    fn parse(s: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .unwrap_or(Self::System)
    }
}

/// What [`Notifications::write_notes`] stored: inbox rows still to announce, and how many
/// pushes now wait in the outbox.
#[derive(Debug, Default)]
pub(crate) struct NotesWritten {
    pub rows: Vec<notifications::Model>,
    pub queued: usize,
}

/// A notification to create for one user.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub user_id: Uuid,
    pub category: Category,
    pub title: String,
    pub body: Option<String>,
    /// Deep-link data (`conversation_id`, `message_id`, `meeting_id`, `call_id`, …).
    pub data: serde_json::Value,
    /// The conversation it is about: muting it silences the push, and pushes about
    /// one conversation collapse.
    pub conversation_id: Option<Uuid>,
    /// Calls: pushed with high priority, never collapsed.
    pub urgent: bool,
}

/// An inbox item as its owner sees it (000's NotificationRead).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    pub user_id: Uuid,
    /// message | mention | meeting | announcement | call | system
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub category: Category,
    pub title: String,
    pub body: Option<String>,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub is_read: bool,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<notifications::Model> for NotificationView {
    fn from(n: notifications::Model) -> Self {
        Self {
            id: n.id,
            user_id: n.user_id,
            category: Category::parse(&n.kind),
            title: n.title,
            body: n.body,
            data: n.data,
            is_read: n.read_at.is_some(),
            read_at: n.read_at,
            created_at: n.created_at,
        }
    }
}

/// The caller's unread count (`unread_count`; `count` says the same for clients
/// that read that name).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UnreadCount {
    pub unread_count: u64,
    pub count: u64,
}

/// Totals of the caller's inbox (Worknation's "Get Stats").
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxStats {
    pub total: u64,
    pub unread: u64,
    pub read: u64,
}

/// The answer to marking everything read.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReadAll {
    pub message: String,
    pub updated: u64,
    pub unread_count: u64,
}

/// The answer to marking one notification read.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReadOne {
    pub id: Uuid,
    pub is_read: bool,
    pub read_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// 1–100, default 50
    pub limit: Option<u64>,
    /// Only unread ones.
    pub unread_only: Option<bool>,
}

impl Notifications {
    /// The one way a notification is made: for each recipient, as their preferences
    /// allow, the inbox row and the push outbox rows in one transaction; then
    /// `notification_created` and `notifications_count_updated` to every device of
    /// theirs, and the delivery worker is woken.
    pub(crate) async fn notify(
        &self,
        tenant_id: Uuid,
        notes: Vec<NewNotification>,
    ) -> AppResult<()> {
        // A transaction per recipient: a long list (an announcement) never holds the
        // write lock for all of them at once.
        let mut written = NotesWritten::default();
        for note in notes {
            let txn = crate::domain::begin_write(&self.db).await?;
            let one = self
                .write_notes(&txn, tenant_id, std::slice::from_ref(&note))
                .await?;
            txn.commit().await?;
            written.rows.extend(one.rows);
            written.queued += one.queued;
        }
        self.announce_notes(written).await
    }

    /// Writes `notes` in `txn` as their recipients' preferences allow: the inbox rows
    /// and their push outbox rows. [`Services::announce_notes`] tells the devices once
    /// the transaction has committed.
    pub(crate) async fn write_notes(
        &self,
        txn: &DatabaseTransaction,
        tenant_id: Uuid,
        notes: &[NewNotification],
    ) -> AppResult<NotesWritten> {
        let mut written = NotesWritten::default();
        for note in notes {
            let prefs = self.preferences_in(txn, note.user_id).await?;
            let id = Uuid::now_v7();
            if prefs.allows(note.category, Channel::InApp) {
                let row = notifications::ActiveModel {
                    id: Set(id),
                    tenant_id: Set(tenant_id),
                    user_id: Set(note.user_id),
                    kind: Set(note.category.as_str().to_string()),
                    title: Set(note.title.chars().take(limits::TITLE.max).collect()),
                    body: Set(note.body.clone()),
                    data: Set(note.data.clone()),
                    read_at: Set(None),
                    created_at: Set(now()),
                }
                .insert(txn)
                .await?;
                written.rows.push(row);
            }
            written.queued += self.enqueue_pushes(txn, note, id, &prefs).await?;
        }
        Ok(written)
    }

    /// After the commit: `notification_created` and `notifications_count_updated` to
    /// every device of each recipient, and the delivery worker woken for new pushes.
    pub(crate) async fn announce_notes(&self, written: NotesWritten) -> AppResult<()> {
        for row in written.rows {
            let view = NotificationView::from(row);
            self.hub
                .publish(
                    RealtimeEvent::new(Payload::NotificationCreated(view.clone()))
                        .entity("notification", view.id),
                    Audience::users([view.user_id]),
                )
                .await;
            self.publish_count(view.user_id).await?;
        }
        if written.queued > 0 {
            self.wake_push_worker();
        }
        Ok(())
    }

    async fn publish_count(&self, user: Uuid) -> AppResult<u64> {
        let unread = self.unread_notifications(user).await?;
        self.hub
            .publish(
                RealtimeEvent::new(Payload::NotificationsCountUpdated(UnreadCount {
                    unread_count: unread,
                    count: unread,
                })),
                Audience::users([user]),
            )
            .await;
        Ok(unread)
    }

    async fn unread_notifications(&self, user: Uuid) -> AppResult<u64> {
        Ok(notifications::Entity::find()
            .filter(notifications::Column::UserId.eq(user))
            .filter(notifications::Column::ReadAt.is_null())
            .count(&self.db)
            .await?)
    }

    /// The caller's notifications, newest first.
    pub async fn list_notifications(
        &self,
        actor: &Actor,
        q: InboxQuery,
    ) -> AppResult<Vec<NotificationView>> {
        let limit = validate::page_limit(q.limit, limits::PAGE)?;
        let mut find = notifications::Entity::find()
            .filter(notifications::Column::UserId.eq(actor.user_id))
            .filter(notifications::Column::TenantId.eq(actor.tenant_id));
        if q.unread_only == Some(true) {
            find = find.filter(notifications::Column::ReadAt.is_null());
        }
        Ok(find
            .order_by_desc(notifications::Column::CreatedAt)
            .order_by_desc(notifications::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(NotificationView::from)
            .collect())
    }

    pub async fn notification_count(&self, actor: &Actor) -> AppResult<UnreadCount> {
        let n = self.unread_notifications(actor.user_id).await?;
        Ok(UnreadCount {
            unread_count: n,
            count: n,
        })
    }

    pub async fn notification_stats(&self, actor: &Actor) -> AppResult<InboxStats> {
        let total = notifications::Entity::find()
            .filter(notifications::Column::UserId.eq(actor.user_id))
            .count(&self.db)
            .await?;
        let unread = self.unread_notifications(actor.user_id).await?;
        Ok(InboxStats {
            total,
            unread,
            read: total - unread,
        })
    }

    /// Marks every unread notification of the caller read; tells their devices the
    /// new count.
    pub async fn read_all_notifications(&self, actor: &Actor) -> AppResult<ReadAll> {
        let res = notifications::Entity::update_many()
            .col_expr(notifications::Column::ReadAt, Expr::value(now()))
            .filter(notifications::Column::UserId.eq(actor.user_id))
            .filter(notifications::Column::ReadAt.is_null())
            .exec(&self.db)
            .await?;
        let unread = self.publish_count(actor.user_id).await?;
        Ok(ReadAll {
            message: "All notifications marked as read.".into(),
            updated: res.rows_affected,
            unread_count: unread,
        })
    }

    /// Marks one of the caller's notifications read (another user's is 404); tells
    /// their devices (`notification_read`, then the new count).
    pub async fn read_notification(&self, actor: &Actor, id: Uuid) -> AppResult<ReadOne> {
        let n = notifications::Entity::find_by_id(id)
            .filter(notifications::Column::UserId.eq(actor.user_id))
            .filter(notifications::Column::TenantId.eq(actor.tenant_id))
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("notification"))?;
        let read_at = match n.read_at {
            Some(at) => at,
            None => {
                let at = now();
                let mut am: notifications::ActiveModel = n.into();
                am.read_at = Set(Some(at));
                am.update(&self.db).await?;
                at
            }
        };
        let done = ReadOne {
            id,
            is_read: true,
            read_at,
        };
        self.hub
            .publish(
                RealtimeEvent::new(Payload::NotificationRead(done.clone()))
                    .entity("notification", id),
                Audience::users([actor.user_id]),
            )
            .await;
        self.publish_count(actor.user_id).await?;
        Ok(done)
    }
}
