//! The plain-WebSocket transports: the RealtimeEvent stream (`/api/v1/ws?ticket=`) and
//! the `/ws?token=` service of 001/004. This node's sessions live in a [`Sessions`]
//! registry, which is this transport's renderer: the fan-out hands it every event
//! for this node.

mod conn;
mod envelope;
mod legacy;
pub mod routes;
mod session;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use tokio::sync::{Notify, mpsc};
use uuid::Uuid;

use crate::realtime::gate::Gate;
use crate::realtime::{Delivery, EventType, Position, Renderer};

/// How a session wants its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The RealtimeEvent JSON envelope.
    Envelope,
    /// `message_type` frames of the legacy clients.
    Legacy,
}

/// The frames one event becomes in one dialect (shared by every session).
type Frames = Arc<[Arc<str>]>;

struct Handle {
    user: Uuid,
    dialect: Dialect,
    tx: mpsc::UnboundedSender<Arc<str>>,
    kill: Arc<Kill>,
    /// Closed until the session's catch-up is sent (see `realtime::gate`).
    gate: Arc<Gate<Frames>>,
    /// Bytes queued and not yet taken by the session's writer.
    queued: Arc<AtomicUsize>,
}

impl Handle {
    /// Queues an event's frames. A session whose queue would pass the byte limit is
    /// closed instead (its client resumes from its offset when it comes back): a
    /// client that stops reading never grows the server's memory.
    fn push(&self, id: u64, frames: &Frames, limit: usize) {
        if self.kill.is_fired() {
            return;
        }
        let bytes: usize = frames.iter().map(|f| f.len()).sum();
        if self.queued.fetch_add(bytes, Ordering::Relaxed) + bytes > limit {
            tracing::warn!(session = id, user_id = %self.user, limit, "websocket session too slow; closing");
            metrics::counter!(crate::telemetry::metrics::SLOW_CUTS, "transport" => "websocket")
                .increment(1);
            self.kill.fire(KillReason::TooSlow);
            return;
        }
        for frame in frames.iter() {
            let _ = self.tx.send(frame.clone());
        }
    }
}

/// An event in a dialect: nothing when that dialect has no frame for it.
pub(crate) fn frames_of(dialect: Dialect, d: &Delivery) -> Frames {
    match dialect {
        Dialect::Envelope => envelope::render(&d.event, d.offset.as_ref()).into(),
        Dialect::Legacy => legacy::render(&d.event)
            .map(|f| Arc::<str>::from(f.to_string()))
            .into_iter()
            .collect(),
    }
}

/// Why the server ends a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillReason {
    /// Its outgoing buffer is full: it cannot keep up.
    TooSlow = 1,
    /// The user's sessions were revoked.
    Revoked = 2,
    /// The server is draining: reconnect elsewhere.
    Restart = 3,
}

/// A session's close signal and the reason given with it (the first one wins).
#[derive(Default)]
pub struct Kill {
    notify: Notify,
    reason: std::sync::atomic::AtomicU8,
}

impl Kill {
    fn fire(&self, reason: KillReason) {
        let _ = self
            .reason
            .compare_exchange(0, reason as u8, Ordering::Relaxed, Ordering::Relaxed);
        self.notify.notify_one();
    }

    fn is_fired(&self) -> bool {
        self.reason.load(Ordering::Relaxed) != 0
    }

    /// Waits for the signal; returns the reason.
    pub async fn fired(&self) -> KillReason {
        self.notify.notified().await;
        match self.reason.load(Ordering::Relaxed) {
            2 => KillReason::Revoked,
            3 => KillReason::Restart,
            _ => KillReason::TooSlow,
        }
    }
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<u64, Handle>,
    by_user: HashMap<Uuid, HashSet<u64>>,
}

/// This node's open plain-WebSocket sessions, by user (events go to the users they
/// are for; a conversation channel's `subscribe` is checked and acknowledged, and
/// routes nothing a member's own sessions do not already get).
pub struct Sessions {
    inner: RwLock<Inner>,
    next: AtomicU64,
    /// Bytes a session may have queued (`WS_SEND_BUFFER_BYTES`).
    send_buffer: usize,
}

/// What a new session gets: its id, its outbound frames, and a close signal.
pub struct Registered {
    pub id: u64,
    pub frames: Outbound,
    pub kill: Arc<Kill>,
}

