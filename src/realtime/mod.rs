//! The one publish point: domain calls hand committed facts to the [`Hub`], which
//! gives them to the [`Fanout`]: every node (this one first) hands each event to its
//! local [`Renderer`]s, one per transport, which render it in their dialect.

pub mod event;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use event::{Audience, EventType, RealtimeEvent};

/// A transport that turns internal events into its own dialect and sends them to
/// the devices connected to this node.
pub trait Renderer: Send + Sync + 'static {
    fn deliver<'a>(
        &'a self,
        event: &'a RealtimeEvent,
        audience: &'a Audience,
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

    /// Renders `event` for every device of `audience` connected to this node.
    pub async fn deliver(&self, event: &RealtimeEvent, audience: &Audience) {
        for r in self.renderers.iter() {
            r.deliver(event, audience).await;
        }
    }
}

/// Carries each published event to every node's [`LocalDelivery`] (engines in
/// `crate::infra`: in-process for one node, Redis pub/sub for many). One path for
/// every transport: Socket.IO and plain WebSocket sessions hear the same stream.
#[async_trait::async_trait]
pub trait Fanout: Send + Sync + 'static {
    async fn publish(&self, event: &RealtimeEvent, audience: &Audience);
    /// Whether events reach the other nodes now (`Err` says why not).
    async fn healthy(&self) -> Result<(), String>;
}

/// The publish point the domain holds.
#[derive(Clone)]
pub struct Hub {
    fanout: Arc<dyn Fanout>,
}

impl Hub {
    pub fn new(fanout: Arc<dyn Fanout>) -> Self {
        Self { fanout }
    }

    /// Whether events reach every node now (`/readyz`).
    pub async fn healthy(&self) -> Result<(), String> {
        self.fanout.healthy().await
    }

    /// Delivers `event` to `audience` on every node and transport. Call only after commit.
    pub async fn publish(&self, event: RealtimeEvent, audience: Audience) {
        tracing::debug!(event = event.kind.as_str(), event_id = %event.event_id, "publish");
        self.fanout.publish(&event, &audience).await;
    }
}
