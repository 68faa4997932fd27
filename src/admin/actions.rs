//! The Admin UI's actions on this node's sockets: disconnect, join and leave a room,
//! each for the sockets a filter names (a socket id or a room; none: the namespace).
//! Rooms that Switchboard itself delivers by (`user:…`, `conversation:…`) are refused:
//! joining one would hand a socket events its user may not see, leaving one would
//! make it miss events with no gap to notice, both bypassing the access rules.

use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;

use super::bus::{BusMessage, Command};
use super::protocol::timestamp;
use crate::domain::access::subscriptions::Channel;

/// Applies `command` here; returns the notices it produced for the UI.
pub fn apply(io: &SocketIo, command: &Command) -> Vec<BusMessage> {
    match command {
        Command::Disconnect { nsp, close, filter } => {
            for s in targets(io, nsp, filter.as_deref()) {
                if *close {
                    s.close_transport();
                } else {
                    let _ = s.disconnect();
                }
            }
            Vec::new()
        }
        Command::Join { nsp, room, filter } | Command::Leave { nsp, room, filter } => {
            let joining = matches!(command, Command::Join { .. });
            if Channel::parse(room).is_ok() {
                tracing::warn!(
                    room,
                    "admin ui: Switchboard's own rooms are not changed by hand"
                );
                return Vec::new();
            }
            targets(io, nsp, filter.as_deref())
                .into_iter()
                .map(|s| {
                    if joining {
                        s.join(room.clone());
                    } else {
                        s.leave(room.clone());
                    }
                    BusMessage::Notice {
                        event: if joining { "room_joined" } else { "room_left" }.into(),
                        args: vec![
                            Value::String(nsp.clone()),
                            Value::String(room.clone()),
                            Value::String(s.id.to_string()),
                            timestamp(chrono::Utc::now()),
                        ],
                    }
                })
                .collect()
        }
    }
}

fn targets(io: &SocketIo, nsp: &str, filter: Option<&str>) -> Vec<SocketRef> {
    let Some(ns) = io.of(nsp) else {
        return Vec::new();
    };
    let sockets = ns.sockets();
    match filter {
        None | Some("") => sockets,
        Some(f) => sockets
            .into_iter()
            .filter(|s| s.id.to_string() == f || s.rooms().iter().any(|r| r == f))
            .collect(),
    }
}
