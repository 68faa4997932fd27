//! Presence: which users are online, away or offline, per device. Heartbeats (and open
//! connections, refreshed by the node holding them) keep a device online for
//! `ONLINE_PRESENCE_TTL_SECONDS`; then it is away for `PRESENCE_AWAY_SECONDS`; then
//! offline. A change of a user's status (never a mere heartbeat) is published as
//! `presence_updated` to the users who share a conversation with them. State is in
//! a [`PresenceStore`] (`crate::infra`: Redis, shared by all nodes, where the status
//! swap decides which node publishes; or this process's memory).

mod store;

pub use store::{Device, PresenceStore};

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{conversation_participants as cp, users};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, ExprTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::events::Payload;
use crate::domain::{Actor, limits, now, validate};
use crate::error::{AppError, AppResult};
use crate::realtime::{Audience, Hub, RealtimeEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Online,
    Away,
    Offline,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Away => "away",
            Self::Offline => "offline",
        }
    }

    /// The stored spelling back; anything unknown is offline.
    pub fn parse(s: &str) -> Self {
        match s {
            "online" => Self::Online,
            "away" => Self::Away,
            _ => Self::Offline,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Web,
    Mobile,
}

impl Platform {
    /// A client's platform hint (000: `web` by default, `mobile`; anything else is web).
    pub fn from_hint(hint: Option<&str>) -> Self {
        match hint {
            Some("mobile") => Self::Mobile,
            _ => Self::Web,
        }
    }
}

/// A user's presence as clients see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PresenceView {
    pub user_id: Uuid,
    pub status: Status,
    pub is_online: bool,
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Platforms with a device online now.
    pub platforms: Vec<Platform>,
    pub custom_status: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct HeartbeatInput {
    /// 8–128 characters, stable per device.
    pub device_id: String,
    pub platform: Platform,
    /// e.g. `foreground`, `background` (≤ 32 characters).
    pub app_state: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OfflineInput {
    pub device_id: String,
    /// Required by 000 and checked (`web` | `mobile`) when the body is read; the
    /// device id alone names the device.
    #[allow(dead_code)]
    pub platform: Platform,
}

/// Timing rules.
#[derive(Debug, Clone, Copy)]
pub struct PresenceTimes {
    pub online_ttl: Duration,
    pub away_window: Duration,
}

/// The presence service: state in its store, the connections this node holds open
/// (refreshed by it), and `presence_updated` to the people who share a conversation.
pub struct Presence {
    db: DatabaseConnection,
    hub: Hub,
    store: Arc<dyn PresenceStore>,
    times: PresenceTimes,
    local: Mutex<HashMap<String, (Uuid, Platform)>>,
    /// One user's status changes are settled one at a time (64 stripes by user id):
    /// otherwise an "offline" held up by its database write could be published after
    /// the "online" of a device that reconnected meanwhile, and watchers would keep it.
    settling: Vec<Mutex<()>>,
}

impl Presence {
    pub fn new(
        db: DatabaseConnection,
        hub: Hub,
        store: Arc<dyn PresenceStore>,
        times: PresenceTimes,
    ) -> Self {
        Self {
            db,
            hub,
            store,
            times,
            local: Mutex::new(HashMap::new()),
            settling: (0..64).map(|_| Mutex::new(())).collect(),
        }
    }

    fn status_of(
        &self,
        devices: &HashMap<String, Device>,
        at: DateTime<Utc>,
    ) -> (Status, Option<DateTime<Utc>>, Vec<Platform>) {
        let ttl = chrono::Duration::from_std(self.times.online_ttl).unwrap_or_default();
        let away = ttl + chrono::Duration::from_std(self.times.away_window).unwrap_or_default();
        let last = devices.values().map(|d| d.last_seen).max();
        let mut platforms: Vec<Platform> = devices
            .values()
            .filter(|d| at - d.last_seen < ttl)
            .map(|d| d.platform)
            .collect();
        platforms.sort_by_key(|p| *p as u8);
        platforms.dedup();
        let status = match last {
            Some(l) if at - l < ttl => Status::Online,
            Some(l) if at - l < away => Status::Away,
            _ => Status::Offline,
        };
        (status, last, platforms)
    }

    /// One user's status changes are settled one at a time: this waits for the user's turn.
    async fn turn(&self, user: Uuid) -> tokio::sync::MutexGuard<'_, ()> {
        let stripe = (user.as_u128() % self.settling.len() as u128) as usize;
        self.settling[stripe].lock().await
    }

    /// Records a device, kept by the store a minute past the away window.
    async fn put(&self, user: Uuid, device: &str, d: Device) -> AppResult<()> {
        let keep = self.times.online_ttl + self.times.away_window + Duration::from_secs(60);
        self.store.put_device(user, device, &d, keep).await
    }

    /// The current view of one user, dropping devices that are long gone.
    async fn view(&self, user: Uuid) -> AppResult<PresenceView> {
        let at = now();
        let devices = self.store.devices(user).await?;
        let (status, last, platforms) = self.status_of(&devices, at);
        let horizon = chrono::Duration::from_std(self.times.online_ttl + self.times.away_window)
            .unwrap_or_default();
        for (id, d) in &devices {
            if at - d.last_seen >= horizon {
                self.store.remove_device(user, id).await?;
            }
        }
        Ok(PresenceView {
            user_id: user,
            status,
            is_online: status == Status::Online,
            last_seen_at: last,
            platforms,
            custom_status: None,
        })
    }
}

impl Presence {
    /// A device says it is alive.
    pub async fn heartbeat(&self, actor: &Actor, input: HeartbeatInput) -> AppResult<PresenceView> {
        let device = validate::text("device_id", &input.device_id, limits::DEVICE_ID)?;
        let app_state = match input.app_state.as_deref() {
            Some(s) => Some(validate::text("app_state", s, limits::APP_STATE)?),
            None => None,
        };
        self.touch(
            actor.user_id,
            &format!("hb:{device}"),
            input.platform,
            app_state,
        )
        .await
    }

    /// A device says it is going away.
    pub async fn go_offline(&self, actor: &Actor, input: OfflineInput) -> AppResult<PresenceView> {
        let device = format!(
            "hb:{}",
            validate::text("device_id", &input.device_id, limits::DEVICE_ID)?
        );
        let final_heartbeat = self
            .store
            .devices(actor.user_id)
            .await?
            .get(&device)
            .map(|d| d.last_seen);
        self.store.remove_device(actor.user_id, &device).await?;
        let mut view = self.settle(actor.user_id).await?;
        // The answer is about this device (000: `last_seen_at` is "the final
        // heartbeat"); `platforms` still lists the others.
        view.status = Status::Offline;
        view.is_online = false;
        view.last_seen_at = final_heartbeat.or(view.last_seen_at);
        Ok(view)
    }

    /// Presence of users of the caller's tenant (others are left out).
    pub async fn presence_of(
        &self,
        actor: &Actor,
        ids: &str,
    ) -> AppResult<HashMap<Uuid, PresenceView>> {
        let mut wanted = Vec::new();
        for part in ids.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            wanted.push(
                Uuid::parse_str(part).map_err(|_| {
                    AppError::validation("ids", format!("`{part}` is not a user id"))
                })?,
            );
        }
        if wanted.is_empty() || wanted.len() > limits::MAX_PRESENCE_IDS {
            return Err(AppError::validation(
                "ids",
                format!(
                    "give 1 to {} comma-separated user ids",
                    limits::MAX_PRESENCE_IDS
                ),
            ));
        }
        let visible: Vec<(Uuid, Option<DateTime<Utc>>)> = users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .column(users::Column::LastSeenAt)
            .filter(users::Column::Id.is_in(wanted))
            .filter(users::Column::TenantId.eq(actor.tenant_id))
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut out = HashMap::new();
        for (u, stored) in visible {
            let mut view = self.view(u).await?;
            // Devices long gone are forgotten; the last sighting is kept on the user.
            view.last_seen_at = view.last_seen_at.or(stored);
            out.insert(u, view);
        }
        Ok(out)
    }

    /// Whether the user has an open Socket.IO or WebSocket connection on any node
    /// (heartbeats alone do not count: nobody would see a message arrive).
    pub(crate) async fn has_live_connection(&self, user: Uuid) -> AppResult<bool> {
        let ttl = chrono::Duration::from_std(self.times.online_ttl).unwrap_or_default();
        let at = now();
        Ok(self
            .store
            .devices(user)
            .await?
            .iter()
            .any(|(key, d)| key.starts_with("conn:") && at - d.last_seen < ttl))
    }

    /// A connection (Socket.IO or raw WebSocket) opened on this node.
    pub async fn connection_opened(&self, user: Uuid, conn_id: &str, platform: Platform) {
        self.local
            .lock()
            .await
            .insert(conn_id.to_string(), (user, platform));
        let device = Device {
            platform,
            app_state: None,
            last_seen: now(),
        };
        let opened = async {
            self.put(user, &format!("conn:{conn_id}"), device).await?;
            // A device that just connected makes its user online. Unless they already
            // were, which a user's second device finds in O(1), that is news.
            let _turn = self.turn(user).await;
            if self.store.swap_status(user, Status::Online).await? != Status::Online {
                let view = self.view(user).await?;
                self.announce(user, &view).await?;
            }
            Ok::<(), AppError>(())
        };
        if let Err(e) = opened.await {
            tracing::warn!(error = %e, "presence update failed");
        }
    }

    /// A connection on this node closed.
    pub async fn connection_closed(&self, user: Uuid, conn_id: &str) {
        self.local.lock().await.remove(conn_id);
        let res = async {
            self.store
                .remove_device(user, &format!("conn:{conn_id}"))
                .await?;
            self.settle(user).await
        };
        if let Err(e) = res.await {
            tracing::warn!(error = %e, "presence update failed");
        }
    }

    /// Closes every connection of this node whose id starts with `prefix` (at shutdown);
    /// closing one again later changes nothing.
    pub async fn close_local_connections(&self, prefix: &str) {
        let open: Vec<(String, Uuid)> = self
            .local
            .lock()
            .await
            .iter()
            .filter(|(id, _)| id.starts_with(prefix))
            .map(|(id, (user, _))| (id.clone(), *user))
            .collect();
        for (conn_id, user) in open {
            Box::pin(self.connection_closed(user, &conn_id)).await;
        }
    }

    /// Keeps this node's open connections online and publishes time-based changes.
    /// Run periodically by the server.
    pub async fn presence_tick(&self) -> AppResult<()> {
        let local: Vec<(String, Uuid, Platform)> = self
            .local
            .lock()
            .await
            .iter()
            .map(|(id, (u, p))| (id.clone(), *u, *p))
            .collect();
        for (id, user, platform) in local {
            let d = Device {
                platform,
                app_state: None,
                last_seen: now(),
            };
            self.put(user, &format!("conn:{id}"), d).await?;
        }
        for user in self.store.tracked().await? {
            let view = self.settle(user).await?;
            if view.status == Status::Offline && view.last_seen_at.is_none() {
                self.store.forget(user).await?;
            }
        }
        Ok(())
    }

    async fn touch(
        &self,
        user: Uuid,
        device: &str,
        platform: Platform,
        app_state: Option<String>,
    ) -> AppResult<PresenceView> {
        let d = Device {
            platform,
            app_state,
            last_seen: now(),
        };
        self.put(user, device, d).await?;
        self.settle(user).await
    }

    /// Computes the user's status and publishes it if it changed.
    async fn settle(&self, user: Uuid) -> AppResult<PresenceView> {
        let _turn = self.turn(user).await;
        let view = self.view(user).await?;
        let old = self.store.swap_status(user, view.status).await?;
        if old != view.status {
            self.announce(user, &view).await?;
        }
        Ok(view)
    }

    /// A changed status: `last_seen_at` stored when it is not online, and the news to
    /// the user and their contacts.
    async fn announce(&self, user: Uuid, view: &PresenceView) -> AppResult<()> {
        if view.status != Status::Online {
            users::Entity::update_many()
                .col_expr(
                    users::Column::LastSeenAt,
                    Expr::value(view.last_seen_at.unwrap_or_else(now)),
                )
                .filter(users::Column::Id.eq(user))
                .exec(&self.db)
                .await?;
        }
        let audience = Audience::users(self.contacts(user).await?);
        self.hub
            .publish(
                RealtimeEvent::new(Payload::PresenceUpdated(view.clone()))
                    .actor(user)
                    .entity("user", user),
                audience,
            )
            .await;
        Ok(())
    }

    /// The user and everyone who shares a conversation with them.
    async fn contacts(&self, user: Uuid) -> AppResult<Vec<Uuid>> {
        let mut theirs = Query::select();
        theirs
            .column(cp::Column::ConversationId)
            .from(cp::Entity)
            .and_where(Expr::col(cp::Column::UserId).eq(user))
            .and_where(Expr::col(cp::Column::LeftAt).is_null());
        let ids: Vec<Uuid> = cp::Entity::find()
            .select_only()
            .column(cp::Column::UserId)
            .filter(cp::Column::ConversationId.in_subquery(theirs.to_owned()))
            .filter(cp::Column::LeftAt.is_null())
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut set: HashSet<Uuid> = ids.into_iter().collect();
        set.insert(user);
        Ok(set.into_iter().collect())
    }
}
