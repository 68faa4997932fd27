//! Assembles the whole server (database, Hub, REST, realtime transports) and serves
//! it on a listener: `main` and the integration tests start it the same way.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::auth::jwt::JwtKeys;
use crate::config::Config;
use crate::config::Transports;
use crate::domain::{Domain, Limits};
use crate::http::AppState;
use crate::realtime::Hub;
use crate::socket::{self, SocketIoRenderer, SocketLimits};
use socketioxide::{SocketIo, TransportType};
use socketioxide_redis::{RedisAdapter, RedisAdapterConfig, RedisAdapterCtr};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("redis: {0}")]
    Redis(String),
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
    let make_domain = |hub: Hub| Domain {
        db: db.clone(),
        keys: Arc::new(JwtKeys::new(&config.jwt_secret, config.access_token_ttl)),
        refresh_ttl: config.refresh_token_ttl,
        limits: Limits {
            max_message_length: config.max_message_length,
        },
        hub,
    };
    let limits = SocketLimits {
        max_payload: config.socketio_max_payload as usize,
        queue_depth: 128,
    };
    let builder = SocketIo::builder()
        .ping_interval(config.socketio_ping_interval)
        .ping_timeout(config.socketio_ping_timeout)
        .connect_timeout(config.socketio_connect_timeout)
        // Engine-level hard cap; below it, oversize events get a clear `exception`.
        .max_payload(config.socketio_max_payload.saturating_mul(4).max(16 * 1024));
    let builder = match config.socketio_transports {
        Transports::All => builder,
        Transports::WebsocketOnly => builder.transports([TransportType::Websocket]),
    };
    let router = match &config.redis_url {
        None => {
            let (layer, io) = builder.build_layer();
            let domain = make_domain(Hub::new(vec![Arc::new(SocketIoRenderer::new(io.clone()))]));
            socket::register(&io, domain.clone(), limits);
            http_app(domain, config.clone()).layer(layer)
        }
        Some(url) => {
            let client =
                redis::Client::open(resp3(url)).map_err(|e| StartError::Redis(e.to_string()))?;
            let adapter = RedisAdapterCtr::new_with_redis_config(
                &client,
                RedisAdapterConfig::new().with_prefix(config.redis_prefix.clone()),
            )
            .await
            .map_err(|e| StartError::Redis(e.to_string()))?;
            let (layer, io) = builder
                .with_adapter::<RedisAdapter<_>>(adapter)
                .build_layer();
            let domain = make_domain(Hub::new(vec![Arc::new(SocketIoRenderer::new(io.clone()))]));
            socket::register(&io, domain.clone(), limits)
                .await
                .map_err(|e| StartError::Redis(e.to_string()))?;
            tracing::info!("socket.io rooms shared through redis");
            http_app(domain, config.clone()).layer(layer)
        }
    };
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    });
    Ok(RunningServer { addr, task })
}

fn http_app(domain: Domain, config: Arc<Config>) -> axum::Router {
    crate::http::app(AppState { domain, config })
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
