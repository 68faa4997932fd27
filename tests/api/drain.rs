//! SIGTERM drains: while clients send messages with acks, the server stops taking
//! connections, closes plain WebSockets with 1012 (reconnect elsewhere) and Socket.IO
//! transports, lets the message writer store what it holds, and exits in time; every
//! message a client got an ack for is there when a server starts again on the same
//! database.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::json;
use switchboard_tools::client::SioClient;
use tokio_tungstenite::tungstenite::Message;

use crate::common::TestServer;
use crate::common::process::Child;
use crate::common::ws::{next_json, open, ticket};

/// Sends numbered messages with acks until the connection goes; returns the
/// `client_msg_id`s that were acknowledged.
async fn sender(client: SioClient, chat: String, name: String) -> Vec<String> {
    let mut acked = Vec::new();
    for i in 0.. {
        let id = format!("{name}-{i}");
        let ack = client
            .emit_with_ack(
                "create_message",
                &json!({"chat_id": chat, "message": format!("text {id}"), "client_msg_id": id}),
                Duration::from_secs(5),
            )
            .await;
        match ack {
            Ok(a) if a["status"] == "ok" => acked.push(id),
            _ => break,
        }
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_loses_nothing_acknowledged() {
    let (database_url, _file) = crate::common::fresh_database().await;
    let vars = vec![("DRAIN_TIMEOUT_SECONDS".to_string(), "10".to_string())];
    let mut first = Child::start(&database_url, &vars).await;
    let s = TestServer::attach(first.addr, &database_url);
    let ann = s.signup("ann@drain.test").await;
    let bob = s.add_member(&ann, "bob@drain.test").await;
    let chat = s.direct_chat(&ann, &bob).await;

    let t = ticket(&s, &bob).await;
    let mut bob_ws = open(&s, &format!("/api/v1/ws?ticket={t}")).await;
    assert_eq!(next_json(&mut bob_ws).await["type"], "connected");

    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut senders = Vec::new();
    for k in 0..4 {
        let client = SioClient::connect(&s.base, Some(json!({"token": ann.access})), "")
            .await
            .unwrap();
        let (chat, acked) = (chat.clone(), acked.clone());
        senders.push(tokio::spawn(async move {
            let mine = sender(client, chat, format!("s{k}")).await;
            acked.lock().unwrap().extend(mine);
        }));
    }
    // Let messages flow, then SIGTERM with acks in flight.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let asked = Instant::now();
    first.terminate();

    // Bob's plain WebSocket is told to reconnect elsewhere.
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(10), bob_ws.next()).await {
            Ok(Some(Ok(Message::Close(c)))) => break c,
            Ok(Some(Ok(_))) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(
        close.map(|c| u16::from(c.code)),
        Some(1012),
        "service restart"
    );
    for sender in senders {
        sender.await.unwrap();
    }
    let status = first
        .exited(Duration::from_secs(25))
        .await
        .expect("the server exits within the drain timeout");
    assert!(status.success(), "{status:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(22),
        "{:?}",
        asked.elapsed()
    );
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 10,
        "messages flowed before the drain: {}",
        acked.len()
    );

    // A server on the same database has every acknowledged message: resending its
    // client_msg_id finds it stored (200), never stores it anew (201).
    let second = Child::start(&database_url, &vars).await;
    let s = TestServer::attach(second.addr, &database_url);
    let ann = s.login("ann@drain.test", "correct horse battery").await;
    for id in &acked {
        let (st, m) = s
            .post(
                "/api/v1/chat/messages/send",
                Some(&ann.access),
                json!({"conversation_id": chat, "content": format!("text {id}"), "client_msg_id": id}),
            )
            .await;
        assert_eq!(
            st,
            StatusCode::OK,
            "{id} was acknowledged but not stored: {m}"
        );
    }
}
