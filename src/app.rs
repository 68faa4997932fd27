//! Assembles the whole server (database, Redis, Hub with its renderers, domain, REST,
//! Socket.IO and plain-WebSocket transports, background presence work) and serves it
//! on a listener: `main` and the integration tests start it the same way.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::serve::ListenerExt;
use socketioxide::{SocketIo, TransportType};
use socketioxide_redis::{RedisAdapter, RedisAdapterConfig, RedisAdapterCtr};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::auth::jwt::JwtKeys;
use crate::config::{Config, Transports};
use crate::domain::message_writer::MessageWriter;
use crate::domain::presence::{Presence, PresenceStore, PresenceTimes};
use crate::domain::tickets::TicketStore;
use crate::domain::{Domain, Limits};
use crate::http::AppState;
use crate::realtime::{Hub, Renderer};
use crate::socket::{self, SocketIoRenderer, SocketLimits};
use crate::ws::{Sessions, WsRenderer};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("redis: {0}")]
    Redis(String),
}

fn redis_err(e: impl std::fmt::Display) -> StartError {
    StartError::Redis(e.to_string())
}

/// A server running in the background.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub task: JoinHandle<std::io::Result<()>>,
}

/// Builds the app from `config` and serves it on `listener` until the task is dropped
/// or `shutdown` resolves.
pub async fn start(
    config: Config,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<RunningServer, StartError> {
    if config.jwt_secret_generated {
        tracing::warn!(
            "JWT_SECRET is not set: using a random development secret; tokens will not \
             survive a restart and nodes will not accept each other's tokens. Set JWT_SECRET \
             (32+ chars) in production."
        );
    }
    let db = crate::db::connect_and_migrate(&config).await?;
    let config = Arc::new(config);
    let prefix = config.redis_prefix.clone();
    let redis = match &config.redis_url {
        None => None,
        Some(url) => {
            let client = redis::Client::open(resp3(url)).map_err(redis_err)?;
            let conn = redis::aio::ConnectionManager::new(client.clone())
                .await
                .map_err(redis_err)?;
            Some((client, conn))
        }
    };
    let (tickets, presence_store) = match &redis {
        None => (
            TicketStore::Memory(Default::default()),
            PresenceStore::Memory(Default::default()),
        ),
        Some((_, conn)) => (
            TicketStore::Redis {
                conn: conn.clone(),
                prefix: prefix.clone(),
            },
            PresenceStore::Redis {
                conn: conn.clone(),
                prefix: prefix.clone(),
            },
        ),
    };
    let presence = Arc::new(Presence::new(
        presence_store,
        PresenceTimes {
            online_ttl: config.presence_online_ttl,
            away_window: config.presence_away_window,
        },
    ));
    let sessions = Arc::new(Sessions::default());
    let ws_renderer: Arc<dyn Renderer> = match &redis {
        None => Arc::new(WsRenderer::local(sessions.clone())),
        Some((client, conn)) => {
            crate::ws::run_subscriber(client.clone(), prefix.clone(), sessions.clone())
                .await
                .map_err(redis_err)?;
            Arc::new(WsRenderer::via_redis(
                sessions.clone(),
                conn.clone(),
                &prefix,
            ))
        }
    };
    let tickets = Arc::new(tickets);
    let writer = MessageWriter::start(db.clone());
    let make_domain = |socket_renderer: Arc<dyn Renderer>| Domain {
        db: db.clone(),
        keys: Arc::new(JwtKeys::new(&config.jwt_secret, config.access_token_ttl)),
        refresh_ttl: config.refresh_token_ttl,
        limits: Limits {
            max_message_length: config.max_message_length,
        },
        hub: Hub::new(vec![socket_renderer, ws_renderer.clone()]),
        tickets: tickets.clone(),
        ticket_ttl: config.ws_ticket_ttl,
        presence: presence.clone(),
        writer: writer.clone(),
    };

    let limits = SocketLimits {
        max_payload: config.socketio_max_payload as usize,
        queue_depth: 128,
    };
    let builder = SocketIo::builder()
        .ping_interval(config.socketio_ping_interval)
        .ping_timeout(config.socketio_ping_timeout)
        .connect_timeout(config.socketio_connect_timeout)
        // Chat frames are small; a larger frame grows the buffer for itself. The 4 KiB
        // default was 4 KiB of every idle connection's memory.
        .ws_read_buffer_size(1024)
        // Engine-level hard cap; below it, oversize events get a clear `exception`.
        .max_payload(config.socketio_max_payload.saturating_mul(4).max(16 * 1024));
    let builder = match config.socketio_transports {
        Transports::All => builder,
        Transports::WebsocketOnly => builder.transports([TransportType::Websocket]),
    };
    let (router, domain) = match &redis {
        None => {
            let (layer, io) = builder.build_layer();
            let domain = make_domain(Arc::new(SocketIoRenderer::new(io.clone())));
            socket::register(&io, domain.clone(), limits);
            (http_app(&domain, &config, &sessions).layer(layer), domain)
        }
        Some((client, _)) => {
            let adapter = RedisAdapterCtr::new_with_redis_config(
                client,
                RedisAdapterConfig::new().with_prefix(prefix.clone()),
            )
            .await
            .map_err(redis_err)?;
            let (layer, io) = builder
                .with_adapter::<RedisAdapter<_>>(adapter)
                .build_layer();
            let domain = make_domain(Arc::new(SocketIoRenderer::new(io.clone())));
            socket::register(&io, domain.clone(), limits)
                .await
                .map_err(redis_err)?;
            tracing::info!(
                "socket.io rooms, tickets, presence and ws fan-out shared through redis"
            );
            (http_app(&domain, &config, &sessions).layer(layer), domain)
        }
    };
    spawn_presence_ticker(domain, config.presence_sweep);

    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    let task = tokio::spawn(async move {
        // Small frames (acks, events) must not wait for Nagle's algorithm: without
        // this, a write behind an unacknowledged one waits for the peer's delayed ACK
        // (~40 ms on Linux). Node's http server also sets it.
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
        });
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    });
    Ok(RunningServer { addr, task })
}

fn http_app(domain: &Domain, config: &Arc<Config>, sessions: &Arc<Sessions>) -> axum::Router {
    crate::http::app(AppState {
        domain: domain.clone(),
        config: config.clone(),
        sessions: sessions.clone(),
    })
}

/// Refreshes this node's connections and publishes time-based presence changes.
fn spawn_presence_ticker(domain: Domain, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = domain.presence_tick().await {
                tracing::warn!(error = %e, "presence sweep failed");
            }
        }
    });
}

/// The Redis adapter needs RESP3.
fn resp3(url: &str) -> String {
    if url.contains("protocol=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    }
}
