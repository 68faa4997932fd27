//! The `/ws?token=` service's frames. `001_…` and `004_…` document this one service
//! twice, so each fact goes out as one frame that carries both documents' keys: 001's
//! `{type, data}` (`chat_message`, `status_update`, `notification`) and 004's
//! `{id, user_id, content, date_created, date_updated, message_type, recipient_type,
//! reference_id, deleted}` (`MESSAGE`, `EDIT_MESSAGE`, `DELETE_MESSAGE`, `TYPING`,
//! `UPDATE_STATUS`, `UPDATE_USERS`). A client of either document reads its own keys.
//! Also the 001 replies to client commands (`pong`, `subscribed`, `error`).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::domain::events::Payload;
use crate::error::AppError;
use crate::realtime::RealtimeEvent;

/// 004's date format: `2024-09-09 14:06:11.251848` (UTC, microseconds).
fn date_of(d: DateTime<Utc>) -> String {
    d.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

/// 001's `status_update` data: `{entity_type, entity_id, status}` plus details.
fn status(entity_type: &str, entity_id: &Value, status: &str, extra: Value) -> Value {
    let mut data = json!({"entity_type": entity_type, "entity_id": entity_id, "status": status});
    if let (Some(d), Value::Object(extra)) = (data.as_object_mut(), extra) {
        d.extend(extra);
    }
    data
}

/// The frame a session starts with after the greeting: `UPDATE_STATUS` for the
/// user's session, so a client that reconnected refreshes what it shows (this dialect
/// has no offsets to resume from).
pub fn connected(user: uuid::Uuid) -> Value {
    json!({
        "type": "status_update",
        "data": status("session", &json!(user), "connected", json!({})),
        "message_type": "UPDATE_STATUS",
    })
}

/// Renders an event as its frame, or `None` when neither document has one for it.
pub fn render(event: &RealtimeEvent) -> Option<Value> {
    let conversation = json!(event.conversation_id);
    let (kind, data, legacy): (&str, Value, Option<Value>) = match &event.payload {
        Payload::NewMessage(m) | Payload::MessageUpdated(m) | Payload::MessageDeleted(m) => {
            let (message_type, type_data) = match &event.payload {
                Payload::NewMessage(_) => (
                    "MESSAGE",
                    (
                        "chat_message",
                        json!({
                            "id": m.id,
                            "conversation_id": m.conversation_id,
                            "sender_id": m.sender_id,
                            "content": m.content,
                            "seq": m.seq,
                            "created_at": m.created_at,
                        }),
                    ),
                ),
                Payload::MessageUpdated(_) => (
                    "EDIT_MESSAGE",
                    (
                        "status_update",
                        status(
                            "message",
                            &json!(m.id),
                            "edited",
                            json!({"conversation_id": m.conversation_id, "content": m.content}),
                        ),
                    ),
                ),
                _ => (
                    "DELETE_MESSAGE",
                    (
                        "status_update",
                        status(
                            "message",
                            &json!(m.id),
                            "deleted",
                            json!({"conversation_id": m.conversation_id}),
                        ),
                    ),
                ),
            };
            let frame = json!({
                "id": m.id,
                "user_id": m.sender_id,
                "content": m.content,
                "date_created": date_of(m.created_at),
                "date_updated": date_of(m.edited_at.unwrap_or(m.created_at)),
                "message_type": message_type,
                "recipient_type": "CHANNEL",
                "reference_id": m.conversation_id,
                "deleted": m.deleted,
            });
            (type_data.0, type_data.1, Some(frame))
        }
        Payload::Typing(t) => (
            "status_update",
            status(
                "conversation",
                &conversation,
                "typing",
                json!({"user_id": t.user_id}),
            ),
            Some(json!({
                "message_type": "TYPING",
                "recipient_type": "CHANNEL",
                "reference_id": conversation,
                "user_id": t.user_id,
            })),
        ),
        Payload::PresenceUpdated(p) => (
            "status_update",
            status("user", &json!(p.user_id), p.status.as_str(), json!({})),
            Some(json!({"message_type": "UPDATE_STATUS"})),
        ),
        Payload::ConversationUpdated(_) => (
            "status_update",
            status("conversation", &conversation, "updated", json!({})),
            Some(json!({"message_type": "UPDATE_STATUS"})),
        ),
        Payload::ConversationParticipantsAdded(_) | Payload::ParticipantRemoved(_) => (
            "status_update",
            status(
                "conversation",
                &conversation,
                "participants_changed",
                json!({}),
            ),
            Some(json!({"message_type": "UPDATE_USERS"})),
        ),
        Payload::ConversationRead(r) => (
            "status_update",
            status(
                "conversation",
                &conversation,
                "read",
                json!({"user_id": r.user_id, "last_read_seq": r.last_read_seq}),
            ),
            None,
        ),
        Payload::MessageReaction(r) => (
            "status_update",
            status(
                "message",
                &json!(r.message_id),
                "reaction",
                json!({"conversation_id": conversation, "user_id": r.user_id,
                       "emoji": r.emoji, "added": r.added}),
            ),
            None,
        ),
        Payload::NotificationsCountUpdated(c) => (
            "status_update",
            status(
                "notifications",
                &json!(event.actor_user_id),
                "count_updated",
                json!({"unread_count": c.unread_count}),
            ),
            None,
        ),
        Payload::NotificationRead(r) => (
            "status_update",
            status(
                "notification",
                &json!(r.id),
                "read",
                json!({"read_at": r.read_at}),
            ),
            None,
        ),
        Payload::NotificationCreated(n) => {
            // 001's example: {"message": "New comment on your post", "level": "info"}:
            // the notification itself, its title as 001's `message`.
            let mut data = match serde_json::to_value(n) {
                Ok(Value::Object(data)) => data,
                _ => Map::new(),
            };
            data.insert("message".into(), n.title.clone().into());
            data.insert("level".into(), "info".into());
            ("notification", Value::Object(data), None)
        }
        _ => return None,
    };
    let mut frame = Map::new();
    frame.insert("type".into(), kind.into());
    frame.insert("data".into(), data);
    if let Some(Value::Object(legacy)) = legacy {
        frame.extend(legacy);
    }
    Some(Value::Object(frame))
}

/// 001's reply to `ping`.
pub fn pong() -> Value {
    json!({"type": "pong", "data": {"timestamp": Utc::now()}})
}

/// 001's confirmation of `subscribe` / `unsubscribe`.
pub fn subscription(done: &str, channel: &str) -> Value {
    json!({"type": done, "data": {"channel": channel}})
}

/// 001's error frame. Its codes are `invalid_request`, `unauthorized`,
/// `subscription_failed` and `internal_error`; a subscription the caller may not have
/// (forbidden, unknown conversation) is `subscription_failed`. `code` and `message`
/// are also at the top level, as the RealtimeEvent stream's error frames have them.
pub fn error(e: &AppError, subscribing: bool) -> Value {
    let code = match e {
        AppError::Forbidden(_) | AppError::NotFound(_) | AppError::SubscriptionFailed(_)
            if subscribing =>
        {
            "subscription_failed"
        }
        AppError::Unauthorized(_) | AppError::UserInactive | AppError::Forbidden(_) => {
            "unauthorized"
        }
        AppError::Internal { .. } | AppError::Unavailable { .. } => "internal_error",
        _ => "invalid_request",
    };
    error_frame(code, &e.to_string())
}

pub fn error_frame(code: &str, message: &str) -> Value {
    json!({"type": "error", "code": code, "message": message,
           "data": {"code": code, "message": message}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::views::MessageView;
    use uuid::Uuid;

    #[test]
    fn a_new_message_carries_both_documents_keys() {
        let (conv, msg, user) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let created_at = "2024-09-09T14:06:11.251848Z".parse().unwrap();
        let event = RealtimeEvent::new(Payload::NewMessage(MessageView {
            id: msg,
            chat_id: conv,
            conversation_id: conv,
            seq: 1,
            sender_id: user,
            receiver_id: None,
            message: "hello".into(),
            content: "hello".into(),
            html: None,
            client_msg_id: None,
            reply_to_id: None,
            forwarded_from_id: None,
            mentions: json!([]),
            created_at,
            edited_at: None,
            deleted: false,
            attachments: Vec::new(),
        }))
        .conversation(conv);
        let f = render(&event).unwrap();
        assert_eq!(f["type"], "chat_message");
        assert_eq!(f["data"]["content"], "hello");
        assert_eq!(f["data"]["sender_id"], json!(user));
        assert_eq!(f["message_type"], "MESSAGE");
        assert_eq!(f["recipient_type"], "CHANNEL");
        assert_eq!(f["reference_id"], json!(conv));
        assert_eq!(f["date_created"], "2024-09-09 14:06:11.251848");
        assert_eq!(f["date_updated"], "2024-09-09 14:06:11.251848");
        assert_eq!(f["deleted"], false);
    }

    #[test]
    fn server_failures_are_internal_error() {
        for e in [
            AppError::internal("boom"),
            AppError::unavailable("redis", std::io::Error::other("refused")),
        ] {
            let f = error(&e, false);
            assert_eq!(
                (f["code"].as_str(), f["data"]["code"].as_str()),
                (Some("internal_error"), Some("internal_error"))
            );
            assert_eq!(
                error(&e, true)["code"],
                "internal_error",
                "not a subscription refusal"
            );
        }
    }

    #[test]
    fn forbidden_subscriptions_are_subscription_failed() {
        let e = AppError::Forbidden("not a participant".into());
        assert_eq!(error(&e, true)["code"], "subscription_failed");
        assert_eq!(error(&e, false)["data"]["code"], "unauthorized");
    }
}
