//! Sockets that could not keep up. socketioxide buffers a bounded number of packets
//! per socket (`SOCKETIO_BUFFER_PACKETS`) and refuses an emit to a full buffer. Such a
//! socket is never left open with a gap: it gets nothing more, the failure is counted
//! and logged, and its transport is closed at once (no DISCONNECT packet), so its
//! client reconnects by itself and resumes from its offset.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::{SendError, SocketError};
use socketioxide_core::Sid;
use tokio_util::task::TaskTracker;

/// The sockets of this node being disconnected for a full buffer.
#[derive(Clone)]
pub struct Overflow {
    inner: Arc<Inner>,
    /// Owns the disconnect retries (the server waits for them at shutdown).
    tasks: TaskTracker,
}

#[derive(Default)]
struct Inner {
    full: Mutex<HashSet<Sid>>,
    count: AtomicU64,
}

impl Overflow {
    pub fn new(tasks: TaskTracker) -> Self {
        Self {
            inner: Arc::default(),
            tasks,
        }
    }

    /// Whether `sid` has overflowed: send it nothing more.
    pub fn is_full(&self, sid: Sid) -> bool {
        self.inner
            .full
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&sid)
    }

    /// Handles the outcome of one send to `socket`: a full buffer marks it and starts
    /// its disconnect. Returns whether the packet went out.
    pub fn sent<A: Adapter>(&self, socket: &SocketRef<A>, result: Result<(), SendError>) -> bool {
        match result {
            Ok(()) => true,
            Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                self.overflowed(socket);
                false
            }
            Err(e) => {
                tracing::debug!(sid = %socket.id, error = %e, "packet not sent");
                false
            }
        }
    }

    /// Cuts a socket that cannot keep up (as a full buffer does).
    pub fn cut<A: Adapter>(&self, socket: &SocketRef<A>) {
        self.overflowed(socket);
    }

    /// Runs `work` on the tasks the server waits for at shutdown.
    pub fn spawn(&self, work: impl std::future::Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(work);
    }

    fn overflowed<A: Adapter>(&self, socket: &SocketRef<A>) {
        let newly = self
            .inner
            .full
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(socket.id);
        if !newly {
            return;
        }
        let total = self.inner.count.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(sid = %socket.id, overflowed_total = total, "socket outgoing buffer full; disconnecting it");
        metrics::counter!(crate::telemetry::metrics::SLOW_CUTS, "transport" => "socketio")
            .increment(1);
        // The transport is closed (no DISCONNECT packet, which would tell the client
        // not to come back): the client reconnects by itself and resumes from its
        // offset. The mark stays until the socket is gone.
        socket.close_transport();
        let (socket, this) = (socket.clone(), self.clone());
        self.tasks.spawn(async move {
            while socket.connected() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            this.inner
                .full
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&socket.id);
        });
    }
}
