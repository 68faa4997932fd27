//! The messaging token: a tenant binds its host platform's issuer (an HS256 secret,
//! an RS256/ES256 public key, or a JWKS URL the configuration allows), and a host
//! client exchanges its host JWT for a Switchboard session. The token's `iss` picks
//! the tenant; signature, `exp` and (when bound) `aud` are checked; `sub` is the
//! user's external id, created on first use with the token's name and email.

use chrono::{DateTime, Utc};
use entity::{host_auth, users};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sea_orm::{ActiveEnum, ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::unique::is_unique_violation;
use crate::domain::{Actor, limits, now, validate};
use crate::error::{AppError, AppResult};

/// Where JWKS documents come from (`crate::infra::jwks`): fetched with a timeout and
/// a size cap, cached. `refresh`: the cached copy lacks a key a token names (the host
/// rotated its keys), so fetch again unless that was just done.
#[async_trait::async_trait]
pub trait JwksSource: Send + Sync {
    async fn jwks(&self, url: &str, refresh: bool) -> Result<JwkSet, String>;
}

/// The host-platform service: a tenant binds its platform's token issuer, and the
/// platform's tokens are exchanged for Switchboard's. It holds the database, the
/// signing keys, the JWKS source and what the configuration allows.
#[derive(Clone)]
pub struct HostAuth {
    db: sea_orm::DatabaseConnection,
    keys: std::sync::Arc<crate::auth::jwt::JwtKeys>,
    jwks: std::sync::Arc<dyn JwksSource>,
    host_auth: HostAuthSettings,
}

impl HostAuth {
    pub fn new(
        db: sea_orm::DatabaseConnection,
        keys: std::sync::Arc<crate::auth::jwt::JwtKeys>,
        jwks: std::sync::Arc<dyn JwksSource>,
        host_auth: HostAuthSettings,
    ) -> Self {
        Self {
            db,
            keys,
            jwks,
            host_auth,
        }
    }
}

/// What the configuration allows for host platforms.
#[derive(Debug, Clone, Default)]
pub struct HostAuthSettings {
    /// What a `jwks_url` must fall under (`JWKS_ALLOWED_URLS`); none: JWKS off.
    pub jwks_allowed: crate::outbound::AllowList,
}

/// `PUT /api/v1/host-auth`: one of `hs256_secret`, `public_key_pem`, `jwks_url`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostAuthInput {
    pub issuer: String,
    pub audience: Option<String>,
    pub hs256_secret: Option<String>,
    pub public_key_pem: Option<String>,
    pub jwks_url: Option<String>,
}

