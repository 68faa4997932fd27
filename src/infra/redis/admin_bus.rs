//! The Admin UI's bus across nodes: Redis pub/sub on `{prefix}:admin`, read by one
//! subscriber task per node that reconnects with backoff. Pub/sub, not the event log:
//! what the UI shows is of the moment and never replayed.

use std::time::Duration;

use futures::StreamExt;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use tokio::sync::broadcast;

use crate::admin::{AdminBus, BusMessage};

pub struct RedisAdminBus {
    conn: ConnectionManager,
    channel: String,
    local: broadcast::Sender<BusMessage>,
}

impl RedisAdminBus {
    /// Starts the subscriber on `tracker`; it stops with `cancel`.
    pub fn start(
        client: redis::Client,
        conn: ConnectionManager,
        prefix: &str,
        tracker: &tokio_util::task::TaskTracker,
        cancel: tokio_util::sync::CancellationToken,
    ) -> Self {
        let channel = format!("{prefix}:admin");
        let local = broadcast::channel(1024).0;
        tracker.spawn(subscribe(client, channel.clone(), local.clone(), cancel));
        Self {
            conn,
            channel,
            local,
        }
    }
}

#[async_trait::async_trait]
impl AdminBus for RedisAdminBus {
    async fn publish(&self, message: &BusMessage) {
        let Ok(payload) = serde_json::to_string(message) else {
            return;
        };
        let mut conn = self.conn.clone();
        if let Err(e) = conn.publish::<_, _, ()>(&self.channel, payload).await {
            super::unavailable(e);
            tracing::debug!("admin ui bus: publish failed");
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<BusMessage> {
        self.local.subscribe()
    }
}

async fn subscribe(
    client: redis::Client,
    channel: String,
    local: broadcast::Sender<BusMessage>,
    cancel: tokio_util::sync::CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    while !cancel.is_cancelled() {
        let read = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            backoff = Duration::from_millis(100);
            let mut messages = pubsub.on_message();
            while let Some(msg) = messages.next().await {
                let Ok(payload) = msg.get_payload::<String>() else {
                    continue;
                };
                match serde_json::from_str::<BusMessage>(&payload) {
                    Ok(message) => {
                        let _ = local.send(message);
                    }
                    Err(e) => tracing::debug!(error = %e, "admin ui bus: unreadable message"),
                }
            }
            Ok::<(), redis::RedisError>(())
        };
        tokio::select! {
            result = read => {
                if let Err(e) = result {
                    super::unavailable(e);
                }
            }
            _ = cancel.cancelled() => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = cancel.cancelled() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
