//! A participant removed from a conversation stops hearing it at once, on every node
//! and every dialect, however they subscribed: Bob, on node B, listens on Socket.IO,
//! `/api/v1/ws` and `/ws`, each also subscribed to the conversation's channel; an
//! admin on node A removes him; what is said and edited afterwards reaches Cat (on
//! node B too, the proof that it crossed) and nothing of Bob's.

use std::time::Duration;

use futures::SinkExt;
use serde_json::{Value, json};
use switchboard_tools::client::SioClient;
use tokio_tungstenite::tungstenite::Message;

use crate::common::TestServer;
use crate::common::ws::{Ws, next_json, open, ticket};

const WAIT: Duration = Duration::from_secs(15);

/// Every frame before the answer to a `ping` (the session handles its commands and
/// its deliveries in order, so anything already delivered comes first).
async fn frames_before_pong(ws: &mut Ws) -> Vec<Value> {
    ws.send(Message::text(r#"{"type":"ping","data":{}}"#))
        .await
        .unwrap();
    let mut seen = Vec::new();
    loop {
        let frame = next_json(ws).await;
        if frame["type"] == "pong" {
            return seen;
        }
        seen.push(frame);
    }
}

async fn subscribe_ws(ws: &mut Ws, channel: &str) {
    ws.send(Message::text(
        json!({"type": "subscribe", "data": {"channel": channel}}).to_string(),
    ))
    .await
    .unwrap();
    loop {
        let frame = next_json(ws).await;
        if frame["type"] == "subscribed" {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_participant_hears_nothing_more_on_any_node_or_dialect() {
    let (a, b) = TestServer::two_nodes().await;
    let ann = a.signup("ann@removed.test").await;
    let bob = a.add_member(&ann, "bob@removed.test").await;
    let cat = a.add_member(&ann, "cat@removed.test").await;
    let (st, conv) = a
        .post(
            "/api/v1/chat/conversations",
            Some(&ann.access),
            json!({"type": "group", "title": "team", "participant_ids": [bob.user_id, cat.user_id]}),
        )
        .await;
    assert!(st.is_success(), "{conv}");
    let gid = conv["id"].as_str().unwrap().to_string();
    let channel = format!("conversation:{gid}");

    let mut bob_sio = SioClient::connect(&b.base, Some(json!({"token": bob.access})), "")
        .await
        .unwrap();
    let ok = bob_sio
        .emit_with_ack("subscribe", &json!({"channel": channel}), WAIT)
        .await
        .unwrap();
    assert_eq!(ok["status"], "ok", "{ok}");
    let t = ticket(&b, &bob).await;
    let mut bob_stream = open(&b, &format!("/api/v1/ws?ticket={t}")).await;
    subscribe_ws(&mut bob_stream, &channel).await;
    let mut bob_legacy = open(&b, &format!("/ws?token={}", bob.access)).await;
    subscribe_ws(&mut bob_legacy, &channel).await;
    let mut cat_sio = SioClient::connect(&b.base, Some(json!({"token": cat.access})), "")
        .await
        .unwrap();

    // Still a member: Bob hears it everywhere.
    let before = a.say(&ann, &gid, "before").await;
    assert_eq!(
        cat_sio.expect("response_message", WAIT).await.unwrap()["content"],
        "before"
    );
    let said = |frames: &[Value], text: &str| frames.iter().any(|f| f.to_string().contains(text));
    let got = bob_sio
        .before_barrier("response_message", WAIT)
        .await
        .unwrap();
    assert!(said(&got, "before"), "{got:?}");
    assert!(said(&frames_before_pong(&mut bob_stream).await, "before"));
    assert!(said(&frames_before_pong(&mut bob_legacy).await, "before"));

    let (st, v) = a
        .call(
            reqwest::Method::DELETE,
            &format!(
                "/api/v1/chat/conversations/{gid}/participants/{}",
                bob.user_id
            ),
            Some(&ann.access),
            None,
        )
        .await;
    assert!(st.is_success(), "{st} {v}");

    a.say(&ann, &gid, "secret after").await;
    let (st, v) = a
        .patch(
            &format!("/api/v1/chat/messages/{}", before["id"].as_str().unwrap()),
            &ann.access,
            json!({"content": "edited secret"}),
        )
        .await;
    assert!(st.is_success(), "{st} {v}");
    // Cat, on Bob's node, has both: the events reached that node.
    let mut cat_saw = Vec::new();
    while cat_saw.len() < 2 {
        let (name, data) = cat_sio.next_event(WAIT).await.unwrap();
        if name == "response_message" || name == "message_updated" {
            cat_saw.push(data.to_string());
        }
    }
    assert!(
        cat_saw.iter().any(|s| s.contains("edited secret")),
        "{cat_saw:?}"
    );

    let on_sio: Vec<Value> = bob_sio
        .before_barrier("response_message", WAIT)
        .await
        .unwrap();
    assert!(!said(&on_sio, "secret"), "Socket.IO: {on_sio:?}");
    let mut edits = Vec::new();
    while let Ok((name, data)) = bob_sio.next_event(Duration::from_millis(1)).await {
        edits.push(format!("{name} {data}"));
    }
    assert!(!edits.iter().any(|e| e.contains("secret")), "{edits:?}");
    let on_stream = frames_before_pong(&mut bob_stream).await;
    assert!(!said(&on_stream, "secret"), "/api/v1/ws: {on_stream:?}");
    let on_legacy = frames_before_pong(&mut bob_legacy).await;
    assert!(!said(&on_legacy, "secret"), "/ws: {on_legacy:?}");

    // Subscribing again is refused: he is no longer a member.
    let again = bob_sio
        .emit_with_ack("subscribe", &json!({"channel": channel}), WAIT)
        .await
        .unwrap();
    assert_ne!(again["status"], "ok", "{again}");
}
