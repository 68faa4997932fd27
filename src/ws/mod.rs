//! The plain-WebSocket transports: the RealtimeEvent stream (`/api/v1/ws?ticket=`) and
//! the receive-only legacy frames (`/ws?token=`). This node's sessions live in a
//! [`Sessions`] registry; the [`WsRenderer`] hands every Hub event to the registry of
//! every node (through Redis pub/sub when configured, directly otherwise).

mod legacy;
pub mod routes;
mod session;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc};
use uuid::Uuid;

use crate::realtime::{Audience, RealtimeEvent, Renderer};

/// How a session wants its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The RealtimeEvent JSON envelope.
    Envelope,
    /// `message_type` frames of the legacy clients.
    Legacy,
}

/// Frames waiting per session before it is treated as too slow and closed.
const SESSION_BUFFER: usize = 256;

struct Handle {
    user: Uuid,
    dialect: Dialect,
    tx: mpsc::Sender<Arc<str>>,
    kill: Arc<Notify>,
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<u64, Handle>,
    by_user: HashMap<Uuid, HashSet<u64>>,
    by_conversation: HashMap<Uuid, HashSet<u64>>,
}

/// This node's open plain-WebSocket sessions, by user and by subscribed conversation.
#[derive(Default)]
pub struct Sessions {
    inner: RwLock<Inner>,
    next: AtomicU64,
}

/// What a new session gets: its id, its outbound frames, and a close signal.
pub struct Registered {
    pub id: u64,
    pub frames: mpsc::Receiver<Arc<str>>,
    pub kill: Arc<Notify>,
}

impl Sessions {
    pub fn add(&self, user: Uuid, dialect: Dialect) -> Registered {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, frames) = mpsc::channel(SESSION_BUFFER);
        let kill = Arc::new(Notify::new());
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.sessions.insert(
            id,
            Handle {
                user,
                dialect,
                tx,
                kill: kill.clone(),
            },
        );
        inner.by_user.entry(user).or_default().insert(id);
        Registered { id, frames, kill }
    }

    pub fn remove(&self, id: u64) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = inner.sessions.remove(&id) {
            if let Some(set) = inner.by_user.get_mut(&h.user) {
                set.remove(&id);
                if set.is_empty() {
                    inner.by_user.remove(&h.user);
                }
            }
            inner.by_conversation.retain(|_, set| {
                set.remove(&id);
                !set.is_empty()
            });
        }
    }

    pub fn subscribe(&self, id: u64, conversation: Uuid) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner
            .by_conversation
            .entry(conversation)
            .or_default()
            .insert(id);
    }

    pub fn unsubscribe(&self, id: u64, conversation: Uuid) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some(set) = inner.by_conversation.get_mut(&conversation) {
            set.remove(&id);
        }
    }

    /// Sends the event to every local session in the audience, once each, rendered
    /// once per dialect. A session whose buffer is full is closed.
    pub fn deliver(&self, event: &RealtimeEvent, audience: &Audience) {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let mut targets: HashSet<u64> = HashSet::new();
        for u in &audience.users {
            if let Some(set) = inner.by_user.get(u) {
                targets.extend(set);
            }
        }
        if let Some(set) = audience
            .conversation
            .and_then(|c| inner.by_conversation.get(&c))
        {
            targets.extend(set);
        }
        if targets.is_empty() {
            return;
        }
        // Rendered at most once per dialect; `None` inside: this dialect has no frame.
        let mut envelope: Option<Option<Arc<str>>> = None;
        let mut legacy: Option<Option<Arc<str>>> = None;
        for id in targets {
            let Some(h) = inner.sessions.get(&id) else {
                continue;
            };
            if audience.except_users.contains(&h.user) {
                continue;
            }
            let rendered = match h.dialect {
                Dialect::Envelope => envelope.get_or_insert_with(|| encode(event)),
                Dialect::Legacy => legacy
                    .get_or_insert_with(|| legacy::render(event).map(|f| f.to_string().into())),
            };
            let Some(frame) = rendered.clone() else {
                continue;
            };
            if let Err(mpsc::error::TrySendError::Full(_)) = h.tx.try_send(frame) {
                tracing::warn!(session = id, user_id = %h.user, "websocket session too slow; closing");
                h.kill.notify_one();
            }
        }
    }
}

