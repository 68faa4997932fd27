//! PATCH (switchboard): what the Socket.IO protocol test suite (Switchboard's
//! `scripts/protocol-suite`) relies on, as the reference server behaves:
//! - the first ping goes out one ping interval after the handshake, on polling and on
//!   WebSocket: a poll pending when the client closes gets the NOOP (`6`), and the first
//!   message after a WebSocket handshake answers the client's packet;
//! - a poll sent with the client's close packet gets the NOOP even when the close is
//!   handled first (each request has a task of its own), and the session is gone after.
//! - a poll sent after the client's upgrade packet is refused even when the upgrade's
//!   task has not read that packet yet.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use engineioxide::{
    Str,
    handler::EngineIoHandler,
    socket::{DisconnectReason, Socket},
};
use futures_util::{SinkExt, StreamExt};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

mod fixture;
use fixture::{
    create_polling_connection, create_server, create_ws_connection, create_ws_upgrade_connection,
    send_req_raw,
};

/// The fixture's ping interval.
const PING_INTERVAL: Duration = Duration::from_millis(300);

#[derive(Debug)]
struct Handler;

impl EngineIoHandler for Handler {
    type Data = ();
    fn on_connect(self: Arc<Self>, _: Arc<Socket<()>>) {}
    fn on_disconnect(&self, _: Arc<Socket<()>>, _: DisconnectReason) {}
    fn on_message(self: &Arc<Self>, _: Str, _: Arc<Socket<()>>) {}
    fn on_binary(self: &Arc<Self>, _: Bytes, _: Arc<Socket<()>>) {}
}

#[tokio::test]
async fn polling_first_ping_after_the_interval() {
    let mut svc = create_server(Handler).await;
    let started = Instant::now();
    let sid = create_polling_connection(&mut svc).await;

    let poll = send_req_raw(
        &mut svc,
        format!("transport=polling&sid={sid}"),
        http::Method::GET,
        None,
    );
    let body = tokio::time::timeout(Duration::from_secs(2), poll)
        .await
        .expect("the first ping should come");
    assert_eq!(body, "2");
    assert!(
        started.elapsed() >= PING_INTERVAL,
        "the first ping came after {:?}, before the interval",
        started.elapsed()
    );
}

/// The suite's "should forcefully close the session" (HTTP long-polling).
#[tokio::test]
async fn polling_close_answers_the_pending_poll_with_a_noop() {
    let mut svc = create_server(Handler).await;
    let sid = create_polling_connection(&mut svc).await;

    let poll = tokio::spawn(send_req_raw(
        &mut svc,
        format!("transport=polling&sid={sid}"),
        http::Method::GET,
        None,
    ));
    // The poll is pending (it holds the session's receiver) when the close arrives.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let ok = send_req_raw(
        &mut svc,
        format!("transport=polling&sid={sid}"),
        http::Method::POST,
        Some("1".into()),
    )
    .await;
    assert_eq!(ok, "ok");

    let body = tokio::time::timeout(Duration::from_secs(1), poll)
        .await
        .expect("the pending poll should be answered")
        .unwrap();
    assert_eq!(body, "6");
}

#[tokio::test]
async fn websocket_first_ping_after_the_interval() {
    let mut svc = create_server(Handler).await;
    let mut ws = create_ws_connection(&mut svc).await;
    let started = Instant::now();

    let open = ws.next().await.unwrap().unwrap();
    assert!(open.to_text().unwrap().starts_with('0'), "{open:?}");
    let ping = tokio::time::timeout(Duration::from_secs(2), ws.next())
        .await
        .expect("the first ping should come")
        .unwrap()
        .unwrap();
    assert_eq!(ping, Message::text("2"));
    assert!(
        started.elapsed() >= PING_INTERVAL,
        "the first ping came after {:?}, before the interval",
        started.elapsed()
    );
}

/// The suite's "should forcefully close the session" when its close request is handled
/// before its poll.
#[tokio::test]
async fn polling_close_handled_before_its_poll_still_answers_it_with_a_noop() {
    let mut svc = create_server(Handler).await;
    let sid = create_polling_connection(&mut svc).await;
    let params = format!("transport=polling&sid={sid}");

    let close = tokio::spawn(send_req_raw(
        &mut svc,
        params.clone(),
        http::Method::POST,
        Some("1".into()),
    ));
    tokio::time::sleep(Duration::from_millis(20)).await;
    let poll = send_req_raw(&mut svc, params.clone(), http::Method::GET, None);
    let body = tokio::time::timeout(Duration::from_secs(1), poll)
        .await
        .expect("the poll should be answered");
    assert_eq!(body, "6");
    assert_eq!(close.await.unwrap(), "ok");

    let after = send_req_raw(&mut svc, params, http::Method::GET, None).await;
    assert!(after.contains("Session ID unknown"), "{after}");
}

/// Without a poll, the session closed by the client ends all the same.
#[tokio::test]
async fn polling_close_without_a_poll_ends_the_session() {
    let mut svc = create_server(Handler).await;
    let sid = create_polling_connection(&mut svc).await;
    let params = format!("transport=polling&sid={sid}");

    let ok = send_req_raw(
        &mut svc,
        params.clone(),
        http::Method::POST,
        Some("1".into()),
    )
    .await;
    assert_eq!(ok, "ok");
    let after = send_req_raw(&mut svc, params, http::Method::GET, None).await;
    assert!(after.contains("Session ID unknown"), "{after}");
}

/// The suite's "should ignore HTTP requests with same sid after upgrade": the client sends
/// `2probe` and `5` on the WebSocket, then polls at once.
#[tokio::test]
async fn a_poll_sent_after_the_upgrade_packet_is_refused() {
    let mut svc = create_server(Handler).await;
    let sid = create_polling_connection(&mut svc).await;
    let mut ws = create_ws_upgrade_connection(&mut svc, sid.parse().unwrap()).await;
    // The upgrade has started and waits for the probe.
    tokio::time::sleep(Duration::from_millis(20)).await;

    ws.send(Message::text("2probe")).await.unwrap();
    ws.send(Message::text("5")).await.unwrap();
    let poll = send_req_raw(
        &mut svc,
        format!("transport=polling&sid={sid}"),
        http::Method::GET,
        None,
    )
    .await;
    assert!(
        poll.contains("\"code\":\"3\""),
        "the poll should be refused: {poll}"
    );
}
