//! The domain layer: the only place with business rules and database writes.
//! Transports parse input, call a function here with the authenticated [`Actor`], and
//! render what it returns; realtime events leave through the [`crate::realtime::Hub`]
//! after the write has committed.

pub mod access;
pub mod accounts;
pub mod announcements;
pub mod calls;
pub mod chat;
pub mod events;
pub mod integration;
mod leases;
pub mod limits;
pub mod media;
pub mod meetings;
pub mod notify;
pub mod presence;
pub mod rate_limits;
pub mod retention;
pub mod scheduler;
mod unique;
pub mod validate;
pub mod views;

use std::sync::Arc;
use std::time::Duration;

use entity::enums::UserRole;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use self::accounts::login_guard::{FailureCounter, LoginLimits};
use self::accounts::ws_tickets::TicketStore;
use self::chat::message_writer::MessageWriter;
use self::integration::host_auth::{HostAuthSettings, JwksSource};
use self::meetings::CalendarSettings;
use self::notify::Notifications;
use self::notify::delivery::{PushDelivery, PushGateway};
use self::notify::outbox::OutboxSettings;
use self::notify::web_push::WebPushSettings;
use self::presence::{Presence, PresenceStore, PresenceTimes};
use self::scheduler::Scheduler;
use crate::auth::jwt::JwtKeys;
use crate::error::{AppError, AppResult};
use crate::realtime::Hub;

/// Everything a domain call needs: the database, signing keys, limits, the stores
/// behind their traits and the Hub. Built once by `app` with [`Domain::new`]; a clone
/// (one per connection, per request) shares it.
#[derive(Clone)]
pub struct Domain(Arc<DomainParts>);

impl std::ops::Deref for Domain {
    type Target = DomainParts;

    fn deref(&self) -> &DomainParts {
        &self.0
    }
}

/// What a [`Domain`] holds.
pub struct DomainParts {
    db: DatabaseConnection,
    hub: Hub,
    presence: Arc<Presence>,
    notifications: Notifications,
    accounts: accounts::Accounts,
    announcements: announcements::Announcements,
    calls: calls::Calls,
    access: access::Access,
    meetings: meetings::Meetings,
    scheduler: Arc<Scheduler>,
    host_auth: integration::host_auth::HostAuth,
    integration: integration::Integration,
    retention: retention::Retention,
    jobs: scheduler::JobRunner,
    /// Where uploaded files live and what may be uploaded.
    media: media::Media,
    conversations: chat::Conversations,
    messages: chat::Messages,
    rate_limiter: rate_limits::RateLimiter,
}

/// How the domain is configured.
pub struct Settings {
    pub keys: Arc<JwtKeys>,
    pub refresh_ttl: Duration,
    pub ticket_ttl: Duration,
    pub limits: Limits,
    pub presence: PresenceTimes,
    pub login: LoginLimits,
    pub web_push: WebPushSettings,
    pub outbox: OutboxSettings,
    pub calendar: CalendarSettings,
    pub host_auth: HostAuthSettings,
    pub retention: Duration,
    pub media: media::MediaPolicy,
    pub rate_limits: rate_limits::RateLimits,
}

/// The engines behind the domain's store traits (`crate::infra`).
pub struct Stores {
    pub tickets: Arc<dyn TicketStore>,
    pub presence: Arc<dyn PresenceStore>,
    pub login_failures: Arc<dyn FailureCounter>,
    pub push: Arc<dyn PushGateway>,
    pub jwks: Arc<dyn JwksSource>,
    pub media: Arc<dyn media::store::MediaStore>,
    pub rate_gate: Arc<dyn rate_limits::RateGate>,
}

