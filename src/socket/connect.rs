//! Handshake authentication: the JWT from `auth.token`, `?token=` or
//! `Authorization: Bearer`, and `?userId=` (when given) must be its subject.

use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;

use crate::domain::{Actor, Domain};
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
    #[error("internal_error")]
    Internal,
}

/// Resolves the handshake's credentials to the connecting user.
pub async fn authenticate<A: Adapter>(
    s: &SocketRef<A>,
    auth: Option<serde_json::Value>,
    domain: &Domain,
) -> Result<Actor, ConnectRejection> {
    let query = s.req_parts().uri.query().unwrap_or("");
    let token = auth
        .as_ref()
        .and_then(|a| a.get("token"))
        .and_then(|t| t.as_str())
        .map(|t| t.strip_prefix("Bearer ").unwrap_or(t).to_string())
        .or_else(|| query_param(query, "token"))
        .or_else(|| {
            let v = s.req_parts().headers.get("authorization")?.to_str().ok()?;
            let (scheme, t) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| t.trim().to_string())
        })
        .filter(|t| !t.is_empty())
        .ok_or(ConnectRejection::Unauthorized)?;
    let actor = domain.authenticate(&token).await.map_err(|e| match e {
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
        return Err(ConnectRejection::UserMismatch);
    }
    Ok(actor)
}

/// A percent-decoded query parameter.
fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&v[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 3;
                }
                Err(_) => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_params_are_decoded() {
        let q = "EIO=4&transport=websocket&token=a%2Eb.c&userId=42";
        assert_eq!(super::query_param(q, "token").as_deref(), Some("a.b.c"));
        assert_eq!(super::query_param(q, "userId").as_deref(), Some("42"));
        assert_eq!(super::query_param(q, "nope"), None);
    }
}
