//! The connection core: what every realtime transport (Socket.IO, `/api/v1/ws`, `/ws`)
//! does the same way, written once. Each transport parses its frames and renders its
//! answers; the rules a connection's commands pass live here. So far: admitting one
//! command ([`admit`]); the rest of the lifecycle (authentication, presence, catch-up,
//! pacing, dispatch) is still in each transport and moves here next.

use crate::domain::{Actor, Services};
use crate::error::AppError;

/// What becomes of one command a connection sent, before it is dispatched.
#[derive(Debug)]
pub enum Admission {
    /// Go on, as this actor (re-read now: role and tenant as they are).
    Admitted(Actor),
    /// Answer this error; the connection stays (a user over their event rate, a
    /// check that could not be made).
    Refused(AppError),
    /// The user was deactivated or their sessions revoked: answer this error and close.
    Revoked(AppError),
}

/// Admits one command of a long-lived connection: its user is checked again (a
/// deactivated user's connection is closed instead of acting), then counted against
/// their event rate across all their connections on every node.
pub async fn admit(services: &Services, actor: &Actor) -> Admission {
    let actor = match services.accounts().recheck(actor).await {
        Ok(actor) => actor,
        Err(e @ (AppError::Unauthorized(_) | AppError::UserInactive)) => {
            return Admission::Revoked(e);
        }
        Err(e) => return Admission::Refused(e),
    };
    match services.rate_limiter().admit_event(actor.user_id).await {
        Ok(()) => Admission::Admitted(actor),
        Err(e) => Admission::Refused(e),
    }
}
