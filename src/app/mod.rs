//! Assembles the whole server and serves it on a listener: `main` and the integration
//! tests start it the same way. Order: database and migrations, the engines (memory
//! or Redis), the Socket.IO layer, this node's renderers and the fan-out, the domain,
//! the HTTP routes; shutdown runs the other way round.

mod background;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use socketioxide::{SocketIo, TransportType};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub(crate) use self::background::Background;
pub(crate) use self::state::AppState;
use crate::admin::{Admin, AdminBus, Credentials};
use crate::auth::jwt::JwtKeys;
use crate::config::{Config, Transports};
use crate::domain::accounts::login_guard::LoginLimits;
use crate::domain::chat::message_writer::MessageWriter;
use crate::domain::integration::host_auth::HostAuthSettings;
use crate::domain::media::MediaPolicy;
use crate::domain::meetings::CalendarSettings;
use crate::domain::notify::outbox::OutboxSettings;
use crate::domain::notify::web_push::WebPushSettings;
use crate::domain::presence::PresenceTimes;
use crate::domain::{Limits, Services, Settings, Stores};
use crate::infra::{memory, push, redis as redis_engine};
use crate::realtime::{Fanout, Hub, LocalDelivery, Renderer};
use crate::socket::{self, Overflow, SocketIoRenderer, SocketLimits};
use crate::ws::Sessions;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("push: {0}")]
    Push(String),
    #[error("media: {0}")]
    Media(String),
    #[error("admin ui: {0}")]
    AdminUi(crate::error::AppError),
}

/// A server running in the background.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub task: JoinHandle<std::io::Result<()>>,
}

