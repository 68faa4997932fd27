//! Appending events to the Redis event stream, and what happens while it cannot be
//! reached: the event is delivered on this node at once (without an offset) and
//! kept, in order, to be appended as soon as Redis answers again, marked as already
//! delivered here, so the other nodes get it late rather than never and this node's
//! connections do not get it twice.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};

use redis::aio::ConnectionManager;
use tokio::sync::Mutex;

use crate::realtime::HistoryLimits;
use crate::realtime::log::new_epoch;

/// Appends one event: KEYS stream, epoch, floor; ARGV body, a new epoch name (used
/// when none is set: the log was lost, so the stream starts over), max length, oldest
/// id to keep, the publishing node, `1` when that node delivered it already.
/// Whenever trimming removes entries, the floor becomes the first entry still
/// present: everything before it may be gone, so an offset older than the floor is not
/// recoverable. (Redis's own `max-deleted-entry-id` does not move on trimming in
/// Redis 7.0, so it cannot say this.) Returns `{epoch, id}`.
const APPEND: &str = r"
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[2]
  redis.call('SET', KEYS[2], epoch)
  redis.call('DEL', KEYS[1], KEYS[3])
end
local id = redis.call('XADD', KEYS[1], '*',
  'epoch', epoch, 'e', ARGV[1], 'origin', ARGV[5], 'local', ARGV[6])
local trimmed = redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', ARGV[3])
  + redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[4])
if trimmed > 0 then
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
  redis.call('SET', KEYS[3], first[1][1])
end
return {epoch, id}
";

pub(super) struct Appender {
    conn: ConnectionManager,
    stream: String,
    epoch_key: String,
    floor_key: String,
    limits: HistoryLimits,
    script: redis::Script,
    /// This node, as entries name their origin.
    pub node: String,
    /// Events this node delivered while the stream was unreachable, oldest first.
    waiting: Mutex<VecDeque<String>>,
    /// Whether `waiting` may hold anything (publishes skip its lock otherwise).
    behind: AtomicBool,
}

/// Whether an event still has to reach this node's connections.
pub(super) enum Appended {
    /// In the stream: this node's reader delivers it too.
    Logged,
    /// Not in the stream yet: deliver it here now.
    DeliverHere,
}

impl Appender {
    pub fn new(
        conn: ConnectionManager,
        stream: String,
        epoch_key: String,
        floor_key: String,
        limits: HistoryLimits,
        node: String,
    ) -> Self {
        Self {
            conn,
            stream,
            epoch_key,
            floor_key,
            limits,
            script: redis::Script::new(APPEND),
            node,
            waiting: Mutex::new(VecDeque::new()),
            behind: AtomicBool::new(false),
        }
    }

    async fn append(&self, body: &str, delivered_here: bool) -> redis::RedisResult<()> {
        let oldest = (chrono::Utc::now().timestamp_millis() as u64)
            .saturating_sub(self.limits.ttl.as_millis() as u64);
        self.script
            .key(&self.stream)
            .key(&self.epoch_key)
            .key(&self.floor_key)
            .arg(body)
            .arg(new_epoch().as_ref())
            .arg(self.limits.size)
            .arg(format!("{oldest}-0"))
            .arg(&self.node)
            .arg(if delivered_here { "1" } else { "0" })
            .invoke_async::<(String, String)>(&mut self.conn.clone())
            .await
            .map(|_| ())
    }

    /// Appends `body` behind anything still waiting; when the stream cannot be
    /// reached, keeps it (at most `HISTORY_SIZE` events, the oldest dropped first).
    pub async fn publish(&self, body: String) -> Appended {
        if !self.behind.load(Ordering::Acquire) {
            match self.append(&body, false).await {
                Ok(()) => return Appended::Logged,
                Err(e) => {
                    metrics::counter!(crate::telemetry::metrics::REDIS_ERRORS).increment(1);
                    tracing::error!(error = %e, "event log unreachable; delivering on this node and keeping the event for the others")
                }
            }
        }
        let mut waiting = self.waiting.lock().await;
        self.behind.store(true, Ordering::Release);
        waiting.push_back(body);
        if waiting.len() > self.limits.size {
            waiting.pop_front();
            tracing::warn!(
                "events kept during a Redis outage exceed HISTORY_SIZE; the oldest is dropped"
            );
        }
        Self::drain(self, &mut waiting).await;
        Appended::DeliverHere
    }

    /// Appends what waited, in order (after Redis came back).
    pub async fn flush(&self) {
        if self.behind.load(Ordering::Acquire) {
            let mut waiting = self.waiting.lock().await;
            self.drain(&mut waiting).await;
        }
    }

    async fn drain(&self, waiting: &mut VecDeque<String>) {
        while let Some(body) = waiting.front() {
            if self.append(body, true).await.is_err() {
                return;
            }
            waiting.pop_front();
        }
        self.behind.store(false, Ordering::Release);
        tracing::info!("events kept during the Redis outage are in the log again");
    }
}