/// A session's queued frames; taking one frees its bytes.
pub struct Outbound {
    rx: mpsc::UnboundedReceiver<Arc<str>>,
    queued: Arc<AtomicUsize>,
}

impl Outbound {
    pub async fn recv(&mut self) -> Option<Arc<str>> {
        let frame = self.rx.recv().await?;
        self.queued.fetch_sub(frame.len(), Ordering::Relaxed);
        Some(frame)
    }
}

impl Sessions {
    pub fn new(send_buffer: usize) -> Self {
        Self {
            inner: RwLock::default(),
            next: AtomicU64::default(),
            send_buffer,
        }
    }

    pub fn add(&self, user: Uuid, dialect: Dialect) -> Registered {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let frames = Outbound {
            rx,
            queued: queued.clone(),
        };
        let kill = Arc::new(Kill::default());
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.sessions.insert(
            id,
            Handle {
                user,
                dialect,
                tx,
                kill: kill.clone(),
                gate: Arc::default(),
                queued,
            },
        );
        inner.by_user.entry(user).or_default().insert(id);
        Registered { id, frames, kill }
    }

    pub fn remove(&self, id: u64) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = inner.sessions.remove(&id)
            && let Some(set) = inner.by_user.get_mut(&h.user)
        {
            set.remove(&id);
            if set.is_empty() {
                inner.by_user.remove(&h.user);
            }
        }
    }

    /// The session has written its replay up to `replayed`: what arrived meanwhile
    /// follows, then events as they come. A session whose gate held too much while it
    /// replayed is closed as too slow (its client resumes from its offset).
    pub fn open(&self, id: u64, replayed: Option<Position>) {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let Some(h) = inner.sessions.get(&id) else {
            return;
        };
        if h.gate
            .try_open(replayed, |frames| {
                h.push(id, &frames, self.send_buffer);
                Ok(())
            })
            .is_err()
        {
            h.kill.fire(KillReason::TooSlow);
        }
    }

    /// Ends every session (the server is draining): closed with 1012, so clients
    /// reconnect, elsewhere, and resume.
    pub fn close_all(&self) {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        for h in inner.sessions.values() {
            h.kill.fire(KillReason::Restart);
        }
    }

    /// Sends the event to every local session in the audience, once each, rendered
    /// once per dialect. A session whose buffer is full is closed. A revocation ends
    /// the user's sessions instead.
    pub fn deliver(&self, d: &Delivery) {
        let (event, audience) = (&d.event, &d.audience);
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        if event.kind() == EventType::SessionRevoked {
            for u in &audience.users {
                for id in inner.by_user.get(u).into_iter().flatten() {
                    if let Some(h) = inner.sessions.get(id) {
                        h.kill.fire(KillReason::Revoked);
                    }
                }
            }
            return;
        }
        // Only to the users the event is for (the conversation's members when it was
        // published): a conversation's channel adds no one, so a subscriber who is no
        // longer a member never hears it.
        let mut targets: HashSet<u64> = HashSet::new();
        for u in &audience.users {
            if let Some(set) = inner.by_user.get(u) {
                targets.extend(set);
            }
        }
        if targets.is_empty() {
            return;
        }
        // Rendered at most once per dialect.
        let mut envelope: Option<Frames> = None;
        let mut legacy: Option<Frames> = None;
        let pos = d.offset.as_ref().map(|o| o.pos);
        for id in targets {
            let Some(h) = inner.sessions.get(&id) else {
                continue;
            };
            if audience.except_users.contains(&h.user) {
                continue;
            }
            let frames = match h.dialect {
                Dialect::Envelope => {
                    envelope.get_or_insert_with(|| frames_of(Dialect::Envelope, d))
                }
                Dialect::Legacy => legacy.get_or_insert_with(|| frames_of(Dialect::Legacy, d)),
            };
            if frames.is_empty() {
                continue;
            }
            crate::telemetry::metrics::delivered(
                match h.dialect {
                    Dialect::Envelope => "websocket",
                    Dialect::Legacy => "legacy_ws",
                },
                1,
            );
            h.gate.live(pos, frames.clone(), |frames| {
                h.push(id, &frames, self.send_buffer)
            });
        }
    }
}

impl Renderer for Sessions {
    fn deliver<'a>(&'a self, d: &'a Delivery) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Sessions::deliver(self, d);
        Box::pin(std::future::ready(()))
    }
}
