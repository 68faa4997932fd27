//! Runtime configuration read from environment variables, with documented defaults.

use std::time::Duration;

use crate::outbound::AllowList;

mod admin_ui;
mod media;
mod rate_limits;
mod values;
pub use admin_ui::AdminUiConfig;
pub use media::{MediaBackend, MediaConfig, S3Settings};
pub use rate_limits::RateLimitConfig;
use values::{
    DEFAULT_EXPO_PUSH_URL, DEFAULT_PUSH_SERVICES, allow_list, list, parse, positive, vapid_key,
};

/// A configuration value that could not be used; names the variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

/// Which Engine.IO transports the Socket.IO endpoint accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transports {
    /// WebSocket and HTTP long-polling (polling needs sticky sessions across nodes).
    All,
    /// WebSocket only: any node can serve any client without stickiness.
    WebsocketOnly,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST`, default `0.0.0.0`.
    pub host: String,
    /// `PORT`, default 3000.
    pub port: u16,
    /// `DATABASE_URL`, default `sqlite://switchboard.db?mode=rwc`.
    pub database_url: String,
    /// `REDIS_URL`, optional. Set: Redis adapter, shared tickets and presence.
    pub redis_url: Option<String>,
    /// `REDIS_PREFIX`, default `switchboard`: namespaces every Redis key and channel,
    /// so several deployments (or test runs) can share one Redis.
    pub redis_prefix: String,
    /// `REDIS_TIMEOUT_MS`, default 2000: a Redis command (and a reconnect) gives up
    /// after this long, so an outage fails requests fast instead of stalling them.
    pub redis_timeout: Duration,
    /// `JWT_SECRET`; when unset a random per-process secret is generated (dev only).
    pub jwt_secret: String,
    /// True when `jwt_secret` was generated because `JWT_SECRET` was unset.
    pub jwt_secret_generated: bool,
    /// `ACCESS_TOKEN_TTL` seconds, default 900.
    pub access_token_ttl: Duration,
    /// `REFRESH_TOKEN_TTL` seconds, default 2 592 000 (30 days).
    pub refresh_token_ttl: Duration,
    /// `MAX_BODY_BYTES`, default 1 048 576: largest accepted REST request body.
    pub max_body_bytes: usize,
    /// `MAX_MESSAGE_LENGTH` characters, default 10 000.
    pub max_message_length: usize,
    /// `SOCKETIO_MAX_PAYLOAD` bytes, default 65 536.
    pub socketio_max_payload: u64,
    /// `SOCKETIO_ENGINE_MAX_PAYLOAD` bytes, default 4 × `SOCKETIO_MAX_PAYLOAD` (at least
    /// 16 KiB): Engine.IO's `maxPayload`, the hard cap on a polling body and a WebSocket
    /// message (a packet's framing and escaping on top of the event's payload).
    pub socketio_engine_max_payload: u64,
    /// `SOCKETIO_PING_INTERVAL_MS`, default 25 000.
    pub socketio_ping_interval: Duration,
    /// `SOCKETIO_PING_TIMEOUT_MS`, default 20 000.
    pub socketio_ping_timeout: Duration,
    /// `SOCKETIO_CONNECT_TIMEOUT_MS`, default 45 000.
    pub socketio_connect_timeout: Duration,
    /// `SOCKETIO_TRANSPORTS`: `websocket,polling` (default) or `websocket`.
    pub socketio_transports: Transports,
    /// `CORS_ALLOWED_ORIGINS`: `*` (default; tokens travel in headers, not cookies) or a
    /// comma-separated list of origins allowed to call the REST API from a browser.
    pub cors_allowed_origins: Vec<String>,
    /// `WS_TICKET_TTL_SECONDS`, default 60: lifetime of a `/api/v1/ws` ticket.
    pub ws_ticket_ttl: Duration,
    /// `WS_PING_INTERVAL_SECONDS`, default 30: server `ping` on the raw WebSocket.
    pub ws_ping_interval: Duration,
    /// `WS_PONG_TIMEOUT_SECONDS`, default 75: no `pong` for this long closes the socket.
    pub ws_pong_timeout: Duration,
    /// `SOCKETIO_BUFFER_PACKETS`, default 1024: packets waiting per Socket.IO socket;
    /// a socket whose buffer is full is disconnected (its client reconnects and syncs).
    pub socketio_buffer_packets: usize,
    /// `WS_MAX_MESSAGE_BYTES`, default 262144: the largest message a plain WebSocket
    /// client may send (a larger one is closed with 1009).
    pub ws_max_message_bytes: usize,
    /// `WS_SEND_BUFFER_BYTES`, default 1 048 576: bytes waiting to be written to one
    /// plain-WebSocket client; past it the client is disconnected (1013) and resumes
    /// from its offset.
    pub ws_send_buffer_bytes: usize,
    /// `LOGIN_MAX_FAILURES`, default 10: failed logins per account within a window
    /// before login answers 429 (even with the right password).
    pub login_max_failures: u32,
    /// `LOGIN_MAX_FAILURES_PER_IP`, default 50: failed logins per client address.
    pub login_max_failures_per_ip: u32,
    /// `LOGIN_WINDOW_SECONDS`, default 900: the window failures are counted in.
    pub login_window: Duration,
    /// `VAPID_PUBLIC_KEY`: base64url uncompressed P-256 point (65 bytes); with
    /// `VAPID_PRIVATE_KEY` it turns Web Push on.
    pub vapid_public_key: Option<String>,
    /// `VAPID_PRIVATE_KEY`: base64url 32-byte scalar (never read back by any route).
    pub vapid_private_key: Option<String>,
    /// `WEB_PUSH_ALLOWED_ENDPOINTS`: comma-separated URLs a push subscription's
    /// endpoint must fall under, matched on the parsed URL (`outbound.rs`; default:
    /// the public browser push services).
    pub web_push_allowed_endpoints: AllowList,
    /// `VAPID_SUBJECT`: the contact push services see (`mailto:` or an https URL);
    /// default `mailto:webpush@localhost` (set it: some services refuse that one).
    pub vapid_subject: String,
    /// `EXPO_PUSH_URL`: Expo's send endpoint (default Expo's public one; `off`
    /// disables mobile push). Receipts are read from its `getReceipts` sibling.
    pub expo_push_url: Option<String>,
    /// `EXPO_ACCESS_TOKEN`: sent as a Bearer token when Expo's enhanced security is on.
    pub expo_access_token: Option<String>,
    /// `EXPO_RECEIPT_DELAY_SECONDS`, default 900: when a ticket's receipt is read.
    pub expo_receipt_delay: Duration,
    /// `SMTP_URL`: email notifications go out through this relay
    /// (`smtp://host:25`, `smtps://user:pass@host`); unset: no email.
    pub smtp_url: Option<String>,
    /// `SMTP_FROM`, default `Switchboard <noreply@localhost>`.
    pub smtp_from: String,
    /// `PUSH_COLLAPSE_SECONDS`, default 5: at most one push per device and
    /// conversation in this window; later ones merge into the waiting one.
    pub push_collapse_window: Duration,
    /// `PUSH_MAX_ATTEMPTS`, default 8: tries before a push is given up (`failed`).
    pub push_max_attempts: u32,
    /// `PUSH_RETRY_BASE_MS`, default 2000: first retry delay, doubling with jitter.
    pub push_retry_base: Duration,
    /// `PUSH_RETRY_MAX_SECONDS`, default 900: the longest retry delay.
    pub push_retry_max: Duration,
    /// `PUSH_POLL_MS`, default 1000: how often the outbox is looked at when no row
    /// was written on this node (rows written here wake the worker at once).
    pub push_poll: Duration,
    /// `PUSH_TIMEOUT_MS`, default 10000: one request to a push service.
    pub push_timeout: Duration,
    /// `PUSH_TTL_SECONDS`, default 86400: how long a push service keeps an
    /// undelivered Web Push.
    pub push_ttl: Duration,
    /// `MEETING_REMINDER_MINUTES`, default 10: a reminder notification this long
    /// before a meeting starts.
    pub meeting_reminder: Duration,
    /// `DEFAULT_TIMEZONE`, default `Asia/Karachi` (000's zone): "today" for users who
    /// have not chosen a time zone.
    pub default_timezone: chrono_tz::Tz,
    /// `CALL_RING_TIMEOUT_SECONDS`, default 45: an unanswered call is missed then.
    pub call_ring_timeout: Duration,
    /// `SCHEDULER_POLL_MS`, default 1000: how often due jobs are looked for (arming
    /// one on this node wakes the scheduler at once).
    pub scheduler_poll: Duration,
    /// `JWKS_ALLOWED_URLS`: comma-separated URLs a host platform's `jwks_url` must
    /// fall under, matched as `WEB_PUSH_ALLOWED_ENDPOINTS` (the server fetches it);
    /// unset: JWKS bindings are refused.
    pub jwks_allowed_urls: AllowList,
    /// `RETENTION_DAYS`, default 7: settled push outbox rows and finished scheduler
    /// jobs older than this are deleted (swept at start and hourly).
    pub retention: Duration,
    /// `LEGACY_WS_ENABLED`, default true: serve the legacy `/ws?token=` endpoint.
    pub legacy_ws_enabled: bool,
    /// `ONLINE_PRESENCE_TTL_SECONDS`, default 90: a device without a heartbeat for this
    /// long is `away`.
    pub presence_online_ttl: Duration,
    /// `PRESENCE_AWAY_SECONDS`, default 300: after a further this long it is `offline`.
    pub presence_away_window: Duration,
    /// `PRESENCE_SWEEP_MS`, default 5000: how often time-based changes are looked for.
    pub presence_sweep: Duration,
    /// `DB_MAX_CONNECTIONS`, default 20 (PostgreSQL) — SQLite uses its own small pool.
    pub db_max_connections: u32,
    /// `DB_ACQUIRE_TIMEOUT_MS`, default 3000: a request waits this long for a database
    /// connection, then answers 503 (the database is down or saturated).
    pub db_acquire_timeout: Duration,
    /// `METRICS_ADDR` (e.g. `127.0.0.1:9100`): serve `/metrics` on this address only;
    /// unset: on the main port.
    pub metrics_addr: Option<String>,
    /// `DRAIN_TIMEOUT_SECONDS`, default 30: on SIGTERM, the longest the server waits
    /// for requests in flight, and again for background work, before it exits.
    pub drain_timeout: Duration,
    /// `MEDIA_*`: file uploads.
    pub media: MediaConfig,
    /// `RATE_LIMIT_*`, `TRUSTED_PROXIES`.
    pub rate_limits: RateLimitConfig,
    /// `ADMIN_UI_USERNAME`, `ADMIN_UI_PASSWORD`: the Socket.IO Admin UI.
    pub admin_ui: AdminUiConfig,
    /// `HISTORY_SIZE` (default 10 000 events) and `HISTORY_TTL_SECONDS` (default 300):
    /// how much of the event log is kept for clients that reconnect;
    /// `HISTORY_REPLAY_MAX` (default 1 000): the most one reconnect is replayed.
    pub history: crate::realtime::HistoryLimits,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads configuration through `get` (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let (jwt_secret, jwt_secret_generated) = match get("JWT_SECRET") {
            Some(s) if s.len() < 32 => {
                return Err(ConfigError {
                    var: "JWT_SECRET",
                    reason: "must be at least 32 characters".into(),
                });
            }
            Some(s) => (s, false),
            None => (crate::auth::tokens::random_token(), true),
        };
        let transports = match get("SOCKETIO_TRANSPORTS").as_deref() {
            None | Some("websocket,polling") | Some("polling,websocket") => Transports::All,
            Some("websocket") => Transports::WebsocketOnly,
            Some(other) => {
                return Err(ConfigError {
                    var: "SOCKETIO_TRANSPORTS",
                    reason: format!("expected `websocket,polling` or `websocket`, got `{other}`"),
                });
            }
        };
        let database_url =
            get("DATABASE_URL").unwrap_or_else(|| "sqlite://switchboard.db?mode=rwc".into());
        if database_url.contains(":memory:") || database_url.contains("mode=memory") {
            // Every pooled connection (and the message writer's own) would open its own
            // empty database.
            return Err(ConfigError {
                var: "DATABASE_URL",
                reason: "an in-memory SQLite database is not supported; use a file".into(),
            });
        }
        let socketio_max_payload = positive(&get, "SOCKETIO_MAX_PAYLOAD", 65_536)?;
        let socketio_engine_max_payload = positive(
            &get,
            "SOCKETIO_ENGINE_MAX_PAYLOAD",
            socketio_max_payload.saturating_mul(4).max(16 * 1024),
        )?;
        if socketio_engine_max_payload < socketio_max_payload {
            // An event the engine cuts off would never get its `exception`.
            return Err(ConfigError {
                var: "SOCKETIO_ENGINE_MAX_PAYLOAD",
                reason: format!("must be at least SOCKETIO_MAX_PAYLOAD ({socketio_max_payload})"),
            });
        }
        let config = Self {
            host: get("HOST").unwrap_or_else(|| "0.0.0.0".into()),
            port: parse(&get, "PORT", 3000)?,
            database_url,
            redis_url: get("REDIS_URL"),
            redis_prefix: get("REDIS_PREFIX").unwrap_or_else(|| "switchboard".into()),
            jwt_secret,
            jwt_secret_generated,
            access_token_ttl: Duration::from_secs(positive(&get, "ACCESS_TOKEN_TTL", 900)?),
            refresh_token_ttl: Duration::from_secs(positive(&get, "REFRESH_TOKEN_TTL", 2_592_000)?),
            max_body_bytes: positive(&get, "MAX_BODY_BYTES", 1_048_576)? as usize,
            max_message_length: positive(&get, "MAX_MESSAGE_LENGTH", 10_000)? as usize,
            socketio_max_payload,
            socketio_engine_max_payload,
            socketio_ping_interval: Duration::from_millis(positive(
                &get,
                "SOCKETIO_PING_INTERVAL_MS",
                25_000,
            )?),
            socketio_ping_timeout: Duration::from_millis(positive(
                &get,
                "SOCKETIO_PING_TIMEOUT_MS",
                20_000,
            )?),
            socketio_connect_timeout: Duration::from_millis(positive(
                &get,
                "SOCKETIO_CONNECT_TIMEOUT_MS",
                45_000,
            )?),
            socketio_transports: transports,
            cors_allowed_origins: list(&get, "CORS_ALLOWED_ORIGINS")
                .unwrap_or_else(|| vec!["*".into()]),
            ws_ticket_ttl: Duration::from_secs(positive(&get, "WS_TICKET_TTL_SECONDS", 60)?),
            ws_ping_interval: Duration::from_secs(positive(&get, "WS_PING_INTERVAL_SECONDS", 30)?),
            ws_pong_timeout: Duration::from_secs(positive(&get, "WS_PONG_TIMEOUT_SECONDS", 75)?),
            socketio_buffer_packets: positive(&get, "SOCKETIO_BUFFER_PACKETS", 1024)? as usize,
            ws_max_message_bytes: positive(&get, "WS_MAX_MESSAGE_BYTES", 256 * 1024)? as usize,
            ws_send_buffer_bytes: positive(&get, "WS_SEND_BUFFER_BYTES", 1024 * 1024)? as usize,
            legacy_ws_enabled: parse(&get, "LEGACY_WS_ENABLED", true)?,
            vapid_public_key: vapid_key(&get, "VAPID_PUBLIC_KEY", 65)?,
            vapid_private_key: vapid_key(&get, "VAPID_PRIVATE_KEY", 32)?,
            web_push_allowed_endpoints: allow_list(
                &get,
                "WEB_PUSH_ALLOWED_ENDPOINTS",
                DEFAULT_PUSH_SERVICES,
            )?,
            vapid_subject: get("VAPID_SUBJECT")
                .map(|v| v.trim().to_string())
                .unwrap_or_else(|| "mailto:webpush@localhost".into()),
            expo_push_url: match get("EXPO_PUSH_URL").as_deref().map(str::trim) {
                None => Some(DEFAULT_EXPO_PUSH_URL.into()),
                Some("off") => None,
                Some(url) => Some(url.to_string()),
            },
            expo_access_token: get("EXPO_ACCESS_TOKEN"),
            expo_receipt_delay: Duration::from_secs(positive(
                &get,
                "EXPO_RECEIPT_DELAY_SECONDS",
                900,
            )?),
            smtp_url: get("SMTP_URL"),
            smtp_from: get("SMTP_FROM").unwrap_or_else(|| "Switchboard <noreply@localhost>".into()),
            push_collapse_window: Duration::from_secs(parse(&get, "PUSH_COLLAPSE_SECONDS", 5)?),
            push_max_attempts: positive(&get, "PUSH_MAX_ATTEMPTS", 8)?.min(1000) as u32,
            push_retry_base: Duration::from_millis(positive(&get, "PUSH_RETRY_BASE_MS", 2000)?),
            push_retry_max: Duration::from_secs(positive(&get, "PUSH_RETRY_MAX_SECONDS", 900)?),
            push_poll: Duration::from_millis(positive(&get, "PUSH_POLL_MS", 1000)?),
            push_timeout: Duration::from_millis(positive(&get, "PUSH_TIMEOUT_MS", 10_000)?),
            push_ttl: Duration::from_secs(positive(&get, "PUSH_TTL_SECONDS", 86_400)?),
            meeting_reminder: Duration::from_secs(
                60 * positive(&get, "MEETING_REMINDER_MINUTES", 10)?,
            ),
            default_timezone: parse(&get, "DEFAULT_TIMEZONE", chrono_tz::Asia::Karachi)?,
            call_ring_timeout: Duration::from_secs(positive(
                &get,
                "CALL_RING_TIMEOUT_SECONDS",
                45,
            )?),
            scheduler_poll: Duration::from_millis(positive(&get, "SCHEDULER_POLL_MS", 1000)?),
            jwks_allowed_urls: allow_list(&get, "JWKS_ALLOWED_URLS", &[])?,
            retention: Duration::from_secs(86_400 * positive(&get, "RETENTION_DAYS", 7)?),
            login_max_failures: positive(&get, "LOGIN_MAX_FAILURES", 10)? as u32,
            login_max_failures_per_ip: positive(&get, "LOGIN_MAX_FAILURES_PER_IP", 50)? as u32,
            login_window: Duration::from_secs(positive(&get, "LOGIN_WINDOW_SECONDS", 900)?),
            redis_timeout: Duration::from_millis(positive(&get, "REDIS_TIMEOUT_MS", 2000)?),
            presence_online_ttl: Duration::from_secs(positive(
                &get,
                "ONLINE_PRESENCE_TTL_SECONDS",
                90,
            )?),
            presence_away_window: Duration::from_secs(positive(
                &get,
                "PRESENCE_AWAY_SECONDS",
                300,
            )?),
            presence_sweep: Duration::from_millis(positive(&get, "PRESENCE_SWEEP_MS", 5000)?),
            db_max_connections: positive(&get, "DB_MAX_CONNECTIONS", 20)? as u32,
            db_acquire_timeout: Duration::from_millis(positive(
                &get,
                "DB_ACQUIRE_TIMEOUT_MS",
                3000,
            )?),
            drain_timeout: Duration::from_secs(positive(&get, "DRAIN_TIMEOUT_SECONDS", 30)?),
            metrics_addr: get("METRICS_ADDR"),
            media: MediaConfig::from_lookup(&get)?,
            rate_limits: RateLimitConfig::from_lookup(&get)?,
            admin_ui: AdminUiConfig::from_lookup(&get)?,
            history: crate::realtime::HistoryLimits {
                size: positive(&get, "HISTORY_SIZE", 10_000)? as usize,
                ttl: Duration::from_secs(positive(&get, "HISTORY_TTL_SECONDS", 300)?),
                max_replay: positive(&get, "HISTORY_REPLAY_MAX", 1000)? as usize,
            },
        };
        if config.vapid_public_key.is_some() != config.vapid_private_key.is_some() {
            return Err(ConfigError {
                var: "VAPID_PRIVATE_KEY",
                reason: "VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are set together or not at all"
                    .into(),
            });
        }
        if !(config.vapid_subject.starts_with("mailto:")
            || config.vapid_subject.starts_with("https://"))
        {
            return Err(ConfigError {
                var: "VAPID_SUBJECT",
                reason: "must be a mailto: or https: URL".into(),
            });
        }
        if let (Some(public), Some(private)) = (&config.vapid_public_key, &config.vapid_private_key)
            && let Err(reason) = crate::infra::push::vapid::VapidKeys::from_base64(
                public,
                private,
                &config.vapid_subject,
            )
        {
            return Err(ConfigError {
                var: "VAPID_PUBLIC_KEY",
                reason,
            });
        }
        for (var, url) in [
            ("EXPO_PUSH_URL", config.expo_push_url.as_deref()),
            ("SMTP_URL", config.smtp_url.as_deref()),
        ] {
            if let Some(url) = url
                && reqwest::Url::parse(url).is_err()
            {
                return Err(ConfigError {
                    var,
                    reason: format!("`{url}` is not a URL"),
                });
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests;
