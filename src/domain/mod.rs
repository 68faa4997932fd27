//! The domain layer: the only place with business rules and database writes.
//! Transports parse input, call a function here with the authenticated [`Actor`], and
//! render what it returns; realtime events leave through the [`crate::realtime::Hub`]
//! after the write has committed.

pub mod accounts;
pub mod channels;
pub mod conversations;
pub mod directory;
pub mod manage;
pub mod message_ops;
pub mod message_writer;
pub mod messages;
pub mod presence;
pub mod search;
pub mod tickets;
pub mod users;
pub mod validate;
pub mod views;

use std::sync::Arc;
use std::time::Duration;

use entity::enums::UserRole;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::auth::jwt::JwtKeys;
use crate::realtime::Hub;

/// Everything a domain call needs: the database, signing keys, limits and the Hub.
#[derive(Clone)]
pub struct Domain {
    pub db: DatabaseConnection,
    pub keys: Arc<JwtKeys>,
    pub refresh_ttl: Duration,
    pub limits: Limits,
    pub hub: Hub,
    pub tickets: Arc<tickets::TicketStore>,
    pub ticket_ttl: Duration,
    pub presence: Arc<presence::Presence>,
    /// Stores new messages in group commits (see [`message_writer`]).
    pub writer: message_writer::MessageWriter,
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

impl Domain {}

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
