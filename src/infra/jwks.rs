//! JWKS documents of host platforms: fetched with a timeout and a size cap (never
//! following redirects), one fetch per URL at a time shared by everyone waiting,
//! cached for ten minutes per URL (a failure for ten seconds); a token naming a key
//! the cache lacks refetches, at most every two seconds. Which URLs may be fetched
//! is the domain's check against `JWKS_ALLOWED_URLS`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;

use crate::domain::integration::host_auth::JwksSource;

const TTL: Duration = Duration::from_secs(600);
/// An unknown `kid` refetches at most this often per URL (tokens with made-up kids
/// must not turn into a fetch each).
const MIN_REFRESH: Duration = Duration::from_secs(2);
/// A failed fetch is the answer for this long: a host that is down is not asked
/// again by every token that arrives meanwhile.
const FAILURE_TTL: Duration = Duration::from_secs(10);
const MAX_BYTES: usize = 64 * 1024;

/// What was fetched from a URL, and when.
struct Fetched {
    at: Instant,
    result: Result<JwkSet, String>,
}

pub struct HttpJwks {
    client: reqwest::Client,
    cache: Mutex<HashMap<String, Fetched>>,
    /// One fetch per URL at a time: concurrent askers wait for it and share it.
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl HttpJwks {
    /// `client`: `infra::outbound::client`, no redirects, a 5 s timeout.
    pub fn new(client: reqwest::Client) -> Self {
        Self {
            client,
            cache: Mutex::default(),
            fetching: Mutex::default(),
        }
    }

    /// The cached answer for `url`, while it holds.
    fn cached(&self, url: &str, refresh: bool) -> Option<Result<JwkSet, String>> {
        let cache = self.cache.lock().expect("jwks cache");
        let f = cache.get(url)?;
        let keep = match (&f.result, refresh) {
            (Err(_), _) => FAILURE_TTL,
            (Ok(_), true) => MIN_REFRESH,
            (Ok(_), false) => TTL,
        };
        (f.at.elapsed() < keep).then(|| f.result.clone())
    }

    async fn fetch(&self, url: &str) -> Result<JwkSet, String> {
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
        serde_json::from_slice(&body).map_err(|e| format!("not a JWKS: {e}"))
    }
}

#[async_trait::async_trait]
impl JwksSource for HttpJwks {
    async fn jwks(&self, url: &str, refresh: bool) -> Result<JwkSet, String> {
        if let Some(hit) = self.cached(url, refresh) {
            return hit;
        }
        let one = self
            .fetching
            .lock()
            .expect("jwks fetches")
            .entry(url.to_string())
            .or_default()
            .clone();
        let _only = one.lock().await;
        // Fetched by someone else while this one waited.
        if let Some(hit) = self.cached(url, refresh) {
            return hit;
        }
        let result = self.fetch(url).await;
        self.cache.lock().expect("jwks cache").insert(
            url.to_string(),
            Fetched {
                at: Instant::now(),
                result: result.clone(),
            },
        );
        result
    }
}
