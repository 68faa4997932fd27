//! The wiring of the domain: every service built once, in dependency order, from the
//! configuration and the engines, and handed out by name. No rule lives here; each
//! service holds only what it uses.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

use super::accounts::login_guard::{FailureCounter, LoginLimits};
use super::accounts::ws_tickets::TicketStore;
use super::chat::message_writer::MessageWriter;
use super::integration::host_auth::{HostAuthSettings, JwksSource};
use super::meetings::CalendarSettings;
use super::notify::Notifications;
use super::notify::delivery::{PushDelivery, PushGateway};
use super::notify::outbox::OutboxSettings;
use super::notify::web_push::WebPushSettings;
use super::presence::{Presence, PresenceStore, PresenceTimes};
use super::scheduler::Scheduler;
use super::{
    Limits, access, accounts, announcements, calls, chat, integration, media, meetings,
    rate_limits, retention, scheduler,
};
use crate::auth::jwt::JwtKeys;
use crate::error::{AppError, AppResult};
use crate::realtime::Hub;

/// Everything a domain call needs: the database, signing keys, limits, the stores
/// behind their traits and the Hub. Built once by `app` with [`Services::new`]; a clone
/// (one per connection, per request) shares it.
#[derive(Clone)]
pub struct Services(Arc<ServiceSet>);

impl std::ops::Deref for Services {
    type Target = ServiceSet;

    fn deref(&self) -> &ServiceSet {
        &self.0
    }
}

/// What a [`Services`] holds.
pub struct ServiceSet {
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

impl Services {
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
        Self(Arc::new(ServiceSet {
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
