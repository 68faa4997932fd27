//! How one variable's text becomes a value: numbers, lists, keys and outbound
//! allow-lists, each failure naming the variable; and the defaults that are lists.

use crate::outbound::AllowList;

use super::ConfigError;

pub(super) fn parse<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match get(var) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|e: T::Err| ConfigError {
            var,
            reason: format!("`{v}`: {e}"),
        }),
    }
}

/// The public browser push services (Chrome/FCM, Firefox, Safari, Edge/Windows).
pub(super) const DEFAULT_PUSH_SERVICES: &[&str] = &[
    "https://fcm.googleapis.com/",
    "https://updates.push.services.mozilla.com/",
    "https://web.push.apple.com/",
    "https://*.notify.windows.com/",
];

/// Expo's public push endpoint.
pub(super) const DEFAULT_EXPO_PUSH_URL: &str = "https://exp.host/--/api/v2/push/send";

/// A base64url key of `bytes` bytes, or unset.
pub(super) fn vapid_key(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    bytes: usize,
) -> Result<Option<String>, ConfigError> {
    let Some(v) = get(var).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let v = v.trim().to_string();
    if crate::auth::tokens::is_base64url_key(&v, bytes) {
        Ok(Some(v))
    } else {
        Err(ConfigError {
            var,
            reason: format!("must be a base64url key of {bytes} bytes"),
        })
    }
}

/// A comma-separated list (items trimmed, empty ones dropped), or unset.
pub(super) fn list(get: &impl Fn(&str) -> Option<String>, var: &str) -> Option<Vec<String>> {
    get(var).map(|v| {
        v.split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect()
    })
}

/// An outbound allow-list (`outbound::AllowList`), `default` when unset.
pub(super) fn allow_list(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: &[&str],
) -> Result<AllowList, ConfigError> {
    let entries = list(get, var).unwrap_or_else(|| default.iter().map(|s| s.to_string()).collect());
    AllowList::parse(&entries).map_err(|reason| ConfigError { var, reason })
}

pub(super) fn positive(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    let v: u64 = parse(get, var, default)?;
    if v == 0 {
        return Err(ConfigError {
            var,
            reason: "must be greater than zero".into(),
        });
    }
    Ok(v)
}
