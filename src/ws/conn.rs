//! The plain WebSocket's upgrade and connection, on tokio-tungstenite directly rather
//! than through axum's `WebSocket`, which hides its stream. The stream is needed once a
//! client's message is over the limit: tungstenite refuses it from its frame header,
//! before buffering it, and the session answers 1009; the client is usually still
//! sending the rest. Dropping the connection then would reset it (the client's unread
//! bytes), and a browser or Node's `ws` reports 1006 without the close frame. So the
//! close frame goes out and what the client still sends is read and thrown away, for a
//! bounded time and number of bytes, until it closes its side.

use std::time::Duration;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;
use tokio_tungstenite_server::WebSocketStream;
use tokio_tungstenite_server::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite_server::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite_server::tungstenite::protocol::{Role, WebSocketConfig};

use crate::error::AppError;

pub use tokio_tungstenite_server::tungstenite::{Error, Message};

/// How long, and how many bytes, a refused client is read after the close frame.
const DRAIN_FOR: Duration = Duration::from_secs(2);
const DRAIN_BYTES: u64 = 16 * 1024 * 1024;

/// A request to open a WebSocket (HTTP/1.1 `Upgrade: websocket`, version 13).
pub struct Upgrade {
    key: HeaderValue,
    on_upgrade: OnUpgrade,
}

/// The request was not a WebSocket upgrade.
#[derive(Debug)]
pub struct NotAnUpgrade;

impl IntoResponse for NotAnUpgrade {
    fn into_response(self) -> Response {
        AppError::validation("upgrade", "a WebSocket upgrade is required").into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = NotAnUpgrade;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, NotAnUpgrade> {
        let headers = &parts.headers;
        let valid = parts.version <= Version::HTTP_11
            && parts.method == Method::GET
            && has_token(headers, header::CONNECTION, "upgrade")
            && is(headers, header::UPGRADE, "websocket")
            && is(headers, header::SEC_WEBSOCKET_VERSION, "13");
        let key = headers.get(header::SEC_WEBSOCKET_KEY).cloned();
        let (true, Some(key)) = (valid, key) else {
            return Err(NotAnUpgrade);
        };
        let on_upgrade = parts.extensions.remove::<OnUpgrade>().ok_or(NotAnUpgrade)?;
        Ok(Self { key, on_upgrade })
    }
}

fn is(headers: &HeaderMap, name: HeaderName, value: &str) -> bool {
    headers
        .get(name)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(value.as_bytes()))
}

fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

impl Upgrade {
    /// Answers 101 and runs `session` on the connection once upgraded; a message (and a
    /// frame) over `max_message` bytes is refused before it is buffered.
    pub fn on_upgrade<F, Fut>(
        self,
        tasks: &tokio_util::task::TaskTracker,
        max_message: usize,
        session: F,
    ) -> Response
    where
        F: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let config = WebSocketConfig::default()
            .max_message_size(Some(max_message))
            .max_frame_size(Some(max_message));
        let on_upgrade = self.on_upgrade;
        tasks.spawn(async move {
            let Ok(upgraded) = on_upgrade.await else {
                tracing::debug!("websocket upgrade failed");
                return;
            };
            let inner = WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                Role::Server,
                Some(config),
            )
            .await;
            session(WebSocket { inner }).await;
        });
        let accept = derive_accept_key(self.key.as_bytes());
        Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, HeaderValue::from_static("upgrade"))
            .header(header::UPGRADE, HeaderValue::from_static("websocket"))
            .header(header::SEC_WEBSOCKET_ACCEPT, accept)
            .body(Body::empty())
            .expect("constant headers and a derived key are valid")
    }
}

/// One open plain WebSocket.
pub struct WebSocket {
    inner: WebSocketStream<TokioIo<Upgraded>>,
}

