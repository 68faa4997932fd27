//! Presence in this process's memory (one node).

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::Mutex;
use uuid::Uuid;

use crate::domain::presence::{Device, PresenceStore, Status};
use crate::error::AppResult;

#[derive(Default)]
pub struct MemoryPresence {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    devices: HashMap<Uuid, HashMap<String, Device>>,
    status: HashMap<Uuid, Status>,
}

#[async_trait::async_trait]
impl PresenceStore for MemoryPresence {
    async fn devices(&self, user: Uuid) -> AppResult<HashMap<String, Device>> {
        Ok(self
            .inner
            .lock()
            .await
            .devices
            .get(&user)
            .cloned()
            .unwrap_or_default())
    }

    async fn put_device(
        &self,
        user: Uuid,
        device: &str,
        d: &Device,
        _keep: Duration,
    ) -> AppResult<()> {
        self.inner
            .lock()
            .await
            .devices
            .entry(user)
            .or_default()
            .insert(device.to_string(), d.clone());
        Ok(())
    }

    async fn remove_device(&self, user: Uuid, device: &str) -> AppResult<()> {
        if let Some(d) = self.inner.lock().await.devices.get_mut(&user) {
            d.remove(device);
        }
        Ok(())
    }

    async fn swap_status(&self, user: Uuid, status: Status) -> AppResult<Status> {
        Ok(self
            .inner
            .lock()
            .await
            .status
            .insert(user, status)
            .unwrap_or(Status::Offline))
    }

    async fn tracked(&self) -> AppResult<Vec<Uuid>> {
        Ok(self.inner.lock().await.devices.keys().copied().collect())
    }

    async fn forget(&self, user: Uuid) -> AppResult<()> {
        let mut inner = self.inner.lock().await;
        if inner.devices.get(&user).is_some_and(HashMap::is_empty) {
            inner.devices.remove(&user);
        }
        Ok(())
    }
}
