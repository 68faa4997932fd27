//! The brute-force guard on login: failed attempts are counted per account and per
//! client address in a fixed window; past the limit, login answers 429 with the
//! seconds until the window ends, even with the right password (so guessing cannot
//! go on), and a success clears the account's count. Counts live in a
//! [`FailureCounter`] (this process, or Redis shared by every node).

use std::net::IpAddr;
use std::time::Duration;

use super::Accounts;
use crate::error::{AppError, AppResult};

/// Where failure counts live; engines in `crate::infra`.
#[async_trait::async_trait]
pub trait FailureCounter: Send + Sync + 'static {
    /// The failures counted for `key` and the seconds left in its window.
    async fn get(&self, key: &str) -> AppResult<(u32, u64)>;
    /// Counts one failure; a new key's window is `window` long.
    async fn add(&self, key: &str, window: Duration) -> AppResult<()>;
    async fn clear(&self, key: &str) -> AppResult<()>;
}

/// Limits of the guard.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Failures per account within a window (`LOGIN_MAX_FAILURES`).
    pub per_account: u32,
    /// Failures per client address within a window (`LOGIN_MAX_FAILURES_PER_IP`).
    pub per_address: u32,
    /// `LOGIN_WINDOW_SECONDS`.
    pub window: Duration,
}

fn account_key(email: &str) -> String {
    format!("login:account:{email}")
}

fn address_key(ip: IpAddr) -> String {
    format!("login:ip:{ip}")
}

/// Refuses the attempt while the account or the address is over its limit.
pub(crate) async fn check(
    counter: &dyn FailureCounter,
    limits: LoginLimits,
    email: &str,
    ip: Option<IpAddr>,
) -> AppResult<()> {
    let (n, left) = counter.get(&account_key(email)).await?;
    if n >= limits.per_account {
        return Err(AppError::RateLimited(Some(left.max(1))));
    }
    if let Some(ip) = ip {
        let (n, left) = counter.get(&address_key(ip)).await?;
        if n >= limits.per_address {
            return Err(AppError::RateLimited(Some(left.max(1))));
        }
    }
    Ok(())
}

/// Counts a failed attempt against the account and the address.
pub(crate) async fn failed(
    counter: &dyn FailureCounter,
    limits: LoginLimits,
    email: &str,
    ip: Option<IpAddr>,
) -> AppResult<()> {
    counter.add(&account_key(email), limits.window).await?;
    if let Some(ip) = ip {
        counter.add(&address_key(ip), limits.window).await?;
    }
    Ok(())
}

/// A successful login clears the account's count.
pub(crate) async fn succeeded(counter: &dyn FailureCounter, email: &str) -> AppResult<()> {
    counter.clear(&account_key(email)).await
}

impl Accounts {
    /// A login that is not a user's (the Admin UI's operator), under the same guard:
    /// counted per `name` (in its own key space) and per address, refused while over
    /// the limit without running `check`, and cleared by a success.
    pub async fn guarded_login(
        &self,
        name: &str,
        ip: Option<IpAddr>,
        check: impl std::future::Future<Output = AppResult<bool>>,
    ) -> AppResult<bool> {
        let key = format!("operator:{name}");
        let guard = self.login_failures.as_ref();
        self::check(guard, self.settings.login_limits, &key, ip).await?;
        if check.await? {
            succeeded(guard, &key).await?;
            Ok(true)
        } else {
            failed(guard, self.settings.login_limits, &key, ip).await?;
            Ok(false)
        }
    }
}