/// The binding as admins read it back: never the secret or the key.
#[derive(Debug, Serialize, ToSchema)]
pub struct HostAuthView {
    pub issuer: String,
    pub audience: Option<String>,
    /// hs256 | public_key | jwks
    pub method: &'static str,
    pub jwks_url: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A Switchboard session for a host user: works on Socket.IO (`auth.token` or
/// `?token=`), `/ws?token=` and `ws-ticket`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessagingToken {
    pub token: String,
    pub expires_in: u64,
    pub user_id: Uuid,
}

impl From<host_auth::Model> for HostAuthView {
    fn from(h: host_auth::Model) -> Self {
        Self {
            method: if h.hs256_secret.is_some() {
                "hs256"
            } else if h.public_key_pem.is_some() {
                "public_key"
            } else {
                "jwks"
            },
            issuer: h.issuer,
            audience: h.audience,
            jwks_url: h.jwks_url,
            updated_at: h.updated_at,
        }
    }
}

/// The one answer when another tenant holds (or is just taking) this issuer.
fn issuer_taken() -> AppError {
    AppError::Conflict("another organisation uses this issuer".into())
}

fn refused(why: &str) -> AppError {
    AppError::Unauthorized(why.into())
}

/// The key a PEM holds, for the algorithm it suits.
fn pem_key(pem: &str) -> Option<(DecodingKey, Algorithm)> {
    // Public keys only: a private key has no business here.
    if !pem.contains("-----BEGIN PUBLIC KEY-----")
        && !pem.contains("-----BEGIN RSA PUBLIC KEY-----")
    {
        return None;
    }
    if let Ok(k) = DecodingKey::from_rsa_pem(pem.as_bytes()) {
        return Some((k, Algorithm::RS256));
    }
    // ES256 is P-256 only: another curve would bind and never verify.
    use p256::pkcs8::DecodePublicKey;
    p256::PublicKey::from_public_key_pem(pem.trim()).ok()?;
    DecodingKey::from_ec_pem(pem.as_bytes())
        .ok()
        .map(|k| (k, Algorithm::ES256))
}

/// The display name a host token gives (`name`, `preferred_username` or `nickname`,
/// the first present): a name holding control characters (ESC, NUL, BEL, …; tab and
/// newlines aside, as in every display name) makes it a bad token; one that is empty
/// or too long is `None`, and the user is named by their `sub`.
fn host_name(claims: &serde_json::Value) -> AppResult<Option<String>> {
    let Some((claim, name)) = ["name", "preferred_username", "nickname"]
        .iter()
        .find_map(|k| claims[*k].as_str().map(|n| (*k, n)))
    else {
        return Ok(None);
    };
    if validate::printable(claim, name).is_err() {
        return Err(refused(&format!(
            "host token's {claim} holds control characters"
        )));
    }
    Ok(validate::text(claim, name, limits::DISPLAY_NAME).ok())
}

impl HostAuth {
    /// Binds (or rebinds) the caller's tenant to its host platform (admins only).
    pub async fn put_host_auth(
        &self,
        actor: &Actor,
        input: HostAuthInput,
    ) -> AppResult<HostAuthView> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden(
                "only tenant admins bind a host platform".into(),
            ));
        }
        let issuer = validate::text("issuer", &input.issuer, limits::ISSUER)?;
        let audience = match input.audience.as_deref() {
            Some(a) => Some(validate::text("audience", a, limits::ISSUER)?),
            None => None,
        };
        let given = [
            input.hs256_secret.is_some(),
            input.public_key_pem.is_some(),
            input.jwks_url.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(AppError::validation(
                "hs256_secret",
                "give exactly one of hs256_secret, public_key_pem, jwks_url",
            ));
        }
        // Any other character may be part of a secret; a NUL cannot be stored.
        if let Some(s) = &input.hs256_secret
            && s.contains('\0')
        {
            return Err(AppError::validation("hs256_secret", "must not contain NUL"));
        }
        if let Some(s) = &input.hs256_secret
            && s.len() < 32
        {
            return Err(AppError::validation(
                "hs256_secret",
                "at least 32 characters",
            ));
        }
        // The PEM reader stops at the END line: what follows it would be stored as is.
        if let Some(p) = &input.public_key_pem {
            validate::printable("public_key_pem", p)?;
        }
        if let Some(p) = &input.public_key_pem
            && pem_key(p).is_none()
        {
            return Err(AppError::validation(
                "public_key_pem",
                "an RSA or P-256 public key in PEM",
            ));
        }
        if let Some(u) = &input.jwks_url {
            let u = validate::url("jwks_url", u)?;
            self.host_auth.jwks_allowed.check(&u).map_err(|why| {
                AppError::validation(
                    "jwks_url",
                    format!("{why} (JWKS_ALLOWED_URLS: this server fetches only what its configuration allows)"),
                )
            })?;
        }
        let jwks_url = input.jwks_url.map(|u| u.trim().to_string());
        // Check, then write; a concurrent binding can slip in between (another tenant
        // taking this issuer, or this tenant's own PUT inserting its row first). The
        // write then breaks a unique index, and the next round sees why: another
        // organisation's issuer is 409, the tenant's own new row is updated.
        for _ in 0..3 {
            if host_auth::Entity::find()
                .filter(host_auth::Column::Issuer.eq(&issuer))
                .filter(host_auth::Column::TenantId.ne(actor.tenant_id))
                .one(&self.db)
                .await?
                .is_some()
            {
                return Err(issuer_taken());
            }
            let existing = host_auth::Entity::find()
                .filter(host_auth::Column::TenantId.eq(actor.tenant_id))
                .one(&self.db)
                .await?;
            let is_new = existing.is_none();
            let mut am = match existing {
                Some(row) => row.into(),
                None => host_auth::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    tenant_id: Set(actor.tenant_id),
                    ..Default::default()
                },
            };
            am.issuer = Set(issuer.clone());
            am.audience = Set(audience.clone());
            am.hs256_secret = Set(input.hs256_secret.clone());
            am.public_key_pem = Set(input.public_key_pem.clone());
            am.jwks_url = Set(jwks_url.clone());
            am.updated_at = Set(now());
            let written = if is_new {
                am.insert(&self.db).await
            } else {
                am.update(&self.db).await
            };
            match written {
                Ok(row) => return Ok(row.into()),
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        // Lost three races in a row: the issuer is being bound elsewhere right now.
        Err(issuer_taken())
    }

    pub async fn get_host_auth(&self, actor: &Actor) -> AppResult<HostAuthView> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden(
                "only tenant admins read the host binding".into(),
            ));
        }
        Ok(host_auth::Entity::find()
            .filter(host_auth::Column::TenantId.eq(actor.tenant_id))
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("host platform binding"))?
            .into())
    }

    /// The key that checks a token of this host, and its algorithm.
    async fn host_key(
        &self,
        h: &host_auth::Model,
        kid: Option<&str>,
    ) -> AppResult<(DecodingKey, Algorithm)> {
        if let Some(secret) = &h.hs256_secret {
            return Ok((
                DecodingKey::from_secret(secret.as_bytes()),
                Algorithm::HS256,
            ));
        }
        if let Some(pem) = &h.public_key_pem {
            return pem_key(pem).ok_or_else(|| refused("the host's public key is unusable"));
        }
        let url = h
            .jwks_url
            .as_deref()
            .ok_or_else(|| refused("no key for this issuer"))?;
        // Fetched only while the configuration still allows it.
        self.host_auth
            .jwks_allowed
            .check(url)
            .map_err(|_| refused("the host's JWKS URL is not allowed by this server"))?;
        // The URL and the fetch error are the operator's to read, not the caller's.
        let unavailable = |e: String| {
            tracing::warn!(issuer = %h.issuer, error = %e, "host JWKS unavailable");
            AppError::Unavailable {
                what: "the host platform's key set".into(),
                source: None,
            }
        };
        let mut set = self.jwks.jwks(url, false).await.map_err(unavailable)?;
        if let Some(kid) = kid
            && set.find(kid).is_none()
        {
            // A key we have not seen: the host may have rotated; look once more.
            set = self.jwks.jwks(url, true).await.map_err(unavailable)?;
        }
        let jwk = match kid {
            Some(kid) => set.find(kid),
            None if set.keys.len() == 1 => set.keys.first(),
            None => None,
        }
        .ok_or_else(|| refused("no key in the host's JWKS matches the token's kid"))?;
        let alg = match &jwk.algorithm {
            jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => Algorithm::RS256,
            jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
            _ => return Err(refused("the host's key type is not supported")),
        };
        let key =
            DecodingKey::from_jwk(jwk).map_err(|_| refused("the host's JWKS key is unusable"))?;
        Ok((key, alg))
    }

    /// Exchanges a host platform's JWT for a Switchboard session; the user is found
    /// by (tenant, external id = `sub`) and created on first use.
    pub async fn exchange_host_token(&self, token: &str) -> AppResult<MessagingToken> {
        // Header and `iss` are read before the signature can be checked: they say whose
        // key checks it. Nothing else is trusted from this read.
        let unverified = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(token)
            .map_err(|_| refused("not a JWT"))?;
        let header = unverified.header;
        let issuer = unverified.claims["iss"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| refused("the token has no iss"))?;
        let h = host_auth::Entity::find()
            .filter(host_auth::Column::Issuer.eq(&issuer))
            .one(&self.db)
            .await?
            .ok_or_else(|| refused("unknown issuer"))?;
        let (key, alg) = self.host_key(&h, header.kid.as_deref()).await?;
        if header.alg != alg {
            return Err(refused(
                "the token's algorithm does not match the host's key",
            ));
        }
        let mut validation = Validation::new(alg);
        validation.leeway = 30;
        validation.validate_nbf = true;
        validation.set_issuer(&[issuer.as_str()]);
        // `sub` is checked below: hosts send numbers too, which the library refuses.
        validation.set_required_spec_claims(&["exp", "iss"]);
        match &h.audience {
            Some(aud) => {
                // A bound audience must be in the token, not merely not contradicted.
                validation.set_required_spec_claims(&["exp", "iss", "aud"]);
                validation.set_audience(&[aud.as_str()]);
            }
            None => validation.validate_aud = false,
        }
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => refused("host token expired"),
                jsonwebtoken::errors::ErrorKind::InvalidAudience => {
                    refused("host token has the wrong audience")
                }
                jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                    refused("host token signature is invalid")
                }
                _ => refused("host token is invalid"),
            })?
            .claims;
        // An external id, read as the service API reads one (`external_text`).
        let sub = match &claims["sub"] {
            serde_json::Value::Null => return Err(refused("host token has no sub")),
            v => super::service::external_text("sub", v).map_err(|_| {
                refused(
                    "host token's sub must be 1–128 printable characters (no control characters)",
                )
            })?,
        };
        let name = host_name(&claims)?;
        let user = self.host_user(h.tenant_id, &sub, name, &claims).await?;
        if !user.is_active {
            return Err(AppError::UserInactive);
        }
        let (token, expires_in) =
            self.keys
                .issue(user.id, user.tenant_id, user.role.to_value().as_str())?;
        Ok(MessagingToken {
            token,
            expires_in,
            user_id: user.id,
        })
    }

    /// The tenant's user with this external id, created on first use with the
    /// token's name (`host_name`; the `sub` when it has none that fits) and email.
    async fn host_user(
        &self,
        tenant: Uuid,
        sub: &str,
        name: Option<String>,
        claims: &serde_json::Value,
    ) -> AppResult<users::Model> {
        let name = name.unwrap_or_else(|| sub.chars().take(limits::DISPLAY_NAME.max).collect());
        let email = claims["email"]
            .as_str()
            .and_then(|e| validate::email(e).ok());
        // A token's email may belong to someone else here: the user still signs in.
        Ok(
            super::service::host_user_by_external_id(&self.db, tenant, sub, &name, (email, true))
                .await?
                .0,
        )
    }
}
