//! Handshake authentication: the JWT from `auth.token`, `?token=` or
//! `Authorization: Bearer`, and `?userId=` (when given) must be its subject, by
//! Switchboard id or by the user's external id (the host platform's).

use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;

use crate::auth::{bearer_token, query_param};
use crate::domain::{Actor, Services};
use crate::error::AppError;

/// Why a handshake was refused; the client sees `connect_error` with this message.
#[derive(Debug, thiserror::Error)]
pub enum ConnectRejection {
    #[error("unauthorized")]
    Unauthorized,
    #[error("user_inactive")]
    UserInactive,
    #[error("user_mismatch")]
    UserMismatch,
    /// Too many handshakes from this user or address (a handshake counts as a
    /// REST request); the client's reconnection backs off.
    #[error("rate_limited")]
    RateLimited,
    /// The server is draining: the client should try again (another node).
    #[error("server_draining")]
    Draining,
    #[error("internal_error")]
    Internal,
}

/// The handshake's token, kept on the socket until it became visible and was
/// checked once more (`admitted`).
#[derive(Clone)]
pub struct HandshakeToken(String);

/// Resolves the handshake's credentials to the connecting user.
pub async fn authenticate<A: Adapter>(
    s: &SocketRef<A>,
    auth: Option<&serde_json::Value>,
    domain: &Services,
    proxies: &crate::config::RateLimitConfig,
) -> Result<Actor, ConnectRejection> {
    let query = s.req_parts().uri.query().unwrap_or("");
    let token = auth
        .and_then(|a| a.get("token"))
        .and_then(|t| t.as_str())
        .map(|t| t.strip_prefix("Bearer ").unwrap_or(t).to_string())
        .or_else(|| query_param(query, "token"))
        .or_else(|| bearer_token(&s.req_parts().headers).map(str::to_string))
        .filter(|t| !t.is_empty())
        .ok_or(ConnectRejection::Unauthorized)?;
    s.extensions.insert(HandshakeToken(token.clone()));
    let ip = proxies.client_ip_of(s.req_parts());
    // Counted before any database read: a storm of handshakes costs a counter each.
    let user = domain.rate_limiter().token_subject(&token);
    match domain.rate_limiter().admit_request(user, ip).await {
        Ok(()) => {}
        Err(AppError::RateLimited(_)) => return Err(ConnectRejection::RateLimited),
        Err(e) => e.log_hidden("handshake rate limit"),
    }
    let actor = domain
        .accounts()
        .authenticate(&token)
        .await
        .map_err(|e| match e {
            AppError::UserInactive => ConnectRejection::UserInactive,
            AppError::Unauthorized(_) => ConnectRejection::Unauthorized,
            other => {
                tracing::error!(error = %other, "socket handshake failed");
                ConnectRejection::Internal
            }
        })?;
    if let Some(claimed) = query_param(query, "userId")
        && claimed != actor.user_id.to_string()
    {
        // Worknation's client sends the host platform's id of the same user.
        match domain.integration().is_known_as(&actor, &claimed).await {
            Ok(true) => {}
            Ok(false) => return Err(ConnectRejection::UserMismatch),
            Err(e) => {
                tracing::error!(error = %e, "socket handshake failed");
                return Err(ConnectRejection::Internal);
            }
        }
    }
    Ok(actor)
}

/// Once the socket is visible (in its user's room, where a revocation finds it), the
/// handshake's token is checked again: a deactivation or a password change that
/// committed while the handshake ran, and whose revocation was delivered before the
/// socket could be found, is caught here. False (after telling the client, as a
/// revocation does) when the socket must go.
pub async fn admitted<A: Adapter>(s: &SocketRef<A>, domain: &Services) -> bool {
    let Some(HandshakeToken(token)) = s.extensions.remove::<HandshakeToken>() else {
        return true;
    };
    match domain.accounts().authenticate(&token).await {
        Ok(_) => true,
        Err(e @ (AppError::Unauthorized(_) | AppError::UserInactive)) => {
            tracing::info!(sid = %s.id, error = %e, "a handshake raced a revocation; disconnecting");
            let why = AppError::Unauthorized("session revoked".into()).to_exception();
            let _ = s.emit("exception", &why);
            false
        }
        // The next event's re-check decides; an outage is not a revocation.
        Err(_) => true,
    }
}
