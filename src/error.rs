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
    #[error("too many requests")]
    RateLimited,
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Anything unexpected; the detail is logged, never shown to the client.
    #[error("internal error")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal(detail.to_string())
    }
}

impl From<DbErr> for AppError {
    fn from(e: DbErr) -> Self {
        match &e {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
                tracing::error!(error = %e, "database unavailable");
                Self::Unavailable("database unavailable".into())
            }
            _ => Self::Internal(format!("database: {e}")),
        }
    }
}
