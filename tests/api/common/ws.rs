//! Plain-WebSocket helpers: open an upgrade, get a ticket and a RealtimeEvent
//! stream, read the next JSON frame (of a type), read until the close frame.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::{Session, TestServer};

const WAIT: Duration = Duration::from_secs(15);

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn open(s: &TestServer, path_and_query: &str) -> Ws {
    let url = format!("ws://{}{}", s.addr, path_and_query);
    tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket upgrade")
        .0
}

pub async fn ticket(s: &TestServer, who: &Session) -> String {
    let (st, t) = s
        .post("/api/v1/auth/ws-ticket", Some(&who.access), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{t}");
    assert_eq!(t["expires_in"], 60);
    let ticket = t["ticket"].as_str().unwrap().to_string();
    assert_eq!(ticket.len(), 43, "32 random bytes, URL-safe base64");
    ticket
}

pub async fn stream(s: &TestServer, who: &Session) -> Ws {
    let t = ticket(s, who).await;
    let mut ws = open(s, &format!("/api/v1/ws?ticket={t}&platform=web")).await;
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "connected");
    assert_eq!(hello["payload"]["user_id"], who.user_id.as_str());
    ws
}

/// The next JSON text frame, skipping server pings.
pub async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("ok");
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["type"] != "ping" {
                return v;
            }
        }
    }
}

/// The next frame of this `type`.
pub async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let v = next_json(ws).await;
        if v["type"] == kind || v["message_type"] == kind {
            return v;
        }
    }
}

/// Reads until the server closes; returns the close code and reason.
pub async fn closed(ws: &mut Ws) -> (u16, String) {
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Close(Some(f)))) => return (u16::from(f.code), f.reason.to_string()),
            Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return (0, String::new()),
            Some(Ok(_)) => continue,
        }
    }
}

/// A raw Socket.IO WebSocket connection asking to connect to `/` with `token` (and,
/// with `connected`, once the server said it is, with the CONNECT answer's payload;
/// `Null` otherwise); `rcvbuf` shrinks the client's TCP receive buffer (a slow reader
/// fills the server's queue sooner).
pub async fn raw_socket(
    s: &TestServer,
    token: &str,
    rcvbuf: Option<u32>,
    connected: bool,
) -> (Ws, Value) {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    if let Some(n) = rcvbuf {
        sock.set_recv_buffer_size(n).unwrap();
    }
    let tcp = sock.connect(s.addr).await.unwrap();
    let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", s.addr);
    let (mut ws, _) =
        tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(tcp))
            .await
            .unwrap();
    ws.next().await.unwrap().unwrap();
    ws.send(Message::text(format!("40{}", json!({"token": token}))))
        .await
        .unwrap();
    let mut answer = Value::Null;
    if connected {
        loop {
            let m = ws.next().await.unwrap().unwrap();
            if let Some(body) = m.to_text().unwrap_or_default().strip_prefix("40") {
                answer = serde_json::from_str(body).unwrap_or(Value::Null);
                break;
            }
        }
    }
    (ws, answer)
}