/// The RealtimeEvent envelope as a text frame; a failure is logged, never sent as "".
fn encode(event: &RealtimeEvent) -> Option<Arc<str>> {
    serde_json::to_string(event)
        .inspect_err(
            |e| tracing::error!(error = %e, event = event.kind.as_str(), "event not serialisable"),
        )
        .ok()
        .map(Into::into)
}

/// An event on its way to every node's sessions.
#[derive(Serialize, Deserialize)]
struct Wire {
    event: RealtimeEvent,
    audience: Audience,
}

/// The Hub renderer for plain-WebSocket sessions on all nodes.
pub struct WsRenderer {
    sessions: Arc<Sessions>,
    redis: Option<(redis::aio::ConnectionManager, String)>,
}

impl WsRenderer {
    /// In-process delivery only (single node).
    pub fn local(sessions: Arc<Sessions>) -> Self {
        Self {
            sessions,
            redis: None,
        }
    }

    /// Delivery through Redis channel `{prefix}:ws-events`; every node (this one too)
    /// receives it in [`run_subscriber`] and delivers to its own sessions.
    pub fn via_redis(
        sessions: Arc<Sessions>,
        conn: redis::aio::ConnectionManager,
        prefix: &str,
    ) -> Self {
        Self {
            sessions,
            redis: Some((conn, channel(prefix))),
        }
    }
}

fn channel(prefix: &str) -> String {
    format!("{prefix}:ws-events")
}

impl Renderer for WsRenderer {
    fn deliver<'a>(
        &'a self,
        event: &'a RealtimeEvent,
        audience: &'a Audience,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            match &self.redis {
                None => self.sessions.deliver(event, audience),
                Some((conn, channel)) => {
                    let wire = Wire {
                        event: event.clone(),
                        audience: audience.clone(),
                    };
                    let body = match serde_json::to_string(&wire) {
                        Ok(b) => b,
                        Err(e) => {
                            tracing::error!(error = %e, event = event.kind.as_str(), "event not serialisable");
                            return;
                        }
                    };
                    let mut conn = conn.clone();
                    if let Err(e) = redis::cmd("PUBLISH")
                        .arg(channel)
                        .arg(body)
                        .query_async::<()>(&mut conn)
                        .await
                    {
                        // Redis is down: at least this node's sessions get it.
                        tracing::error!(error = %e, "ws fan-out publish failed; delivering locally");
                        self.sessions.deliver(event, audience);
                    }
                }
            }
        })
    }
}

/// Receives every node's events from Redis and delivers them to this node's
/// sessions; reconnects after errors. Resolves once subscribed.
pub async fn run_subscriber(
    client: redis::Client,
    prefix: String,
    sessions: Arc<Sessions>,
) -> redis::RedisResult<()> {
    let channel = channel(&prefix);
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(&channel).await?;
    tokio::spawn(async move {
        loop {
            {
                let mut stream = pubsub.on_message();
                while let Some(msg) = stream.next().await {
                    let Ok(body) = msg.get_payload::<String>() else {
                        continue;
                    };
                    match serde_json::from_str::<Wire>(&body) {
                        Ok(w) => sessions.deliver(&w.event, &w.audience),
                        Err(e) => tracing::warn!(error = %e, "bad ws fan-out message"),
                    }
                }
            }
            tracing::warn!("ws fan-out subscription lost; reconnecting");
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                if let Ok(mut p) = client.get_async_pubsub().await
                    && p.subscribe(&channel).await.is_ok()
                {
                    pubsub = p;
                    break;
                }
            }
        }
    });
    Ok(())
}
