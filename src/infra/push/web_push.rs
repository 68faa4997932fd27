//! Web Push (RFC 8030): the payload encrypted for the browser (RFC 8291, aes128gcm,
//! by `web-push-native`), signed with VAPID, POSTed to the subscription's endpoint;
//! the service's answer read as an [`Outcome`].

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};

use super::vapid::VapidKeys;
use super::{http_outcome, retry_after};
use crate::domain::notify::delivery::WebPushTarget;
use crate::domain::notify::outbox::Outcome;

/// Sends Web Push with one VAPID identity.
pub struct WebPushSender {
    client: reqwest::Client,
    vapid: VapidKeys,
    /// How long the push service keeps an undelivered message (`TTL`).
    ttl: Duration,
}

impl WebPushSender {
    pub fn new(client: reqwest::Client, vapid: VapidKeys, ttl: Duration) -> Self {
        Self { client, vapid, ttl }
    }

    pub async fn send(&self, target: &WebPushTarget, payload: &[u8], urgent: bool) -> Outcome {
        let request = match self.request(target, payload, urgent) {
            Ok(r) => r,
            Err(why) => return Outcome::Failed(why),
        };
        match request.send().await {
            Ok(res) => {
                let after = retry_after(res.headers());
                http_outcome(res.status(), after, "push service")
            }
            Err(e) => Outcome::Retry {
                after: None,
                error: format!("push service unreachable: {e}"),
            },
        }
    }

    fn request(
        &self,
        target: &WebPushTarget,
        payload: &[u8],
        urgent: bool,
    ) -> Result<reqwest::RequestBuilder, String> {
        let url = reqwest::Url::parse(&target.endpoint).map_err(|e| format!("endpoint: {e}"))?;
        let browser_key = URL_SAFE_NO_PAD
            .decode(target.p256dh.trim_end_matches('='))
            .ok()
            .and_then(|k| p256::PublicKey::from_sec1_bytes(&k).ok())
            .ok_or("p256dh is not a P-256 public key")?;
        let auth = URL_SAFE_NO_PAD
            .decode(target.auth.trim_end_matches('='))
            .ok()
            .and_then(|a| <[u8; 16]>::try_from(a).ok())
            .ok_or("auth is not 16 bytes")?;
        let auth = web_push_native::Auth::from(auth);
        let body = web_push_native::encrypt(payload.to_vec(), &browser_key, &auth)
            .map_err(|e| format!("encrypting: {e}"))?;
        let authorization = self.vapid.authorization(&url)?;
        Ok(self
            .client
            .post(url)
            .header("TTL", self.ttl.as_secs())
            .header("Urgency", if urgent { "high" } else { "normal" })
            .header(CONTENT_ENCODING, "aes128gcm")
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(AUTHORIZATION, authorization)
            .body(body))
    }
}
