//! The Redis engine, for many nodes: the one connection setup and the one mapping
//! of Redis failures to `AppError::Unavailable`, plus the stores built on it. Every
//! key and channel starts with the configured prefix.

pub mod fanout;
pub mod presence;
pub mod tickets;

pub use fanout::RedisFanout;
pub use presence::RedisPresence;
pub use tickets::RedisTickets;

use redis::aio::ConnectionManager;

use crate::error::AppError;

/// A Redis failure as the domain sees it: the service is unavailable (503).
pub fn unavailable(e: redis::RedisError) -> AppError {
    AppError::unavailable("redis", e)
}

/// A client and a reconnecting connection for `url` (RESP3, which the Socket.IO
/// adapter and pub/sub need, is added to the URL).
pub async fn connect(url: &str) -> redis::RedisResult<(redis::Client, ConnectionManager)> {
    let client = redis::Client::open(resp3(url))?;
    let conn = ConnectionManager::new(client.clone()).await?;
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
