//! The internal event type (DESIGN.md §2 RealtimeEvent envelope) and its audience.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

pub use crate::domain::events::{EventType, Payload};

/// Names a host's own event (`Publication`) can never go out under, on top of every
/// [`EventType`]'s: the ones Socket.IO reserves (socket.io-client's parser refuses a
/// packet that carries them, reconnects, is replayed the same event and loops), and
/// every name Switchboard's Socket.IO dialect sends or answers to itself.
/// `tests/api/architecture.rs` checks that every name `src/socket/` emits is here.
pub const RESERVED_EVENT_NAMES: &[&str] = &[
    // Socket.IO's own.
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newlistener",
    "removelistener",
    "error",
    "message",
    // Switchboard's Socket.IO dialect: what it sends (what it answers to is
    // `SOCKET_COMMANDS`).
    "session",
    "exception",
    "response_message",
    "chat_created",
    "get_all_chat_messages",
    "updated_chat_list",
    "subscribed",
    "unsubscribed",
    "pong",
];

/// The events the Socket.IO dialect answers to (also reserved from host events, and
/// the only values of the incoming-event metric's label).
pub const SOCKET_COMMANDS: [&str; 10] = [
    "create_chat",
    "create_message",
    "seen_message",
    "chat_messages",
    "get_chats",
    "subscribe",
    "unsubscribe",
    "ping",
    "typing",
    "call_signal",
];

/// Whether `name` is Socket.IO's or Switchboard's own (any case).
pub fn is_reserved_event_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    RESERVED_EVENT_NAMES.contains(&lower.as_str())
        || SOCKET_COMMANDS.contains(&lower.as_str())
        || EventType::ALL.iter().any(|k| k.as_str() == lower)
}

/// The envelope every dialect renders from. On the wire (and in the cross-node log)
/// `{type, event_id, timestamp, payload, actor_user_id?, conversation_id?,
/// entity_type?, entity_id?}`, `type` being the payload's kind.
#[derive(Debug, Clone)]
pub struct RealtimeEvent {
    pub event_id: Uuid,
    pub timestamp: DateTime<Utc>,
    pub payload: Payload,
    pub actor_user_id: Option<Uuid>,
    pub conversation_id: Option<Uuid>,
    pub entity_type: Option<String>,
    pub entity_id: Option<Uuid>,
}

/// [`RealtimeEvent`] as written.
#[derive(Serialize)]
struct WireOut<'a> {
    #[serde(rename = "type")]
    kind: EventType,
    event_id: Uuid,
    timestamp: DateTime<Utc>,
    payload: &'a Payload,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor_user_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conversation_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entity_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entity_id: Option<Uuid>,
}

/// [`RealtimeEvent`] as read: the payload is typed once its kind is known.
#[derive(Deserialize)]
struct WireIn {
    #[serde(rename = "type")]
    kind: EventType,
    event_id: Uuid,
    timestamp: DateTime<Utc>,
    payload: serde_json::Value,
    actor_user_id: Option<Uuid>,
    conversation_id: Option<Uuid>,
    entity_type: Option<String>,
    entity_id: Option<Uuid>,
}

impl Serialize for RealtimeEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WireOut {
            kind: self.kind(),
            event_id: self.event_id,
            timestamp: self.timestamp,
            payload: &self.payload,
            actor_user_id: self.actor_user_id,
            conversation_id: self.conversation_id,
            entity_type: self.entity_type.as_deref(),
            entity_id: self.entity_id,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for RealtimeEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WireIn::deserialize(d)?;
        Ok(Self {
            event_id: w.event_id,
            timestamp: w.timestamp,
            payload: Payload::decode(w.kind, w.payload).map_err(serde::de::Error::custom)?,
            actor_user_id: w.actor_user_id,
            conversation_id: w.conversation_id,
            entity_type: w.entity_type,
            entity_id: w.entity_id,
        })
    }
}

impl RealtimeEvent {
    pub fn new(payload: Payload) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            timestamp: Utc::now(),
            payload,
            actor_user_id: None,
            conversation_id: None,
            entity_type: None,
            entity_id: None,
        }
    }

    /// What kind of event this is (its payload's).
    pub fn kind(&self) -> EventType {
        self.payload.kind()
    }

    pub fn actor(mut self, user_id: Uuid) -> Self {
        self.actor_user_id = Some(user_id);
        self
    }

    pub fn conversation(mut self, id: Uuid) -> Self {
        self.conversation_id = Some(id);
        self
    }

    /// The conversation and the user a `participant_removed` event is about.
    pub fn removed_participant(&self) -> Option<(Uuid, Uuid)> {
        match &self.payload {
            Payload::ParticipantRemoved(p) => Some((p.conversation_id, p.user_id)),
            _ => None,
        }
    }

    pub fn entity(mut self, kind: &'static str, id: Uuid) -> Self {
        self.entity_type = Some(kind.to_string());
        self.entity_id = Some(id);
        self
    }
}

/// Who receives an event: every device of these users, plus sockets subscribed to
/// the conversation's channel (each device gets it once even if both apply).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Audience {
    pub users: Vec<Uuid>,
    pub conversation: Option<Uuid>,
    /// Users who must not get this event, e.g. the typist.
    pub except_users: Vec<Uuid>,
}

impl Audience {
    pub fn users(users: impl IntoIterator<Item = Uuid>) -> Self {
        Self {
            users: users.into_iter().collect(),
            ..Self::default()
        }
    }

    pub fn with_conversation(mut self, id: Uuid) -> Self {
        self.conversation = Some(id);
        self
    }

    pub fn except(mut self, user: Uuid) -> Self {
        self.except_users.push(user);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::events::{ConversationChange, ConversationDeleted, Publication, Typing};

    /// What one node writes to the cross-node log, another reads back unchanged,
    /// payload typed by its kind (untagged shapes included).
    #[test]
    fn an_event_reads_back_as_written() {
        let id = Uuid::now_v7();
        for payload in [
            Payload::Typing(Typing {
                chat_id: id,
                conversation_id: id,
                user_id: id,
            }),
            Payload::ConversationUpdated(ConversationChange::Deleted(ConversationDeleted {
                id,
                chat_id: id,
                deleted: true,
            })),
            Payload::Publication(Publication {
                event: "order_shipped".into(),
                channel: None,
                data: serde_json::json!({"nested": [1, {"x": null}]}),
            }),
        ] {
            let event = RealtimeEvent::new(payload)
                .actor(id)
                .conversation(id)
                .entity("x", id);
            let written = serde_json::to_value(&event).unwrap();
            assert_eq!(written["type"], event.kind().as_str());
            let read: RealtimeEvent = serde_json::from_value(written.clone()).unwrap();
            assert_eq!(read.kind(), event.kind());
            assert_eq!(serde_json::to_value(&read).unwrap(), written);
        }
        let wrong = serde_json::json!({"type": "typing", "event_id": id,
            "timestamp": Utc::now(), "payload": {"chat_id": id}});
        assert!(serde_json::from_value::<RealtimeEvent>(wrong).is_err());
    }
}
