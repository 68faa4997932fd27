//! Renders Hub events in the Socket.IO dialect: a new message is `response_message`
//! with the message as data; every other fact uses its RealtimeEvent type as the
//! event name and the envelope as data.

use std::future::Future;
use std::pin::Pin;

use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;

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
            // Encoded once (the packet bytes are shared), then sent socket by socket,
            // so that a socket whose buffer is full is known by name and disconnected
            // rather than left with a gap (a broadcast only says that some socket
            // failed). `encode_event`/`send_encoded` come from our socketioxide patch.
            let sockets = self.io.to(rooms).except(except).sockets();
            let Some(first) = sockets.first() else {
                return;
            };
            let encoded = match event.kind {
                EventType::NewMessage => first.encode_event("response_message", &event.payload),
                // A host's own event goes out under the host's name for it.
                EventType::Publication => first.encode_event(
                    event.payload["event"].as_str().unwrap_or("publication"),
                    event,
                ),
                kind => first.encode_event(kind.as_str(), event),
            };
            let encoded = match encoded {
                Ok(e) => e,
                Err(e) => {
                    tracing::error!(event = event.kind.as_str(), error = %e, "event not encodable");
                    return;
                }
            };
            for socket in &sockets {
                if self.overflow.is_full(socket.id) {
                    continue;
                }
                let sent = socket.send_encoded(encoded.clone()).map_err(Into::into);
                self.overflow.sent(socket, sent);
            }
        })
    }
}
