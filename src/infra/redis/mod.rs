//! The Redis engine, for many nodes: the one connection setup and the one mapping
//! of Redis failures to `AppError::Unavailable`, plus the stores built on it. Every
//! key and channel starts with the configured prefix.

pub mod admin_bus;
mod appender;
pub mod failures;
pub mod fanout;
pub mod presence;
pub mod rate_gate;
pub mod tickets;

pub use admin_bus::RedisAdminBus;
pub use failures::RedisFailures;
pub use fanout::RedisFanout;
pub use presence::RedisPresence;
pub use rate_gate::RedisRateGate;
pub use tickets::RedisTickets;

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::error::AppError;

/// A Redis failure as the domain sees it: the service is unavailable (503).
pub fn unavailable(e: redis::RedisError) -> AppError {
    metrics::counter!(crate::telemetry::metrics::REDIS_ERRORS).increment(1);
    AppError::unavailable("redis", e)
}

/// A client and a reconnecting connection for `url` (RESP3, which pub/sub on a
/// shared connection needs, is added to the URL). Every command gives up after
/// `timeout` (and a reconnect after half of it), so while Redis is down callers get
/// an error at once instead of hanging.
pub async fn connect(
    url: &str,
    timeout: Duration,
) -> redis::RedisResult<(redis::Client, ConnectionManager)> {
    let client = redis::Client::open(resp3(url))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout / 2))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(1)
        .set_max_delay(timeout / 2);
    let conn = ConnectionManager::new_with_config(client.clone(), config).await?;
    Ok((client, conn))
}

fn resp3(url: &str) -> String {
    if url.contains("protocol=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    }
}
