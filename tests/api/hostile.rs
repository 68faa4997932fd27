//! What a hostile probe broke, each as its reproduction: NUL bytes and huge offsets,
//! WebSocket messages without a size limit, presence that never ended after a churn of
//! abruptly dropped sockets.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchboard_tools::client::{ClientError, Ended, SioClient};
use tokio_tungstenite::tungstenite::Message;

use crate::common::process::Child;
use crate::common::ws::{closed, next_json, open, raw_socket, stream};
use crate::common::{TestServer, assert_error};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_bytes_and_huge_offsets_are_400_and_store_nothing() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let (_, c) = s
        .post(
            "/api/v1/chat/conversations",
            Some(&ann.access),
            json!({"type": "group", "participant_ids": [bob.user_id], "title": "ok"}),
        )
        .await;
    let cid = c["id"].as_str().unwrap().to_string();
    let nul = "a\u{0}b";
    let bodies: Vec<(Method, String, Value, &str)> = vec![
        (
            Method::POST,
            "/api/v1/chat/messages/send".into(),
            json!({"conversation_id": cid, "content": nul}),
            "content",
        ),
        (
            Method::POST,
            "/api/v1/chat/messages/send".into(),
            json!({"conversation_id": cid, "content": "fine", "client_msg_id": nul}),
            "client_msg_id",
        ),
        (
            Method::POST,
            "/api/v1/chat/messages/send".into(),
            json!({"conversation_id": cid, "content": "fine", "html": format!("<b>{nul}</b>")}),
            "html",
        ),
        (
            Method::POST,
            "/api/v1/chat/conversations".into(),
            json!({"type": "group", "participant_ids": [bob.user_id], "title": nul}),
            "title",
        ),
        (
            Method::PATCH,
            format!("/api/v1/chat/conversations/{cid}"),
            json!({"title": nul}),
            "title",
        ),
        (
            Method::PATCH,
            "/api/v1/auth/profile".into(),
            json!({"display_name": nul}),
            "display_name",
        ),
    ];
    for (m, path, body, field) in bodies {
        let res = s
            .call(m.clone(), &path, Some(&ann.access), Some(body))
            .await;
        assert_error(&res, 400, "VALIDATION_ERROR");
        assert_eq!(res.1["error"]["field"], field, "{m} {path}: {}", res.1);
    }
    let res = s
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": format!("ann{nul}@acme.test"), "password": "whatever 123"}),
        )
        .await;
    assert!(
        matches!(res.0.as_u16(), 400 | 401),
        "login with a NUL: {res:?}"
    );
    for path in [
        "/api/v1/chat/users?q=a%00b",
        "/api/v1/chat/users/search?q=a%00b",
        "/api/v1/chat/agents?q=a%00b",
        "/api/v1/chat/messages/search?q=%00",
        "/api/v1/messages/conversations?search=a%00b",
        "/api/v1/messages/conversations?offset=9223372036854775808",
        "/api/v1/chat/conversations?offset=18446744073709551615",
    ] {
        assert_error(&s.get(path, &ann.access).await, 400, "VALIDATION_ERROR");
    }
    // Nothing was stored: the conversation is as it was, without messages.
    let (_, page) = s
        .get(
            &format!("/api/v1/chat/conversations/{cid}/messages"),
            &ann.access,
        )
        .await;
    assert_eq!(page["messages"], json!([]));
    let (_, me) = s.get("/api/v1/auth/me", &ann.access).await;
    assert_eq!(me["user"]["display_name"], "ann");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_websocket_messages_close_with_1009() {
    let s = TestServer::start_with(&[("WS_MAX_MESSAGE_BYTES", "4096")]).await;
    let ann = s.signup("ann@acme.test").await;
    let big = format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(8192));

    let mut ws = stream(&s, &ann).await;
    ws.send(Message::text(big.clone())).await.unwrap();
    assert_eq!(closed(&mut ws).await, (1009, "message too big".into()));

    let mut legacy = open(&s, &format!("/ws?token={}", ann.access)).await;
    legacy.send(Message::text(big)).await.unwrap();
    assert_eq!(closed(&mut legacy).await.0, 1009);

    // A binary frame is answered, not ignored.
    let mut ws = stream(&s, &ann).await;
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    let e = loop {
        let v = next_json(&mut ws).await;
        if v["type"] == "error" {
            break v;
        }
    };
    assert_eq!(e["code"], "invalid_request");

    // Socket.IO over WebSocket: the engine's limit applies to frames too, so a 1 MB
    // message is refused at the transport (the connection ends) instead of parsed.
    let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", s.addr);
    let (mut sio, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let open_packet = sio.next().await.unwrap().unwrap();
    assert!(open_packet.to_text().unwrap().starts_with('0'));
    let huge = format!(r#"42["ping",{{"pad":"{}"}}]"#, "x".repeat(1 << 20));
    let _ = sio.send(Message::text(huge)).await;
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match sio.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the oversize Socket.IO frame was accepted");
}

/// Opens a raw Socket.IO connection for `token` and drops the TCP connection without
/// a close: after the namespace connect, or (`early`) right after asking for it,
/// racing the server's own set-up.
async fn open_and_drop(s: &TestServer, token: &str, early: bool) {
    // Dropping the stream closes the TCP connection with no close frame.
    drop(raw_socket(s, token, None, !early).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_churn_of_dropped_sockets_leaves_the_user_offline() {
    let s = TestServer::start_with(&[
        ("ONLINE_PRESENCE_TTL_SECONDS", "1"),
        ("PRESENCE_AWAY_SECONDS", "1"),
        ("PRESENCE_SWEEP_MS", "200"),
    ])
    .await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    for round in 0..10 {
        let drops = (0..20).map(|i| open_and_drop(&s, &bob.access, (i + round) % 2 == 0));
        futures::future::join_all(drops).await;
    }
    // With no connection left, Bob is away after the TTL and offline after the away
    // window; a leaked device entry would keep him online for good.
    let path = format!("/api/v1/presence/users?ids={}", bob.user_id);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (st, map) = s.get(&path, &ann.access).await;
        assert_eq!(st, StatusCode::OK);
        if map[&bob.user_id]["status"] == "offline" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {} 15 s after 200 dropped connections: {map}",
            map[&bob.user_id]["status"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_user_is_cut_off_on_every_node_and_dialect() {
    let (a, b) = TestServer::two_nodes().await;
    let ann = a.signup("ann@acme.test").await;
    let bob = a.add_member(&ann, "bob@acme.test").await;
    let chat = {
        let (_, c) = a
            .post(
                "/api/v1/chat/conversations",
                Some(&ann.access),
                json!({"type": "direct", "participant_ids": [bob.user_id]}),
            )
            .await;
        c["id"].as_str().unwrap().to_string()
    };
    // Bob on node B over Socket.IO and /ws, on node A over /api/v1/ws.
    let mut sio = SioClient::connect(&b.base, Some(json!({"token": bob.access})), "")
        .await
        .unwrap();
    let mut legacy = open(&b, &format!("/ws?token={}", bob.access)).await;
    let mut stream_a = stream(&a, &bob).await;
    sio.emit_with_ack(
        "create_message",
        &json!({"chat_id": chat, "message": "before"}),
        Duration::from_secs(10),
    )
    .await
    .unwrap();

    // Ann (admin) deactivates Bob on node A.
    let (st, _) = a
        .patch(
            &format!("/api/v1/users/{}", bob.user_id),
            &ann.access,
            json!({"is_active": false}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);

    let e = sio
        .expect("exception", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(e["code"], "unauthorized", "{e}");
    // Then the socket on node B is disconnected (events already on their way may come
    // first), with a DISCONNECT packet: told, not merely dropped.
    loop {
        match sio.next_event(Duration::from_secs(10)).await {
            Ok(_) => continue,
            Err(e) => {
                assert!(
                    matches!(e, ClientError::Closed),
                    "the socket on node B was not closed: {e}"
                );
                break;
            }
        }
    }
    assert_eq!(sio.ended(), Some(Ended::Disconnect));
    assert_eq!(
        closed(&mut stream_a).await,
        (1008, "session revoked".into())
    );
    let err = loop {
        let v = next_json(&mut legacy).await;
        if v["type"] == "error" {
            break v;
        }
    };
    assert_eq!(err["data"]["code"], "unauthorized");
    assert_eq!(closed(&mut legacy).await.0, 1008);

    // Nothing Bob sends is stored, and he cannot come back: his token is refused on
    // REST and in a new handshake on either node, for the reason it has, while node B
    // still takes Ann's.
    for node in [&a, &b] {
        let res = node
            .post(
                "/api/v1/chat/messages/send",
                Some(&bob.access),
                json!({"conversation_id": chat, "content": "after"}),
            )
            .await;
        assert_error(&res, 401, "AUTH_ERROR");
        match SioClient::connect(&node.base, Some(json!({"token": bob.access})), "").await {
            Err(ClientError::Rejected(why)) => assert_eq!(why, "user_inactive"),
            Err(e) => panic!("Bob's handshake failed, but not as refused: {e}"),
            Ok(_) => panic!("a deactivated user connected"),
        }
    }
    let ann_b = SioClient::connect(&b.base, Some(json!({"token": ann.access})), "")
        .await
        .expect("node B still accepts sockets");
    let ack = ann_b
        .emit_with_ack(
            "create_message",
            &json!({"chat_id": chat, "message": "ann on b"}),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(ack["status"], "ok", "{ack}");
    ann_b.close();
    let (_, page) = a
        .get(
            &format!("/api/v1/chat/conversations/{chat}/messages"),
            &ann.access,
        )
        .await;
    let texts: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["before", "ann on b"]);
}

/// The user of an open socket is deactivated without its node hearing of it (here,
/// in the database directly, as if the revocation's event had not reached this node
/// yet): the socket's next event is refused (`exception` `unauthorized`), not
/// stored, and the socket is disconnected. What catches it is the re-check of the
/// user on every event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_from_a_user_deactivated_behind_the_sockets_back_is_refused() {
    use entity::users;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, Database, EntityTrait, QueryFilter};

    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let chat = s.direct_chat(&ann, &bob).await;
    let mut sio = SioClient::connect(&s.base, Some(json!({"token": bob.access})), "")
        .await
        .unwrap();
    let send = |text: &str| json!({"chat_id": chat, "message": text});
    let ack = sio
        .emit_with_ack("create_message", &send("before"), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(ack["status"], "ok", "{ack}");

    let db = Database::connect(s.database_url.as_str()).await.unwrap();
    let bob_id = uuid::Uuid::parse_str(&bob.user_id).unwrap();
    let changed = users::Entity::update_many()
        .col_expr(users::Column::IsActive, Expr::value(false))
        .filter(users::Column::Id.eq(bob_id))
        .exec(&db)
        .await
        .unwrap();
    assert_eq!(changed.rows_affected, 1);
    db.close().await.ok();

    let ack = sio
        .emit_with_ack("create_message", &send("after"), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        ack["code"], "unauthorized",
        "the event was not refused: {ack}"
    );
    let e = sio
        .expect("exception", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(e["code"], "unauthorized", "{e}");
    loop {
        match sio.next_event(Duration::from_secs(10)).await {
            Ok(_) => continue,
            Err(e) => {
                assert!(matches!(e, ClientError::Closed), "still connected: {e}");
                break;
            }
        }
    }
    assert_eq!(sio.ended(), Some(Ended::Disconnect));
    let (_, page) = s
        .get(
            &format!("/api/v1/chat/conversations/{chat}/messages"),
            &ann.access,
        )
        .await;
    let texts: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["before"]);
}

/// Polls `/readyz` until it answers `status`.
async fn until_ready_is(s: &TestServer, status: u16) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (st, body) = s.call(Method::GET, "/readyz", None, None).await;
        if st.as_u16() == status {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz still {st} {body}, waiting for {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_degrades_readiness_and_cross_node_delivery_comes_back() {
    const WAIT: Duration = Duration::from_secs(15);
    let mut redis = crate::common::services::OwnRedis::start();
    let url = redis.url().to_string();
    let vars = [("REDIS_URL", url.as_str()), ("REDIS_TIMEOUT_MS", "500")];
    let a = TestServer::start_with(&vars).await;
    let b = TestServer::start_on(&a.database_url, &vars, None).await;
    let ann = a.signup("ann@acme.test").await;
    let bob = a.add_member(&ann, "bob@acme.test").await;
    let (_, c) = a
        .post(
            "/api/v1/chat/conversations",
            Some(&ann.access),
            json!({"type": "direct", "participant_ids": [bob.user_id]}),
        )
        .await;
    let chat = c["id"].as_str().unwrap().to_string();
    // Ann on node A (Socket.IO); Bob on node B in all three dialects.
    let mut ann_a = SioClient::connect(&a.base, Some(json!({"token": ann.access})), "")
        .await
        .unwrap();
    let mut bob_sio = SioClient::connect(&b.base, Some(json!({"token": bob.access})), "")
        .await
        .unwrap();
    let mut bob_stream = stream(&b, &bob).await;
    let mut bob_legacy = open(&b, &format!("/ws?token={}", bob.access)).await;

    // Each dialect on node B hears a message sent on node A.
    async fn heard_everywhere(
        ann_a: &SioClient,
        bob_sio: &mut SioClient,
        bob_stream: &mut crate::common::ws::Ws,
        bob_legacy: &mut crate::common::ws::Ws,
        chat: &str,
        text: &str,
    ) {
        let ack = ann_a
            .emit_with_ack(
                "create_message",
                &json!({"chat_id": chat, "message": text}),
                WAIT,
            )
            .await
            .unwrap();
        let id = ack["data"]["id"].clone();
        assert!(id.is_string(), "{ack}");
        loop {
            let m = bob_sio.expect("response_message", WAIT).await.unwrap();
            if m["id"] == id {
                break;
            }
        }
        loop {
            let v = next_json(bob_stream).await;
            if v["type"] == "new_message" && v["payload"]["id"] == id {
                break;
            }
        }
        loop {
            let v = next_json(bob_legacy).await;
            if v["message_type"] == "MESSAGE" && v["id"] == id {
                break;
            }
        }
    }
    heard_everywhere(
        &ann_a,
        &mut bob_sio,
        &mut bob_stream,
        &mut bob_legacy,
        &chat,
        "before",
    )
    .await;

    // Redis goes away: both nodes say so, and a send still answers (stored, delivered
    // on its own node) instead of hanging.
    redis.stop();
    until_ready_is(&a, 503).await;
    until_ready_is(&b, 503).await;
    let sent = tokio::time::timeout(
        WAIT,
        ann_a.emit_with_ack(
            "create_message",
            &json!({"chat_id": chat, "message": "during"}),
            WAIT,
        ),
    )
    .await
    .expect("a send during the outage hung")
    .unwrap();
    assert_eq!(sent["status"], "ok", "{sent}");

    // Redis comes back (empty): both nodes notice by themselves; what node A
    // published meanwhile reaches node B late rather than never; every dialect hears
    // node A again.
    redis.restart();
    until_ready_is(&a, 200).await;
    until_ready_is(&b, 200).await;
    loop {
        let m = bob_sio.expect("response_message", WAIT).await.unwrap();
        if m["content"] == "during" {
            break;
        }
    }
    heard_everywhere(
        &ann_a,
        &mut bob_sio,
        &mut bob_stream,
        &mut bob_legacy,
        &chat,
        "after",
    )
    .await;
    // Node A's own socket heard "during" once: live during the outage, not again.
    let heard: Vec<_> = ann_a
        .before_barrier("response_message", WAIT)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m["content"] == "during")
        .collect();
    assert_eq!(heard.len(), 1, "{heard:?}");
}

/// Engine.IO heartbeats far apart, so that only the server's own handling of a full
/// buffer (not a missed pong) can end a connection in these tests.
const NO_HEARTBEAT: [(&str, &str); 2] = [
    ("SOCKETIO_PING_INTERVAL_MS", "600000"),
    ("SOCKETIO_PING_TIMEOUT_MS", "600000"),
];

/// A server in a child process (whose metrics are its own: no other test's sockets
/// are counted there) with these settings and no heartbeat.
async fn child_server(vars: &[(&str, &str)]) -> (Child, TestServer) {
    let (database_url, _file) = crate::common::fresh_database().await;
    let vars: Vec<(String, String)> = vars
        .iter()
        .chain(NO_HEARTBEAT.iter())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let child = Child::start(&database_url, &vars).await;
    let s = TestServer::attach(child.addr, &database_url);
    (child, s)
}

/// The Socket.IO sockets the server cut for a full outgoing buffer: what it counts
/// (`switchboard_slow_clients_cut_total`) when it disconnects one for that reason.
async fn slow_cuts(s: &TestServer) -> f64 {
    let text = crate::metrics::scrape(&s.base).await;
    crate::metrics::value(
        &text,
        "switchboard_slow_clients_cut_total",
        &[("transport", "socketio")],
    )
}

/// How a raw connection's reading ended.
#[derive(Debug, PartialEq)]
enum Ending {
    /// `done` said everything had come.
    Complete,
    /// A Socket.IO DISCONNECT packet (`41`).
    Disconnect,
    /// The transport closed or broke.
    Closed,
}

/// What a raw connection read until `done` said stop, or it was disconnected.
struct Read {
    frames: Vec<String>,
    ending: Ending,
}

async fn read_until(
    ws: &mut crate::common::ws::Ws,
    mut done: impl FnMut(&[String]) -> bool,
) -> Read {
    let mut frames = Vec::new();
    loop {
        if done(&frames) {
            return Read {
                frames,
                ending: Ending::Complete,
            };
        }
        let next = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect(
                "neither everything nor a disconnect within 20 s: something was dropped in silence",
            );
        match next {
            Some(Ok(Message::Text(t))) => {
                let t = t.to_string();
                if t == "2" {
                    let _ = ws.send(Message::text("3")).await;
                } else if t.starts_with("41") {
                    return Read {
                        frames,
                        ending: Ending::Disconnect,
                    };
                } else {
                    frames.push(t);
                }
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                return Read {
                    frames,
                    ending: Ending::Closed,
                };
            }
            Some(Ok(_)) => {}
        }
    }
}

/// A raw Socket.IO connection for `token`, read up to its `session` event: the
/// connection's catch-up is over, so whatever ends it later is the server's handling
/// of the traffic that follows.
async fn settled_socket(s: &TestServer, token: &str) -> crate::common::ws::Ws {
    let (mut ws, _) = raw_socket(s, token, Some(4096), true).await;
    let read = read_until(&mut ws, |frames| {
        frames
            .last()
            .is_some_and(|f| f.starts_with(r#"42["session""#))
    })
    .await;
    assert_eq!(read.ending, Ending::Complete, "{:?}", read.frames);
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_events_are_all_answered_or_the_socket_is_told() {
    let (_child, s) = child_server(&[("SOCKETIO_BUFFER_PACKETS", "16")]).await;
    let ann = s.signup("ann@acme.test").await;
    let mut ws = settled_socket(&s, &ann.access).await;
    for id in 0..400 {
        ws.send(Message::text(format!(r#"42{id}["ping",{{}}]"#)))
            .await
            .unwrap();
    }
    let read = read_until(&mut ws, |frames| {
        frames.iter().filter(|f| f.starts_with("43")).count() == 400
    })
    .await;
    // Every answer is an ok, or `rate_limited` for an event past the queue's depth.
    let acks: Vec<Value> = read
        .frames
        .iter()
        .filter_map(|f| f.strip_prefix("43"))
        .map(|f| serde_json::from_str::<Value>(&f[f.find('[').unwrap()..]).unwrap()[0].clone())
        .collect();
    for ack in &acks {
        assert!(
            ack["status"] == "ok" || ack["code"] == "rate_limited",
            "{ack}"
        );
    }
    let cuts = slow_cuts(&s).await;
    match read.ending {
        Ending::Complete => assert_eq!(cuts, 0.0, "all answered, yet counted as cut"),
        // The documented way to tell a client its buffer overflowed: the transport is
        // closed (no DISCONNECT, so that it reconnects and resumes), and the server
        // counts the cut. Anything else ended the socket for no reason it gives.
        Ending::Closed => assert_eq!(
            cuts,
            1.0,
            "{} of 400 answered, then the connection ended without the server cutting it \
             for a full buffer",
            acks.len()
        ),
        Ending::Disconnect => panic!(
            "{} of 400 answered, then a DISCONNECT: the client would not come back",
            acks.len()
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_receiver_gets_everything_or_is_disconnected_never_a_gap() {
    const N: usize = 1500;
    // A reconnect may be owed up to all N (more than the default replay bound).
    let (_child, s) = child_server(&[
        ("SOCKETIO_BUFFER_PACKETS", "32"),
        ("HISTORY_REPLAY_MAX", "5000"),
    ])
    .await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let (_, c) = s
        .post(
            "/api/v1/chat/conversations",
            Some(&ann.access),
            json!({"type": "direct", "participant_ids": [bob.user_id]}),
        )
        .await;
    let chat = c["id"].as_str().unwrap().to_string();
    // Bob connects and stops reading; Ann sends N acknowledged messages of 2 KB.
    let mut bob_ws = settled_socket(&s, &bob.access).await;
    let ann_sio = SioClient::connect(&s.base, Some(json!({"token": ann.access})), "")
        .await
        .unwrap();
    let pad = "x".repeat(2000);
    for i in 0..N {
        let ack = ann_sio
            .emit_with_ack(
                "create_message",
                &json!({"chat_id": chat, "message": format!("{i} {pad}")}),
                Duration::from_secs(15),
            )
            .await
            .unwrap();
        assert_eq!(ack["status"], "ok");
    }
    // Bob reads again: all N in order, or a prefix without gaps and a disconnect.
    let count = |frames: &[String]| {
        frames
            .iter()
            .filter(|f| f.starts_with(r#"42["response_message""#))
            .count()
    };
    let read = read_until(&mut bob_ws, |frames| count(frames) == N).await;
    let seqs: Vec<i64> = read
        .frames
        .iter()
        .filter_map(|f| f.strip_prefix("42"))
        .filter_map(|f| serde_json::from_str::<Value>(f).ok())
        .filter(|v| v[0] == "response_message")
        .map(|v| v[1]["seq"].as_i64().unwrap())
        .collect();
    let expected: Vec<i64> = (1..=seqs.len() as i64).collect();
    assert_eq!(seqs, expected, "a gap in what Bob received");
    let cuts = slow_cuts(&s).await;
    match read.ending {
        Ending::Complete => {
            assert_eq!(cuts, 0.0, "all received, yet counted as cut");
            return;
        }
        Ending::Closed => assert_eq!(
            cuts,
            1.0,
            "{} of {N} received, then the connection ended without the server cutting it \
             for a full buffer",
            seqs.len()
        ),
        Ending::Disconnect => panic!(
            "{} of {N} received, then a DISCONNECT: the client would not come back",
            seqs.len()
        ),
    }
    // Cut: the client comes back with the last offset it saw and gets the rest, in
    // order, so nothing is lost.
    let offset = read
        .frames
        .iter()
        .rev()
        .filter_map(|f| serde_json::from_str::<Value>(f.strip_prefix("42")?).ok())
        .find_map(|v| {
            let args = v.as_array()?;
            (args.len() > 2).then(|| args.last()?.as_str().map(str::to_string))?
        })
        .expect("an offset in what Bob received");
    let mut again = SioClient::connect(
        &s.base,
        Some(json!({"token": bob.access, "offset": offset})),
        "",
    )
    .await
    .unwrap();
    let session = again
        .expect("session", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        session["recovered"],
        true,
        "{session} after {} of {N}",
        seqs.len()
    );
    for seq in seqs.len() + 1..=N {
        let m = again
            .expect("response_message", Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(m["seq"], seq, "a gap after the reconnect");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_a_password_is_stopped_and_the_stop_lifts() {
    guessing(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_is_counted_in_redis_for_every_node() {
    let redis = crate::common::services::redis_url();
    let prefix = format!("sbtest-{}", uuid::Uuid::now_v7().simple());
    guessing(&[("REDIS_URL", &redis), ("REDIS_PREFIX", &prefix)]).await;
}

async fn guessing(extra: &[(&str, &str)]) {
    let mut vars = vec![
        ("LOGIN_MAX_FAILURES", "5"),
        ("LOGIN_MAX_FAILURES_PER_IP", "8"),
        ("LOGIN_WINDOW_SECONDS", "2"),
    ];
    vars.extend_from_slice(extra);
    let s = TestServer::start_with(&vars).await;
    let ann = s.signup("ann@acme.test").await;
    s.add_member(&ann, "bob@acme.test").await;
    let login = |email: &str, password: &str| {
        let body = json!({"email": email, "password": password});
        let s = &s;
        async move {
            let res = s
                .http
                .post(format!("{}/api/v1/auth/login", s.base))
                .json(&body)
                .send()
                .await
                .unwrap();
            let retry = res
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap();
            (status, body["error"]["code"].clone(), retry)
        }
    };
    for _ in 0..5 {
        assert_eq!(login("ann@acme.test", "wrong guess 1").await.0, 401);
    }
    // Past the account's limit: 429 with Retry-After, even with the right password.
    let (st, code, retry) = login("ann@acme.test", "wrong guess 1").await;
    assert_eq!((st, code.as_str()), (429, Some("RATE_LIMITED")));
    assert!(
        retry.is_some_and(|r| (1..=2).contains(&r)),
        "Retry-After {retry:?}"
    );
    assert_eq!(login("ann@acme.test", "correct horse battery").await.0, 429);
    // Another account from the same address still works until the address's limit.
    assert_eq!(login("bob@acme.test", "member password 1").await.0, 200);
    for _ in 0..3 {
        assert_eq!(login("bob@acme.test", "wrong guess 2").await.0, 401);
    }
    assert_eq!(
        login("bob@acme.test", "member password 1").await.0,
        429,
        "the address's limit"
    );
    // The window ends and the stop lifts.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (st, _, _) = login("ann@acme.test", "correct horse battery").await;
        if st == 200 {
            break;
        }
        assert_eq!(st, 429);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lockout never lifted"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_password_ends_the_other_live_connections() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let mut old_stream = stream(&s, &ann).await;
    let (st, fresh) = s
        .post(
            "/api/v1/auth/change-password",
            Some(&ann.access),
            json!({"current_password": "correct horse battery", "new_password": "a brand new one 1"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{fresh}");
    assert_eq!(
        closed(&mut old_stream).await,
        (1008, "session revoked".into())
    );
    // The fresh session works.
    let fresh = crate::common::Session::from_json(&fresh);
    let mut ws = stream(&s, &fresh).await;
    ws.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    loop {
        if next_json(&mut ws).await["type"] == "pong" {
            break;
        }
    }
}
