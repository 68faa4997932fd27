//! Fan-out within one process: every event goes straight to this node's renderers.

use crate::realtime::{Audience, Fanout, LocalDelivery, RealtimeEvent};

pub struct MemoryFanout {
    local: LocalDelivery,
}

impl MemoryFanout {
    pub fn new(local: LocalDelivery) -> Self {
        Self { local }
    }
}

#[async_trait::async_trait]
impl Fanout for MemoryFanout {
    async fn publish(&self, event: &RealtimeEvent, audience: &Audience) {
        self.local.deliver(event, audience).await;
    }

    async fn healthy(&self) -> Result<(), String> {
        Ok(())
    }
}
