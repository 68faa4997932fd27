//! The RealtimeEvent stream's frames (`000_…`): every event as its envelope. A new
//! message also goes out as `conversation_updated`, because 000 says a send "triggers
//! `new_message` and `conversation_updated`": its payload is what changed for every
//! participant alike (id, last seq, last message), never one viewer's unread count.

use std::sync::Arc;

use serde::Serialize;

use crate::domain::events::{ConversationChange, ConversationHead, Payload};
use crate::realtime::{Offset, RealtimeEvent};

/// The envelope plus, for a logged event, its `offset` (what `?since=` takes back).
#[derive(Serialize)]
struct Framed<'a> {
    #[serde(flatten)]
    event: &'a RealtimeEvent,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<String>,
}

/// The frames one event becomes on this stream, in order (each with its offset).
pub fn render(event: &RealtimeEvent, offset: Option<&Offset>) -> Vec<Arc<str>> {
    let offset = offset.map(ToString::to_string);
    let mut frames: Vec<Arc<str>> = framed(event, offset.clone()).into_iter().collect();
    if let Payload::NewMessage(message) = &event.payload
        && let Some(conversation) = event.conversation_id
    {
        let mut updated = RealtimeEvent::new(Payload::ConversationUpdated(
            ConversationChange::Head(Box::new(ConversationHead {
                id: conversation,
                chat_id: conversation,
                conversation_id: conversation,
                last_seq: message.seq,
                last_message: message.clone(),
                last_message_at: message.created_at,
            })),
        ))
        .conversation(conversation)
        .entity("conversation", conversation);
        updated.actor_user_id = event.actor_user_id;
        updated.timestamp = event.timestamp;
        frames.extend(framed(&updated, offset));
    }
    frames
}

/// The envelope as a text frame; a failure is logged, never sent as "".
pub fn encode(event: &RealtimeEvent) -> Option<Arc<str>> {
    framed(event, None)
}

fn framed(event: &RealtimeEvent, offset: Option<String>) -> Option<Arc<str>> {
    serde_json::to_string(&Framed { event, offset })
        .inspect_err(
            |e| tracing::error!(error = %e, event = event.kind().as_str(), "event not serialisable"),
        )
        .ok()
        .map(Into::into)
}
