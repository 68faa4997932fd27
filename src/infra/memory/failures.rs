//! Login failure counts in this process's memory (one node).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::domain::accounts::login_guard::FailureCounter;
use crate::error::AppResult;

#[derive(Default)]
pub struct MemoryFailures {
    counts: Mutex<HashMap<String, (u32, Instant)>>,
}

#[async_trait::async_trait]
impl FailureCounter for MemoryFailures {
    async fn get(&self, key: &str) -> AppResult<(u32, u64)> {
        let now = Instant::now();
        Ok(match self.counts.lock().await.get(key) {
            Some((n, until)) if *until > now => (*n, (*until - now).as_secs()),
            _ => (0, 0),
        })
    }

    async fn add(&self, key: &str, window: Duration) -> AppResult<()> {
        let now = Instant::now();
        let mut counts = self.counts.lock().await;
        counts.retain(|_, (_, until)| *until > now);
        let entry = counts.entry(key.to_string()).or_insert((0, now + window));
        entry.0 += 1;
        Ok(())
    }

    async fn clear(&self, key: &str) -> AppResult<()> {
        self.counts.lock().await.remove(key);
        Ok(())
    }
}
