//! Connection state recovery for Socket.IO. Every CONNECT answer carries a `pid`, so
//! an unchanged `socket.io-client` (≥ 4.6) keeps the offset that ends every event we
//! send and reconnects with `auth: {pid, offset, …}`; other clients may send
//! `auth: {token, offset}` themselves. The socket joins its rooms behind a closed
//! [`Gate`]; the events it is owed (after its offset, or, for a new connection, after
//! what this node had delivered when it joined) are read before the CONNECT answer,
//! which repeats the client's `pid` only when that replay is complete (the client then
//! sees `socket.recovered === true`). Once connected the replay is sent, then
//! `session {recovered, offset, epoch}`, then the events held meanwhile.

use std::sync::Arc;

use serde_json::json;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use uuid::Uuid;

use super::overflow::Overflow;
use super::render;
use crate::realtime::gate::Gate;
use crate::realtime::{CatchUp, Hub, Offset};

/// What a socket holds back while it is being caught up.
pub type SocketGate = Gate<socketioxide_core::Value>;

/// What the client asked for, and where a new connection starts.
pub struct Start {
    asked: Option<Offset>,
    pid: Option<String>,
    head: Option<Offset>,
}

/// Before the socket joins its rooms: its gate, closed, and where it stands.
pub fn begin<A: Adapter>(s: &SocketRef<A>, auth: Option<&serde_json::Value>, hub: &Hub) -> Start {
    s.extensions.insert(Arc::new(SocketGate::default()));
    let field = |name: &str| {
        auth.and_then(|a| a.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    Start {
        asked: field("offset").as_deref().and_then(Offset::parse),
        pid: field("pid").filter(|p| !p.is_empty() && p.len() <= 64),
        head: hub.head(),
    }
}

/// After it joined: reads what it is owed and names its `pid` for the CONNECT answer.
pub async fn prepare<A: Adapter>(s: &SocketRef<A>, user: Uuid, start: Start, hub: &Hub) {
    let catch_up = hub.catch_up(user, start.asked.as_ref(), start.head).await;
    let pid = match (catch_up.recovered, start.pid) {
        (true, Some(pid)) => pid,
        _ => Uuid::new_v4().simple().to_string(),
    };
    s.set_connect_pid(pid);
    s.extensions.insert(Arc::new(catch_up));
}

/// Once connected: the replay, `session`, the held events, then live. A socket that
/// cannot take its replay is cut like any socket whose buffer overflows.
pub fn open<A: Adapter>(s: &SocketRef<A>, overflow: &Overflow) {
    let (Some(gate), Some(catch_up)) = (
        s.extensions.get::<Arc<SocketGate>>(),
        s.extensions.remove::<Arc<CatchUp>>(),
    ) else {
        return;
    };
    let offset = catch_up.offset();
    let replay = catch_up.deliveries.iter().filter_map(|d| {
        let pos = d.offset.as_ref()?.pos;
        Some((pos, render::encode(s, d)?))
    });
    let session = json!({
        "recovered": catch_up.recovered,
        "offset": offset.as_ref().map(ToString::to_string),
        "epoch": offset.as_ref().map(|o| o.epoch.to_string()),
    });
    gate.open(
        replay,
        || {
            let _ = s.emit("session", &session);
        },
        |v| {
            if !overflow.is_full(s.id) {
                overflow.sent(s, s.send_encoded(v).map_err(Into::into));
            }
        },
    );
}
