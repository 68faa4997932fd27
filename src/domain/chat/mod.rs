//! Chat: conversations (direct, group, channel), their participants and flags,
//! messages (send with gapless seqs through the group-commit writer, history, sync,
//! edits, deletes, reactions, forwards), unread counts, full-text search, and the
//! people directory with blocks.

mod attach;
pub mod conversation_admin;
pub mod conversations;
pub mod directory;
pub mod history;
mod message_batch;
pub mod message_edits;
pub mod message_writer;
pub mod messages;
pub mod participants;
pub mod search;
pub mod sync;
pub mod unread;

use sea_orm::DatabaseConnection;

use crate::domain::access::Access;
use crate::domain::accounts::Accounts;
use crate::domain::media::Media;
use crate::realtime::Hub;

/// The conversations service: opening and listing conversations, their participants,
/// flags and administration, unread counts, the people directory and blocks. It
/// holds the database, the publisher, the access rule, accounts (who is in the
/// tenant) and media (the files of each conversation's last message).
#[derive(Clone)]
pub struct Conversations {
    db: DatabaseConnection,
    hub: Hub,
    access: Access,
    accounts: Accounts,
    media: Media,
}

impl Conversations {
    pub fn new(
        db: DatabaseConnection,
        hub: Hub,
        access: Access,
        accounts: Accounts,
        media: Media,
    ) -> Self {
        Self {
            db,
            hub,
            access,
            accounts,
            media,
        }
    }
}
