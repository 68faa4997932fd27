//! One-time tickets for the raw WebSocket (`POST /api/v1/auth/ws-ticket`): 32 random
//! bytes, single use, short-lived, valid on any node (a [`TicketStore`]: Redis when
//! configured, else this process). Only a hash of the ticket is stored.

use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Accounts;
use crate::auth::tokens;
use crate::domain::Actor;
use crate::error::{AppError, AppResult};

#[derive(Debug, Serialize, ToSchema)]
pub struct WsTicket {
    pub ticket: String,
    /// Seconds until the ticket expires.
    pub expires_in: u64,
}

/// Where tickets live until they are used; engines in `crate::infra`.
#[async_trait::async_trait]
pub trait TicketStore: Send + Sync + 'static {
    /// Keeps `hash` (of a ticket) for `user` until `ttl` has passed.
    async fn put(&self, hash: String, user: Uuid, ttl: Duration) -> AppResult<()>;
    /// Removes and returns the ticket's user, atomically: a ticket works once.
    async fn take(&self, hash: &str) -> AppResult<Option<Uuid>>;
}

impl Accounts {
    pub async fn issue_ws_ticket(&self, actor: &Actor) -> AppResult<WsTicket> {
        let ticket = tokens::random_token();
        self.tickets
            .put(
                tokens::hash_token(&ticket),
                actor.user_id,
                self.settings.ticket_ttl,
            )
            .await?;
        Ok(WsTicket {
            ticket,
            expires_in: self.settings.ticket_ttl.as_secs(),
        })
    }

    /// Consumes a ticket: unknown, used or expired tickets and inactive users fail.
    pub async fn redeem_ws_ticket(&self, ticket: &str) -> AppResult<Actor> {
        let user = self
            .tickets
            .take(&tokens::hash_token(ticket))
            .await?
            .ok_or_else(|| AppError::Unauthorized("invalid, used or expired ticket".into()))?;
        let user = self
            .user(user)
            .await
            .map_err(|_| AppError::Unauthorized("unknown user".into()))?;
        super::users::actor_of(user)
    }
}
