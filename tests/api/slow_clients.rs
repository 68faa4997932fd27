//! A client that stops reading never grows the server's memory: once what waits for it
//! passes the bound (`WS_SEND_BUFFER_BYTES` on plain WebSocket, `SOCKETIO_BUFFER_PACKETS`
//! on Socket.IO) it is disconnected, and when it comes back with its offset it gets the
//! rest: every message once.

use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use switchboard_tools::client::SioClient;
use tokio_tungstenite::tungstenite::Message;

use crate::common::ws::{next_json, open, raw_socket, ticket};
use crate::common::{Session, TestServer};

const WAIT: Duration = Duration::from_secs(20);
/// Enough bytes to fill the kernel's socket buffers on loopback several times over.
const MESSAGES: usize = 600;

/// Ann posts `MESSAGES` long messages `m0`, `m1`, … (about 11 MB of frames).
async fn flood(s: &TestServer, ann: &Session, conv: &str) {
    let filler = "x".repeat(9000);
    for i in 0..MESSAGES {
        s.say(ann, conv, &format!("m{i} {filler}")).await;
    }
}

/// The `m<i>` of a message text.
fn tag(content: &str) -> String {
    content.split(' ').next().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_websocket_client_that_stops_reading_is_cut_and_resumes() {
    // Bob is owed up to three events per message once he is cut (the message, and a
    // notification and its count while he is offline): room for all of them in one
    // replay, whenever the cut comes (this test is about the cut, not the replay bound).
    let s = TestServer::start_with(&[
        ("WS_SEND_BUFFER_BYTES", "65536"),
        ("HISTORY_REPLAY_MAX", "5000"),
    ])
    .await;
    let ann = s.signup("ann@slow.test").await;
    let bob = s.add_member(&ann, "bob@slow.test").await;
    let conv = s.direct_chat(&ann, &bob).await;

    let t = ticket(&s, &bob).await;
    let mut ws = open(&s, &format!("/api/v1/ws?ticket={t}")).await;
    assert_eq!(next_json(&mut ws).await["type"], "connected");
    // Bob stops reading while Ann floods the chat.
    flood(&s, &ann, &conv).await;

    // Now he reads what reached him: some messages, then the server's close.
    let mut seen = HashSet::new();
    let mut offset = None;
    let close = loop {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("the server closes the slow session")
            .expect("a frame or the close")
            .expect("readable");
        match frame {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "new_message" {
                    assert!(seen.insert(tag(v["payload"]["content"].as_str().unwrap())));
                    offset = v["offset"].as_str().map(str::to_string);
                }
            }
            Message::Close(c) => break c.expect("a close frame with a reason"),
            _ => {}
        }
    };
    assert_eq!(u16::from(close.code), 1013, "{close:?}");
    assert!(
        seen.len() < MESSAGES,
        "cut before the end ({} of {MESSAGES})",
        seen.len()
    );

    // He comes back with his offset and gets the rest, once each.
    let t = ticket(&s, &bob).await;
    let offset = offset.expect("at least one message before the cut");
    let mut ws = open(&s, &format!("/api/v1/ws?ticket={t}&since={offset}")).await;
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["payload"]["recovered"], true, "{hello}");
    while seen.len() < MESSAGES {
        let v = next_json(&mut ws).await;
        if v["type"] == "new_message" {
            let m = tag(v["payload"]["content"].as_str().unwrap());
            assert!(seen.insert(m.clone()), "{m} twice");
        }
    }
    ws.close(None).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socketio_client_that_stops_reading_is_cut_and_resumes() {
    let s = TestServer::start_with(&[
        ("SOCKETIO_BUFFER_PACKETS", "64"),
        ("HISTORY_REPLAY_MAX", "5000"),
    ])
    .await;
    let ann = s.signup("ann@slowsio.test").await;
    let bob = s.add_member(&ann, "bob@slowsio.test").await;
    let conv = s.direct_chat(&ann, &bob).await;

    // A raw Socket.IO connection: handshake, then no more reading.
    let (mut ws, connect) = raw_socket(&s, &bob.access, None, true).await;
    let pid = connect["pid"].as_str().expect("a pid").to_string();
    flood(&s, &ann, &conv).await;

    let mut seen = HashSet::new();
    let mut offset = None;
    loop {
        let next = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("the server ends the slow socket");
        let Some(Ok(Message::Text(t))) = next else {
            break;
        };
        if let Some(body) = t.strip_prefix("42") {
            let args: Vec<Value> = serde_json::from_str(body).unwrap();
            if args[0] == "response_message" {
                assert!(seen.insert(tag(args[1]["content"].as_str().unwrap())));
                offset = args.last().and_then(Value::as_str).map(str::to_string);
            }
        } else if t.starts_with("41") {
            break;
        }
    }
    assert!(
        seen.len() < MESSAGES,
        "cut before the end ({} of {MESSAGES})",
        seen.len()
    );

    let auth = json!({"token": bob.access, "pid": pid, "offset": offset.expect("an offset")});
    let mut back = SioClient::connect(&s.base, Some(auth), "").await.unwrap();
    assert_eq!(back.pid.as_deref(), Some(pid.as_str()), "recovered");
    while seen.len() < MESSAGES {
        let m = back.expect("response_message", WAIT).await.unwrap();
        let m = tag(m["content"].as_str().unwrap());
        assert!(seen.insert(m.clone()), "{m} twice");
    }
}
