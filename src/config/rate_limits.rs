//! Rate-limit configuration: REST requests per user and per client address in a
//! window, events per second on one connection, and which proxies may name the
//! client address in `X-Forwarded-For`.

use std::time::Duration;

use super::{ConfigError, list, positive};

#[derive(Debug, Clone)]
pub struct RateLimitConfig {
    /// `RATE_LIMIT_PER_USER`, default 600 requests per window per signed-in user.
    pub per_user: u32,
    /// `RATE_LIMIT_PER_IP`, default 1200 requests per window per client address.
    pub per_ip: u32,
    /// `RATE_LIMIT_WINDOW_SECONDS`, default 60.
    pub window: Duration,
    /// `RATE_LIMIT_EVENTS_PER_SECOND`, default 20 (bursts of twice that) per Socket.IO
    /// socket or plain-WebSocket session.
    pub events_per_second: u32,
    /// `RATE_LIMIT_EVENTS_PER_USER_PER_SECOND`, default 40: events one user may send
    /// per second across all their sockets and sessions, on every node.
    pub events_per_user_per_second: u32,
    /// `TRUSTED_PROXIES`: comma-separated addresses or CIDRs (`10.0.0.0/8`) whose
    /// `X-Forwarded-For` names the client; unset: the TCP peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl RateLimitConfig {
    pub(super) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut trusted_proxies = Vec::new();
        for item in list(get, "TRUSTED_PROXIES").unwrap_or_default() {
            let net = item
                .parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ConfigError {
                    var: "TRUSTED_PROXIES",
                    reason: format!("`{item}` is not an IP address or CIDR"),
                })?;
            trusted_proxies.push(net);
        }
        Ok(Self {
            per_user: positive(get, "RATE_LIMIT_PER_USER", 600)?.min(u64::from(u32::MAX)) as u32,
            per_ip: positive(get, "RATE_LIMIT_PER_IP", 1200)?.min(u64::from(u32::MAX)) as u32,
            window: Duration::from_secs(positive(get, "RATE_LIMIT_WINDOW_SECONDS", 60)?),
            events_per_second: positive(get, "RATE_LIMIT_EVENTS_PER_SECOND", 20)?
                .min(u64::from(u32::MAX)) as u32,
            events_per_user_per_second: positive(get, "RATE_LIMIT_EVENTS_PER_USER_PER_SECOND", 40)?
                .min(u64::from(u32::MAX)) as u32,
            trusted_proxies,
        })
    }

    /// [`client_ip`](Self::client_ip) of a request (REST, a WebSocket upgrade, a
    /// Socket.IO handshake): `None` when it carries no peer address.
    pub fn client_ip_of(&self, parts: &http::request::Parts) -> Option<std::net::IpAddr> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()?;
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        Some(self.client_ip(peer.0.ip(), forwarded))
    }

    /// The client's address: the TCP peer, or, when the peer is a trusted proxy, the
    /// last address in `X-Forwarded-For` that is not itself a trusted proxy.
    pub fn client_ip(
        &self,
        peer: std::net::IpAddr,
        forwarded_for: Option<&str>,
    ) -> std::net::IpAddr {
        let trusted = |ip: &std::net::IpAddr| self.trusted_proxies.iter().any(|n| n.contains(ip));
        if !trusted(&peer) {
            return peer;
        }
        forwarded_for
            .into_iter()
            .flat_map(|h| h.split(','))
            .rev()
            .filter_map(|p| p.trim().parse::<std::net::IpAddr>().ok())
            .find(|ip| !trusted(ip))
            .unwrap_or(peer)
    }
}
