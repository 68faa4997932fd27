//! The events one connection may send: `RATE_LIMIT_EVENTS_PER_SECOND` a second, in
//! bursts of twice that (a `governor` limiter per connection; over it, the event is
//! refused with `rate_limited` and the connection stays).

use std::num::NonZeroU32;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// A fresh limiter for one connection.
pub fn per_connection(per_second: u32) -> DefaultDirectRateLimiter {
    let rate = NonZeroU32::new(per_second.max(1)).expect("at least one");
    let burst = NonZeroU32::new(per_second.max(1).saturating_mul(2)).expect("at least one");
    RateLimiter::direct(Quota::per_second(rate).allow_burst(burst))
}
