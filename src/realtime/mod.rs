//! The one publish point: domain calls hand committed facts to the [`Hub`], which
//! gives them to the [`Fanout`]. The fan-out logs each event under an [`Offset`]
//! (`log.rs`) and every node (this one included) hands it, in log order, to its local
//! [`Renderer`]s, one per transport, which render it in their dialect. A connection
//! that comes back with its last offset gets what it missed from the same log, handed
//! over to live delivery through its [`gate::Gate`].

pub mod event;
pub mod gate;
pub mod log;
pub mod pace;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use event::{Audience, EventType, RealtimeEvent, is_reserved_event_name};
pub use log::{Delivery, HistoryLimits, Offset, Position, Unrecoverable};
use uuid::Uuid;

/// A transport that turns internal events into its own dialect and sends them to
/// the devices connected to this node.
pub trait Renderer: Send + Sync + 'static {
    fn deliver<'a>(
        &'a self,
        delivery: &'a Delivery,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

/// This node's renderers, in registration order: what a fan-out delivers into.
#[derive(Clone, Default)]
pub struct LocalDelivery {
    renderers: Arc<Vec<Arc<dyn Renderer>>>,
}

impl LocalDelivery {
    pub fn new(renderers: Vec<Arc<dyn Renderer>>) -> Self {
        Self {
            renderers: Arc::new(renderers),
        }
    }

    /// Renders the event for every device of its audience connected to this node.
    pub async fn deliver(&self, delivery: &Delivery) {
        let waited = chrono::Utc::now() - delivery.event.timestamp;
        metrics::histogram!(crate::telemetry::metrics::DELIVERY_LATENCY)
            .record(waited.to_std().unwrap_or_default().as_secs_f64());
        for r in self.renderers.iter() {
            // A renderer that panics loses this event for its transport, and says so;
            // it must not end the log reader that calls it, which would silence the
            // node for every later event.
            let rendered = std::panic::AssertUnwindSafe(r.deliver(delivery));
            if futures::FutureExt::catch_unwind(rendered).await.is_err() {
                tracing::error!(
                    event = delivery.event.kind().as_str(),
                    "a renderer panicked"
                );
            }
        }
    }
}

/// Logs each published event and carries it to every node's [`LocalDelivery`] in log
/// order (engines in `crate::infra`: an in-process ring for one node, a Redis stream
/// for many). One path for every transport: Socket.IO and plain WebSocket sessions
/// hear the same stream.
#[async_trait::async_trait]
pub trait Fanout: Send + Sync + 'static {
    async fn publish(&self, event: RealtimeEvent, audience: Audience);
    /// Whether events reach the other nodes now (`Err` says why not).
    async fn healthy(&self) -> Result<(), String>;
    /// How far this node has delivered: a connection that joins its rooms now hears
    /// every later event live. `None` before anything could be read from the log.
    fn head(&self) -> Option<Offset>;
    /// The events owed to `user` after `after`, in log order; `Unrecoverable` when the
    /// log no longer reaches back there (another epoch, trimmed).
    async fn replay(&self, user: Uuid, after: &Offset)
    -> Result<Vec<Arc<Delivery>>, Unrecoverable>;
}

/// A connection's catch-up: the events it is owed, in log order, and whether they
/// continue from the offset the client gave (`recovered`).
pub struct CatchUp {
    /// Whose catch-up it is.
    pub user: Uuid,
    pub deliveries: Vec<Arc<Delivery>>,
    pub recovered: bool,
    /// Where the replay starts.
    pub from: Option<Offset>,
}

impl CatchUp {
    /// Where the client stands once the catch-up is sent.
    pub fn offset(&self) -> Option<Offset> {
        self.deliveries
            .last()
            .and_then(|d| d.offset.clone())
            .or_else(|| self.from.clone())
    }
}

/// The publish point the domain holds; transports never see it (they read the log
/// through an [`EventLog`]).
#[derive(Clone)]
pub struct Hub {
    fanout: Arc<dyn Fanout>,
    log: EventLog,
}

impl Hub {
    pub fn new(fanout: Arc<dyn Fanout>, max_replay: usize) -> Self {
        let log = EventLog {
            fanout: fanout.clone(),
            max_replay,
        };
        Self { fanout, log }
    }

    /// Whether events reach every node now (`/readyz`).
    pub async fn healthy(&self) -> Result<(), String> {
        self.fanout.healthy().await
    }

    /// Delivers `event` to `audience` on every node and transport. Call only after commit.
    pub async fn publish(&self, event: RealtimeEvent, audience: Audience) {
        tracing::debug!(event = event.kind().as_str(), event_id = %event.event_id, "publish");
        metrics::counter!(crate::telemetry::metrics::EVENTS_PUBLISHED, "type" => event.kind().as_str())
            .increment(1);
        self.fanout.publish(event, audience).await;
    }

    /// The log's read side, for connections.
    pub fn log(&self) -> &EventLog {
        &self.log
    }
}

/// The event log as connections read it: where it stands and what a connection is
/// owed. It cannot publish.
#[derive(Clone)]
pub struct EventLog {
    fanout: Arc<dyn Fanout>,
    /// The most events one catch-up replays.
    max_replay: usize,
}

impl EventLog {
    /// See [`Fanout::head`].
    pub fn head(&self) -> Option<Offset> {
        self.fanout.head()
    }

    /// What a connection is owed as it joins: after `asked` (the client's offset)
    /// when the log reaches back there and it is at most `HISTORY_REPLAY_MAX` events
    /// (`recovered`), otherwise after `head` (what this node had delivered before the
    /// connection joined its rooms), so that nothing published while it joined is
    /// missed.
    pub async fn catch_up(
        &self,
        user: Uuid,
        asked: Option<&Offset>,
        head: Option<Offset>,
    ) -> CatchUp {
        // A client owed more than `max_replay` events is not recovered: it fetches
        // its state (paged) rather than have this connection replay the log.
        if let Some(asked) = asked
            && let Ok(deliveries) = self.replay(user, asked).await
            && deliveries.len() <= self.max_replay
        {
            return CatchUp {
                user,
                deliveries,
                recovered: true,
                from: Some(asked.clone()),
            };
        }
        let deliveries = match &head {
            Some(h) => self.replay(user, h).await.unwrap_or_default(),
            None => Vec::new(),
        };
        CatchUp {
            user,
            deliveries,
            recovered: false,
            from: head,
        }
    }

    /// See [`Fanout::replay`].
    pub async fn replay(
        &self,
        user: Uuid,
        after: &Offset,
    ) -> Result<Vec<Arc<Delivery>>, Unrecoverable> {
        self.fanout.replay(user, after).await
    }
}
