//! One plain-WebSocket connection: outbound events, server pings and the pong
//! deadline, and the client commands `ping`, `pong`, `subscribe`, `unsubscribe` and
//! `call_signal` (both dialects take them; each renders its own replies).

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;
use uuid::Uuid;

use super::conn::{Message, WebSocket, too_big};
use super::{Dialect, KillReason, Sessions, legacy};
use crate::connection::Admission;
use crate::domain::access::subscriptions::Channel;
use crate::domain::calls::SignalInput;
use crate::domain::events::{Empty, Hello, Payload};
use crate::domain::presence::Platform;
use crate::domain::{Actor, Services};
use crate::error::AppError;
use crate::realtime::{Offset, RealtimeEvent};

/// Close codes used on the plain WebSocket.
pub const POLICY_VIOLATION: u16 = 1008;
pub const INTERNAL_ERROR: u16 = 1011;
const GOING_AWAY: u16 = 1001;
const TRY_AGAIN_LATER: u16 = 1013;
/// RFC 6455 §7.4.1 (IANA registry): the server is restarting; reconnect.
const SERVICE_RESTART: u16 = 1012;
const MESSAGE_TOO_BIG: u16 = 1009;

/// The first frame on `/ws` (004's documented output).
const ESTABLISHED: &str = "\"Websocket Connection Established\"";

#[derive(Clone, Copy)]
pub struct Timing {
    pub ping_interval: Duration,
    pub pong_timeout: Duration,
    /// Commands a session may send per second (`RATE_LIMIT_EVENTS_PER_SECOND`).
    pub events_per_second: u32,
}

/// What a session was opened as: its dialect, the client's platform, and (resume)
/// the offset of the last event the client received.
pub struct Opening {
    pub dialect: Dialect,
    pub platform: Platform,
    pub since: Option<Offset>,
}

/// Sends a close frame and ends the connection.
pub async fn close(socket: WebSocket, code: u16, reason: &str) {
    socket.close(code, reason).await
}

/// A client command: `{"type": "subscribe", "channel": "conversation:<id>"}`, or 001's
/// `{"type": "subscribe", "data": {"channel": …}}`.
/// Refuses a session: on `/ws`, 001's `error` frame (`unauthorized`, or
/// `internal_error` for a setup failure) comes before the close frame.
pub async fn refuse(mut socket: WebSocket, dialect: Dialect, code: u16, reason: &str) {
    if dialect == Dialect::Legacy {
        let name = if code == POLICY_VIOLATION {
            "unauthorized"
        } else {
            "internal_error"
        };
        let frame = legacy::error_frame(name, reason).to_string();
        let _ = socket.send(Message::Text(frame.into())).await;
    }
    close(socket, code, reason).await
}

