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
