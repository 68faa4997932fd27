//! The host platform's side: service API keys (`api_keys.rs`), the messaging token
//! for host users (`host_auth.rs`), and what a host backend does with a key:
//! onboarding users and opening chats (`service.rs`); notifications, its own events
//! and ending sessions (`broadcasts.rs`).

pub mod api_keys;
pub mod broadcasts;
pub mod host_auth;
pub mod service;

use sea_orm::DatabaseConnection;

use crate::domain::access::Access;
use crate::domain::accounts::Accounts;
use crate::domain::chat::Conversations;
use crate::domain::notify::Notifications;
use crate::realtime::Hub;

/// The service API's side: API keys and what a host backend does with one. It holds
/// the database, the publisher, the access rule, accounts (onboarding, ending
/// sessions), conversations (opening chats for users) and notifications.
#[derive(Clone)]
pub struct Integration {
    db: DatabaseConnection,
    hub: Hub,
    access: Access,
    accounts: Accounts,
    conversations: Conversations,
    notifications: Notifications,
}

impl Integration {
    pub fn new(
        db: DatabaseConnection,
        hub: Hub,
        access: Access,
        accounts: Accounts,
        conversations: Conversations,
        notifications: Notifications,
    ) -> Self {
        Self {
            db,
            hub,
            access,
            accounts,
            conversations,
            notifications,
        }
    }
}