#[derive(Deserialize)]
struct Command {
    #[serde(rename = "type")]
    kind: String,
    channel: Option<String>,
    data: Option<CommandData>,
    /// `call_signal`: the call, the member it is for, and the WebRTC message.
    call_id: Option<Uuid>,
    to_user_id: Option<Uuid>,
    signal: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct CommandData {
    channel: Option<String>,
}

/// What a command asks the session to answer.
enum Reply {
    Pong,
    /// A `call_signal` was relayed.
    SignalSent {
        call_id: Uuid,
    },
    Subscription {
        done: &'static str,
        channel: String,
    },
    Failed {
        error: AppError,
        subscribing: bool,
    },
}

pub async fn run(
    mut socket: WebSocket,
    domain: Services,
    sessions: Arc<Sessions>,
    actor: Actor,
    opening: Opening,
    timing: Timing,
) {
    let Opening {
        dialect,
        platform,
        since,
    } = opening;
    let _open = crate::telemetry::metrics::Connected::new(match dialect {
        Dialect::Envelope => "websocket",
        Dialect::Legacy => "legacy_ws",
    });
    // Where this node stands before the session joins; what it is owed is read after.
    let head = domain.event_log().head();
    let reg = sessions.add(actor.user_id, dialect);
    // Visible to revocations from here on: the user is checked once more, so a
    // deactivation that committed while the upgrade ran (its revocation delivered
    // before this session was registered) is not missed.
    if let Err(AppError::Unauthorized(_) | AppError::UserInactive) =
        domain.accounts().recheck(&actor).await
    {
        sessions.remove(reg.id);
        return refuse(socket, dialect, POLICY_VIOLATION, "session revoked").await;
    }
    let catch_up = domain
        .event_log()
        .catch_up(actor.user_id, since.as_ref(), head)
        .await;
    metrics::counter!(crate::telemetry::metrics::CATCH_UPS, "transport" => "websocket",
        "recovered" => if catch_up.recovered { "true" } else { "false" })
    .increment(1);
    let conn_id = format!("ws:{}", Uuid::now_v7());
    domain
        .presence()
        .connection_opened(actor.user_id, &conn_id, platform)
        .await;
    let mut frames = reg.frames;
    if dialect == Dialect::Envelope {
        // `recovered`: the events since `?since=` follow, complete; otherwise the
        // client fetches its state again. `offset` is where it stands after them.
        let offset = catch_up.offset();
        let hello = RealtimeEvent::new(Payload::Connected(Hello {
            user_id: actor.user_id,
            platform,
            session_id: conn_id.clone(),
            recovered: catch_up.recovered,
            offset: offset.as_ref().map(ToString::to_string),
            epoch: offset.as_ref().map(|o| o.epoch.to_string()),
        }))
        .actor(actor.user_id);
        if let Some(hello) = text(&hello) {
            let _ = socket.send(hello).await;
        }
    } else {
        // 004: "Output (200): "Websocket Connection Established"": sent as a JSON
        // string, so clients that parse every frame still can. Then UPDATE_STATUS:
        // this dialect cannot resume, so a client that comes back refreshes.
        let _ = socket.send(Message::Text(ESTABLISHED.into())).await;
        let refresh = super::legacy::connected(actor.user_id).to_string();
        let _ = socket.send(Message::Text(refresh.into())).await;
    }
    // The replay goes straight to the socket, at the pace the client reads it (a
    // client that does not read within the pong timeout is let go).
    let mut replayed = None;
    for d in &catch_up.deliveries {
        let Some(pos) = d.offset.as_ref().map(|o| o.pos) else {
            continue;
        };
        for frame in super::frames_of(dialect, d).iter() {
            let sent = tokio::time::timeout(
                timing.pong_timeout,
                socket.send(Message::Text(frame.as_ref().into())),
            )
            .await;
            if !matches!(sent, Ok(Ok(()))) {
                tracing::debug!(user_id = %actor.user_id, "websocket session ended during its replay");
                sessions.remove(reg.id);
                domain
                    .presence()
                    .connection_closed(actor.user_id, &conn_id)
                    .await;
                return;
            }
        }
        replayed = Some(pos);
    }
    sessions.open(reg.id, replayed);
    let mut ticker =
        tokio::time::interval_at(Instant::now() + timing.ping_interval, timing.ping_interval);
    let mut last_heard = Instant::now();
    let pace = crate::realtime::pace::per_connection(timing.events_per_second);
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
                Some(Ok(Message::Text(_))) if pace.check().is_err() => {
                    last_heard = Instant::now();
                    let reply = Reply::Failed { error: AppError::RateLimited(Some(1)), subscribing: false };
                    if socket.send(Message::Text(render(dialect, reply).into())).await.is_err() {
                        break ("send failed", None);
                    }
                }
                Some(Ok(Message::Text(t))) => {
                    last_heard = Instant::now();
                    // The user checked again and counted against their event rate
                    // (connection core): a deactivated one is cut off.
                    let reply = match crate::connection::admit(&domain, &actor).await {
                        Admission::Revoked(_) => {
                            break ("session revoked", Some((POLICY_VIOLATION, "session revoked")));
                        }
                        Admission::Refused(error) => Some(Reply::Failed { error, subscribing: false }),
                        Admission::Admitted(actor) => command(&domain, &actor, t.as_str()).await,
                    };
                    if let Some(reply) = reply
                        && socket.send(Message::Text(render(dialect, reply).into())).await.is_err()
                    {
                        break ("send failed", None);
                    }
                }
                Some(Err(e)) if too_big(&e) => break ("message too big", Some((MESSAGE_TOO_BIG, "message too big"))),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break ("closed by client", None),
                Some(Ok(Message::Binary(_))) => {
                    last_heard = Instant::now();
                    let reply = Reply::Failed {
                        error: AppError::validation("frame", "binary frames are not accepted; send JSON text"),
                        subscribing: false,
                    };
                    if socket.send(Message::Text(render(dialect, reply).into())).await.is_err() {
                        break ("send failed", None);
                    }
                }
                Some(Ok(_)) => last_heard = Instant::now(),
            },
            _ = ticker.tick() => {
                if last_heard.elapsed() > timing.pong_timeout {
                    break ("pong timeout", Some((GOING_AWAY, "pong timeout")));
                }
                let ping = match dialect {
                    Dialect::Envelope => text(&RealtimeEvent::new(Payload::Ping(Empty {}))),
                    Dialect::Legacy => Some(Message::Ping(Vec::new().into())),
                };
                if let Some(ping) = ping && socket.send(ping).await.is_err() {
                    break ("send failed", None);
                }
            }
            why = reg.kill.fired() => break match why {
                KillReason::TooSlow => ("too slow", Some((TRY_AGAIN_LATER, "too slow to keep up"))),
                KillReason::Restart => ("server draining", Some((SERVICE_RESTART, "server restarting; reconnect"))),
                KillReason::Revoked => ("session revoked", Some((POLICY_VIOLATION, "session revoked"))),
            },
        }
    };
    tracing::debug!(user_id = %actor.user_id, reason, "websocket session ended");
    sessions.remove(reg.id);
    match close_with {
        // A revoked session is refused like a bad token (001: `unauthorized` first).
        Some((POLICY_VIOLATION, why)) => refuse(socket, dialect, POLICY_VIOLATION, why).await,
        // The client is likely still sending the refused message: it is read (and
        // dropped) until the client took the close frame, instead of a reset (1006).
        Some((MESSAGE_TOO_BIG, why)) => socket.close_mid_message(MESSAGE_TOO_BIG, why).await,
        Some((code, why)) => close(socket, code, why).await,
        None => {}
    }
    domain
        .presence()
        .connection_closed(actor.user_id, &conn_id)
        .await;
}

