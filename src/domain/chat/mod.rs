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

use self::message_writer::MessageWriter;
use crate::domain::Limits;
use crate::domain::access::Access;
use crate::domain::accounts::Accounts;
use crate::domain::media::Media;
use crate::domain::notify::Notifications;
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

/// The messages service: sending (through the group-commit writer), history, sync,
/// search, edits, deletes, reactions and attaching files. It holds the database, the
/// publisher, the access rule, media, notifications (what a message notifies is
/// planned before the write and stored in its transaction), the writer and the
/// message limits.
#[derive(Clone)]
pub struct Messages {
    db: DatabaseConnection,
    hub: Hub,
    access: Access,
    media: Media,
    notifications: Notifications,
    writer: MessageWriter,
    limits: Limits,
}

impl Messages {
    pub fn new(
        db: DatabaseConnection,
        hub: Hub,
        access: Access,
        media: Media,
        notifications: Notifications,
        writer: MessageWriter,
        limits: Limits,
    ) -> Self {
        Self {
            db,
            hub,
            access,
            media,
            notifications,
            writer,
            limits,
        }
    }
}