/// Builds the app from `config` and serves it on `listener` until `shutdown`
/// resolves (then drains: background tasks stop, the message writer stores what it
/// was given) or the task is dropped.
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
    crate::telemetry::metrics::install();
    // Hashed first: from the moment the event log starts below until the Socket.IO
    // namespaces are registered, nothing may wait.
    let admin_credentials = match config.admin_ui.credentials.clone() {
        Some((user, password)) => Some(
            Credentials::new(user, password, &config.jwt_secret)
                .await
                .map_err(StartError::AdminUi)?,
        ),
        None => None,
    };
    let db = crate::db::connect_and_migrate(&config).await?;
    let config = Arc::new(config);
    let bg = Background::default();
    bg.tracker
        .spawn(crate::telemetry::metrics::upkeep(bg.cancel.clone()));
    if let Some(addr) = &config.metrics_addr {
        let metrics_listener = TcpListener::bind(addr).await?;
        tracing::info!(addr = %addr, "metrics on their own listener");
        let cancel = bg.cancel.clone();
        bg.tracker.spawn(async move {
            let app = axum::Router::new().route(
                "/metrics",
                axum::routing::get(crate::http::metrics::exposition),
            );
            let served = axum::serve(metrics_listener, app)
                .with_graceful_shutdown(async move { cancel.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "metrics listener failed");
            }
        });
    }

    // Socket.IO: the in-process adapter on every node; events cross nodes through
    // the fan-out below, like every other transport's.
    let engine_max = config.socketio_engine_max_payload;
    let builder = SocketIo::builder()
        .ping_interval(config.socketio_ping_interval)
        .ping_timeout(config.socketio_ping_timeout)
        .connect_timeout(config.socketio_connect_timeout)
        // Chat frames are small; a larger frame grows the buffer for itself. The 4 KiB
        // default was 4 KiB of every idle connection's memory.
        .ws_read_buffer_size(1024)
        // Packets waiting per socket; an emit to a full buffer disconnects that
        // socket (socket/overflow.rs) rather than dropping the packet in silence.
        .max_buffer_size(config.socketio_buffer_packets)
        // Engine-level hard cap, for polling bodies and WebSocket messages and frames
        // alike; below it, oversize events get a clear `exception`.
        .max_payload(engine_max)
        .ws_max_message_size(engine_max as usize)
        .ws_max_frame_size(engine_max as usize);
    let builder = match config.socketio_transports {
        Transports::All => builder,
        Transports::WebsocketOnly => builder.transports([TransportType::Websocket]),
    };
    let (layer, io) = builder.build_layer();

    let sessions = Arc::new(Sessions::new(config.ws_send_buffer_bytes));
    let overflow = Overflow::new(bg.tracker.clone());
    let local = LocalDelivery::new(vec![
        Arc::new(SocketIoRenderer::new(io.clone(), overflow.clone())) as Arc<dyn Renderer>,
        sessions.clone(),
    ]);
    let gateway = push_gateway(&config)?;
    let jwks = Arc::new(crate::infra::jwks::HttpJwks::new(
        crate::infra::outbound::client(outbound_resolver(&config), Duration::from_secs(5)),
    ));
    let crate::infra::media::Opened {
        store: media,
        local: local_media,
    } = crate::infra::media::open(&config).map_err(StartError::Media)?;
    let prefix = config.redis_prefix.as_str();
    let (fanout, stores, admin_bus): (Arc<dyn Fanout>, Stores, Arc<dyn AdminBus>) =
        match &config.redis_url {
            None => (
                Arc::new(memory::MemoryFanout::new(local, config.history)),
                Stores {
                    tickets: Arc::new(memory::MemoryTickets::default()),
                    presence: Arc::new(memory::MemoryPresence::default()),
                    login_failures: Arc::new(memory::MemoryFailures::default()),
                    rate_gate: Arc::new(memory::MemoryRateGate::default()),
                    push: gateway.clone(),
                    jwks: jwks.clone(),
                    media: media.clone(),
                },
                Arc::new(memory::MemoryAdminBus::default()),
            ),
            Some(url) => {
                let (client, conn) = redis_engine::connect(url, config.redis_timeout).await?;
                let client_for_admin = client.clone();
                let fanout = redis_engine::RedisFanout::start(
                    client,
                    conn.clone(),
                    prefix,
                    local,
                    config.history,
                    &bg.tracker,
                    bg.cancel.clone(),
                )
                .await?;
                tracing::info!(prefix, "events, tickets and presence shared through redis");
                let admin_bus = redis_engine::RedisAdminBus::start(
                    client_for_admin,
                    conn.clone(),
                    prefix,
                    &bg.tracker,
                    bg.cancel.clone(),
                );
                (
                    Arc::new(fanout),
                    Stores {
                        tickets: Arc::new(redis_engine::RedisTickets::new(conn.clone(), prefix)),
                        presence: Arc::new(redis_engine::RedisPresence::new(conn.clone(), prefix)),
                        rate_gate: Arc::new(redis_engine::RedisRateGate::new(conn.clone(), prefix)),
                        login_failures: Arc::new(redis_engine::RedisFailures::new(conn, prefix)),
                        push: gateway.clone(),
                        jwks: jwks.clone(),
                        media: media.clone(),
                    },
                    Arc::new(admin_bus),
                )
            }
        };
    let settings = Settings {
        keys: Arc::new(JwtKeys::new(&config.jwt_secret, config.access_token_ttl)),
        refresh_ttl: config.refresh_token_ttl,
        ticket_ttl: config.ws_ticket_ttl,
        limits: Limits {
            max_message_length: config.max_message_length,
        },
        presence: PresenceTimes {
            online_ttl: config.presence_online_ttl,
            away_window: config.presence_away_window,
        },
        web_push: WebPushSettings {
            public_key: config.vapid_public_key.clone(),
            allowed_endpoints: config.web_push_allowed_endpoints.clone(),
        },
        outbox: OutboxSettings {
            web_push: config.vapid_private_key.is_some(),
            expo: config.expo_push_url.is_some(),
            email: config.smtp_url.is_some(),
            collapse_window: config.push_collapse_window,
            max_attempts: config.push_max_attempts as i32,
            retry_base: config.push_retry_base,
            retry_max: config.push_retry_max,
            // A request is bounded by the push timeout and a round sends at most
            // a few waves of them; the lease outlives a round, so a row is never held
            // by two nodes at once.
            lease: config.push_timeout * 20,
            receipt_delay: config.expo_receipt_delay,
        },
        calendar: CalendarSettings {
            reminder_before: config.meeting_reminder,
            default_zone: config.default_timezone,
            ring_timeout: config.call_ring_timeout,
        },
        host_auth: HostAuthSettings {
            jwks_allowed: config.jwks_allowed_urls.clone(),
        },
        retention: config.retention,
        media: MediaPolicy {
            max_bytes: config.media.max_bytes,
            allowed_types: config.media.allowed_types.clone(),
            upload_ttl: config.media.upload_ttl,
            download_ttl: config.media.download_ttl,
            thumbnail_px: config.media.thumbnail_px,
            max_image_pixels: config.media.max_image_pixels,
            pending_quota_bytes: config.media.pending_quota_bytes,
        },
        rate_limits: crate::domain::rate_limits::RateLimits {
            per_user: config.rate_limits.per_user,
            per_ip: config.rate_limits.per_ip,
            window: config.rate_limits.window,
            events_per_user: config.rate_limits.events_per_user_per_second,
        },
        login: LoginLimits {
            per_account: config.login_max_failures,
            per_address: config.login_max_failures_per_ip,
            window: config.login_window,
        },
    };
    let writer_db = crate::db::connect_writer(&config).await?;
    let writer = MessageWriter::start(writer_db, &bg.tracker, bg.cancel.clone());
    let domain = Services::new(
        db,
        Hub::new(fanout, config.history.max_replay),
        settings,
        stores,
        writer,
    );

    let limits = SocketLimits {
        max_payload: config.socketio_max_payload as usize,
        queue_depth: 128,
        events_per_second: config.rate_limits.events_per_second,
    };
    let admin = admin_credentials.map(|credentials| {
        Admin::start(
            &io,
            domain.clone(),
            credentials,
            config.rate_limits.clone(),
            admin_bus,
            &bg,
        )
    });
    socket::register(
        &io,
        domain.clone(),
        limits,
        config.rate_limits.clone(),
        &bg,
        overflow,
        admin,
    );
    background::presence_ticker(&bg, domain.clone(), config.presence_sweep);
    background::push_worker(&bg, domain.clone(), config.push_poll);
    background::scheduler(&bg, domain.clone(), config.scheduler_poll);

    let sessions_for_drain = sessions.clone();
    let state = AppState {
        domain,
        config: config.clone(),
        draining: bg.drain.clone(),
        tasks: bg.tracker.clone(),
        sessions,
        local_media,
    };
    let ws_routes = crate::ws::routes::router(config.legacy_ws_enabled);
    let router =
        crate::http::app(state, ws_routes)
            .layer(layer)
            .layer(axum::middleware::map_request(
                crate::http::connection_requests::own_bytes,
            ));

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
        // Drain, in order, within DRAIN_TIMEOUT_SECONDS: stop accepting and answer
        // `/readyz` 503; send every open connection elsewhere (Socket.IO transports
        // closed, so clients reconnect through the balancer and resume; plain
        // WebSockets closed with 1012); finish the requests in flight; stop background
        // work, the message writer storing what it holds and the outbox its round.
        let drain = bg.drain.clone();
        let signal = async move {
            shutdown.await;
            tracing::info!("draining");
            drain.cancel();
        };
        let (drain, deadline) = (bg.drain.clone(), config.drain_timeout);
        let send_away = async move {
            drain.cancelled().await;
            sessions_for_drain.close_all();
            io.close().await;
        };
        let serve = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signal);
        let (served, ()) = tokio::join!(
            async {
                tokio::select! {
                    served = serve => served,
                    _ = async { bg.drain.cancelled().await; tokio::time::sleep(deadline).await } => {
                        tracing::warn!("requests still open at the drain timeout; stopping anyway");
                        Ok(())
                    }
                }
            },
            send_away,
        );
        if tokio::time::timeout(deadline, bg.stop()).await.is_err() {
            tracing::warn!("background work still running at the drain timeout; stopping anyway");
        }
        tracing::info!("stopped");
        served
    });
    Ok(RunningServer { addr, task })
}

