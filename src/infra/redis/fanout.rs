//! Fan-out across nodes through one Redis stream, `{prefix}:stream`, which is also
//! the event log: a publish appends the event (one script: epoch check, `XADD`
//! trimmed to `HISTORY_SIZE`, entries older than `HISTORY_TTL_SECONDS` dropped), and
//! every node, the publisher included, reads the stream in order and hands each
//! entry to its renderers, so every connection everywhere sees events in log order
//! and its last offset says what it has. `{prefix}:epoch` names the log; when Redis
//! loses it (flushed, restarted empty) the next publish starts a new epoch. While
//! Redis cannot be reached, events are delivered on the publishing node at once,
//! without an offset, and kept to be appended when it is back (`appender.rs`); the
//! reader reconnects with backoff.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::streams::{StreamId, StreamRangeReply, StreamReadReply};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use super::appender::{Appended, Appender};
use crate::realtime::{
    Audience, Delivery, Fanout, HistoryLimits, LocalDelivery, Offset, Position, RealtimeEvent,
    Unrecoverable,
};

/// An event as a stream entry's `e` field.
#[derive(Serialize, Deserialize)]
struct Wire {
    event: RealtimeEvent,
    audience: Audience,
}

/// Entries read per `XREAD`, and how long one waits for new ones.
const READ_COUNT: usize = 512;
const READ_BLOCK_MS: u64 = 2000;
/// Entries read per `XRANGE` of a replay.
const REPLAY_PAGE: usize = 1000;

pub struct RedisFanout {
    conn: ConnectionManager,
    stream: String,
    epoch_key: String,
    /// Where trimming left the log (`appender.rs`): older offsets are not recoverable.
    floor_key: String,
    local: LocalDelivery,
    appender: Arc<Appender>,
    /// Whether the reader is reading the stream right now.
    reading: Arc<AtomicBool>,
    /// The offset of the last entry this node delivered.
    head: Arc<Mutex<Option<Offset>>>,
}

impl RedisFanout {
    /// Finds where the stream ends and starts the reader there on `tasks`; it stops
    /// when `cancel` fires.
    pub async fn start(
        client: redis::Client,
        conn: ConnectionManager,
        prefix: &str,
        local: LocalDelivery,
        limits: HistoryLimits,
        tasks: &TaskTracker,
        cancel: CancellationToken,
    ) -> redis::RedisResult<Self> {
        let stream = format!("{prefix}:stream");
        let epoch_key = format!("{prefix}:epoch");
        let floor_key = format!("{prefix}:floor");
        let mut reader = reader_connection(&client).await?;
        let last: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(&stream)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut reader)
            .await?;
        let epoch: Option<String> = redis::cmd("GET")
            .arg(&epoch_key)
            .query_async(&mut reader)
            .await?;
        let start = last
            .ids
            .first()
            .and_then(|e| Position::parse(&e.id))
            .unwrap_or_default();
        let head = Arc::new(Mutex::new(epoch.map(|e| Offset {
            epoch: e.into(),
            pos: start,
        })));
        let reading = Arc::new(AtomicBool::new(true));
        let appender = Arc::new(Appender::new(
            conn.clone(),
            stream.clone(),
            epoch_key.clone(),
            floor_key.clone(),
            limits,
            Uuid::now_v7().simple().to_string(),
        ));
        tasks.spawn(read_loop(
            client,
            reader,
            Reader {
                stream: stream.clone(),
                local: local.clone(),
                head: head.clone(),
                reading: reading.clone(),
                appender: appender.clone(),
            },
            start,
            cancel,
        ));
        Ok(Self {
            conn,
            stream,
            epoch_key,
            floor_key,
            local,
            appender,
            reading,
            head,
        })
    }
}

/// A connection of its own for the reader: a blocking `XREAD` must not hold up the
/// shared connection's other commands.
async fn reader_connection(client: &redis::Client) -> redis::RedisResult<MultiplexedConnection> {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_millis(READ_BLOCK_MS + 3000)));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

/// What the reader shares with the fan-out.
struct Reader {
    stream: String,
    local: LocalDelivery,
    head: Arc<Mutex<Option<Offset>>>,
    reading: Arc<AtomicBool>,
    appender: Arc<Appender>,
}

/// Reads the stream from `from` on, delivering each entry on this node in order
/// (except what this node delivered itself during an outage); after a failure it
/// reconnects with backoff (1 s doubling to 10 s), appends what waited meanwhile, and
/// goes on from the last entry it delivered.
async fn read_loop(
    client: redis::Client,
    mut conn: MultiplexedConnection,
    r: Reader,
    mut from: Position,
    cancel: CancellationToken,
) {
    let Reader {
        stream,
        local,
        head,
        reading,
        appender,
    } = r;
    let mut backoff = Duration::from_secs(1);
    loop {
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(READ_COUNT)
            .arg("BLOCK")
            .arg(READ_BLOCK_MS)
            .arg("STREAMS")
            .arg(&stream)
            .arg(from.to_string());
        let read = cmd.query_async::<Option<StreamReadReply>>(&mut conn);
        let reply = tokio::select! {
            _ = cancel.cancelled() => return,
            r = read => r,
        };
        match reply {
            Ok(reply) => {
                if !reading.swap(true, Ordering::Relaxed) {
                    tracing::info!("event stream readable again");
                    appender.flush().await;
                }
                backoff = Duration::from_secs(1);
                for entry in reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids) {
                    let Some(pos) = Position::parse(&entry.id) else {
                        continue;
                    };
                    from = pos;
                    let Some(d) = delivery_of(&entry, pos) else {
                        continue;
                    };
                    let mine =
                        entry.get::<String>("origin").as_deref() == Some(appender.node.as_str());
                    if mine && entry.get::<String>("local").as_deref() == Some("1") {
                        *head.lock().unwrap_or_else(|e| e.into_inner()) = d.offset;
                        continue;
                    }
                    local.deliver(&d).await;
                    *head.lock().unwrap_or_else(|e| e.into_inner()) = d.offset;
                }
            }
            Err(e) => {
                metrics::counter!(crate::telemetry::metrics::REDIS_ERRORS).increment(1);
                reading.store(false, Ordering::Relaxed);
                tracing::warn!(error = %e, retry_in = ?backoff, "event stream unreadable; reconnecting");
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
                match reader_connection(&client).await {
                    Ok(c) => conn = c,
                    Err(e) => tracing::debug!(error = %e, "redis still unreachable"),
                }
            }
        }
    }
}

