//! Fan-out across nodes through Redis pub/sub: an event is delivered to this node's
//! renderers at once, then published on `{prefix}:events`; every other node's
//! subscriber delivers it to its own. The subscriber re-subscribes after Redis comes
//! back. Socket.IO and plain-WebSocket sessions hear this one stream.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::realtime::{Audience, Fanout, LocalDelivery, RealtimeEvent};

/// An event on its way to the other nodes.
#[derive(Serialize, Deserialize)]
struct Wire {
    /// The publishing node, which has delivered it already.
    node: Uuid,
    event: RealtimeEvent,
    audience: Audience,
}

pub struct RedisFanout {
    node: Uuid,
    conn: ConnectionManager,
    channel: String,
    local: LocalDelivery,
    /// Whether the subscriber holds its subscription right now.
    subscribed: Arc<AtomicBool>,
}

impl RedisFanout {
    /// Subscribes (resolving once the subscription is in place) and starts the
    /// subscriber on `tasks`; it stops when `cancel` fires.
    pub async fn start(
        client: redis::Client,
        conn: ConnectionManager,
        prefix: &str,
        local: LocalDelivery,
        tasks: &TaskTracker,
        cancel: CancellationToken,
    ) -> redis::RedisResult<Self> {
        let node = Uuid::now_v7();
        let channel = format!("{prefix}:events");
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(&channel).await?;
        let subscribed = Arc::new(AtomicBool::new(true));
        let (sub_channel, sub_local, sub_flag) =
            (channel.clone(), local.clone(), subscribed.clone());
        tasks.spawn(async move {
            loop {
                {
                    let mut stream = pubsub.on_message();
                    loop {
                        let msg = tokio::select! {
                            _ = cancel.cancelled() => return,
                            msg = stream.next() => msg,
                        };
                        let Some(msg) = msg else { break };
                        let Ok(body) = msg.get_payload::<String>() else {
                            continue;
                        };
                        match serde_json::from_str::<Wire>(&body) {
                            Ok(w) if w.node == node => {}
                            Ok(w) => sub_local.deliver(&w.event, &w.audience).await,
                            Err(e) => tracing::warn!(error = %e, "unreadable fan-out message"),
                        }
                    }
                }
                sub_flag.store(false, Ordering::Relaxed);
                tracing::warn!(channel = %sub_channel, "fan-out subscription lost; re-subscribing");
                loop {
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                    match client.get_async_pubsub().await {
                        Ok(mut p) => match p.subscribe(&sub_channel).await {
                            Ok(()) => {
                                tracing::info!(channel = %sub_channel, "fan-out re-subscribed");
                                pubsub = p;
                                sub_flag.store(true, Ordering::Relaxed);
                                break;
                            }
                            Err(e) => tracing::debug!(error = %e, "re-subscribe failed"),
                        },
                        Err(e) => tracing::debug!(error = %e, "redis still unreachable"),
                    }
                }
            }
        });
        Ok(Self {
            node,
            conn,
            channel,
            local,
            subscribed,
        })
    }
}

#[async_trait::async_trait]
impl Fanout for RedisFanout {
    async fn publish(&self, event: &RealtimeEvent, audience: &Audience) {
        self.local.deliver(event, audience).await;
        let wire = Wire {
            node: self.node,
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
        if let Err(e) = redis::cmd("PUBLISH")
            .arg(&self.channel)
            .arg(body)
            .query_async::<()>(&mut self.conn.clone())
            .await
        {
            tracing::error!(error = %e, event = event.kind.as_str(), "fan-out to other nodes failed; delivered on this node only");
        }
    }

    async fn healthy(&self) -> Result<(), String> {
        if !self.subscribed.load(Ordering::Relaxed) {
            return Err("redis subscription lost; re-subscribing".into());
        }
        redis::cmd("PING")
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(|e| format!("redis: {e}"))
    }
}
