//! One-time tickets for the raw WebSocket (`POST /api/v1/auth/ws-ticket`): 32 random
//! bytes, single use, short-lived, valid on any node (in Redis when configured, else
//! in this process). Only a hash of the ticket is stored.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Mutex;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Actor, Domain};
use crate::auth::tokens;
use crate::error::{AppError, AppResult};

#[derive(Debug, Serialize, ToSchema)]
pub struct WsTicket {
    pub ticket: String,
    /// Seconds until the ticket expires.
    pub expires_in: u64,
}

/// Where tickets live until they are used.
pub enum TicketStore {
    Memory(Mutex<HashMap<String, (Uuid, Instant)>>),
    Redis {
        conn: redis::aio::ConnectionManager,
        prefix: String,
    },
}

impl TicketStore {
    async fn put(&self, hash: String, user: Uuid, ttl: Duration) -> AppResult<()> {
        match self {
            Self::Memory(map) => {
                let mut map = map.lock().await;
                let now = Instant::now();
                map.retain(|_, (_, exp)| *exp > now);
                map.insert(hash, (user, now + ttl));
                Ok(())
            }
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                redis::cmd("SET")
                    .arg(format!("{prefix}:wsticket:{hash}"))
                    .arg(user.to_string())
                    .arg("EX")
                    .arg(ttl.as_secs().max(1))
                    .query_async::<()>(&mut conn)
                    .await
                    .map_err(|e| AppError::Unavailable(format!("redis: {e}")))
            }
        }
    }

    /// Removes and returns the ticket's user, atomically (GETDEL on Redis).
    async fn take(&self, hash: &str) -> AppResult<Option<Uuid>> {
        match self {
            Self::Memory(map) => Ok(map
                .lock()
                .await
                .remove(hash)
                .filter(|(_, exp)| *exp > Instant::now())
                .map(|(u, _)| u)),
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let v: Option<String> = redis::cmd("GETDEL")
                    .arg(format!("{prefix}:wsticket:{hash}"))
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| AppError::Unavailable(format!("redis: {e}")))?;
                Ok(v.and_then(|s| Uuid::parse_str(&s).ok()))
            }
        }
    }
}

impl Domain {
    pub async fn issue_ws_ticket(&self, actor: &Actor) -> AppResult<WsTicket> {
        let ticket = tokens::random_token();
        self.tickets
            .put(tokens::hash_token(&ticket), actor.user_id, self.ticket_ttl)
            .await?;
        Ok(WsTicket {
            ticket,
            expires_in: self.ticket_ttl.as_secs(),
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
