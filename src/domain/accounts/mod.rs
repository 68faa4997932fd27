//! Accounts: tenants and users, sessions (signup, login, rotating refresh tokens,
//! profile, password), tenant administration of users, turning a token into the
//! acting user, and single-use tickets for the plain WebSocket.

pub mod login_guard;
pub mod sessions;
pub mod users;
pub mod ws_tickets;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

use self::login_guard::{FailureCounter, LoginLimits};
use self::ws_tickets::TicketStore;
use crate::auth::jwt::JwtKeys;
use crate::realtime::Hub;

/// The accounts service. It holds what it uses: the database, the publisher (a
/// revoked user's connections are ended on every node), the signing keys, the
/// ticket store, the failed-login counter and [`AccountSettings`].
#[derive(Clone)]
pub struct Accounts {
    db: DatabaseConnection,
    hub: Hub,
    keys: Arc<JwtKeys>,
    tickets: Arc<dyn TicketStore>,
    login_failures: Arc<dyn FailureCounter>,
    settings: AccountSettings,
}

/// How long sessions and tickets live, and how failed logins are limited.
#[derive(Clone)]
pub struct AccountSettings {
    pub refresh_ttl: Duration,
    pub ticket_ttl: Duration,
    pub login_limits: LoginLimits,
}

impl Accounts {
    pub fn new(
        db: DatabaseConnection,
        hub: Hub,
        keys: Arc<JwtKeys>,
        tickets: Arc<dyn TicketStore>,
        login_failures: Arc<dyn FailureCounter>,
        settings: AccountSettings,
    ) -> Self {
        Self {
            db,
            hub,
            keys,
            tickets,
            login_failures,
            settings,
        }
    }
}
