//! Renders Hub events in the Socket.IO dialect: a new message is `response_message`
//! with the message as data; every other fact uses its RealtimeEvent type as the
//! event name and the envelope as data; each logged event ends with its offset.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide_core::Value;

use super::overflow::Overflow;
use super::resume::SocketGate;
use super::{conversation_room, user_room};
use crate::domain::events::Payload;
use crate::error::AppError;
use crate::realtime::{Audience, Delivery, EventType, Renderer};

pub struct SocketIoRenderer<A: Adapter> {
    io: SocketIo<A>,
    overflow: Overflow,
}

impl<A: Adapter> SocketIoRenderer<A> {
    pub fn new(io: SocketIo<A>, overflow: Overflow) -> Self {
        Self { io, overflow }
    }

    /// Namespace `/`, once it is registered. The event log may deliver before it is
    /// (a node starting while others publish): then no socket is there to miss it,
    /// whereas `io.to(…)` would panic and take the node's log reader with it.
    fn chat(&self) -> Option<socketioxide::operators::BroadcastOperators<A>> {
        self.io.of("/")
    }

    /// Tells the users' sockets on this node why (`exception` `unauthorized`) and
    /// disconnects them; their clients' reconnects are refused while the user is
    /// inactive or holds no valid token.
    async fn end_sessions(&self, audience: &Audience) {
        let rooms: Vec<String> = audience.users.iter().copied().map(user_room).collect();
        if rooms.is_empty() {
            return;
        }
        let Some(chat) = self.chat() else {
            return;
        };
        let why = AppError::Unauthorized("session revoked".into()).to_exception();
        let _ = chat.clone().to(rooms.clone()).emit("exception", &why).await;
        if let Err(e) = chat.to(rooms).disconnect().await {
            tracing::warn!(error = %e, "revoked sockets not all disconnected");
        }
    }
}

impl<A: Adapter> SocketIoRenderer<A> {
    /// A participant was removed (or left): their sockets on this node leave the
    /// conversation's channel.
    async fn end_subscription(&self, event: &crate::realtime::RealtimeEvent) {
        let Some((conversation, user)) = event.removed_participant() else {
            return;
        };
        let Some(chat) = self.chat() else {
            return;
        };
        if let Err(e) = chat
            .to(user_room(user))
            .leave(conversation_room(conversation))
            .await
        {
            tracing::warn!(error = %e, "a removed participant's sockets did not all leave the channel");
        }
    }
}

impl<A: Adapter> Renderer for SocketIoRenderer<A> {
    fn deliver<'a>(&'a self, d: &'a Delivery) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            let (event, audience) = (&d.event, &d.audience);
            if event.kind() == EventType::SessionRevoked {
                return self.end_sessions(audience).await;
            }
            if event.kind() == EventType::ParticipantRemoved {
                self.end_subscription(event).await;
            }
            // Only to the users the event is for: they are the conversation's members
            // when it was published, and every socket is in its user's room. A
            // conversation's channel adds no one (a subscriber who is no longer a
            // member must not hear it).
            let rooms: Vec<String> = audience.users.iter().copied().map(user_room).collect();
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
            let Some(chat) = self.chat() else {
                return;
            };
            let sockets = chat.to(rooms).except(except).sockets();
            let Some(encoded) = sockets.first().and_then(|first| encode(first, d)) else {
                return;
            };
            let pos = d.offset.as_ref().map(|o| o.pos);
            crate::telemetry::metrics::delivered("socketio", sockets.len() as u64);
            for socket in &sockets {
                if self.overflow.is_full(socket.id) {
                    continue;
                }
                let send = |v| {
                    let sent = socket.send_encoded(v).map_err(Into::into);
                    self.overflow.sent(socket, sent);
                };
                // A socket being caught up holds live events until its replay is out.
                match socket.extensions.get::<Arc<SocketGate>>() {
                    Some(gate) => gate.live(pos, encoded.clone(), send),
                    None => send(encoded.clone()),
                }
            }
        })
    }
}

/// The event as this dialect sends it: a new message is `response_message` with the
/// message as data, a host's own event goes under the host's name, anything else
/// under its type with the envelope; a logged event's offset follows as a last
/// string argument (Socket.IO's connection state recovery reads it there).
pub fn encode<A: Adapter>(socket: &SocketRef<A>, d: &Delivery) -> Option<Value> {
    let event = &d.event;
    let name = match event.kind() {
        EventType::NewMessage => "response_message",
        // A reserved name never goes out (refused at publish; this guards the log).
        EventType::Publication => match &event.payload {
            Payload::Publication(p) if !crate::realtime::is_reserved_event_name(&p.event) => {
                p.event.as_str()
            }
            _ => {
                tracing::warn!(event = %event.event_id, "a host event with a reserved name is not sent");
                return None;
            }
        },
        kind => kind.as_str(),
    };
    let offset = d.offset.as_ref().map(ToString::to_string);
    let encoded = match (event.kind() == EventType::NewMessage, offset) {
        (true, Some(o)) => socket.encode_event(name, &(&event.payload, o)),
        (true, None) => socket.encode_event(name, &event.payload),
        (false, Some(o)) => socket.encode_event(name, &(event, o)),
        (false, None) => socket.encode_event(name, event),
    };
    encoded
        .map_err(
            |e| tracing::error!(event = event.kind().as_str(), error = %e, "event not encodable"),
        )
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::events::{SessionRevoked, Typing};
    use crate::realtime::{Audience, RealtimeEvent};

    /// A node's event log starts delivering before namespace `/` is registered; that
    /// must be a no-op, not a panic that ends the log reader (it once silenced a
    /// restarted node for good).
    #[tokio::test]
    async fn delivering_before_the_namespace_exists_is_harmless() {
        let (_layer, io) = SocketIo::new_layer();
        let renderer = SocketIoRenderer::new(io, Overflow::new(Default::default()));
        let (user, chat) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let typing = Typing {
            chat_id: chat,
            conversation_id: chat,
            user_id: user,
        };
        for payload in [
            Payload::Typing(typing),
            Payload::SessionRevoked(SessionRevoked { user_id: user }),
        ] {
            let d = Delivery {
                event: RealtimeEvent::new(payload),
                audience: Audience::users([uuid::Uuid::now_v7()]),
                offset: None,
            };
            renderer.deliver(&d).await;
        }
    }
}
