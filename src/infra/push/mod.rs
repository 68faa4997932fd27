//! The push services behind [`PushGateway`]: Web Push, Expo and SMTP, each present
//! only when configured. Plain HTTP with `reqwest` that never follows a redirect (a
//! push endpoint must not send the server somewhere else).

pub mod email;
pub mod expo;
pub mod vapid;
pub mod web_push;

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::domain::notify::delivery::{ExpoMessage, PushGateway, WebPushTarget};
use crate::domain::notify::outbox::Outcome;

/// The configured services.
pub struct HttpPushGateway {
    pub web_push: Option<web_push::WebPushSender>,
    pub expo: Option<expo::ExpoSender>,
    pub mail: Option<email::Mailer>,
}

fn not_configured(what: &str) -> Outcome {
    Outcome::Failed(format!("{what} is not configured"))
}

#[async_trait::async_trait]
impl PushGateway for HttpPushGateway {
    async fn web_push(&self, target: &WebPushTarget, payload: &[u8], urgent: bool) -> Outcome {
        match &self.web_push {
            Some(s) => s.send(target, payload, urgent).await,
            None => not_configured("web push"),
        }
    }

    async fn expo_send(&self, messages: &[ExpoMessage]) -> Vec<Outcome> {
        match &self.expo {
            Some(s) => s.send(messages).await,
            None => vec![not_configured("expo push"); messages.len()],
        }
    }

    async fn expo_receipts(&self, tickets: &[String]) -> Result<HashMap<String, Outcome>, String> {
        match &self.expo {
            Some(s) => s.receipts(tickets).await,
            None => Err("expo push is not configured".into()),
        }
    }

    async fn email(&self, to: &str, subject: &str, text: &str) -> Outcome {
        match &self.mail {
            Some(m) => m.send(to, subject, text).await,
            None => not_configured("email"),
        }
    }
}

/// What a push service's HTTP status means: 2xx taken; 404/410 the target is gone;
/// 408, 429 and 5xx try again (after `Retry-After` when given); anything else will
/// not work by trying again.
pub(crate) fn http_outcome(status: StatusCode, after: Option<Duration>, who: &str) -> Outcome {
    let error = format!("{who} answered {status}");
    match status.as_u16() {
        200..=299 => Outcome::Delivered,
        404 | 410 => Outcome::Gone(error),
        408 | 429 | 500..=599 => Outcome::Retry { after, error },
        _ => Outcome::Failed(error),
    }
}

/// `Retry-After` in seconds or as an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_retry_after_are_read_as_documented() {
        assert_eq!(
            http_outcome(StatusCode::CREATED, None, "x"),
            Outcome::Delivered
        );
        assert!(matches!(
            http_outcome(StatusCode::GONE, None, "x"),
            Outcome::Gone(_)
        ));
        assert!(matches!(
            http_outcome(StatusCode::NOT_FOUND, None, "x"),
            Outcome::Gone(_)
        ));
        assert!(matches!(
            http_outcome(StatusCode::TOO_MANY_REQUESTS, Some(Duration::from_secs(7)), "x"),
            Outcome::Retry { after: Some(d), .. } if d == Duration::from_secs(7)
        ));
        assert!(matches!(
            http_outcome(StatusCode::BAD_GATEWAY, None, "x"),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            http_outcome(StatusCode::PAYLOAD_TOO_LARGE, None, "x"),
            Outcome::Failed(_)
        ));
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "120".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(60)).to_rfc2822();
        h.insert(RETRY_AFTER, later.parse().unwrap());
        assert!(retry_after(&h).is_some_and(|d| d > Duration::from_secs(50)));
    }
}
