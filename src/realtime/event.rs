//! The internal event type (DESIGN.md §2 RealtimeEvent envelope) and its audience.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Every kind of fact a client can be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    Connected,
    Ping,
    Pong,
    NewMessage,
    MessageUpdated,
    MessageDeleted,
    MessageReaction,
    ConversationUpdated,
    ConversationParticipantsAdded,
    ParticipantRemoved,
    ConversationRead,
    Typing,
    PresenceUpdated,
    /// The user's sessions are revoked (deactivated, password changed): every
    /// transport ends that user's live connections.
    SessionRevoked,
    NotificationCreated,
    NotificationsCountUpdated,
    NotificationRead,
    AnnouncementCreated,
    MeetingCreated,
    MeetingUpdated,
    MeetingDeleted,
    MeetingRsvpUpdated,
    CallIncoming,
    CallAccepted,
    CallDeclined,
    CallMissed,
    CallEnded,
    CallSignal,
    /// A host backend's own event (`service/publish`): the payload names it
    /// (`{event, channel, data}`); Socket.IO clients receive it under that name.
    Publication,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::Ping => "ping",
            Self::Pong => "pong",
            Self::NewMessage => "new_message",
            Self::MessageUpdated => "message_updated",
            Self::MessageDeleted => "message_deleted",
            Self::MessageReaction => "message_reaction",
            Self::ConversationUpdated => "conversation_updated",
            Self::ConversationParticipantsAdded => "conversation_participants_added",
            Self::ParticipantRemoved => "participant_removed",
            Self::ConversationRead => "conversation_read",
            Self::Typing => "typing",
            Self::PresenceUpdated => "presence_updated",
            Self::SessionRevoked => "session_revoked",
            Self::NotificationCreated => "notification_created",
            Self::NotificationsCountUpdated => "notifications_count_updated",
            Self::NotificationRead => "notification_read",
            Self::AnnouncementCreated => "announcement_created",
            Self::MeetingCreated => "meeting_created",
            Self::MeetingUpdated => "meeting_updated",
            Self::MeetingDeleted => "meeting_deleted",
            Self::MeetingRsvpUpdated => "meeting_rsvp_updated",
            Self::CallIncoming => "call_incoming",
            Self::CallAccepted => "call_accepted",
            Self::CallDeclined => "call_declined",
            Self::CallMissed => "call_missed",
            Self::CallEnded => "call_ended",
            Self::CallSignal => "call_signal",
            Self::Publication => "publication",
        }
    }
}

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
        || serde_json::from_value::<EventType>(serde_json::Value::String(lower)).is_ok()
}

/// The envelope every dialect renders from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RealtimeEvent {
    #[serde(rename = "type")]
    pub kind: EventType,
    pub event_id: Uuid,
    pub timestamp: DateTime<Utc>,
    pub payload: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_user_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<Uuid>,
}

impl RealtimeEvent {
    pub fn new(kind: EventType, payload: impl Serialize) -> Self {
        Self {
            kind,
            event_id: Uuid::now_v7(),
            timestamp: Utc::now(),
            payload: serde_json::to_value(payload).unwrap_or_else(|e| {
                // Views are plain data; this would be a bug, and it is never silent.
                tracing::error!(error = %e, event = kind.as_str(), "event payload not serialisable");
                serde_json::Value::Null
            }),
            actor_user_id: None,
            conversation_id: None,
            entity_type: None,
            entity_id: None,
        }
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
        if self.kind != EventType::ParticipantRemoved {
            return None;
        }
        let user = self.payload["user_id"].as_str()?.parse().ok()?;
        Some((self.conversation_id?, user))
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
