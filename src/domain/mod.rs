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
mod services;
mod unique;
pub mod validate;
pub mod views;

use entity::enums::UserRole;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

pub use self::services::{Services, Settings, Stores};

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
