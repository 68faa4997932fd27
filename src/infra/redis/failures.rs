//! Login failure counts in Redis, shared by every node: `INCR` and, for a new key,
//! `EXPIRE` the window; `TTL` tells how long is left.

use std::time::Duration;

use redis::aio::ConnectionManager;

use super::unavailable;
use crate::domain::accounts::login_guard::FailureCounter;
use crate::error::AppResult;

pub struct RedisFailures {
    conn: ConnectionManager,
    prefix: String,
}

impl RedisFailures {
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_string(),
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.prefix)
    }
}

#[async_trait::async_trait]
impl FailureCounter for RedisFailures {
    async fn get(&self, key: &str) -> AppResult<(u32, u64)> {
        let (n, ttl): (Option<u32>, i64) = redis::pipe()
            .cmd("GET")
            .arg(self.key(key))
            .cmd("TTL")
            .arg(self.key(key))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok((n.unwrap_or(0), ttl.max(0) as u64))
    }

    async fn add(&self, key: &str, window: Duration) -> AppResult<()> {
        let key = self.key(key);
        redis::pipe()
            .cmd("INCR")
            .arg(&key)
            .ignore()
            .cmd("EXPIRE")
            .arg(&key)
            .arg(window.as_secs().max(1))
            .arg("NX")
            .ignore()
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(unavailable)
    }

    async fn clear(&self, key: &str) -> AppResult<()> {
        redis::cmd("DEL")
            .arg(self.key(key))
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(unavailable)
    }
}