impl WebSocket {
    /// The next message; `None` once the connection ended.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        self.inner.next().await
    }

    pub async fn send(&mut self, message: Message) -> Result<(), Error> {
        self.inner.send(message).await
    }

    /// Sends a close frame and ends the connection.
    pub async fn close(mut self, code: u16, reason: &str) {
        let _ = self.inner.send(close_frame(code, reason)).await;
    }

    /// Sends a close frame to a client that may still be sending a message the session
    /// refused (`recv` gave a capacity error), then reads and discards what it sends
    /// until it closes its side, for at most 2 s and 16 MiB.
    pub async fn close_mid_message(self, code: u16, reason: &str) {
        close_and_drain(
            self.inner,
            close_frame(code, reason),
            DRAIN_FOR,
            DRAIN_BYTES,
        )
        .await
    }
}

/// Whether a read failed because the client's message (or frame) was over the limit.
pub fn too_big(e: &Error) -> bool {
    matches!(e, Error::Capacity(_))
}

fn close_frame(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code: code.into(),
        reason: reason.into(),
    }))
}

/// The close frame, then the client's bytes read and dropped until it ends the
/// connection, `within` runs out or `bytes` were read; then our side is shut.
async fn close_and_drain<S>(
    mut ws: WebSocketStream<S>,
    close: Message,
    within: Duration,
    bytes: u64,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let deadline = Instant::now() + within;
    // A client that reads nothing does not keep the task past the deadline either.
    if !matches!(
        tokio::time::timeout_at(deadline, ws.send(close)).await,
        Ok(Ok(()))
    ) {
        return;
    }
    // What tungstenite had buffered of the refused message goes with it.
    let mut io = ws.into_inner();
    let mut buf = vec![0u8; 16 * 1024];
    let mut left = bytes;
    while left > 0 {
        match tokio::time::timeout_at(deadline, io.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => left = left.saturating_sub(n as u64),
            // The client closed (or broke) its side, or time ran out.
            _ => break,
        }
    }
    let _ = tokio::time::timeout_at(deadline, io.shutdown()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::io::DuplexStream;

    async fn pair(max: usize) -> (WebSocketStream<DuplexStream>, WebSocketStream<DuplexStream>) {
        let (server, client) = tokio::io::duplex(64 * 1024);
        let config = WebSocketConfig::default()
            .max_message_size(Some(max))
            .max_frame_size(Some(max));
        (
            WebSocketStream::from_raw_socket(server, Role::Server, Some(config)).await,
            WebSocketStream::from_raw_socket(client, Role::Client, None).await,
        )
    }

    /// A client sending a message far over the limit gets to send all of it and then
    /// reads the close frame.
    #[tokio::test]
    async fn a_client_still_sending_receives_the_close_frame() {
        let (mut server, mut client) = pair(1024).await;
        let big = Message::text("x".repeat(1024 * 1024));
        let client = tokio::spawn(async move {
            client.send(big).await.expect("the whole message goes out");
            client.next().await
        });
        let e = server.next().await.unwrap().unwrap_err();
        assert!(too_big(&e), "{e}");
        close_and_drain(
            server,
            close_frame(1009, "message too big"),
            DRAIN_FOR,
            DRAIN_BYTES,
        )
        .await;
        match client.await.unwrap() {
            Some(Ok(Message::Close(Some(f)))) => {
                assert_eq!(u16::from(f.code), 1009);
                assert_eq!(f.reason.as_str(), "message too big");
            }
            other => panic!("expected the close frame, got {other:?}"),
        }
    }

    /// A client that never stops sending is read for a bounded number of bytes only.
    #[tokio::test]
    async fn the_drain_is_bounded() {
        let (server, client) = tokio::io::duplex(64 * 1024);
        let server = WebSocketStream::from_raw_socket(server, Role::Server, None).await;
        let (mut rx, mut tx) = tokio::io::split(client);
        tokio::spawn(async move {
            let mut sink = vec![0u8; 1024];
            while rx.read(&mut sink).await.is_ok_and(|n| n > 0) {}
        });
        let endless = tokio::spawn(async move {
            let chunk = vec![0u8; 16 * 1024];
            while tx.write_all(&chunk).await.is_ok() {}
        });
        let started = Instant::now();
        close_and_drain(
            server,
            close_frame(1009, "x"),
            Duration::from_secs(30),
            1024 * 1024,
        )
        .await;
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "bounded by bytes"
        );
        endless.abort();
    }
}
