//! Connection state recovery for Socket.IO. Every CONNECT answer carries a `pid`, so
//! an unchanged `socket.io-client` (≥ 4.6) keeps the offset that ends every event we
//! send and reconnects with `auth: {pid, offset, …}`; other clients may send
//! `auth: {token, offset}` themselves. The socket joins its rooms behind a closed
//! [`Gate`]; the events it is owed (after its offset, or, for a new connection, after
//! what this node had delivered when it joined) are read before the CONNECT answer,
//! which repeats the client's `pid` only when that replay is complete (the client then
//! sees `socket.recovered === true`). Once connected the replay is sent at the pace the
//! client reads it, then `session {recovered, offset, epoch}`, then the events held
//! meanwhile.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use socketioxide::SocketError;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use uuid::Uuid;

use super::overflow::Overflow;
use super::render;
use crate::realtime::gate::Gate;
use crate::realtime::{CatchUp, EventLog, Offset};

/// What a socket holds back while it is being caught up.
pub type SocketGate = Gate<socketioxide_core::Value>;

/// What the client asked for, and where a new connection starts.
pub struct Start {
    asked: Option<Offset>,
    pid: Option<String>,
    head: Option<Offset>,
}

/// Before the socket joins its rooms: its gate, closed, and where it stands.
pub fn begin<A: Adapter>(
    s: &SocketRef<A>,
    auth: Option<&serde_json::Value>,
    log: &EventLog,
) -> Start {
    s.extensions.insert(Arc::new(SocketGate::default()));
    let field = |name: &str| {
        auth.and_then(|a| a.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    Start {
        asked: field("offset").as_deref().and_then(Offset::parse),
        pid: field("pid").filter(|p| !p.is_empty() && p.len() <= 64),
        head: log.head(),
    }
}

/// After it joined: reads what it is owed and names its `pid` for the CONNECT answer.
pub async fn prepare<A: Adapter>(s: &SocketRef<A>, user: Uuid, start: Start, log: &EventLog) {
    let catch_up = log.catch_up(user, start.asked.as_ref(), start.head).await;
    metrics::counter!(crate::telemetry::metrics::CATCH_UPS, "transport" => "socketio",
        "recovered" => if catch_up.recovered { "true" } else { "false" })
    .increment(1);
    let pid = match (catch_up.recovered, start.pid) {
        (true, Some(pid)) => pid,
        _ => Uuid::new_v4().simple().to_string(),
    };
    s.set_connect_pid(pid);
    s.extensions.insert(Arc::new(catch_up));
}

/// Once connected and `admitted` (the handshake's token checked again now that the
/// socket is visible): the replay (paced by what the client reads), `session`, the
/// held events, then live. The socket joined its rooms before its replay was read, but live
/// events reach it only from the moment it became visible (now): what was published
/// in between is read again here, and the gate drops what it also holds. The
/// replay, `session` and the held events are all paced by what the client reads; a
/// socket that cannot take them within `REPLAY_STALL` is cut like any socket whose
/// buffer overflows, and comes back from its offset.
pub fn open<A: Adapter>(
    s: SocketRef<A>,
    overflow: Overflow,
    log: EventLog,
    admitted: impl Future<Output = bool> + Send + 'static,
) {
    let (Some(gate), Some(catch_up)) = (
        s.extensions.get::<Arc<SocketGate>>(),
        s.extensions.remove::<Arc<CatchUp>>(),
    ) else {
        return;
    };
    let tasks = overflow.clone();
    tasks.spawn(async move {
        // Nothing is sent (live events wait behind the gate) until it is admitted.
        if !admitted.await {
            let _ = s.disconnect();
            return;
        }
        let mut deliveries = catch_up.deliveries.clone();
        let mut offset = catch_up.offset();
        if let Some(from) = &offset {
            match log.replay(catch_up.user, from).await {
                Ok(more) => deliveries.extend(more),
                Err(_) => tracing::debug!(sid = %s.id, "no top-up for a joining socket"),
            }
        }
        let mut replayed = None;
        for d in &deliveries {
            let (Some(pos), Some(packet)) =
                (d.offset.as_ref().map(|o| o.pos), render::encode(&s, d))
            else {
                continue;
            };
            if replayed.is_some_and(|r| pos <= r) {
                continue;
            }
            if !paced(&s, packet).await {
                overflow.cut(&s);
                return;
            }
            replayed = Some(pos);
            offset = d.offset.clone();
        }
        tracing::debug!(sid = %s.id, user = %catch_up.user, recovered = catch_up.recovered,
            asked = ?catch_up.from.as_ref().map(ToString::to_string), sent = deliveries.len(),
            last = ?offset.as_ref().map(ToString::to_string), "socket caught up");
        let session = json!({
            "recovered": catch_up.recovered,
            "offset": offset.as_ref().map(ToString::to_string),
            "epoch": offset.as_ref().map(|o| o.epoch.to_string()),
        });
        // Paced like the replay, which leaves the client's buffer full: the held
        // events wait for room rather than overflow it.
        let session_sent = match s.encode_event("session", &session) {
            Ok(packet) => paced(&s, packet).await,
            Err(e) => {
                tracing::warn!(error = %e, "session event not encoded");
                true
            }
        };
        if !session_sent {
            overflow.cut(&s);
            return;
        }
        let opened = when_room(|| {
            let opened = gate.try_open(replayed, |v| {
                if overflow.is_full(s.id) {
                    return Ok(());
                }
                match s.send_encoded(v.clone()) {
                    Err(SocketError::InternalChannelFull) => Err(v),
                    // Sent, or the socket is gone and nothing reaches it any more.
                    _ => Ok(()),
                }
            });
            match opened {
                Ok(true) => Some(true),
                Ok(false) => None,
                Err(_) => Some(false),
            }
        })
        .await;
        if !opened {
            overflow.cut(&s);
        }
    });
}

/// How long a replay waits for a client that does not read before cutting it.
const REPLAY_STALL: Duration = Duration::from_secs(30);

/// Sends one packet, waiting while the socket's buffer is full (the client reads at
/// its own pace). False when the socket is gone or stalled for `REPLAY_STALL`.
async fn paced<A: Adapter>(s: &SocketRef<A>, packet: socketioxide_core::Value) -> bool {
    when_room(|| match s.send_encoded(packet.clone()) {
        Ok(()) => Some(true),
        Err(SocketError::InternalChannelFull) => None,
        Err(_) => Some(false),
    })
    .await
}

/// Tries `attempt` every 10 ms while it finds the client's buffer full (`None`), for at
/// most `REPLAY_STALL`; its answer, or false when the client stalled.
async fn when_room(mut attempt: impl FnMut() -> Option<bool>) -> bool {
    let deadline = tokio::time::Instant::now() + REPLAY_STALL;
    loop {
        if let Some(done) = attempt() {
            return done;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
