//! Renders Hub events in the Socket.IO dialect: a new message is `response_message`
//! with the message as data; every other fact uses its RealtimeEvent type as the
//! event name and the envelope as data.

use std::future::Future;
use std::pin::Pin;

use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;

use serde_json::value::RawValue;

use super::overflow::Overflow;
use super::{conversation_room, user_room};
use crate::error::AppError;
use crate::realtime::{Audience, EventType, RealtimeEvent, Renderer};

pub struct SocketIoRenderer<A: Adapter> {
    io: SocketIo<A>,
    overflow: Overflow,
}

impl<A: Adapter> SocketIoRenderer<A> {
    pub fn new(io: SocketIo<A>, overflow: Overflow) -> Self {
        Self { io, overflow }
    }

    /// Tells the users' sockets on this node why (`exception` `unauthorized`) and
    /// disconnects them; their clients' reconnects are refused while the user is
    /// inactive or holds no valid token.
    async fn end_sessions(&self, audience: &Audience) {
        let rooms: Vec<String> = audience.users.iter().copied().map(user_room).collect();
        if rooms.is_empty() {
            return;
        }
        let why = AppError::Unauthorized("session revoked".into()).to_exception();
        let _ = self.io.to(rooms.clone()).emit("exception", &why).await;
        if let Err(e) = self.io.to(rooms).disconnect().await {
            tracing::warn!(error = %e, "revoked sockets not all disconnected");
        }
    }
}

impl<A: Adapter> Renderer for SocketIoRenderer<A> {
    fn deliver<'a>(
        &'a self,
        event: &'a RealtimeEvent,
        audience: &'a Audience,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            if event.kind == EventType::SessionRevoked {
                return self.end_sessions(audience).await;
            }
            let rooms: Vec<String> = audience
                .users
                .iter()
                .copied()
                .map(user_room)
                .chain(audience.conversation.map(conversation_room))
                .collect();
            if rooms.is_empty() {
                return;
            }
            let except: Vec<String> = audience
                .except_users
                .iter()
                .copied()
                .map(user_room)
                .collect();
            // Serialised once; each socket gets the same bytes. Sent socket by socket
            // so that a socket whose buffer is full is known, and disconnected rather
            // than left with a gap (a broadcast only says that some socket failed).
            let (name, encoded) = match event.kind {
                EventType::NewMessage => (
                    "response_message",
                    RawValue::from_string(event.payload.to_string()),
                ),
                kind => (
                    kind.as_str(),
                    serde_json::to_string(event).and_then(RawValue::from_string),
                ),
            };
            let encoded = match encoded {
                Ok(e) => e,
                Err(e) => {
                    tracing::error!(event = event.kind.as_str(), error = %e, "event not serialisable");
                    return;
                }
            };
            for socket in self.io.to(rooms).except(except).sockets() {
                if self.overflow.is_full(socket.id) {
                    continue;
                }
                let sent = socket.emit(name, &encoded);
                self.overflow.sent(&socket, sent);
            }
        })
    }
}
