//! The plain-WebSocket dialects and presence over the wire: tickets and every close
//! path, commands, ping/pong and the pong timeout, one REST message seen in all three
//! dialects, tickets and events across two nodes, presence transitions.

use std::time::Duration;

use crate::common::ws::{closed, next_json, next_of, open, stream, ticket};
use crate::common::{TestServer, assert_error};
use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_tools::client::SioClient;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_closes_with_1008() {
    let s = TestServer::start_with(&[("WS_TICKET_TTL_SECONDS", "1")]).await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;

    let (code, reason) =
        closed(&mut open(&s, &format!("/api/v1/ws?token={}", ann.access)).await).await;
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("ticket"));
    assert_eq!(closed(&mut open(&s, "/api/v1/ws").await).await.0, 1008);
    assert_eq!(
        closed(&mut open(&s, "/api/v1/ws?ticket=forged").await)
            .await
            .0,
        1008
    );

    // Single use.
    let t = s
        .post("/api/v1/auth/ws-ticket", Some(&ann.access), json!({}))
        .await
        .1["ticket"]
        .as_str()
        .unwrap()
        .to_string();
    let mut first = open(&s, &format!("/api/v1/ws?ticket={t}")).await;
    assert_eq!(next_json(&mut first).await["type"], "connected");
    assert_eq!(
        closed(&mut open(&s, &format!("/api/v1/ws?ticket={t}")).await)
            .await
            .0,
        1008
    );

    // Expired.
    let t = s
        .post("/api/v1/auth/ws-ticket", Some(&ann.access), json!({}))
        .await
        .1["ticket"]
        .as_str()
        .unwrap()
        .to_string();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        closed(&mut open(&s, &format!("/api/v1/ws?ticket={t}")).await)
            .await
            .0,
        1008
    );

    // Issued, then the user is deactivated before using it.
    let t = s
        .post("/api/v1/auth/ws-ticket", Some(&bob.access), json!({}))
        .await
        .1["ticket"]
        .as_str()
        .unwrap()
        .to_string();
    s.patch(
        &format!("/api/v1/users/{}", bob.user_id),
        &ann.access,
        json!({"is_active": false}),
    )
    .await;
    let (code, reason) = closed(&mut open(&s, &format!("/api/v1/ws?ticket={t}")).await).await;
    assert_eq!((code, reason.as_str()), (1008, "user is inactive"));

    // Tickets need a valid access token; legacy needs a valid JWT.
    assert_error(
        &s.post("/api/v1/auth/ws-ticket", None, json!({})).await,
        401,
        "AUTH_ERROR",
    );
    assert_eq!(closed(&mut open(&s, "/ws").await).await.0, 1008);
    assert_eq!(closed(&mut open(&s, "/ws?token=junk").await).await.0, 1008);
    // A plain GET is not an upgrade.
    let res = s
        .http
        .get(format!("{}/api/v1/ws", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_endpoint_can_be_turned_off() {
    let s = TestServer::start_with(&[("LEGACY_WS_ENABLED", "false")]).await;
    let res = s
        .http
        .get(format!("{}/ws?token=x", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_and_the_pong_deadline() {
    let s = TestServer::start_with(&[
        ("WS_PING_INTERVAL_SECONDS", "1"),
        ("WS_PONG_TIMEOUT_SECONDS", "2"),
    ])
    .await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let out = s.add_member(&ann, "out@acme.test").await;
    let (_, chat) = s
        .post(
            "/api/v1/chat/conversations",
            Some(&ann.access),
            json!({"type": "direct", "participant_ids": [bob.user_id]}),
        )
        .await;
    let cid = chat["id"].as_str().unwrap();

    let mut ws = stream(&s, &ann).await;
    // Frames of other kinds (e.g. the user's own presence_updated) may come in between.
    ws.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    let pong = next_of(&mut ws, "pong").await;
    assert!(
        pong["event_id"].is_string() && pong["timestamp"].is_string(),
        "a pong is a RealtimeEvent envelope: {pong}"
    );
    ws.send(Message::text("not json")).await.unwrap();
    let e = next_of(&mut ws, "error").await;
    assert_eq!(
        (e["type"].as_str(), e["code"].as_str()),
        (Some("error"), Some("invalid_request"))
    );
    ws.send(Message::text(r#"{"type":"dance"}"#)).await.unwrap();
    assert_eq!(next_of(&mut ws, "error").await["code"], "invalid_request");
    ws.send(Message::text(
        json!({"type": "subscribe", "channel": format!("conversation:{cid}")}).to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(
        next_of(&mut ws, "subscribed").await,
        json!({"type": "subscribed", "channel": format!("conversation:{cid}")})
    );
    ws.send(Message::text(
        r#"{"type":"subscribe","channel":"weather:x"}"#,
    ))
    .await
    .unwrap();
    assert_eq!(
        next_of(&mut ws, "error").await["code"],
        "subscription_failed"
    );

    let mut outsider = stream(&s, &out).await;
    outsider
        .send(Message::text(
            json!({"type": "subscribe", "channel": format!("conversation:{cid}")}).to_string(),
        ))
        .await
        .unwrap();
    assert_eq!(next_of(&mut outsider, "error").await["code"], "forbidden");

    // A client that answers the server's pings stays; a silent one is closed.
    let mut silent = stream(&s, &bob).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
    while tokio::time::Instant::now() < deadline {
        let msg = tokio::time::timeout(Duration::from_millis(500), ws.next()).await;
        if let Ok(Some(Ok(Message::Text(t)))) = msg
            && t.as_str().contains("\"type\":\"ping\"")
        {
            ws.send(Message::text(r#"{"type":"pong"}"#)).await.unwrap();
        }
    }
    let (code, reason) = closed(&mut silent).await;
    assert_eq!((code, reason.as_str()), (1001, "pong timeout"));
    ws.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    // Still connected: its ping is answered (next_of fails on a closed socket).
    assert!(next_of(&mut ws, "pong").await["event_id"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_rest_message_reaches_all_three_dialects() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let (_, chat) = s
        .post(
            "/api/v1/messages/conversations",
            Some(&ann.access),
            json!({"type": "direct", "participant_ids": [bob.user_id]}),
        )
        .await;
    let cid = chat["id"].as_str().unwrap();

    let mut raw = stream(&s, &bob).await;
    let mut legacy = open(&s, &format!("/ws?token={}", bob.access)).await;
    let mut sio = SioClient::connect(&s.base, Some(json!({"token": bob.access})), "")
        .await
        .unwrap();

    let (st, m) = s
        .post(
            &format!("/api/v1/messages/conversations/{cid}/messages"),
            Some(&ann.access),
            json!({"content": "to everyone"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);

    let ev = next_of(&mut raw, "new_message").await;
    assert!(ev["event_id"].is_string() && ev["timestamp"].is_string());
    assert_eq!(
        (ev["payload"]["id"].as_str(), ev["conversation_id"].as_str()),
        (m["id"].as_str(), Some(cid))
    );
    assert_eq!(ev["actor_user_id"], ann.user_id.as_str());
    let upd = next_of(&mut raw, "conversation_updated").await;
    assert_eq!(upd["payload"]["last_seq"], 1);

    let frame = next_of(&mut legacy, "MESSAGE").await;
    assert_eq!(frame["id"], m["id"]);
    assert_eq!(frame["user_id"], ann.user_id.as_str());
    assert_eq!(frame["content"], "to everyone");
    assert_eq!(frame["reference_id"], cid);
    assert_eq!(frame["deleted"], false);
    for k in ["date_created", "date_updated", "recipient_type"] {
        assert!(!frame[k].is_null(), "legacy frame lacks {k}");
    }

    let got = sio.expect("response_message", WAIT).await.unwrap();
    assert_eq!(got["id"], m["id"]);

    // An edit and a delete in the legacy dialect.
    let mid = m["id"].as_str().unwrap();
    s.patch(
        &format!("/api/v1/chat/messages/{mid}"),
        &ann.access,
        json!({"content": "edited"}),
    )
    .await;
    assert_eq!(
        next_of(&mut legacy, "EDIT_MESSAGE").await["content"],
        "edited"
    );
    s.call(
        reqwest::Method::DELETE,
        &format!("/api/v1/chat/messages/{mid}"),
        Some(&ann.access),
        None,
    )
    .await;
    assert_eq!(
        next_of(&mut legacy, "DELETE_MESSAGE").await["deleted"],
        true
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_and_events_cross_nodes() {
    let (a, b) = TestServer::two_nodes().await;
    let ann = a.signup("ann@acme.test").await;
    let bob = a.add_member(&ann, "bob@acme.test").await;

    // Issued on A, used on B; the same ticket is then dead on A too.
    let t = ticket(&a, &bob).await;
    let mut on_b = open(&b, &format!("/api/v1/ws?ticket={t}")).await;
    assert_eq!(next_json(&mut on_b).await["type"], "connected");
    assert_eq!(
        closed(&mut open(&a, &format!("/api/v1/ws?ticket={t}")).await)
            .await
            .0,
        1008
    );

    // A write on node A reaches the raw session on node B.
    let (_, chat) = a
        .post(
            "/api/v1/chat/conversations",
            Some(&ann.access),
            json!({"type": "direct", "participant_ids": [bob.user_id]}),
        )
        .await;
    let cid = chat["id"].as_str().unwrap();
    let (st, m) = a
        .post(
            "/api/v1/chat/messages/send",
            Some(&ann.access),
            json!({"conversation_id": cid, "content": "via redis"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let ev = next_of(&mut on_b, "new_message").await;
    assert_eq!(ev["payload"]["id"], m["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_goes_online_away_offline() {
    let s = TestServer::start_with(&[
        ("ONLINE_PRESENCE_TTL_SECONDS", "1"),
        ("PRESENCE_AWAY_SECONDS", "1"),
        ("PRESENCE_SWEEP_MS", "200"),
    ])
    .await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let rival = s.signup("eve@rival.test").await;
    s.post(
        "/api/v1/chat/conversations",
        Some(&ann.access),
        json!({"type": "direct", "participant_ids": [bob.user_id]}),
    )
    .await;
    // Bob watches over Socket.IO (his own connection keeps him online).
    let mut watch = SioClient::connect(&s.base, Some(json!({"token": bob.access})), "")
        .await
        .unwrap();

    let hb = json!({"device_id": "ann-laptop-1", "platform": "web", "app_state": "foreground"});
    let (st, p) = s
        .post("/api/v1/presence/heartbeat", Some(&ann.access), hb.clone())
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(
        (p["status"].as_str(), p["platforms"].clone()),
        (Some("online"), json!(["web"]))
    );
    // Ann's statuses as Bob sees them, in order, one event per change.
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen.last().map(String::as_str) != Some("offline")
        && tokio::time::Instant::now() < deadline
    {
        if let Ok(ev) = watch
            .expect("presence_updated", Duration::from_secs(5))
            .await
            && ev["payload"]["user_id"] == ann.user_id.as_str()
        {
            seen.push(ev["payload"]["status"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(seen, ["online", "away", "offline"]);
    let (_, map) = s
        .get(
            &format!(
                "/api/v1/presence/users?ids={},{}",
                ann.user_id, rival.user_id
            ),
            &bob.access,
        )
        .await;
    assert_eq!(map[&ann.user_id]["status"], "offline");
    assert!(map[&ann.user_id]["last_seen_at"].is_string());
    assert!(
        map.get(&rival.user_id).is_none(),
        "other tenants are left out"
    );
    assert_eq!(map[&ann.user_id]["is_online"], false);

    // Repeated heartbeats change nothing after the first.
    s.post("/api/v1/presence/heartbeat", Some(&ann.access), hb.clone())
        .await;
    s.post("/api/v1/presence/heartbeat", Some(&ann.access), hb.clone())
        .await;
    let events: Vec<Value> = watch
        .before_barrier("presence_updated", WAIT)
        .await
        .unwrap();
    let ann_online = events
        .iter()
        .filter(|e| {
            e["payload"]["user_id"] == ann.user_id.as_str() && e["payload"]["status"] == "online"
        })
        .count();
    assert_eq!(ann_online, 1);
    let (st, off) = s
        .post(
            "/api/v1/presence/offline",
            Some(&ann.access),
            json!({"device_id": "ann-laptop-1", "platform": "web"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        (off["status"].as_str(), off["is_online"].as_bool()),
        (Some("offline"), Some(false))
    );

    let res = s
        .post(
            "/api/v1/presence/heartbeat",
            Some(&ann.access),
            json!({"device_id": "short", "platform": "web"}),
        )
        .await;
    assert_eq!(res.1["error"]["field"], "device_id");
    let res = s
        .post(
            "/api/v1/presence/heartbeat",
            Some(&ann.access),
            json!({"device_id": "ann-laptop-1", "platform": "fax"}),
        )
        .await;
    assert_error(&res, 400, "VALIDATION_ERROR");
    assert_error(
        &s.get("/api/v1/presence/users?ids=nope", &ann.access).await,
        400,
        "VALIDATION_ERROR",
    );
}
