//! One plain-WebSocket connection: outbound events, server pings and the pong
//! deadline, and (RealtimeEvent dialect) the client commands `ping`, `pong`,
//! `subscribe`, `unsubscribe`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;
use uuid::Uuid;

use super::{Dialect, Sessions};
use crate::domain::channels::Channel;
use crate::domain::presence::Platform;
use crate::domain::{Actor, Domain};
use crate::error::AppError;
use crate::realtime::{EventType, RealtimeEvent};

/// Close codes used on the plain WebSocket.
pub const POLICY_VIOLATION: u16 = 1008;
pub const INTERNAL_ERROR: u16 = 1011;
const GOING_AWAY: u16 = 1001;
const TRY_AGAIN_LATER: u16 = 1013;

#[derive(Clone, Copy)]
pub struct Timing {
    pub ping_interval: Duration,
    pub pong_timeout: Duration,
}

/// Sends a close frame and ends the connection.
pub async fn close(mut socket: WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.to_string().into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

#[derive(Deserialize)]
struct Command {
    #[serde(rename = "type")]
    kind: String,
    channel: Option<String>,
}

pub async fn run(
    mut socket: WebSocket,
    domain: Domain,
    sessions: Arc<Sessions>,
    actor: Actor,
    dialect: Dialect,
    platform: Platform,
    timing: Timing,
) {
    let reg = sessions.add(actor.user_id, dialect);
    let conn_id = format!("ws:{}", Uuid::now_v7());
    domain
        .connection_opened(actor.user_id, &conn_id, platform)
        .await;
    let mut frames = reg.frames;
    if dialect == Dialect::Envelope {
        let hello = RealtimeEvent::new(
            EventType::Connected,
            json!({"user_id": actor.user_id, "platform": platform, "session_id": conn_id}),
        )
        .actor(actor.user_id);
        let _ = socket.send(text(&hello)).await;
    }
    let mut ticker =
        tokio::time::interval_at(Instant::now() + timing.ping_interval, timing.ping_interval);
    let mut last_heard = Instant::now();
    // Each way out says why, and which close frame (if any) the server sends.
    let (reason, close_with): (&str, Option<(u16, &str)>) = loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Some(f) => {
                    if socket.send(Message::Text(f.as_ref().into())).await.is_err() {
                        break ("send failed", None);
                    }
                }
                None => break ("session dropped", None),
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(t))) => {
                    last_heard = Instant::now();
                    if dialect == Dialect::Envelope {
                        let reply = command(&domain, &sessions, reg.id, &actor, t.as_str()).await;
                        if let Some(reply) = reply && socket.send(Message::Text(reply.into())).await.is_err() {
                            break ("send failed", None);
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break ("closed by client", None),
                Some(Ok(_)) => last_heard = Instant::now(),
            },
            _ = ticker.tick() => {
                if last_heard.elapsed() > timing.pong_timeout {
                    break ("pong timeout", Some((GOING_AWAY, "pong timeout")));
                }
                let ping = match dialect {
                    Dialect::Envelope => text(&RealtimeEvent::new(EventType::Ping, json!({}))),
                    Dialect::Legacy => Message::Ping(Vec::new().into()),
                };
                if socket.send(ping).await.is_err() {
                    break ("send failed", None);
                }
            }
            _ = reg.kill.notified() => break ("too slow", Some((TRY_AGAIN_LATER, "too slow to keep up"))),
        }
    };
    tracing::debug!(user_id = %actor.user_id, reason, "websocket session ended");
    sessions.remove(reg.id);
    if let Some((code, why)) = close_with {
        close(socket, code, why).await;
    }
    domain.connection_closed(actor.user_id, &conn_id).await;
}

fn text(event: &RealtimeEvent) -> Message {
    Message::Text(serde_json::to_string(event).unwrap_or_default().into())
}

fn error_frame(code: &str, message: &str) -> String {
    json!({"type": "error", "code": code, "message": message}).to_string()
}

/// Handles one client frame; returns the reply frame, if any.
async fn command(
    domain: &Domain,
    sessions: &Sessions,
    id: u64,
    actor: &Actor,
    frame: &str,
) -> Option<String> {
    let Ok(cmd) = serde_json::from_str::<Command>(frame) else {
        return Some(error_frame(
            "invalid_request",
            "expected a JSON object with a `type`",
        ));
    };
    match cmd.kind.as_str() {
        "pong" => None,
        "ping" => Some(
            serde_json::to_string(&RealtimeEvent::new(EventType::Pong, json!({})))
                .unwrap_or_default(),
        ),
        "subscribe" | "unsubscribe" => {
            let Some(name) = cmd.channel else {
                return Some(error_frame("invalid_request", "`channel` is required"));
            };
            let result = if cmd.kind == "subscribe" {
                domain.authorize_channel(actor, &name).await
            } else {
                Channel::parse(&name)
            };
            match result {
                Ok(Channel::Conversation(c)) if cmd.kind == "subscribe" => {
                    sessions.subscribe(id, c)
                }
                Ok(Channel::Conversation(c)) => sessions.unsubscribe(id, c),
                Ok(Channel::User(_)) => {}
                Err(e) => return Some(app_error(&e)),
            }
            let done = if cmd.kind == "subscribe" {
                "subscribed"
            } else {
                "unsubscribed"
            };
            Some(json!({"type": done, "channel": name}).to_string())
        }
        other => Some(error_frame(
            "invalid_request",
            &format!("unknown command `{other}`"),
        )),
    }
}

fn app_error(e: &AppError) -> String {
    error_frame(e.socket_code(), &e.to_string())
}
