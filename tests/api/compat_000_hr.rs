//! Document 000: the HR "Workforce OS" client, on its own paths, fields, bounds and
//! close codes: the ws-ticket and RealtimeEvent stream, presence, messaging.

use crate::common::ws::{closed, next_of, open, ticket};
use crate::common::{Session, TestServer, assert_error};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn hr_conversation(s: &TestServer, who: &Session, body: Value) -> (StatusCode, Value) {
    s.post("/api/v1/messages/conversations", Some(&who.access), body)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_stream_and_envelope() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;

    // ?token= is refused with 1008; a ticket is single use; 32 bytes URL-safe base64.
    assert_eq!(
        closed(&mut open(&s, &format!("/api/v1/ws?token={}", bob.access)).await)
            .await
            .0,
        1008
    );
    let t = ticket(&s, &bob).await;
    assert!(
        t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    // `platform`: web (default) or mobile; any other value is normalised to web.
    let mut ws = open(&s, &format!("/api/v1/ws?ticket={t}&platform=tv")).await;
    let hello = crate::common::ws::next_json(&mut ws).await;
    assert_eq!(hello["type"], "connected");
    assert_eq!(hello["payload"]["platform"], "web");
    assert_eq!(
        closed(&mut open(&s, &format!("/api/v1/ws?ticket={t}")).await)
            .await
            .0,
        1008
    );
    // Client ping → pong.
    use futures::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        r#"{"type":"ping"}"#,
    ))
    .await
    .unwrap();
    assert!(next_of(&mut ws, "pong").await["event_id"].is_string());

    // A posted message: new_message and conversation_updated, in the RealtimeEvent shape.
    let (_, c) = hr_conversation(
        &s,
        &ann,
        json!({"type": "direct", "participant_ids": [bob.user_id]}),
    )
    .await;
    let cid = c["id"].as_str().unwrap();
    let (st, m) = s
        .post(
            &format!("/api/v1/messages/conversations/{cid}/messages"),
            Some(&ann.access),
            json!({"content": "hi bob"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let ev = next_of(&mut ws, "new_message").await;
    assert!(uuid::Uuid::parse_str(ev["event_id"].as_str().unwrap()).is_ok());
    assert!(
        chrono::DateTime::parse_from_rfc3339(ev["timestamp"].as_str().unwrap()).is_ok(),
        "ISO-8601 timestamp"
    );
    assert!(ev["payload"].is_object());
    assert_eq!(ev["payload"]["id"], m["id"]);
    assert_eq!(ev["actor_user_id"], ann.user_id.as_str());
    assert_eq!(ev["conversation_id"], cid);
    assert_eq!(
        next_of(&mut ws, "conversation_updated").await["conversation_id"],
        cid
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_heartbeat_offline_and_batch() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let rival = s.signup("eve@rival.test").await;

    let beat = |device: &str, platform: &str| json!({"device_id": device, "platform": platform, "app_state": "active"});
    let (st, p) = s
        .post(
            "/api/v1/presence/heartbeat",
            Some(&ann.access),
            beat("laptop-0001", "web"),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(
        (
            p["user_id"].as_str(),
            p["status"].as_str(),
            p["is_online"].as_bool()
        ),
        (Some(ann.user_id.as_str()), Some("online"), Some(true))
    );
    assert!(p.get("custom_status").is_some());
    let laptop_seen = p["last_seen_at"].clone();
    assert!(laptop_seen.is_string());
    let (_, p) = s
        .post(
            "/api/v1/presence/heartbeat",
            Some(&ann.access),
            beat("phone-00001", "mobile"),
        )
        .await;
    assert_eq!(p["platforms"], json!(["web", "mobile"]));
    // Bounds: device_id 8–128 characters, platform web|mobile, app_state ≤ 32.
    for bad in [
        beat("short", "web"),
        beat(&"x".repeat(129), "web"),
        beat("laptop-0001", "desktop"),
        json!({"device_id": "laptop-0001", "platform": "web", "app_state": "a".repeat(33)}),
    ] {
        assert_error(
            &s.post("/api/v1/presence/heartbeat", Some(&ann.access), bad)
                .await,
            400,
            "VALIDATION_ERROR",
        );
    }

    // offline: this device's final heartbeat; the other platform stays listed.
    let (st, off) = s
        .post(
            "/api/v1/presence/offline",
            Some(&ann.access),
            json!({"device_id": "laptop-0001", "platform": "web"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{off}");
    assert_eq!(
        (off["status"].as_str(), off["is_online"].as_bool()),
        (Some("offline"), Some(false))
    );
    assert_eq!(off["platforms"], json!(["mobile"]));
    // 000: "ISO-8601 UTC timestamp of the final heartbeat" (of this device).
    assert_eq!(off["last_seen_at"], laptop_seen);

    // users?ids=: a map by user id, other tenants left out.
    let (st, map) = s
        .get(
            &format!(
                "/api/v1/presence/users?ids={},{},{}",
                ann.user_id, bob.user_id, rival.user_id
            ),
            &bob.access,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(map[&ann.user_id]["status"], "online");
    assert_eq!(map[&bob.user_id]["status"], "offline");
    assert!(map.get(&rival.user_id).is_none(), "{map}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messaging_routes_as_documented() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let cat = s.add_member(&ann, "cat@acme.test").await;

    // A direct conversation is never duplicated: the second create returns it (200).
    let body = json!({"type": "direct", "participant_ids": [bob.user_id]});
    let (st, d) = hr_conversation(&s, &ann, body.clone()).await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, again) = hr_conversation(
        &s,
        &bob,
        json!({"type": "direct", "participant_ids": [ann.user_id]}),
    )
    .await;
    assert_eq!((st, &again["id"]), (StatusCode::OK, &d["id"]));
    // Direct: exactly one other user.
    assert_error(
        &hr_conversation(
            &s,
            &ann,
            json!({"type": "direct", "participant_ids": [bob.user_id, cat.user_id]}),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    );
    // Group and channel titles are generated when omitted.
    let (st, g) = hr_conversation(
        &s,
        &ann,
        json!({"type": "group", "participant_ids": [bob.user_id, cat.user_id]}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    assert!(g["title"].as_str().is_some_and(|t| !t.is_empty()));
    let (_, ch) = hr_conversation(
        &s,
        &ann,
        json!({"type": "channel", "participant_ids": [bob.user_id], "title": "Launch News"}),
    )
    .await;
    let (gid, chid, did) = (
        g["id"].as_str().unwrap(),
        ch["id"].as_str().unwrap(),
        d["id"].as_str().unwrap(),
    );

    // Posting: content, sanitised html, mentions of participants only, replies within
    // the conversation, channel posts by owners/admins.
    let post = |cid: &str, who: &Session, body: Value| {
        let path = format!("/api/v1/messages/conversations/{cid}/messages");
        let token = who.access.clone();
        let s = &s;
        async move { s.post(&path, Some(&token), body).await }
    };
    let (st, m1) = post(
        gid,
        &ann,
        json!({"content": "hello @bob", "html": "<b>hello</b><script>alert(1)</script>",
               "mention_user_ids": [bob.user_id]}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{m1}");
    assert_eq!(m1["html"], "<b>hello</b>");
    let (st, m2) = post(gid, &bob, json!({"content": "hi", "reply_to_id": m1["id"]})).await;
    assert_eq!((st, &m2["reply_to_id"]), (StatusCode::CREATED, &m1["id"]));
    assert_error(&post(gid, &ann, json!({})).await, 400, "VALIDATION_ERROR");
    let rival = s.signup("eve@rival.test").await;
    assert_error(
        &post(
            gid,
            &ann,
            json!({"content": "x", "mention_user_ids": [rival.user_id]}),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    );
    let (_, elsewhere) = post(did, &ann, json!({"content": "dm"})).await;
    assert_error(
        &post(
            gid,
            &ann,
            json!({"content": "x", "reply_to_id": elsewhere["id"]}),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &post(chid, &bob, json!({"content": "members can't post here"})).await,
        403,
        "PERMISSION_ERROR",
    );
    assert_eq!(
        post(chid, &ann, json!({"content": "news"})).await.0,
        StatusCode::CREATED
    );

    // GET …/messages: an array, chronological, limit ≤ 100, `before` cursor.
    let path = format!("/api/v1/messages/conversations/{gid}/messages");
    let (st, page) = s.get(&path, &cat.access).await;
    assert_eq!(st, StatusCode::OK);
    // 000: fetching "marks fetched messages as delivered for the caller".
    let (_, seen_by_ann) = s
        .get(
            &format!("/api/v1/messages/conversations/{gid}"),
            &ann.access,
        )
        .await;
    let cat_in_group = seen_by_ann["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == cat.user_id.as_str())
        .expect("cat is a participant");
    assert_eq!(cat_in_group["last_delivered_seq"], 2, "{seen_by_ann}");
    let texts: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["hello @bob", "hi"]);
    let cursor = page[1]["created_at"].as_str().unwrap().replace('+', "%2B");
    let (_, older) = s
        .get(&format!("{path}?before={cursor}&limit=100"), &cat.access)
        .await;
    assert_eq!(older.as_array().map(Vec::len), Some(1));
    assert_error(
        &s.get(&format!("{path}?limit=101"), &cat.access).await,
        400,
        "VALIDATION_ERROR",
    );

    // unread-count: conversations, messages, mentions.
    let (_, u) = s.get("/api/v1/messages/unread-count", &bob.access).await;
    // Bob's reply read the group (and his mention in it) up to his own message.
    assert_eq!(u, json!({"conversations": 2, "messages": 2, "mentions": 0}));
    let (_, u) = s.get("/api/v1/messages/unread-count", &cat.access).await;
    assert_eq!(u, json!({"conversations": 1, "messages": 2, "mentions": 0}));

    // GET conversations: an array; type, search (title, or a direct chat's other
    // person, any case), unread_only, limit and offset.
    let list = |q: &str| {
        let path = format!("/api/v1/messages/conversations{q}");
        let token = bob.access.clone();
        let s = &s;
        async move {
            let (st, v) = s.get(&path, &token).await;
            assert_eq!(st, StatusCode::OK, "{path}: {v}");
            v.as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    // Most recently active first: the channel's news, the direct message, the group.
    assert_eq!(list("").await, [chid, did, gid]);
    assert_eq!(list("?type=channel").await, [chid]);
    assert_eq!(list("?search=launch").await, [chid]);
    // The direct chat's title is Ann's name; the group's generated one may name her too.
    assert!(list("?search=ANN").await.contains(&did.to_string()));
    assert!(!list("?search=nobody").await.contains(&did.to_string()));
    assert_eq!(list("?unread_only=true").await.len(), 2);
    assert_eq!(list("?limit=1&offset=1").await.len(), 1);
    assert_error(
        &s.get("/api/v1/messages/conversations?limit=0", &bob.access)
            .await,
        400,
        "VALIDATION_ERROR",
    );

    // GET one conversation: participant only; another tenant's id is 404.
    let (st, one) = s
        .get(
            &format!("/api/v1/messages/conversations/{gid}"),
            &bob.access,
        )
        .await;
    assert_eq!(
        (st, one["participants"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(3))
    );
    assert_error(
        &s.get(
            &format!("/api/v1/messages/conversations/{did}"),
            &cat.access,
        )
        .await,
        403,
        "PERMISSION_ERROR",
    );
    assert_error(
        &s.get(
            &format!("/api/v1/messages/conversations/{did}"),
            &rival.access,
        )
        .await,
        404,
        "NOT_FOUND",
    );
    assert_error(
        &s.call(
            reqwest::Method::GET,
            "/api/v1/messages/conversations",
            None,
            None,
        )
        .await,
        401,
        "AUTH_ERROR",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mobile_stream_counts_as_online_on_mobile() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let t = ticket(&s, &ann).await;
    let mut ws = open(&s, &format!("/api/v1/ws?ticket={t}&platform=mobile")).await;
    assert_eq!(
        crate::common::ws::next_json(&mut ws).await["payload"]["platform"],
        "mobile"
    );
    let (_, map) = s
        .get(
            &format!("/api/v1/presence/users?ids={}", ann.user_id),
            &ann.access,
        )
        .await;
    assert_eq!(map[&ann.user_id]["platforms"], json!(["mobile"]));
    assert_eq!(map[&ann.user_id]["status"], "online");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversation_list_pages_default_to_fifty() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    for i in 0..51 {
        let (st, _) = hr_conversation(
            &s,
            &ann,
            json!({"type": "group", "participant_ids": [bob.user_id], "title": format!("g{i}")}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED);
    }
    let count = |q: &str| {
        let path = format!("/api/v1/messages/conversations{q}");
        let token = bob.access.clone();
        let s = &s;
        async move { s.get(&path, &token).await.1.as_array().map(Vec::len) }
    };
    assert_eq!(count("").await, Some(50), "000: limit defaults to 50");
    assert_eq!(count("?limit=100").await, Some(51));
    assert_eq!(count("?offset=50").await, Some(1));
}

/// Polls a user's presence (as another user sees it) until it has `status`.
async fn until_status(s: &TestServer, viewer: &Session, user: &Session, status: &str) {
    let path = format!("/api/v1/presence/users?ids={}", user.user_id);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, map) = s.get(&path, &viewer.access).await;
        if map[&user.user_id]["status"] == status {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} never became {status}: {map}",
            user.user_id
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_keep_presence_until_they_close() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    // 000: the stream marks the user online, and its close updates presence.
    let mut ws = crate::common::ws::stream(&s, &bob).await;
    until_status(&s, &ann, &bob, "online").await;
    ws.close(None).await.unwrap();
    until_status(&s, &ann, &bob, "offline").await;
    // 002: a Socket.IO connection keeps the user online; its disconnect does not.
    let sio = switchboard_tools::client::SioClient::connect(
        &s.base,
        Some(json!({"token": bob.access})),
        "",
    )
    .await
    .unwrap();
    until_status(&s, &ann, &bob, "online").await;
    sio.close();
    until_status(&s, &ann, &bob, "offline").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setup_failure_closes_with_1011() {
    // A Redis of this test's own, stopped between issuing and redeeming a ticket.
    let redis = crate::common::services::OwnRedis::start();
    let prefix = format!("sbtest-{}", uuid::Uuid::now_v7().simple());
    let s = TestServer::start_with(&[("REDIS_URL", redis.url()), ("REDIS_PREFIX", &prefix)]).await;
    let ann = s.signup("ann@acme.test").await;
    let t = ticket(&s, &ann).await;
    drop(redis);
    let (code, reason) = closed(&mut open(&s, &format!("/api/v1/ws?ticket={t}")).await).await;
    assert_eq!((code, reason.as_str()), (1011, "setup failed"));
}