/// The envelope as a text message; `None` (logged by `encode`) when it cannot be
/// serialised, and then nothing is sent.
fn text(event: &RealtimeEvent) -> Option<Message> {
    super::envelope::encode(event).map(|frame| Message::Text(frame.as_ref().into()))
}

/// A command's reply in the session's dialect.
fn render(dialect: Dialect, reply: Reply) -> String {
    match (dialect, reply) {
        (Dialect::Envelope, Reply::Pong) => {
            super::envelope::encode(&RealtimeEvent::new(Payload::Pong(Empty {})))
                .map_or_else(String::new, |f| f.to_string())
        }
        (Dialect::Envelope, Reply::Subscription { done, channel }) => {
            json!({"type": done, "channel": channel}).to_string()
        }
        (Dialect::Envelope, Reply::Failed { error, .. }) => {
            json!({"type": "error", "code": error.socket_code(), "message": error.to_string()})
                .to_string()
        }
        (_, Reply::SignalSent { call_id }) => {
            json!({"type": "call_signal_sent", "call_id": call_id}).to_string()
        }
        (Dialect::Legacy, Reply::Pong) => legacy::pong().to_string(),
        (Dialect::Legacy, Reply::Subscription { done, channel }) => {
            legacy::subscription(done, &channel).to_string()
        }
        (Dialect::Legacy, Reply::Failed { error, subscribing }) => {
            legacy::error(&error, subscribing).to_string()
        }
    }
}

/// Handles one client frame; returns what to answer, if anything.
async fn command(domain: &Services, actor: &Actor, frame: &str) -> Option<Reply> {
    let invalid = |m: &str| Reply::Failed {
        error: AppError::validation("type", m),
        subscribing: false,
    };
    let Ok(cmd) = serde_json::from_str::<Command>(frame) else {
        return Some(invalid("expected a JSON object with a `type`"));
    };
    let known = ["ping", "pong", "subscribe", "unsubscribe", "call_signal"];
    let label = known
        .into_iter()
        .find(|k| *k == cmd.kind)
        .unwrap_or("other");
    crate::telemetry::metrics::event_in("websocket", label);
    match cmd.kind.as_str() {
        "pong" => None,
        "ping" => Some(Reply::Pong),
        "subscribe" | "unsubscribe" => {
            let subscribing = cmd.kind == "subscribe";
            let Some(name) = cmd.channel.or(cmd.data.and_then(|d| d.channel)) else {
                return Some(Reply::Failed {
                    error: AppError::validation("channel", "is required"),
                    subscribing,
                });
            };
            let result = if subscribing {
                domain.access().authorize_channel(actor, &name).await
            } else {
                Channel::parse(&name)
            };
            if let Err(error) = result {
                return Some(Reply::Failed { error, subscribing });
            }
            let done = if subscribing {
                "subscribed"
            } else {
                "unsubscribed"
            };
            Some(Reply::Subscription {
                done,
                channel: name,
            })
        }
        "call_signal" => {
            let (Some(call_id), Some(to_user_id), Some(signal)) =
                (cmd.call_id, cmd.to_user_id, cmd.signal)
            else {
                return Some(Reply::Failed {
                    error: AppError::validation(
                        "call_signal",
                        "needs call_id, to_user_id and signal",
                    ),
                    subscribing: false,
                });
            };
            let input = SignalInput {
                call_id,
                to_user_id,
                signal,
            };
            Some(match domain.calls().relay_signal(actor, input).await {
                Ok(()) => Reply::SignalSent { call_id },
                Err(error) => Reply::Failed {
                    error,
                    subscribing: false,
                },
            })
        }
        other => Some(invalid(&format!("unknown command `{other}`"))),
    }
}
