//! Presence in Redis, shared by every node: a hash of devices per user (expiring
//! after the away window), a set of tracked users, and a status key per user whose
//! `SET … GET` swap decides which node publishes a change.

use std::collections::HashMap;
use std::time::Duration;

use redis::aio::ConnectionManager;
use uuid::Uuid;

use super::unavailable;
use crate::domain::presence::{Device, PresenceStore, Status};
use crate::error::{AppError, AppResult};

pub struct RedisPresence {
    conn: ConnectionManager,
    prefix: String,
}

impl RedisPresence {
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_string(),
        }
    }

    fn devices_key(&self, user: Uuid) -> String {
        format!("{}:presence:dev:{user}", self.prefix)
    }

    fn users_key(&self) -> String {
        format!("{}:presence:users", self.prefix)
    }
}

#[async_trait::async_trait]
impl PresenceStore for RedisPresence {
    async fn devices(&self, user: Uuid) -> AppResult<HashMap<String, Device>> {
        let raw: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(self.devices_key(user))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(raw
            .into_iter()
            .filter_map(|(k, v)| match serde_json::from_str(&v) {
                Ok(d) => Some((k, d)),
                Err(e) => {
                    tracing::warn!(error = %e, device = %k, "unreadable presence record skipped");
                    None
                }
            })
            .collect())
    }

    async fn put_device(
        &self,
        user: Uuid,
        device: &str,
        d: &Device,
        keep: Duration,
    ) -> AppResult<()> {
        let key = self.devices_key(user);
        let record = serde_json::to_string(d).map_err(AppError::internal)?;
        redis::pipe()
            .cmd("HSET")
            .arg(&key)
            .arg(device)
            .arg(record)
            .ignore()
            .cmd("EXPIRE")
            .arg(&key)
            .arg(keep.as_secs().max(1))
            .ignore()
            .cmd("SADD")
            .arg(self.users_key())
            .arg(user.to_string())
            .ignore()
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(unavailable)
    }

    async fn remove_device(&self, user: Uuid, device: &str) -> AppResult<()> {
        redis::cmd("HDEL")
            .arg(self.devices_key(user))
            .arg(device)
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(unavailable)
    }

    async fn swap_status(&self, user: Uuid, status: Status) -> AppResult<Status> {
        let old: Option<String> = redis::cmd("SET")
            .arg(format!("{}:presence:status:{user}", self.prefix))
            .arg(status.as_str())
            .arg("GET")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(old.as_deref().map_or(Status::Offline, Status::parse))
    }

    async fn tracked(&self) -> AppResult<Vec<Uuid>> {
        let ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.users_key())
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(ids.iter().filter_map(|s| Uuid::parse_str(s).ok()).collect())
    }

    async fn forget(&self, user: Uuid) -> AppResult<()> {
        redis::cmd("SREM")
            .arg(self.users_key())
            .arg(user.to_string())
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(unavailable)
    }
}