/// A stream entry as a delivery; `None` (logged) when it cannot be read.
fn delivery_of(entry: &StreamId, pos: Position) -> Option<Delivery> {
    let (Some(epoch), Some(body)) = (entry.get::<String>("epoch"), entry.get::<String>("e")) else {
        tracing::warn!(id = %entry.id, "stream entry without epoch or event");
        return None;
    };
    match serde_json::from_str::<Wire>(&body) {
        Ok(w) => Some(Delivery {
            event: w.event,
            audience: w.audience,
            offset: Some(Offset {
                epoch: epoch.into(),
                pos,
            }),
        }),
        Err(e) => {
            tracing::warn!(id = %entry.id, error = %e, "unreadable stream entry");
            None
        }
    }
}

#[async_trait::async_trait]
impl Fanout for RedisFanout {
    async fn publish(&self, event: RealtimeEvent, audience: Audience) {
        let wire = Wire { event, audience };
        let body = match serde_json::to_string(&wire) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, event = wire.event.kind().as_str(), "event not serialisable");
                return;
            }
        };
        if let Appended::DeliverHere = self.appender.publish(body).await {
            // This node's connections hear it now; the others once Redis is back.
            let d = Delivery {
                event: wire.event,
                audience: wire.audience,
                offset: None,
            };
            self.local.deliver(&d).await;
        }
    }

    async fn healthy(&self) -> Result<(), String> {
        if !self.reading.load(Ordering::Relaxed) {
            return Err("redis event stream unreadable; reconnecting".into());
        }
        redis::cmd("PING")
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(|e| format!("redis: {e}"))
    }

    fn head(&self) -> Option<Offset> {
        self.head.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    async fn replay(
        &self,
        user: Uuid,
        after: &Offset,
    ) -> Result<Vec<Arc<Delivery>>, Unrecoverable> {
        let mut conn = self.conn.clone();
        let info: HashMap<String, redis::Value> = redis::cmd("XINFO")
            .arg("STREAM")
            .arg(&self.stream)
            .query_async(&mut conn)
            .await
            .map_err(|e| lost("stream info", e))?;
        let Some(last) = info
            .get("last-generated-id")
            .cloned()
            .and_then(|v| redis::from_redis_value::<String>(v).ok())
            .and_then(|s| Position::parse(&s))
        else {
            return Err(Unrecoverable);
        };
        if after.pos > last {
            return Err(Unrecoverable);
        }
        // Everything after `after` up to the last entry now, page by page.
        let mut entries = Vec::new();
        let mut cursor = after.pos;
        while cursor < last {
            let page: StreamRangeReply = redis::cmd("XRANGE")
                .arg(&self.stream)
                .arg(format!("({cursor}"))
                .arg(last.to_string())
                .arg("COUNT")
                .arg(REPLAY_PAGE)
                .query_async(&mut conn)
                .await
                .map_err(|e| lost("range", e))?;
            let Some(end) = page.ids.last().and_then(|e| Position::parse(&e.id)) else {
                break;
            };
            cursor = end;
            let full = page.ids.len() >= REPLAY_PAGE;
            entries.extend(page.ids);
            if !full {
                break;
            }
        }
        // Then whether the log still reached back to `after` when it was read: within
        // an epoch the floor only rises, so a floor at or below `after` now means
        // nothing after `after` had been trimmed before the range was read.
        let (epoch, floor): (Option<String>, Option<String>) = redis::cmd("MGET")
            .arg(&self.epoch_key)
            .arg(&self.floor_key)
            .query_async(&mut conn)
            .await
            .map_err(|e| lost("epoch", e))?;
        if epoch.as_deref() != Some(after.epoch.as_ref())
            || floor
                .as_deref()
                .and_then(Position::parse)
                .is_some_and(|floor| after.pos < floor)
        {
            return Err(Unrecoverable);
        }
        // An entry this node cannot read (a newer node's shape, damage) is a gap in what
        // the client would be handed: the replay is not to be trusted, never partial.
        let mut owed = Vec::new();
        for entry in &entries {
            let delivery = Position::parse(&entry.id)
                .and_then(|pos| delivery_of(entry, pos))
                .ok_or(Unrecoverable)?;
            if delivery.replays_to(user) {
                owed.push(Arc::new(delivery));
            }
        }
        Ok(owed)
    }
}

/// A replay that could not be read is a replay that cannot be trusted.
fn lost(what: &str, e: redis::RedisError) -> Unrecoverable {
    tracing::warn!(error = %e, what, "event log unreadable for a replay");
    Unrecoverable
}
