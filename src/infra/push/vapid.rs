//! VAPID (RFC 8292): the server's P-256 key pair in the base64url forms that
//! `web-push generate-vapid-keys` prints, a fresh pair for `switchboard vapid-keys`,
//! and the `Authorization: vapid t=…, k=…` header for one push service.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::SecretKey;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use serde::Serialize;

/// How long a VAPID token is valid (RFC 8292 allows at most 24 hours).
const TOKEN_HOURS: i64 = 12;

/// A signed header is reused for an origin until this long before it expires.
const REUSE_MARGIN_SECS: i64 = 3600;

/// The server's signing key, its public key and its contact; the header last signed
/// per push service origin (one ES256 signature per origin and ~11 hours, not per
/// push).
pub struct VapidKeys {
    signing: EncodingKey,
    public_b64: String,
    subject: String,
    signed: Mutex<HashMap<String, (String, i64)>>,
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    exp: i64,
    sub: &'a str,
}

fn decode(v: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(v.trim().trim_end_matches('=')).ok()
}

impl VapidKeys {
    /// The pair from its base64url forms; the public key must be the private key's.
    pub fn from_base64(public: &str, private: &str, subject: &str) -> Result<Self, String> {
        let secret = decode(private)
            .and_then(|raw| SecretKey::from_slice(&raw).ok())
            .ok_or("VAPID_PRIVATE_KEY is not a P-256 private key")?;
        let public_b64 = public_key_of(&secret);
        if decode(public) != decode(&public_b64) {
            return Err("VAPID_PUBLIC_KEY is not the public key of VAPID_PRIVATE_KEY".into());
        }
        let der = secret
            .to_pkcs8_der()
            .map_err(|e| format!("VAPID_PRIVATE_KEY: {e}"))?;
        Ok(Self {
            signing: EncodingKey::from_ec_der(der.as_bytes()),
            public_b64,
            subject: subject.to_string(),
            signed: Mutex::default(),
        })
    }

    /// A fresh pair: (public, private), both base64url.
    pub fn generate() -> (String, String) {
        let secret = SecretKey::random(&mut rand::rngs::OsRng);
        (
            public_key_of(&secret),
            URL_SAFE_NO_PAD.encode(secret.to_bytes()),
        )
    }

    /// The `Authorization` header for a push to `endpoint`: a JWT (ES256) for the
    /// endpoint's origin, our contact, valid for 12 hours, and our public key.
    pub fn authorization(&self, endpoint: &reqwest::Url) -> Result<String, String> {
        let aud = endpoint.origin().ascii_serialization();
        let now = chrono::Utc::now().timestamp();
        if let Some((header, exp)) = self.signed.lock().expect("vapid cache").get(&aud)
            && *exp - REUSE_MARGIN_SECS > now
        {
            return Ok(header.clone());
        }
        let exp = now + TOKEN_HOURS * 3600;
        let claims = Claims {
            aud: &aud,
            exp,
            sub: &self.subject,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &self.signing)
            .map_err(|e| format!("signing the VAPID token: {e}"))?;
        let header = format!("vapid t={token}, k={}", self.public_b64);
        let mut signed = self.signed.lock().expect("vapid cache");
        if signed.len() > 64 {
            // A handful of push services exist; anything more is stale entries.
            signed.clear();
        }
        signed.insert(aud, (header.clone(), exp));
        Ok(header)
    }
}

fn public_key_of(secret: &SecretKey) -> String {
    URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_pair_is_accepted_and_a_mismatched_one_is_not() {
        let (public, private) = VapidKeys::generate();
        assert_eq!(decode(&public).unwrap().len(), 65);
        assert_eq!(decode(&private).unwrap().len(), 32);
        let keys = VapidKeys::from_base64(&public, &private, "mailto:ops@example.com").unwrap();
        let url = reqwest::Url::parse("https://push.example.com:8443/x/y").unwrap();
        let header = keys.authorization(&url).unwrap();
        assert!(header.starts_with("vapid t="));
        assert_eq!(
            keys.authorization(&url).unwrap(),
            header,
            "reused per origin"
        );
        let other = reqwest::Url::parse("https://push.example.net/x").unwrap();
        assert_ne!(keys.authorization(&other).unwrap(), header);
        assert!(header.ends_with(&format!(", k={public}")));
        let (other, _) = VapidKeys::generate();
        assert!(VapidKeys::from_base64(&other, &private, "mailto:a@b").is_err());
    }
}
