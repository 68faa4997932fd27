//! The WebSocket upgrade endpoints. Credentials are checked (and a ticket consumed)
//! before the upgrade; a refusal is reported as a close frame (1008 for credentials,
//! 1011 when the server could not set the session up), as browser clients cannot
//! read an HTTP error on a WebSocket handshake.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::conn::{NotAnUpgrade, Upgrade};
use super::session::{self, INTERNAL_ERROR, Opening, POLICY_VIOLATION, Timing};
use super::{Dialect, Sessions};
use crate::app::AppState;
use crate::domain::presence::Platform;
use crate::domain::{Actor, Services};
use crate::error::AppError;
use crate::realtime::Offset;

pub fn router(legacy_enabled: bool) -> Router<AppState> {
    let r = Router::new().route("/api/v1/ws", get(realtime));
    if legacy_enabled {
        r.route("/ws", get(legacy))
    } else {
        r
    }
}

type Refusal = (u16, String);

fn refusal(e: AppError) -> Refusal {
    match e {
        AppError::Unauthorized(m) => (POLICY_VIOLATION, m),
        AppError::UserInactive => (POLICY_VIOLATION, "user is inactive".into()),
        other => {
            other.log_hidden("websocket setup");
            (INTERNAL_ERROR, "setup failed".into())
        }
    }
}

/// `GET /api/v1/ws?ticket=…&platform=web|mobile&since=<offset>`: the RealtimeEvent
/// stream, resumed after `since` when the log still reaches back there.
async fn realtime(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    ws: Result<Upgrade, NotAnUpgrade>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(not_an_upgrade) => return not_an_upgrade.into_response(),
    };
    if let Some(busy) = draining(&s) {
        return busy;
    }
    let outcome: Result<Actor, Refusal> = if q.contains_key("token") {
        Err((
            POLICY_VIOLATION,
            "tokens are not accepted here; use a ticket from POST /api/v1/auth/ws-ticket".into(),
        ))
    } else {
        match q.get("ticket").filter(|t| !t.is_empty()) {
            None => Err((POLICY_VIOLATION, "missing ticket".into())),
            Some(t) => s
                .domain
                .accounts()
                .redeem_ws_ticket(t)
                .await
                .map_err(refusal),
        }
    };
    let platform = Platform::from_hint(q.get("platform").map(String::as_str));
    // `since`: the offset of the last event the client received (resume).
    let since = q.get("since").and_then(|o| Offset::parse(o));
    upgrade(ws, s, outcome, Dialect::Envelope, platform, since)
}

/// `GET /ws?token=<jwt>`: the service of 001 and 004 (frames, commands, errors).
async fn legacy(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    ws: Result<Upgrade, NotAnUpgrade>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(not_an_upgrade) => return not_an_upgrade.into_response(),
    };
    if let Some(busy) = draining(&s) {
        return busy;
    }
    let outcome = match q.get("token").filter(|t| !t.is_empty()) {
        None => Err((POLICY_VIOLATION, "missing token".into())),
        Some(t) => s.domain.accounts().authenticate(t).await.map_err(refusal),
    };
    upgrade(ws, s, outcome, Dialect::Legacy, Platform::Web, None)
}

/// A draining server takes no new sessions: 503, so the client tries another node.
fn draining(s: &AppState) -> Option<Response> {
    s.draining.is_cancelled().then(|| {
        AppError::Unavailable {
            what: "server draining".into(),
            source: None,
        }
        .into_response()
    })
}

fn upgrade(
    ws: Upgrade,
    s: AppState,
    outcome: Result<Actor, Refusal>,
    dialect: Dialect,
    platform: Platform,
    since: Option<Offset>,
) -> Response {
    let timing = Timing {
        ping_interval: s.config.ws_ping_interval,
        pong_timeout: s.config.ws_pong_timeout,
        events_per_second: s.config.rate_limits.events_per_second,
    };
    let (domain, sessions): (Services, Arc<Sessions>) = (s.domain.clone(), s.sessions.clone());
    let max = s.config.ws_max_message_bytes;
    // Bounded at the transport: a larger message is never buffered whole.
    ws.on_upgrade(&s.tasks, max, move |socket| async move {
        match outcome {
            Ok(actor) => {
                let opening = Opening {
                    dialect,
                    platform,
                    since,
                };
                session::run(socket, domain, sessions, actor, opening, timing).await
            }
            Err((code, reason)) => session::refuse(socket, dialect, code, &reason).await,
        }
    })
}
