//! Where presence state lives. The rules in `super` use this trait; the engines are
//! in `crate::infra` (`memory::MemoryPresence`, `redis::RedisPresence`).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Platform, Status};
use crate::error::AppResult;

/// One device's last sign of life.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Device {
    pub platform: Platform,
    pub app_state: Option<String>,
    pub last_seen: DateTime<Utc>,
}

/// Per-user device records and each user's last published status.
#[async_trait::async_trait]
pub trait PresenceStore: Send + Sync + 'static {
    /// The user's devices by device key (`hb:<id>` or `conn:<id>`).
    async fn devices(&self, user: Uuid) -> AppResult<HashMap<String, Device>>;
    /// Records a device; the store may forget the user's devices after `keep`.
    async fn put_device(
        &self,
        user: Uuid,
        device: &str,
        d: &Device,
        keep: Duration,
    ) -> AppResult<()>;
    async fn remove_device(&self, user: Uuid, device: &str) -> AppResult<()>;
    /// Records `status` as the user's published status; returns the previous one
    /// (atomically, so of two nodes seeing one change only one publishes it).
    async fn swap_status(&self, user: Uuid, status: Status) -> AppResult<Status>;
    /// Users with any presence state (candidates for a time-based change).
    async fn tracked(&self) -> AppResult<Vec<Uuid>>;
    /// Stops tracking a user who has no devices left.
    async fn forget(&self, user: Uuid) -> AppResult<()>;
}
