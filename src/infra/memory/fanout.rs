//! Fan-out within one process, with its event log: each event gets the next position
//! in a ring bounded by `HISTORY_SIZE` and `HISTORY_TTL_SECONDS` and is handed to
//! this node's renderers under the same lock, so every connection sees events in log
//! order, and a publish returns once its event is delivered here (as a caller's own
//! next request may assume). The epoch is new with every process: offsets from before
//! a restart are never trusted.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::Mutex;
use uuid::Uuid;

use crate::realtime::log::new_epoch;
use crate::realtime::{
    Audience, Delivery, Fanout, HistoryLimits, LocalDelivery, Offset, Position, RealtimeEvent,
    Unrecoverable,
};

struct Ring {
    /// The last position given out.
    last: u64,
    /// Everything up to this position has been dropped from the ring.
    trimmed_through: u64,
    entries: VecDeque<(Instant, Arc<Delivery>)>,
}

pub struct MemoryFanout {
    epoch: Arc<str>,
    limits: HistoryLimits,
    ring: Mutex<Ring>,
    local: LocalDelivery,
    /// The last position handed to the renderers.
    delivered: AtomicU64,
}

impl MemoryFanout {
    pub fn new(local: LocalDelivery, limits: HistoryLimits) -> Self {
        Self {
            epoch: new_epoch(),
            limits,
            ring: Mutex::new(Ring {
                last: 0,
                trimmed_through: 0,
                entries: VecDeque::new(),
            }),
            local,
            delivered: AtomicU64::new(0),
        }
    }

    fn offset(&self, seq: u64) -> Offset {
        Offset {
            epoch: self.epoch.clone(),
            pos: Position { ms: 0, seq },
        }
    }
}

#[async_trait::async_trait]
impl Fanout for MemoryFanout {
    async fn publish(&self, event: RealtimeEvent, audience: Audience) {
        // Positions are given out and events delivered under one lock: every
        // connection sees them in log order.
        let mut ring = self.ring.lock().await;
        ring.last += 1;
        let d = Arc::new(Delivery {
            event,
            audience,
            offset: Some(self.offset(ring.last)),
        });
        let now = Instant::now();
        ring.entries.push_back((now, d.clone()));
        while let Some((at, front)) = ring.entries.front() {
            if ring.entries.len() <= self.limits.size && now.duration_since(*at) <= self.limits.ttl
            {
                break;
            }
            let seq = front.offset.as_ref().map_or(0, |o| o.pos.seq);
            ring.trimmed_through = seq;
            ring.entries.pop_front();
        }
        self.local.deliver(&d).await;
        self.delivered.store(ring.last, Ordering::Release);
    }

    async fn healthy(&self) -> Result<(), String> {
        Ok(())
    }

    fn head(&self) -> Option<Offset> {
        Some(self.offset(self.delivered.load(Ordering::Acquire)))
    }

    async fn replay(
        &self,
        user: Uuid,
        after: &Offset,
    ) -> Result<Vec<Arc<Delivery>>, Unrecoverable> {
        let ring = self.ring.lock().await;
        if after.epoch != self.epoch
            || after.pos.ms != 0
            || after.pos.seq < ring.trimmed_through
            || after.pos.seq > ring.last
        {
            return Err(Unrecoverable);
        }
        // Positions are contiguous: the entry after `after` is at a known index, so a
        // replay reads only what came later (nothing, for a connection that is new).
        let start = (after.pos.seq - ring.trimmed_through) as usize;
        Ok(ring
            .entries
            .range(start.min(ring.entries.len())..)
            .map(|(_, d)| d)
            .filter(|d| d.replays_to(user))
            .cloned()
            .collect())
    }
}
