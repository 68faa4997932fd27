//! How the Admin UI's traffic crosses nodes: what one node tells the others (notices
//! for the UI, an operator's commands, socket lists) and the `AdminBus` trait whose
//! engines carry it (`infra/memory/admin_bus.rs` in one process, `infra/redis/admin_bus.rs`
//! over Redis pub/sub). None of it is part of the event log: it is of the moment.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// One message on the bus; every node, the sender included, receives it.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BusMessage {
    /// An event for every Admin UI socket, as the UI expects it (`server_stats`,
    /// `socket_connected`, `room_joined`, …).
    Notice { event: String, args: Vec<Value> },
    /// An operator's action; each node applies it to its own sockets.
    Command { command: Command },
    /// A node wants every node's sockets (an Admin UI just connected to it).
    FetchSockets { request: Uuid },
    /// One node's answer to `FetchSockets`.
    Sockets { request: Uuid, sockets: Vec<Value> },
    /// Some node has an Admin UI connected: publish notices for a while.
    Watching,
}

/// The Admin UI's actions, with its own argument names.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Command {
    /// `close`: close the whole connection (the client reconnects) rather than end
    /// the namespace session (it does not).
    Disconnect {
        nsp: String,
        close: bool,
        filter: Option<String>,
    },
    Join {
        nsp: String,
        room: String,
        filter: Option<String>,
    },
    Leave {
        nsp: String,
        room: String,
        filter: Option<String>,
    },
}

/// Carries bus messages to every node. Best effort: a message lost while Redis is
/// unreachable is a chart point or a list entry the UI shows late, never user data.
#[async_trait::async_trait]
pub trait AdminBus: Send + Sync {
    /// Sends `message` to every node, this one included.
    async fn publish(&self, message: &BusMessage);
    /// Every message published from now on.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<BusMessage>;
}
