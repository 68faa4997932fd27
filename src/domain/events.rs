//! What the domain tells clients: every kind of event with its one typed payload.
//! Renderers match on [`Payload`] and read fields by name, so a field a renderer
//! reads is a field the compiler checks (a rename cannot go out as `null`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::domain::announcements::AnnouncementView;
use crate::domain::calls::CallView;
use crate::domain::chat::message_edits::ReactionChange;
use crate::domain::meetings::MeetingView;
use crate::domain::meetings::attendance::RsvpDone;
use crate::domain::notify::{NotificationView, ReadOne, UnreadCount};
use crate::domain::presence::{Platform, PresenceView};
use crate::domain::views::{ChatView, MessageView, ParticipantView, ReadReceipt};

/// One list of kinds: their wire names, and the payload each carries.
macro_rules! events {
    ($($(#[$doc:meta])* $kind:ident($payload:ty) = $name:literal,)*) => {
        /// Every kind of fact a client can be told about.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum EventType {
            $($(#[$doc])* #[serde(rename = $name)] $kind,)*
        }

        impl EventType {
            /// Every kind, in declaration order.
            pub const ALL: &[EventType] = &[$(EventType::$kind,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$kind => $name,)*
                }
            }
        }

        /// An event's payload, typed by its kind; it serialises as the bare payload.
        #[derive(Debug, Clone, Serialize)]
        #[serde(untagged)]
        pub enum Payload {
            $($(#[$doc])* $kind($payload),)*
        }

        impl Payload {
            pub fn kind(&self) -> EventType {
                match self {
                    $(Self::$kind(_) => EventType::$kind,)*
                }
            }

            /// Reads the payload of a `kind` event back (from the cross-node log).
            pub fn decode(kind: EventType, payload: Value) -> serde_json::Result<Self> {
                Ok(match kind {
                    $(EventType::$kind => Self::$kind(serde_json::from_value(payload)?),)*
                })
            }
        }
    };
}

events! {
    /// The plain WebSocket's greeting (not published).
    Connected(Hello) = "connected",
    Ping(Empty) = "ping",
    Pong(Empty) = "pong",
    NewMessage(MessageView) = "new_message",
    MessageUpdated(MessageView) = "message_updated",
    MessageDeleted(MessageView) = "message_deleted",
    MessageReaction(ReactionChange) = "message_reaction",
    ConversationUpdated(ConversationChange) = "conversation_updated",
    ConversationParticipantsAdded(ParticipantsAdded) = "conversation_participants_added",
    ParticipantRemoved(ParticipantRemoved) = "participant_removed",
    ConversationRead(ReadReceipt) = "conversation_read",
    Typing(Typing) = "typing",
    PresenceUpdated(PresenceView) = "presence_updated",
    /// The user's sessions are revoked (deactivated, password changed): every
    /// transport ends that user's live connections.
    SessionRevoked(SessionRevoked) = "session_revoked",
    NotificationCreated(NotificationView) = "notification_created",
    NotificationsCountUpdated(UnreadCount) = "notifications_count_updated",
    NotificationRead(ReadOne) = "notification_read",
    AnnouncementCreated(AnnouncementView) = "announcement_created",
    MeetingCreated(MeetingView) = "meeting_created",
    MeetingUpdated(MeetingView) = "meeting_updated",
    MeetingDeleted(MeetingView) = "meeting_deleted",
    MeetingRsvpUpdated(RsvpDone) = "meeting_rsvp_updated",
    CallIncoming(CallView) = "call_incoming",
    CallAccepted(CallView) = "call_accepted",
    CallDeclined(CallDeclined) = "call_declined",
    CallMissed(CallView) = "call_missed",
    CallEnded(CallView) = "call_ended",
    CallSignal(CallSignal) = "call_signal",
    /// A host backend's own event (`service/publish`): Socket.IO clients receive it
    /// under its own name.
    Publication(Publication) = "publication",
}

/// No fields: `{}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Empty {}

/// The plain WebSocket's `connected` frame: who, where the stream stands, and whether
/// the events since `?since=` follow complete.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    pub user_id: Uuid,
    pub platform: Platform,
    pub session_id: String,
    pub recovered: bool,
    pub offset: Option<String>,
    pub epoch: Option<String>,
}

/// `conversation_updated`: the conversation as the receiver sees it, the marker of a
/// deleted one, or (rendered by the envelope dialect after a new message) its new head.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConversationChange {
    Deleted(ConversationDeleted),
    Head(Box<ConversationHead>),
    View(Box<ChatView>),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationDeleted {
    pub id: Uuid,
    pub chat_id: Uuid,
    pub deleted: bool,
}

/// A conversation's newest message, as the envelope dialect announces it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationHead {
    pub id: Uuid,
    pub chat_id: Uuid,
    pub conversation_id: Uuid,
    pub last_seq: i64,
    pub last_message: MessageView,
    pub last_message_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParticipantsAdded {
    pub conversation_id: Uuid,
    pub chat_id: Uuid,
    pub user_ids: Vec<Uuid>,
    pub participants: Vec<ParticipantView>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParticipantRemoved {
    pub conversation_id: Uuid,
    pub chat_id: Uuid,
    pub user_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Typing {
    pub chat_id: Uuid,
    pub conversation_id: Uuid,
    pub user_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRevoked {
    pub user_id: Uuid,
}

/// A declined call, and who declined it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallDeclined {
    #[serde(flatten)]
    pub call: CallView,
    pub declined_by: Uuid,
}

/// WebRTC signalling between two call participants (opaque to the server).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallSignal {
    pub call_id: Uuid,
    pub from_user_id: Uuid,
    pub to_user_id: Uuid,
    pub signal: Value,
}

/// A host backend's event: its name, the channel it was published on, its data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Publication {
    pub event: String,
    pub channel: Option<String>,
    pub data: Value,
}
