//! Documents 001 and 004: one WebSocket service at `/ws?token=<jwt>`, played as their
//! clients would with a plain WebSocket: 001's commands, replies, error codes and
//! `{type, data}` events; 004's `message_type` frames with its enum spelling and dates.

use crate::common::ws::{Ws, closed, next_json, open};
use crate::common::{Session, TestServer};
use futures::SinkExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

async fn send(ws: &mut Ws, frame: Value) {
    ws.send(Message::text(frame.to_string())).await.unwrap();
}

/// The next frame whose 001 `type` or 004 `message_type` is `kind`.
async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let v = next_json(ws).await;
        if v["type"] == kind || v["message_type"] == kind {
            return v;
        }
    }
}

/// 004's date format: `2024-09-09 14:06:11.251848`.
fn is_004_date(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").is_ok()
        && s.len() == "2024-09-09 14:06:11.251848".len()
}

async fn group(s: &TestServer, owner: &Session, members: &[&Session]) -> String {
    let ids: Vec<&str> = members.iter().map(|m| m.user_id.as_str()).collect();
    let (st, c) = s
        .post(
            "/api/v1/chat/conversations",
            Some(&owner.access),
            json!({"type": "group", "participant_ids": ids, "title": "crew"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    c["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_gets_unauthorized_then_1008() {
    let s = TestServer::start().await;
    let mut ws = open(&s, "/ws?token=not-a-jwt").await;
    let e = next_json(&mut ws).await;
    assert_eq!(e["type"], "error");
    assert_eq!(e["data"]["code"], "unauthorized");
    assert_eq!(e["code"], "unauthorized");
    assert!(e["data"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(closed(&mut ws).await.0, 1008);

    let mut ws = open(&s, "/ws").await;
    assert_eq!(next_json(&mut ws).await["data"]["code"], "unauthorized");
    assert_eq!(closed(&mut ws).await.0, 1008);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_replies_and_error_codes_of_001() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let cat = s.add_member(&ann, "cat@acme.test").await;
    let rival = s.signup("eve@rival.test").await;
    let cid = group(&s, &ann, &[&bob]).await;
    let channel = format!("conversation:{cid}");
    let mut ws = open(&s, &format!("/ws?token={}", bob.access)).await;

    // ping → pong
    send(&mut ws, json!({"type": "ping", "data": {}})).await;
    assert!(next_of(&mut ws, "pong").await["data"].is_object());

    // subscribe in 001's {type, data} shape and in the flat shape.
    send(
        &mut ws,
        json!({"type": "subscribe", "data": {"channel": channel}}),
    )
    .await;
    assert_eq!(
        next_of(&mut ws, "subscribed").await["data"]["channel"],
        channel.as_str()
    );
    send(&mut ws, json!({"type": "unsubscribe", "channel": channel})).await;
    assert_eq!(
        next_of(&mut ws, "unsubscribed").await["data"]["channel"],
        channel.as_str()
    );

    // invalid_request: not JSON, no type, an unknown command, no channel.
    for bad in [
        "not json",
        r#"{"data":{}}"#,
        r#"{"type":"dance"}"#,
        r#"{"type":"subscribe"}"#,
    ] {
        ws.send(Message::text(bad)).await.unwrap();
        let e = next_of(&mut ws, "error").await;
        assert_eq!(e["data"]["code"], "invalid_request", "{bad}: {e}");
    }
    // subscription_failed: an unknown channel kind, a conversation the caller is not
    // in, one that does not exist, another tenant's, another user's channel.
    let mut other = open(&s, &format!("/ws?token={}", cat.access)).await;
    let mut rival_ws = open(&s, &format!("/ws?token={}", rival.access)).await;
    let cases = [
        (0, "weather:london".to_string()),
        (1, channel.clone()),
        (1, format!("conversation:{}", uuid::Uuid::now_v7())),
        (2, channel.clone()),
        (1, format!("user:{}", ann.user_id)),
    ];
    for (who, name) in cases {
        let ws = match who {
            0 => &mut ws,
            1 => &mut other,
            _ => &mut rival_ws,
        };
        send(ws, json!({"type": "subscribe", "data": {"channel": name}})).await;
        let e = next_of(ws, "error").await;
        assert_eq!(e["data"]["code"], "subscription_failed", "{name}: {e}");
    }
    // A refused subscription delivers nothing: a message in the group reaches Bob,
    // and Cat (refused) sees Ann's ping-pong barrier before anything else.
    let (st, _) = s
        .post(
            "/api/v1/chat/messages/send",
            Some(&ann.access),
            json!({"conversation_id": cid, "content": "members only"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(
        next_of(&mut ws, "chat_message").await["data"]["content"],
        "members only"
    );
    send(&mut other, json!({"type": "ping"})).await;
    until_pong(&mut other, |v| {
        assert_ne!(v["type"], "chat_message", "cat got {v}")
    })
    .await;
}

/// Reads up to the pong of a ping sent just before, checking every frame on the way.
async fn until_pong(ws: &mut Ws, check: impl Fn(&Value)) {
    loop {
        let v = next_json(ws).await;
        if v["type"] == "pong" {
            return;
        }
        check(&v);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fact_is_one_frame_with_both_documents_keys() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let cat = s.add_member(&ann, "cat@acme.test").await;
    let cid = group(&s, &ann, &[&bob]).await;
    let mut ws = open(&s, &format!("/ws?token={}", bob.access)).await;
    // 004: the connection first says "Websocket Connection Established".
    assert_eq!(
        next_json(&mut ws).await,
        json!("Websocket Connection Established")
    );

    // A new message: 001 chat_message + 004 MESSAGE, in one frame.
    let (_, m) = s
        .post(
            "/api/v1/chat/messages/send",
            Some(&ann.access),
            json!({"conversation_id": cid, "content": "hello"}),
        )
        .await;
    let f = next_of(&mut ws, "MESSAGE").await;
    assert_eq!(f["type"], "chat_message");
    assert_eq!(
        f["data"],
        json!({"id": m["id"], "conversation_id": cid, "sender_id": ann.user_id,
               "content": "hello", "seq": 1, "created_at": m["created_at"]})
    );
    assert_eq!(f["id"], m["id"]);
    assert_eq!(f["user_id"], ann.user_id.as_str());
    assert_eq!(f["content"], "hello");
    assert_eq!(f["recipient_type"], "CHANNEL");
    assert_eq!(f["reference_id"], cid.as_str());
    assert_eq!(f["deleted"], false);
    assert!(is_004_date(&f["date_created"]), "{}", f["date_created"]);
    assert!(is_004_date(&f["date_updated"]), "{}", f["date_updated"]);
    // Bob's device got the message once: the next frame is the ping barrier's pong.
    send(&mut ws, json!({"type": "ping"})).await;
    until_pong(&mut ws, |v| {
        assert_ne!(v["id"], m["id"], "a second frame for one fact: {v}")
    })
    .await;

    // An edit: 004 EDIT_MESSAGE + 001 status_update.
    let mid = m["id"].as_str().unwrap();
    let (st, _) = s
        .patch(
            &format!("/api/v1/chat/messages/{mid}"),
            &ann.access,
            json!({"content": "hello, edited"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let f = next_of(&mut ws, "EDIT_MESSAGE").await;
    assert_eq!(f["type"], "status_update");
    assert_eq!(
        (
            f["data"]["entity_type"].as_str(),
            f["data"]["entity_id"].as_str(),
            f["data"]["status"].as_str()
        ),
        (Some("message"), Some(mid), Some("edited"))
    );
    assert_eq!(f["content"], "hello, edited");
    assert!(is_004_date(&f["date_updated"]));

    // Typing: 004's TYPING example has exactly these keys, plus 001's type/data.
    let (st, _) = s
        .call(
            Method::POST,
            &format!("/v1/chat/conversations/{cid}/typing"),
            Some(&ann.access),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let f = next_of(&mut ws, "TYPING").await;
    let mut keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "data",
            "message_type",
            "recipient_type",
            "reference_id",
            "type",
            "user_id"
        ]
    );
    assert_eq!(
        (f["recipient_type"].as_str(), f["reference_id"].as_str()),
        (Some("CHANNEL"), Some(cid.as_str()))
    );
    assert_eq!(f["user_id"], ann.user_id.as_str());

    // New participants: UPDATE_USERS.
    let (st, _) = s
        .post(
            &format!("/api/v1/chat/conversations/{cid}/participants"),
            Some(&ann.access),
            json!({"user_ids": [cat.user_id]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let f = next_of(&mut ws, "UPDATE_USERS").await;
    assert_eq!(f["type"], "status_update");
    assert_eq!(f["data"]["status"], "participants_changed");

    // A rename: UPDATE_STATUS.
    let (st, _) = s
        .patch(
            &format!("/api/v1/chat/conversations/{cid}"),
            &ann.access,
            json!({"name": "renamed"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        next_of(&mut ws, "UPDATE_STATUS").await["data"]["status"],
        "updated"
    );

    // A delete: DELETE_MESSAGE with deleted: true.
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/chat/messages/{mid}"),
            Some(&ann.access),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let f = next_of(&mut ws, "DELETE_MESSAGE").await;
    assert_eq!(f["deleted"], true);
    assert_eq!(f["data"]["status"], "deleted");
    assert_eq!(f["reference_id"], cid.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribed_channel_delivers_its_events_once() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let cid = group(&s, &ann, &[&bob]).await;
    let mut ws = open(&s, &format!("/ws?token={}", bob.access)).await;
    send(
        &mut ws,
        json!({"type": "subscribe", "data": {"channel": format!("conversation:{cid}")}}),
    )
    .await;
    next_of(&mut ws, "subscribed").await;
    let (_, m) = s
        .post(
            "/api/v1/chat/messages/send",
            Some(&ann.access),
            json!({"conversation_id": cid, "content": "once"}),
        )
        .await;
    let f = next_of(&mut ws, "chat_message").await;
    assert_eq!(f["id"], m["id"]);
    // Participant and subscriber at once: still one frame, then the barrier.
    send(&mut ws, json!({"type": "ping"})).await;
    until_pong(&mut ws, |v| {
        assert_ne!(v["id"], m["id"], "the message came twice")
    })
    .await;
}
