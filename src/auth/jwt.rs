//! HS256 access tokens: `sub` (user), `tid` (tenant), `role`, `exp`, `iat`, `jti`.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub tid: Uuid,
    pub role: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: Uuid,
}

/// Signing and verification keys plus the access-token lifetime.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub ttl: Duration,
}

impl JwtKeys {
    pub fn new(secret: &str, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            ttl,
        }
    }

    /// Signs an access token for the user; returns it with its lifetime in seconds.
    pub fn issue(&self, user_id: Uuid, tenant_id: Uuid, role: &str) -> AppResult<(String, u64)> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id,
            tid: tenant_id,
            role: role.to_string(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            jti: Uuid::now_v7(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AppError::internal)?;
        Ok((token, self.ttl.as_secs()))
    }

    /// Checks signature, expiry and `nbf` (when present).
    pub fn verify(&self, token: &str) -> AppResult<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    AppError::Unauthorized("token expired".into())
                }
                _ => AppError::Unauthorized("invalid token".into()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let keys = JwtKeys::new("0123456789abcdef0123456789abcdef", Duration::from_secs(60));
        let (u, t) = (Uuid::now_v7(), Uuid::now_v7());
        let (tok, ttl) = keys.issue(u, t, "admin").unwrap();
        assert_eq!(ttl, 60);
        let c = keys.verify(&tok).unwrap();
        assert_eq!((c.sub, c.tid, c.role.as_str()), (u, t, "admin"));
        let other = JwtKeys::new("another-secret-another-secret-xx", Duration::from_secs(60));
        assert!(matches!(other.verify(&tok), Err(AppError::Unauthorized(_))));
    }
}
