//! Client → server events of namespace `/`. Each socket gets one queue and one worker
//! (`worker.rs`), so a client's events are handled in the order it sent them
//! (socketioxide would otherwise run every event as its own task). Handlers only parse, call the domain
//! and reply: an event and/or the ack `{status: "ok", data}`; failures emit
//! `exception` and answer the ack with the same object.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, SocketRef, TryData};
use uuid::Uuid;

use super::SocketLimits;
use super::overflow::Overflow;
use super::worker::{Refused, Worker};
use crate::app::Background;
use crate::connection::Admission;
use crate::domain::calls::SignalInput;
use crate::domain::chat::history::HistoryQuery;
use crate::domain::chat::messages::NewMessage;
use crate::domain::presence::Platform;
use crate::domain::{Actor, Services};
use crate::error::{AppError, AppResult};

pub(super) struct Job<A: Adapter> {
    socket: SocketRef<A>,
    event: String,
    data: Option<Value>,
    ack: AckSender<A>,
}

/// What a handled event sends back.
struct Reply {
    /// An event emitted to the calling socket.
    emit: Option<(&'static str, Value)>,
    /// The `data` of the ok-ack.
    data: Value,
}

impl Reply {
    fn event(name: &'static str, data: Value) -> Self {
        Self {
            emit: Some((name, data.clone())),
            data,
        }
    }
    fn ack(data: Value) -> Self {
        Self { emit: None, data }
    }
    /// An event whose payload differs from the ack's `data` (e.g. a bare array on
    /// the wire, as Worknation's client reads it, with paging facts in the ack).
    fn event_and_ack(name: &'static str, emitted: Value, data: Value) -> Self {
        Self {
            emit: Some((name, emitted)),
            data,
        }
    }
}

/// Joins the user's room, starts the socket's ordered worker and registers its
/// handlers. Called by the auth middleware, before the connect packet goes out.
pub fn setup<A: Adapter>(
    s: SocketRef<A>,
    actor: Actor,
    domain: Services,
    limits: SocketLimits,
    background: &Background,
    overflow: Overflow,
    admin: Option<crate::admin::Admin>,
) {
    s.join(super::user_room(actor.user_id));
    tracing::debug!(sid = %s.id, user_id = %actor.user_id, "socket connected");
    // Presence: this connection keeps the user online until it closes.
    let query = s.req_parts().uri.query().unwrap_or("");
    let platform = Platform::from_hint(crate::auth::query_param(query, "platform").as_deref());
    // The worker marks the device open now and closed when the handler below (and with
    // it `worker`) is dropped, which is when the socket is gone, however it went (a
    // disconnect, a dropped handshake).
    let worker = Worker::start(
        s.id,
        actor,
        platform,
        domain,
        limits,
        overflow.clone(),
        background,
    );
    // Called synchronously in arrival order; only the (empty) future is spawned.
    s.on_fallback(
        move |socket: SocketRef<A>,
              Event(event): Event,
              TryData(data): TryData<Value>,
              ack: AckSender<A>| {
            if let Some(admin) = &admin {
                admin.event_in(&socket, event.as_ref());
            }
            if worker.0.pace.check().is_err() {
                fail(&overflow, &socket, ack, &AppError::RateLimited(Some(1)));
                return std::future::ready(());
            }
            let job = Box::new(Job {
                socket,
                event,
                data: data.ok(),
                ack,
            });
            match worker.0.push(job) {
                Ok(()) => {}
                Err(Refused::Full(job)) => fail(
                    &overflow,
                    &job.socket,
                    job.ack,
                    &AppError::RateLimited(None),
                ),
                // The server is stopping, or an event's handling panicked: the client
                // hears it rather than waiting for an answer that never comes.
                Err(Refused::Stopped(job)) => fail(
                    &overflow,
                    &job.socket,
                    job.ack,
                    &AppError::internal("this connection's event worker has stopped"),
                ),
            }
            std::future::ready(())
        },
    );
}

pub(super) async fn handle<A: Adapter>(
    domain: &Services,
    actor: &Actor,
    limits: SocketLimits,
    overflow: &Overflow,
    job: Job<A>,
) {
    let Job {
        socket,
        event,
        data,
        ack,
    } = job;
    crate::telemetry::metrics::event_in("socketio", known_event(&event));
    let size = data
        .as_ref()
        .map_or(0, |d| serde_json::to_vec(d).map_or(0, |v| v.len()));
    // The user checked again and counted against their event rate (connection core).
    let actor = match crate::connection::admit(domain, actor).await {
        Admission::Admitted(a) => a,
        Admission::Refused(e) => {
            fail(overflow, &socket, ack, &e);
            return;
        }
        Admission::Revoked(e) => {
            fail(overflow, &socket, ack, &e);
            let _ = socket.disconnect();
            return;
        }
    };
    let actor = &actor;
    let result = if size > limits.max_payload {
        Err(AppError::PayloadTooLarge(format!(
            "payload is {size} bytes; the limit is {}",
            limits.max_payload
        )))
    } else {
        dispatch(domain, actor, &socket, &event, data).await
    };
    match result {
        Ok(reply) => {
            // Nothing more goes to a socket that overflowed: it is being disconnected.
            if overflow.is_full(socket.id) {
                return;
            }
            if let Some((name, data)) = &reply.emit
                && !overflow.sent(&socket, socket.emit(*name, data))
            {
                return;
            }
            let ack_result = ack.send(&json!({"status": "ok", "data": reply.data}));
            overflow.sent(&socket, ack_result);
        }
        Err(e) => fail(overflow, &socket, ack, &e),
    }
}

/// Emits `exception` and answers the ack (if any) with the same object; a socket
/// whose buffer is full is disconnected instead (see [`Overflow`]).
fn fail<A: Adapter>(overflow: &Overflow, socket: &SocketRef<A>, ack: AckSender<A>, e: &AppError) {
    if overflow.is_full(socket.id) {
        return;
    }
    let body = e.to_exception();
    if overflow.sent(socket, socket.emit("exception", &body)) {
        let ack_result = ack.send(&body);
        overflow.sent(socket, ack_result);
    }
}

#[derive(Deserialize)]
struct ChatRef {
    #[serde(alias = "chatId")]
    chat_id: Uuid,
}

#[derive(Deserialize)]
struct CreateChat {
    /// A Switchboard id, or the host platform's id of the user (002 sends a number).
    #[serde(alias = "receiverId")]
    receiver_id: Value,
}

#[derive(Deserialize)]
struct CreateMessage {
    #[serde(alias = "chatId")]
    chat_id: Uuid,
    /// 002's DTO requires it, but the chat already names its peer: any value is
    /// accepted (a client's own numeric id too) and only logged when it differs.
    #[serde(default, alias = "receiverId")]
    receiver_id: Option<Value>,
    message: Option<String>,
    content: Option<String>,
    #[serde(alias = "clientMsgId")]
    client_msg_id: Option<String>,
    reply_to_id: Option<Uuid>,
}

#[derive(Deserialize)]
struct ChatMessages {
    #[serde(alias = "chatId")]
    chat_id: Uuid,
    before_seq: Option<i64>,
    after_seq: Option<i64>,
    limit: Option<u64>,
}

#[derive(Deserialize)]
struct ChannelRef {
    channel: String,
}

async fn dispatch<A: Adapter>(
    domain: &Services,
    actor: &Actor,
    socket: &SocketRef<A>,
    event: &str,
    data: Option<Value>,
) -> AppResult<Reply> {
    match event {
        "create_chat" => {
            let p: CreateChat = parse(data)?;
            let peer = domain
                .integration()
                .user_by_ref(actor, "receiver_id", &p.receiver_id)
                .await?;
            let (chat, _) = domain.conversations().open_direct(actor, peer).await?;
            Ok(Reply::event("chat_created", to_value(&chat)?))
        }
        "create_message" => {
            let p: CreateMessage = parse(data)?;
            let sent = domain
                .messages()
                .send_message(
                    actor,
                    NewMessage {
                        conversation_id: p.chat_id,
                        content: p.message.or(p.content),
                        client_msg_id: p.client_msg_id,
                        reply_to_id: p.reply_to_id,
                        ..NewMessage::default()
                    },
                )
                .await?;
            if let Some(r) = p.receiver_id
                && sent.message.receiver_id.map(|actual| json!(actual)) != Some(r.clone())
            {
                tracing::debug!(given = %r, "create_message receiver_id ignored: not the chat's peer");
            }
            let data = to_value(&sent.message)?;
            // A fresh message reaches this socket through the broadcast; a resend
            // of a stored one is answered to this socket only.
            Ok(if sent.duplicate {
                Reply::event("response_message", data)
            } else {
                Reply::ack(data)
            })
        }
        "seen_message" => {
            let p: ChatRef = parse(data)?;
            let receipt = domain
                .conversations()
                .mark_read(actor, p.chat_id, None)
                .await?;
            Ok(Reply::ack(to_value(&receipt)?))
        }
        "chat_messages" => {
            let p: ChatMessages = parse(data)?;
            let q = HistoryQuery {
                before_seq: p.before_seq,
                after_seq: p.after_seq,
                limit: p.limit,
            };
            let page = domain.messages().list_messages(actor, p.chat_id, q).await?;
            // 002 §3.3: "an array of message objects"; has_more travels in the ack.
            Ok(Reply::event_and_ack(
                "get_all_chat_messages",
                to_value(&page.messages)?,
                to_value(&page)?,
            ))
        }
        "get_chats" => {
            let chats = domain.conversations().recent_chats(actor).await?;
            // 002 §3.3: "an array of chat objects".
            let list = to_value(&chats)?;
            Ok(Reply::event_and_ack(
                "updated_chat_list",
                list.clone(),
                json!({ "chats": list }),
            ))
        }
        "subscribe" => {
            let p: ChannelRef = parse(data)?;
            let channel = domain.access().authorize_channel(actor, &p.channel).await?;
            socket.join(channel.room());
            Ok(Reply::event("subscribed", json!({ "channel": p.channel })))
        }
        "unsubscribe" => {
            let p: ChannelRef = parse(data)?;
            let channel = crate::domain::access::subscriptions::Channel::parse(&p.channel)?;
            // The user's own room is not optional: it carries their direct events.
            if channel.room() != super::user_room(actor.user_id) {
                socket.leave(channel.room());
            }
            Ok(Reply::event(
                "unsubscribed",
                json!({ "channel": p.channel }),
            ))
        }
        "ping" => Ok(Reply::event(
            "pong",
            json!({ "timestamp": chrono::Utc::now() }),
        )),
        "call_signal" => {
            let p: SignalInput = parse(data)?;
            let call_id = p.call_id;
            domain.calls().relay_signal(actor, p).await?;
            Ok(Reply::ack(json!({ "call_id": call_id })))
        }
        "typing" => {
            let p: ChatRef = parse(data)?;
            domain.conversations().typing(actor, p.chat_id).await?;
            Ok(Reply::ack(json!({ "chat_id": p.chat_id })))
        }
        other => Err(AppError::validation(
            "event",
            format!("unknown event `{other}`"),
        )),
    }
}

/// Deserialises an event payload; a missing or malformed one is `invalid_request`.
fn parse<T: DeserializeOwned>(data: Option<Value>) -> AppResult<T> {
    let data = data.unwrap_or(Value::Null);
    if !data.is_object() {
        return Err(AppError::validation("payload", "expected a JSON object"));
    }
    serde_json::from_value(data).map_err(|e| AppError::validation("payload", e.to_string()))
}

fn to_value<T: serde::Serialize>(v: &T) -> AppResult<Value> {
    serde_json::to_value(v).map_err(AppError::internal)
}

/// An incoming event's name as a metric label: the names this transport knows, else
/// `other` (a client cannot mint label values).
fn known_event(name: &str) -> &'static str {
    crate::realtime::event::SOCKET_COMMANDS
        .iter()
        .find(|k| **k == name)
        .copied()
        .unwrap_or("other")
}
