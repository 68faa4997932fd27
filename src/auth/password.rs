//! Password hashing with argon2id (PHC strings), run off the async executor.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};

use crate::error::{AppError, AppResult};

/// Argon2 takes ~19 MiB per hash: at most this many run at once, which bounds both
/// memory (freed hash buffers stay in per-thread malloc arenas) and the CPU a flood
/// of logins can take.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Hashes `password` into a PHC string.
pub async fn hash(password: String) -> AppResult<String> {
    let _permit = HASHING.acquire().await.map_err(AppError::internal)?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(AppError::internal)
    })
    .await
    .map_err(AppError::internal)?
}

/// Unauthenticated checks that are not user logins (the Admin UI's operator) run
/// one at a time on their own permit, never in the users' line; one that cannot get
/// the permit within `OPERATOR_WAIT` is refused (a flood is turned away, a second
/// operator at the same moment waits its turn).
static OPERATOR_HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
const OPERATOR_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// True when `password` matches the stored PHC string.
pub async fn verify(password: String, phc: String) -> AppResult<bool> {
    let permit = HASHING.acquire().await.map_err(AppError::internal)?;
    verify_now(password, phc, permit).await
}

/// Like [`verify`] for an operator's check, on its own permit: `Unavailable` when
/// other such checks hold it for longer than `OPERATOR_WAIT`.
pub async fn verify_operator(password: String, phc: String) -> AppResult<bool> {
    let permit = tokio::time::timeout(OPERATOR_WAIT, OPERATOR_HASHING.acquire())
        .await
        .map_err(|_| AppError::Unavailable {
            what: "the operator login check (busy)".into(),
            source: None,
        })?
        .map_err(AppError::internal)?;
    verify_now(password, phc, permit).await
}

async fn verify_now(
    password: String,
    phc: String,
    _permit: tokio::sync::SemaphorePermit<'static>,
) -> AppResult<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&phc).map_err(AppError::internal)?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(AppError::internal)?
}

/// A hash of a random password, verified against when the user does not exist so
/// that a login attempt takes the same time whether or not the email is known. A
/// failed attempt to make it is an error for this call and is tried again next time;
/// only a real hash is kept.
pub async fn dummy_hash() -> AppResult<&'static str> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_try_init(|| hash(super::tokens::random_token()))
        .await
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hash_then_verify() {
        let h = super::hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(
            super::verify("correct horse".into(), h.clone())
                .await
                .unwrap()
        );
        assert!(!super::verify("wrong horse".into(), h).await.unwrap());
    }

    #[tokio::test]
    async fn the_dummy_hash_is_a_real_hash() {
        let d = super::dummy_hash().await.unwrap();
        assert!(d.starts_with("$argon2id$"));
        assert!(
            !super::verify("anything".into(), d.to_string())
                .await
                .unwrap()
        );
    }
}
