//! WebSocket tickets in this process's memory (one node).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;
use uuid::Uuid;

use crate::domain::accounts::ws_tickets::TicketStore;
use crate::error::AppResult;

#[derive(Default)]
pub struct MemoryTickets {
    tickets: Mutex<HashMap<String, (Uuid, Instant)>>,
}

#[async_trait::async_trait]
impl TicketStore for MemoryTickets {
    async fn put(&self, hash: String, user: Uuid, ttl: Duration) -> AppResult<()> {
        let mut map = self.tickets.lock().await;
        let now = Instant::now();
        map.retain(|_, (_, exp)| *exp > now);
        map.insert(hash, (user, now + ttl));
        Ok(())
    }

    async fn take(&self, hash: &str) -> AppResult<Option<Uuid>> {
        Ok(self
            .tickets
            .lock()
            .await
            .remove(hash)
            .filter(|(_, exp)| *exp > Instant::now())
            .map(|(u, _)| u))
    }
}
