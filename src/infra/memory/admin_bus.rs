//! The Admin UI's bus in one process: a broadcast channel.

use crate::admin::{AdminBus, BusMessage};

pub struct MemoryAdminBus(tokio::sync::broadcast::Sender<BusMessage>);

impl Default for MemoryAdminBus {
    fn default() -> Self {
        Self(tokio::sync::broadcast::channel(1024).0)
    }
}

#[async_trait::async_trait]
impl AdminBus for MemoryAdminBus {
    async fn publish(&self, message: &BusMessage) {
        // No receiver: nobody to tell.
        let _ = self.0.send(message.clone());
    }

    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<BusMessage> {
        self.0.subscribe()
    }
}
