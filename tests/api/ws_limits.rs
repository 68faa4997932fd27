//! The plain WebSocket's size limit as a client sees it: a message far over
//! `WS_MAX_MESSAGE_BYTES` (4 MB against the default 256 KiB) is answered with the close
//! frame 1009 "message too big", which the client receives while it is still sending.
//! The server reads and discards the rest of what the client sends (bounded in time and
//! bytes) until the client took the close frame; a connection dropped at once was reset,
//! and the client saw 1006 (no close frame) instead.
//!
//! The client's socket send buffer is kept small, as on a real network, where most of a
//! 4 MB message is still on the client's side when the server has read its header (on
//! loopback the kernel would otherwise take all of it at once).

use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::common::ws::{Ws, closed, ticket};
use crate::common::{Session, TestServer};

/// The client's socket send buffer.
const SNDBUF: u32 = 64 * 1024;

/// A JSON text message of about 4 MB, in one frame.
fn four_mb() -> Message {
    Message::text(format!(
        r#"{{"type":"ping","pad":"{}"}}"#,
        "x".repeat(4 * 1024 * 1024)
    ))
}

/// Opens `path_and_query` from a socket with a small send buffer.
async fn open_small(s: &TestServer, path_and_query: &str) -> Ws {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_send_buffer_size(SNDBUF).unwrap();
    let tcp = sock.connect(s.addr).await.unwrap();
    let url = format!("ws://{}{}", s.addr, path_and_query);
    tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(tcp))
        .await
        .expect("websocket upgrade")
        .0
}

/// `/api/v1/ws`, once its `connected` frame arrived.
async fn realtime(s: &TestServer, who: &Session) -> Ws {
    let t = ticket(s, who).await;
    let mut ws = open_small(s, &format!("/api/v1/ws?ticket={t}&platform=web")).await;
    let hello = ws.next().await.unwrap().unwrap();
    assert!(
        hello.to_text().unwrap().contains("\"connected\""),
        "{hello}"
    );
    ws
}

/// Sends the 4 MB message, then reads until the close frame: its code and reason. A
/// send that fails (the server reset the connection under it) ends there, as in a
/// browser or Node's `ws`, which then report 1006 and never read the close frame.
async fn send_then_close(ws: &mut Ws) -> (u16, String) {
    match ws.send(four_mb()).await {
        Ok(()) => closed(ws).await,
        Err(e) => (1006, format!("the send failed: {e}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4_mb_text_frame_on_the_realtime_stream_closes_with_1009() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let mut ws = realtime(&s, &ann).await;

    let close = send_then_close(&mut ws).await;
    assert_eq!(close, (1009, "message too big".into()));
    // The session is gone, the server is not: a new one opens.
    drop(ws);
    realtime(&s, &ann).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4_mb_text_frame_on_the_legacy_stream_closes_with_1009() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let mut ws = open_small(&s, &format!("/ws?token={}", ann.access)).await;

    let close = send_then_close(&mut ws).await;
    assert_eq!(close, (1009, "message too big".into()));
}
