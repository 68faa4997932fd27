//! REST rate limits shared by every node: a fixed window per key in Redis (one
//! script: count, start the window on the first request, answer the count and the
//! milliseconds left).

use std::time::Duration;

use redis::aio::ConnectionManager;

use super::unavailable;
use crate::domain::rate_limits::RateGate;
use crate::error::AppResult;

const COUNT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}
";

pub struct RedisRateGate {
    conn: ConnectionManager,
    prefix: String,
    script: redis::Script,
}

impl RedisRateGate {
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_string(),
            script: redis::Script::new(COUNT),
        }
    }
}

#[async_trait::async_trait]
impl RateGate for RedisRateGate {
    async fn admit(&self, key: &str, limit: u32, window: Duration) -> AppResult<Result<(), u64>> {
        let (n, left_ms): (u64, i64) = self
            .script
            .key(format!("{}:{key}", self.prefix))
            .arg(window.as_millis().max(1) as u64)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(if n <= u64::from(limit) {
            Ok(())
        } else {
            Err((left_ms.max(0) as u64).div_ceil(1000))
        })
    }
}
