//! Input checks shared by every domain call; each failure names the offending field.

use std::str::FromStr;

use super::limits::Len;
use crate::error::{AppError, AppResult};

/// Refuses control characters other than tab, newline and carriage return: a NUL
/// byte cannot be stored by PostgreSQL and would reach SQLite's FTS parser raw.
pub fn printable(field: &str, value: &str) -> AppResult<()> {
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(AppError::validation(
            field,
            "must not contain control characters (such as NUL)",
        ));
    }
    Ok(())
}

/// Refuses a NUL anywhere in a JSON value (strings and object keys, at any depth):
/// PostgreSQL cannot store one, in `jsonb` or `text`.
pub fn json_without_nul(field: &str, value: &serde_json::Value) -> AppResult<()> {
    fn holds_nul(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().any(holds_nul),
            serde_json::Value::Object(map) => {
                map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v))
            }
            _ => false,
        }
    }
    if holds_nul(value) {
        return Err(AppError::validation(
            field,
            "must not contain NUL, in a key or a value",
        ));
    }
    Ok(())
}

/// A list offset: at most what the databases can skip (an `i64`).
pub fn offset(value: Option<u64>) -> AppResult<u64> {
    let v = value.unwrap_or(0);
    if v > i64::MAX as u64 {
        return Err(AppError::validation("offset", "is too large"));
    }
    Ok(v)
}

/// Trims, then checks the length in characters is within the bounds (and that it
/// holds no control characters).
pub fn text(field: &str, value: &str, bounds: Len) -> AppResult<String> {
    let Len { min, max } = bounds;
    printable(field, value)?;
    let v = value.trim();
    let n = v.chars().count();
    if n < min {
        return Err(if min <= 1 {
            AppError::validation(field, "must not be empty")
        } else {
            AppError::validation(field, format!("must be at least {min} characters"))
        });
    }
    if n > max {
        return Err(AppError::validation(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(v.to_string())
}

/// A page size: `default` when absent, otherwise within `1..=max`.
pub fn page_limit(limit: Option<u64>, (default, max): (u64, u64)) -> AppResult<u64> {
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(AppError::validation(
            "limit",
            format!("must be between 1 and {max}"),
        ));
    }
    Ok(limit)
}

/// A plausible email address, normalised to lower case.
pub fn email(value: &str) -> AppResult<String> {
    printable("email", value)?;
    let v = value.trim().to_lowercase();
    let ok = v.len() <= 254
        && !v.chars().any(char::is_whitespace)
        && matches!(v.split_once('@'), Some((local, domain))
            if !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
                && !domain.ends_with('.') && !domain.contains('@'));
    if ok {
        Ok(v)
    } else {
        Err(AppError::validation(
            "email",
            "must be a valid email address",
        ))
    }
}

/// Passwords: 8 to 256 characters, not trimmed.
pub fn password(field: &str, value: &str) -> AppResult<()> {
    let n = value.chars().count();
    if n < 8 {
        return Err(AppError::validation(field, "must be at least 8 characters"));
    }
    if n > 256 {
        return Err(AppError::validation(
            field,
            "must be at most 256 characters",
        ));
    }
    Ok(())
}

/// An IANA time zone name such as `Europe/Berlin`.
pub fn timezone(value: &str) -> AppResult<String> {
    chrono_tz::Tz::from_str(value.trim())
        .map(|tz| tz.name().to_string())
        .map_err(|_| {
            AppError::validation("timezone", "must be an IANA time zone like Europe/Berlin")
        })
}

/// An http(s) URL of bounded length.
pub fn url(field: &str, value: &str) -> AppResult<String> {
    let v = text(field, value, Len { min: 1, max: 2048 })?;
    if v.starts_with("https://") || v.starts_with("http://") {
        Ok(v)
    } else {
        Err(AppError::validation(field, "must be an http(s) URL"))
    }
}

/// A phone number: digits with an optional leading `+`; spaces, dots, dashes and
/// parentheses are dropped, so `+1 (555) 010-9999` is stored as `+15550109999`.
pub fn phone(value: &str) -> AppResult<String> {
    let v = value.trim();
    let plus = v.starts_with('+');
    let mut digits = String::new();
    for (i, c) in v.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => {}
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => {
                return Err(AppError::validation(
                    "phone",
                    "may hold only digits, a leading +, spaces, dots, dashes and parentheses",
                ));
            }
        }
    }
    if !(3..=20).contains(&digits.len()) {
        return Err(AppError::validation("phone", "must have 3 to 20 digits"));
    }
    Ok(if plus { format!("+{digits}") } else { digits })
}

/// The digits of a search term that looks like (part of) a phone number.
pub fn phone_digits(q: &str) -> Option<String> {
    let looks_like_phone = q
        .chars()
        .all(|c| c.is_ascii_digit() || " +-.()".contains(c));
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    (looks_like_phone && !digits.is_empty()).then_some(digits)
}

/// Serde helper for patch fields where `null` (clear) differs from absent (keep):
/// absent → `None`, `null` → `Some(None)`, a value → `Some(Some(v))`.
pub mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks() {
        assert_eq!(email(" Ann@Example.COM ").unwrap(), "ann@example.com");
        assert!(email("nope").is_err());
        assert!(email("a@b").is_err());
        assert!(password("password", "short").is_err());
        assert_eq!(timezone("Europe/Berlin").unwrap(), "Europe/Berlin");
        assert!(timezone("Mars/Olympus").is_err());
        assert!(text("title", "   ", Len { min: 1, max: 10 }).is_err());
        assert!(text("title", "abcdefghijk", Len { min: 1, max: 10 }).is_err());
        assert!(url("avatar_url", "javascript:alert(1)").is_err());
        assert_eq!(phone(" +1 (555) 010-9999 ").unwrap(), "+15550109999");
        assert!(text("title", "a\0b", Len { min: 1, max: 10 }).is_err());
        assert!(text("title", "two\nlines", Len { min: 1, max: 20 }).is_ok());
        assert!(email("a\0@b.co").is_err());
        assert!(offset(Some(u64::MAX)).is_err());
        assert!(phone("call me").is_err());
        let nul = serde_json::json!({"a": [{"b\u{0}": 1}]});
        assert!(json_without_nul("data", &nul).is_err());
        assert!(json_without_nul("data", &serde_json::json!({"a": ["x\u{0}"]})).is_err());
        assert!(json_without_nul("data", &serde_json::json!({"a": ["\u{1b}", 1, null]})).is_ok());
        assert!(phone("12").is_err());
        assert_eq!(phone_digits("010-99").as_deref(), Some("01099"));
        assert_eq!(phone_digits("ann"), None);
    }
}
