//! JWKS documents of host platforms: fetched with a timeout and a size cap (never
//! following redirects), cached for ten minutes per URL; a token naming a key the
//! cache lacks refetches, at most every two seconds. Which URLs may be fetched
//! is the domain's check against `JWKS_ALLOWED_URLS`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;

use crate::domain::integration::host_auth::JwksSource;

const TTL: Duration = Duration::from_secs(600);
/// An unknown `kid` refetches at most this often per URL (tokens with made-up kids
/// must not turn into a fetch each).
const MIN_REFRESH: Duration = Duration::from_secs(2);
const MAX_BYTES: usize = 64 * 1024;

pub struct HttpJwks {
    client: reqwest::Client,
    cache: Mutex<HashMap<String, (Instant, JwkSet)>>,
}

impl HttpJwks {
    /// `client`: `infra::outbound::client`, no redirects, a 5 s timeout.
    pub fn new(client: reqwest::Client) -> Self {
        Self {
            client,
            cache: Mutex::default(),
        }
    }
}

#[async_trait::async_trait]
impl JwksSource for HttpJwks {
    async fn jwks(&self, url: &str, refresh: bool) -> Result<JwkSet, String> {
        if let Some((at, set)) = self.cache.lock().expect("jwks cache").get(url) {
            let keep = if refresh { MIN_REFRESH } else { TTL };
            if at.elapsed() < keep {
                return Ok(set.clone());
            }
        }
        let mut res = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !res.status().is_success() {
            return Err(format!("answered {}", res.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| e.to_string())? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BYTES {
                return Err(format!("larger than {MAX_BYTES} bytes"));
            }
        }
        let set: JwkSet = serde_json::from_slice(&body).map_err(|e| format!("not a JWKS: {e}"))?;
        self.cache
            .lock()
            .expect("jwks cache")
            .insert(url.to_string(), (Instant::now(), set.clone()));
        Ok(set)
    }
}
