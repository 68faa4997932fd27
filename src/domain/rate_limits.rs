//! Rate limits on REST: requests per user and per client address in a window
//! (`RATE_LIMIT_PER_USER`, `RATE_LIMIT_PER_IP`, `RATE_LIMIT_WINDOW_SECONDS`), counted by a
//! [`RateGate`] (this process through `governor`, or Redis shared by every node). Over
//! a limit a request answers 429 `RATE_LIMITED` with the seconds until it may retry.
//! Events on one connection are limited by the transports themselves
//! (`RATE_LIMIT_EVENTS_PER_SECOND`, one `governor` limiter per connection), and a
//! user's events across connections and nodes here
//! (`RATE_LIMIT_EVENTS_PER_USER_PER_SECOND`); a Socket.IO handshake counts as a
//! request.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::auth::jwt::JwtKeys;
use crate::error::{AppError, AppResult};

/// Where request counts live; engines in `crate::infra`.
#[async_trait::async_trait]
pub trait RateGate: Send + Sync + 'static {
    /// Counts one request for `key`; `Err(seconds)` when it is over `limit` per `window`.
    async fn admit(&self, key: &str, limit: u32, window: Duration) -> AppResult<Result<(), u64>>;
}

/// The rate-limit service: the counter engine, the limits, and the signing keys (a
/// request is counted under the user its bearer token names, before it is served).
#[derive(Clone)]
pub struct RateLimiter {
    rate_gate: Arc<dyn RateGate>,
    rate_limits: RateLimits,
    keys: Arc<JwtKeys>,
}

impl RateLimiter {
    pub fn new(rate_gate: Arc<dyn RateGate>, rate_limits: RateLimits, keys: Arc<JwtKeys>) -> Self {
        Self {
            rate_gate,
            rate_limits,
            keys,
        }
    }
}

/// The configured limits.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub per_user: u32,
    pub per_ip: u32,
    pub window: Duration,
    /// Events per user per second, across connections and nodes.
    pub events_per_user: u32,
}

impl RateLimiter {
    /// Admits one REST request of `user` (when signed in) from `ip`, or refuses it with
    /// 429 and the seconds to wait. A counter that cannot be reached admits (the
    /// limits protect the service; they must not take it down).
    pub async fn admit_request(&self, user: Option<Uuid>, ip: Option<IpAddr>) -> AppResult<()> {
        let limits = self.rate_limits;
        let keys = user
            .map(|u| (format!("rl:user:{u}"), limits.per_user))
            .into_iter()
            .chain(ip.map(|ip| (format!("rl:ip:{ip}"), limits.per_ip)));
        for (key, limit) in keys {
            match self.rate_gate.admit(&key, limit, limits.window).await {
                Ok(Ok(())) => {}
                Ok(Err(wait)) => return Err(AppError::RateLimited(Some(wait.max(1)))),
                Err(e) => e.log_hidden("rate limit counter"),
            }
        }
        Ok(())
    }

    /// Admits one realtime event of `user`, counted across all their connections on
    /// every node (each connection also has its own limit), or refuses it with 429's
    /// `RateLimited`. A counter that cannot be reached admits.
    pub async fn admit_event(&self, user: Uuid) -> AppResult<()> {
        let key = format!("rl:events:{user}");
        let limit = self.rate_limits.events_per_user;
        match self
            .rate_gate
            .admit(&key, limit, Duration::from_secs(1))
            .await
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(wait)) => Err(AppError::RateLimited(Some(wait.max(1)))),
            Err(e) => {
                e.log_hidden("event rate counter");
                Ok(())
            }
        }
    }

    /// The user a bearer token names, when it is valid (no database read: a request
    /// is counted before it is served).
    pub fn token_subject(&self, token: &str) -> Option<Uuid> {
        self.keys.verify(token).ok().map(|c| c.sub)
    }
}