/// The names outbound fetches may resolve to private addresses: those the
/// configuration lists exactly (allow-list entries, `EXPO_PUSH_URL`'s host).
fn outbound_resolver(config: &Config) -> crate::infra::outbound::GuardedResolver {
    let expo = config
        .expo_push_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| u.host_str().map(str::to_string));
    let listed: Vec<&str> = config
        .web_push_allowed_endpoints
        .exact_names()
        .chain(config.jwks_allowed_urls.exact_names())
        .chain(expo.as_deref())
        .collect();
    crate::infra::outbound::GuardedResolver::new(listed)
}

/// The push services the configuration names (Web Push with VAPID, Expo, SMTP).
fn push_gateway(config: &Config) -> Result<Arc<push::HttpPushGateway>, StartError> {
    let client = crate::infra::outbound::client(outbound_resolver(config), config.push_timeout);
    let web_push = match (&config.vapid_public_key, &config.vapid_private_key) {
        (Some(public), Some(private)) => Some(push::web_push::WebPushSender::new(
            client.clone(),
            push::vapid::VapidKeys::from_base64(public, private, &config.vapid_subject)
                .map_err(StartError::Push)?,
            config.push_ttl,
        )),
        _ => None,
    };
    let expo = config.expo_push_url.as_ref().map(|url| {
        push::expo::ExpoSender::new(
            client.clone(),
            url.clone(),
            config.expo_access_token.clone(),
        )
    });
    let mail = match &config.smtp_url {
        Some(url) => {
            Some(push::email::Mailer::new(url, &config.smtp_from).map_err(StartError::Push)?)
        }
        None => None,
    };
    Ok(Arc::new(push::HttpPushGateway {
        web_push,
        expo,
        mail,
    }))
}
