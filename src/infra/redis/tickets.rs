//! WebSocket tickets in Redis: `SET … EX` to issue, `GETDEL` to redeem, so a ticket
//! is single-use across nodes.

use std::time::Duration;

use redis::aio::ConnectionManager;
use uuid::Uuid;

use super::unavailable;
use crate::domain::accounts::ws_tickets::TicketStore;
use crate::error::AppResult;

pub struct RedisTickets {
    conn: ConnectionManager,
    prefix: String,
}

impl RedisTickets {
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_string(),
        }
    }

    fn key(&self, hash: &str) -> String {
        format!("{}:wsticket:{hash}", self.prefix)
    }
}

#[async_trait::async_trait]
impl TicketStore for RedisTickets {
    async fn put(&self, hash: String, user: Uuid, ttl: Duration) -> AppResult<()> {
        redis::cmd("SET")
            .arg(self.key(&hash))
            .arg(user.to_string())
            .arg("EX")
            .arg(ttl.as_secs().max(1))
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(unavailable)
    }

    async fn take(&self, hash: &str) -> AppResult<Option<Uuid>> {
        let v: Option<String> = redis::cmd("GETDEL")
            .arg(self.key(hash))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(v.and_then(|s| Uuid::parse_str(&s).ok()))
    }
}
