//! The one publish point: domain calls hand committed facts to the [`Hub`], which
//! works out the audience once and hands the event to every transport's renderer.

pub mod event;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use event::{Audience, EventType, RealtimeEvent};

/// A transport that turns internal events into its own dialect and sends them.
pub trait Renderer: Send + Sync + 'static {
    fn deliver<'a>(
        &'a self,
        event: &'a RealtimeEvent,
        audience: &'a Audience,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

/// Fans one event out to every registered renderer, in registration order.
#[derive(Clone, Default)]
pub struct Hub {
    renderers: Arc<Vec<Arc<dyn Renderer>>>,
}

impl Hub {
    pub fn new(renderers: Vec<Arc<dyn Renderer>>) -> Self {
        Self {
            renderers: Arc::new(renderers),
        }
    }

    /// Delivers `event` to `audience` on every transport. Call only after commit.
    pub async fn publish(&self, event: RealtimeEvent, audience: Audience) {
        tracing::debug!(event = event.kind.as_str(), event_id = %event.event_id, "publish");
        for r in self.renderers.iter() {
            r.deliver(&event, &audience).await;
        }
    }
}
