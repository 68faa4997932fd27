//! The one error type of the domain layer; `http::error` and `socket::error` render it.

use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad input; `field` names what was wrong.
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    /// Missing, malformed, expired or revoked credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials of a user who has been deactivated.
    #[error("user is inactive")]
    UserInactive,
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// No such thing, or not visible to the caller (never tells which).
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// A realtime channel that does not exist or cannot be subscribed to.
    #[error("{0}")]
    SubscriptionFailed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Too many requests; retry after this many seconds, when known.
    #[error("too many requests")]
    RateLimited(Option<u64>),
    /// A dependency (database, Redis) cannot be reached.
    #[error("service unavailable: {what}")]
    Unavailable {
        what: String,
        #[source]
        source: Option<BoxError>,
    },
    /// Anything unexpected; the detail and its cause are logged, never shown to the client.
    #[error("internal error")]
    Internal {
        detail: String,
        #[source]
        source: Option<BoxError>,
    },
}

/// The cause kept inside `Unavailable` and `Internal`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    /// An unexpected failure, described; the value itself is kept as the source
    /// when it is an error (`map_err(AppError::internal)`).
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal {
            detail: detail.to_string(),
            source: None,
        }
    }

    /// `what` (e.g. "redis") cannot be reached right now.
    pub fn unavailable(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Unavailable {
            what: what.into(),
            source: Some(Box::new(source)),
        }
    }

    /// Logs what clients are never shown: an internal error's detail and the chain of
    /// causes of internal and unavailable errors. Both transports call it.
    pub fn log_hidden(&self, context: &str) {
        let chain = || {
            let mut out = String::new();
            let mut cause = std::error::Error::source(self);
            while let Some(c) = cause {
                out.push_str(": ");
                out.push_str(&c.to_string());
                cause = c.source();
            }
            out
        };
        match self {
            Self::Internal { detail, .. } => {
                tracing::error!(%detail, causes = %chain(), context, "internal error")
            }
            Self::Unavailable { what, .. } => {
                tracing::warn!(%what, causes = %chain(), context, "dependency unavailable")
            }
            _ => {}
        }
    }
}

impl From<DbErr> for AppError {
    fn from(e: DbErr) -> Self {
        if database_unreachable(&e) {
            Self::unavailable("database", e)
        } else {
            Self::Internal {
                detail: "database".into(),
                source: Some(Box::new(e)),
            }
        }
    }
}

/// Whether a database error says the database cannot be reached (503, and it passes
/// when the database is back) rather than that a statement went wrong (500): no
/// connection to be had, a connection lost mid-statement, or the server shutting down
/// (SQLSTATE classes 08, connection exception, and 57P, operator intervention).
fn database_unreachable(e: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    match e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s)) => {
            match s.as_ref() {
                Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed => true,
                Sqlx::Database(d) => d
                    .code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
                _ => false,
            }
        }
        _ => false,
    }
}
