//! REST rate limits in this process (one node): a `governor` keyed GCRA limiter per
//! configured limit, pruned of idle keys now and then.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::domain::rate_limits::RateGate;
use crate::error::AppResult;

/// One limiter per (requests, window in ms).
type Limiters = HashMap<(u32, u64), Arc<DefaultKeyedRateLimiter<String>>>;

#[derive(Default)]
pub struct MemoryRateGate {
    limiters: Mutex<Limiters>,
    admitted: AtomicU64,
}

impl MemoryRateGate {
    fn limiter(&self, limit: u32, window: Duration) -> Arc<DefaultKeyedRateLimiter<String>> {
        let mut map = self.limiters.lock().unwrap_or_else(|e| e.into_inner());
        map.entry((limit, window.as_millis() as u64))
            .or_insert_with(|| {
                let burst = NonZeroU32::new(limit.max(1)).expect("at least one");
                // `limit` requests per `window`, all of them available at once.
                let period = window / burst.get();
                let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
                    .expect("a positive period")
                    .allow_burst(burst);
                Arc::new(RateLimiter::keyed(quota))
            })
            .clone()
    }
}

#[async_trait::async_trait]
impl RateGate for MemoryRateGate {
    async fn admit(&self, key: &str, limit: u32, window: Duration) -> AppResult<Result<(), u64>> {
        let limiter = self.limiter(limit, window);
        if self
            .admitted
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(4096)
        {
            limiter.retain_recent();
        }
        Ok(match limiter.check_key(&key.to_string()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(wait.as_secs_f64().ceil() as u64)
            }
        })
    }
}