impl Domain {
    pub fn new(
        db: DatabaseConnection,
        hub: Hub,
        settings: Settings,
        stores: Stores,
        writer: MessageWriter,
    ) -> Self {
        let presence = Arc::new(Presence::new(
            db.clone(),
            hub.clone(),
            stores.presence,
            settings.presence,
        ));
        let notifications = Notifications::new(
            db.clone(),
            hub.clone(),
            PushDelivery::new(settings.outbox, stores.push),
            settings.web_push,
            presence.clone(),
        );
        let scheduler = Arc::new(Scheduler::default());
        let access = access::Access::new(db.clone());
        let meetings = meetings::Meetings::new(
            db.clone(),
            hub.clone(),
            notifications.clone(),
            scheduler.clone(),
            settings.calendar.clone(),
        );
        let announcements = announcements::Announcements::new(
            db.clone(),
            hub.clone(),
            notifications.clone(),
            scheduler.clone(),
        );
        let calls = calls::Calls::new(
            db.clone(),
            hub.clone(),
            access.clone(),
            notifications.clone(),
            presence.clone(),
            scheduler.clone(),
            settings.calendar.ring_timeout,
        );
        let accounts = accounts::Accounts::new(
            db.clone(),
            hub.clone(),
            settings.keys.clone(),
            stores.tickets,
            stores.login_failures,
            accounts::AccountSettings {
                refresh_ttl: settings.refresh_ttl,
                ticket_ttl: settings.ticket_ttl,
                login_limits: settings.login,
            },
        );
        let media = media::Media::new(
            db.clone(),
            media::MediaFiles {
                store: stores.media,
                policy: settings.media,
            },
            access.clone(),
        );
        let conversations = chat::Conversations::new(
            db.clone(),
            hub.clone(),
            access.clone(),
            accounts.clone(),
            media.clone(),
        );
        let messages = chat::Messages::new(
            db.clone(),
            hub.clone(),
            access.clone(),
            media.clone(),
            notifications.clone(),
            writer,
            settings.limits,
        );
        let integration = integration::Integration::new(
            db.clone(),
            hub.clone(),
            access.clone(),
            accounts.clone(),
            conversations.clone(),
            notifications.clone(),
        );
        let host_auth = integration::host_auth::HostAuth::new(
            db.clone(),
            settings.keys.clone(),
            stores.jwks,
            settings.host_auth,
        );
        let retention = retention::Retention::new(
            db.clone(),
            media.clone(),
            scheduler.clone(),
            settings.retention,
        );
        let jobs = scheduler::JobRunner::new(
            db.clone(),
            meetings.clone(),
            calls.clone(),
            announcements.clone(),
        );
        let rate_limiter = rate_limits::RateLimiter::new(
            stores.rate_gate,
            settings.rate_limits,
            settings.keys.clone(),
        );
        Self(Arc::new(DomainParts {
            conversations,
            messages,
            accounts,
            announcements,
            calls,
            meetings,
            access,
            presence,
            db,
            hub,
            notifications,
            scheduler,
            host_auth,
            integration,
            retention,
            jobs,
            media,
            rate_limiter,
        }))
    }

    /// The scheduler's arming side (jobs armed in the deciding transaction).
    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// Who may touch a conversation or subscribe to a channel.
    pub fn access(&self) -> &access::Access {
        &self.access
    }

    /// Accounts: tenants, users, sessions, tokens, tickets.
    pub fn accounts(&self) -> &accounts::Accounts {
        &self.accounts
    }

    /// Announcements: published now or later, to an audience.
    pub fn announcements(&self) -> &announcements::Announcements {
        &self.announcements
    }

    /// Calls: ringing, answering, ending, signalling.
    pub fn calls(&self) -> &calls::Calls {
        &self.calls
    }

    /// Conversations: opening, listing, participants, flags, unread, directory.
    pub fn conversations(&self) -> &chat::Conversations {
        &self.conversations
    }

    /// Messages: send, history, sync, search, edits, reactions, attachments.
    pub fn messages(&self) -> &chat::Messages {
        &self.messages
    }

    /// Host platforms: binding their issuer, exchanging their tokens.
    pub fn host_auth(&self) -> &integration::host_auth::HostAuth {
        &self.host_auth
    }

    /// The service API: keys and what a host backend does with one.
    pub fn integration(&self) -> &integration::Integration {
        &self.integration
    }

    /// The sweep of old rows.
    pub fn retention(&self) -> &retention::Retention {
        &self.retention
    }

    /// Runs due scheduled jobs.
    pub fn jobs(&self) -> &scheduler::JobRunner {
        &self.jobs
    }

    /// Rate limits on requests and events.
    pub fn rate_limiter(&self) -> &rate_limits::RateLimiter {
        &self.rate_limiter
    }

    /// Media: uploads, confirmation, downloads.
    pub fn media(&self) -> &media::Media {
        &self.media
    }

    /// Meetings: invitations, answers, reminders.
    pub fn meetings(&self) -> &meetings::Meetings {
        &self.meetings
    }

    /// Notifications: the inbox, preferences, devices, the push outbox.
    pub fn notifications(&self) -> &Notifications {
        &self.notifications
    }

    /// Presence: devices online, away, offline; this node's open connections.
    pub fn presence(&self) -> &Presence {
        &self.presence
    }

    /// The event log's read side (transports catch connections up from it; only the
    /// domain publishes).
    pub fn event_log(&self) -> &crate::realtime::EventLog {
        self.hub.log()
    }

    /// Whether the database answers and events reach every node (`/readyz`).
    pub async fn ready(&self) -> AppResult<()> {
        self.db
            .ping()
            .await
            .map_err(|e| AppError::unavailable("database", e))?;
        self.hub
            .healthy()
            .await
            .map_err(|why| AppError::Unavailable {
                what: format!("fan-out ({why})"),
                source: None,
            })
    }
}

/// Input bounds enforced by the domain, whatever the transport.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_message_length: usize,
}

/// The authenticated caller of a domain function.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    pub role: UserRole,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.role == UserRole::Admin
    }
}

/// Current time as stored in the database (UTC, microsecond precision so values
/// read back from PostgreSQL compare equal to the ones written).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::{SubsecRound, Utc};
    Utc::now().trunc_subsecs(6)
}

/// Starts a transaction that will write. On SQLite it takes the write lock at `BEGIN`
/// (waiting in the busy handler like any writer), so one that reads before its first
/// write cannot fail at that write because another connection committed in between
/// (`SQLITE_BUSY_SNAPSHOT`, which SQLite never retries). Elsewhere a plain `BEGIN`.
pub(crate) async fn begin_write(
    db: &DatabaseConnection,
) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}
