//! Who may open the Admin UI: the operator's name and password (argon2-hashed when the
//! server starts), and the session ids the UI keeps between page loads. A session id
//! is signed, not stored (`expiry.HMAC-SHA256(JWT_SECRET, name, expiry)`), so every
//! node that shares `JWT_SECRET` accepts it, with or without Redis, for 24 hours.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::AppResult;

const SESSION_TTL_SECS: i64 = 24 * 3600;

pub struct Credentials {
    username: String,
    password_hash: String,
    session_key: Vec<u8>,
}

impl Credentials {
    /// Hashes `password`; the plain text is dropped here.
    pub async fn new(username: String, password: String, jwt_secret: &str) -> AppResult<Self> {
        let password_hash = crate::auth::password::hash(password).await?;
        let mut key = b"switchboard admin ui session\0".to_vec();
        key.extend_from_slice(jwt_secret.as_bytes());
        Ok(Self {
            username,
            password_hash,
            session_key: key,
        })
    }

    /// Whether `username` and `password` are the operator's (always hashes, so a wrong
    /// name takes as long as a wrong password); `Unavailable` while other operator
    /// checks hold the line too long (`password::verify_operator`).
    pub async fn check(&self, username: &str, password: &str) -> AppResult<bool> {
        let name_ok: bool = username.as_bytes().ct_eq(self.username.as_bytes()).into();
        let password_ok =
            crate::auth::password::verify_operator(password.to_owned(), self.password_hash.clone())
                .await?;
        Ok(name_ok && password_ok)
    }

    /// A new session id, valid for 24 hours.
    pub fn new_session(&self) -> String {
        let expiry = chrono::Utc::now().timestamp() + SESSION_TTL_SECS;
        format!("{expiry}.{}", hex::encode(self.mac(expiry)))
    }

    /// Whether `session` is one this deployment issued and it has not expired.
    pub fn session_valid(&self, session: &str) -> bool {
        let Some((expiry, mac)) = session.split_once('.') else {
            return false;
        };
        let (Ok(expiry), Ok(mac)) = (expiry.parse::<i64>(), hex::decode(mac)) else {
            return false;
        };
        expiry > chrono::Utc::now().timestamp() && bool::from(mac.ct_eq(&self.mac(expiry)))
    }

    fn mac(&self, expiry: i64) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.session_key).expect("any key length");
        mac.update(self.username.as_bytes());
        mac.update(b"\0");
        mac.update(expiry.to_string().as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::Credentials;

    #[tokio::test]
    async fn sessions_are_signed_and_expire() {
        let c = Credentials::new("ops".into(), "correct horse battery".into(), "secret")
            .await
            .unwrap();
        assert!(c.check("ops", "correct horse battery").await.unwrap());
        assert!(!c.check("ops", "wrong").await.unwrap());
        assert!(!c.check("opz", "correct horse battery").await.unwrap());
        let s = c.new_session();
        assert!(c.session_valid(&s));
        let (expiry, mac) = s.split_once('.').unwrap();
        let later = expiry.parse::<i64>().unwrap() + 1;
        assert!(
            !c.session_valid(&format!("{later}.{mac}")),
            "a changed expiry is refused"
        );
        assert!(!c.session_valid(&format!("{}.{mac}", chrono::Utc::now().timestamp() - 1)));
        let other = Credentials::new("ops".into(), "x".into(), "other secret")
            .await
            .unwrap();
        assert!(
            !other.session_valid(&s),
            "another JWT_SECRET does not accept it"
        );
    }
}
