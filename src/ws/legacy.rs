//! Renders events as the legacy receive-only frames `{id, user_id, content,
//! date_created, date_updated, message_type, recipient_type, reference_id, deleted}`.
//! Mapping: new_message → MESSAGE, message_updated → EDIT_MESSAGE, message_deleted →
//! DELETE_MESSAGE, typing → TYPING, presence_updated and conversation_updated →
//! UPDATE_STATUS, participants added/removed → UPDATE_USERS. Other events have no
//! legacy frame.

use serde_json::{Value, json};

use crate::realtime::{EventType, RealtimeEvent};

pub fn render(event: &RealtimeEvent) -> Option<String> {
    let p = &event.payload;
    let ts = json!(event.timestamp);
    let frame = match event.kind {
        EventType::NewMessage | EventType::MessageUpdated | EventType::MessageDeleted => {
            let message_type = match event.kind {
                EventType::NewMessage => "MESSAGE",
                EventType::MessageUpdated => "EDIT_MESSAGE",
                _ => "DELETE_MESSAGE",
            };
            json!({
                "id": p["id"],
                "user_id": p["sender_id"],
                "content": p["content"],
                "date_created": p["created_at"],
                "date_updated": if p["edited_at"].is_null() { p["created_at"].clone() } else { p["edited_at"].clone() },
                "message_type": message_type,
                "recipient_type": "conversation",
                "reference_id": p["conversation_id"],
                "deleted": p["deleted"].as_bool().unwrap_or(false),
            })
        }
        EventType::Typing => notice(
            event,
            "TYPING",
            p["user_id"].clone(),
            Value::String(String::new()),
            &ts,
        ),
        EventType::PresenceUpdated => notice(
            event,
            "UPDATE_STATUS",
            p["user_id"].clone(),
            p["status"].clone(),
            &ts,
        ),
        EventType::ConversationUpdated => notice(
            event,
            "UPDATE_STATUS",
            json!(event.actor_user_id),
            json!("conversation_updated"),
            &ts,
        ),
        EventType::ConversationParticipantsAdded | EventType::ParticipantRemoved => notice(
            event,
            "UPDATE_USERS",
            json!(event.actor_user_id),
            json!(event.kind.as_str()),
            &ts,
        ),
        _ => return None,
    };
    Some(frame.to_string())
}

fn notice(event: &RealtimeEvent, kind: &str, user: Value, content: Value, ts: &Value) -> Value {
    json!({
        "id": event.event_id,
        "user_id": user,
        "content": content,
        "date_created": ts,
        "date_updated": ts,
        "message_type": kind,
        "recipient_type": if event.conversation_id.is_some() { "conversation" } else { "user" },
        "reference_id": event.conversation_id.map(|c| c.to_string()).or_else(|| event.entity_id.map(|e| e.to_string())),
        "deleted": false,
    })
}
