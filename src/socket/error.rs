//! The one mapping of [`AppError`] to the socket `exception` object
//! `{status: "error", message, code}` (NestJS WsException shape plus a machine code).

use serde_json::{Value, json};

use crate::error::AppError;

impl AppError {
    /// The machine code used on the Socket.IO dialect.
    pub fn socket_code(&self) -> &'static str {
        match self {
            Self::Validation { .. } | Self::Conflict(_) | Self::PayloadTooLarge(_) => {
                "invalid_request"
            }
            Self::Unauthorized(_) | Self::UserInactive => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::SubscriptionFailed(_) => "subscription_failed",
            Self::RateLimited(_) => "rate_limited",
            Self::Unavailable { .. } | Self::Internal { .. } => "internal_error",
        }
    }

    pub fn to_exception(&self) -> Value {
        self.log_hidden("socket");
        json!({"status": "error", "message": self.to_string(), "code": self.socket_code()})
    }
}
