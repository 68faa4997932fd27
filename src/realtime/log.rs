//! Positions in the event log: every published event gets an [`Offset`] (the log's
//! epoch and a position that only grows), which clients keep and hand back on
//! reconnect to get what they missed. An event travels to renderers as a
//! [`Delivery`]: the event, its audience and its offset.

use std::fmt;
use std::sync::Arc;

use uuid::Uuid;

use super::{Audience, EventType, RealtimeEvent};

/// A position within one epoch: `ms-seq` (a Redis stream id; the in-process log
/// uses `0-n`). Ordered as the log is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    pub ms: u64,
    pub seq: u64,
}

impl Position {
    pub fn parse(text: &str) -> Option<Self> {
        let (ms, seq) = text.split_once('-')?;
        Some(Self {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Where a client stands in the log: `epoch:ms-seq` as text. A new epoch (the log was
/// lost: Redis flushed, a process restarted without Redis) means no old offset is
/// trusted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Offset {
    pub epoch: Arc<str>,
    pub pos: Position,
}

impl Offset {
    pub fn parse(text: &str) -> Option<Self> {
        let (epoch, pos) = text.rsplit_once(':')?;
        if epoch.is_empty() || epoch.len() > 64 {
            return None;
        }
        Some(Self {
            epoch: epoch.into(),
            pos: Position::parse(pos)?,
        })
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.epoch, self.pos)
    }
}

/// An event on its way to this node's renderers. `offset` is `None` only for an
/// event that could not be logged (the log's store was unreachable): it is
/// delivered live on this node but cannot be replayed.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event: RealtimeEvent,
    pub audience: Audience,
    pub offset: Option<Offset>,
}

impl Delivery {
    /// Whether a reconnecting `user` is owed this event: addressed to them (not
    /// excepted) and a lasting fact. Typing, presence, call signals and revocations
    /// are of the moment and never replayed; events only for a conversation's channel
    /// subscribers are not either (the log is kept per user).
    pub fn replays_to(&self, user: Uuid) -> bool {
        let lasting = !matches!(
            self.event.kind(),
            EventType::Typing
                | EventType::PresenceUpdated
                | EventType::CallSignal
                | EventType::SessionRevoked
                | EventType::Connected
                | EventType::Ping
                | EventType::Pong
        );
        lasting
            && self.audience.users.contains(&user)
            && !self.audience.except_users.contains(&user)
    }
}

/// The log no longer reaches back to the offset asked for (trimmed, or another
/// epoch): the client must fetch its state again (`get_chats`, `sync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unrecoverable;

/// How much the log keeps (`HISTORY_SIZE`, `HISTORY_TTL_SECONDS`).
#[derive(Debug, Clone, Copy)]
pub struct HistoryLimits {
    pub size: usize,
    pub ttl: std::time::Duration,
    /// The most events one catch-up replays (`HISTORY_REPLAY_MAX`): a client owed
    /// more is not recovered and fetches its state, which pages.
    pub max_replay: usize,
}

/// A fresh random epoch name.
pub fn new_epoch() -> Arc<str> {
    Uuid::new_v4().simple().to_string()[..12].into()
}
