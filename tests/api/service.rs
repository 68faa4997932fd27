//! The host platform's backend over the wire: service API keys (shown once, stored
//! hashed, scoped, tenant-bound, revocable) and Worknation's Chat REST with them:
//! onboarding users by external id, opening chats by `ext:` ids, reading chats and
//! members, notifications, ending a user's sessions.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchboard_tools::client::{ClientError, SioClient};

use crate::common::{Session, TestServer, assert_error};

const WAIT: Duration = Duration::from_secs(10);

pub(crate) async fn new_key(s: &TestServer, admin: &Session, scopes: &[&str]) -> String {
    let (st, k) = s
        .post(
            "/api/v1/api-keys",
            Some(&admin.access),
            json!({"name": "backend", "scopes": scopes}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{k}");
    k["key"].as_str().unwrap().to_string()
}

/// A service call with `x-api-key`.
pub(crate) async fn service(
    s: &TestServer,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = s
        .http
        .request(method, format!("{}/api/v1/service{path}", s.base))
        .header("x-api-key", key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let st = res.status();
    let text = res.text().await.unwrap();
    (st, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_are_shown_once_scoped_tenant_bound_and_revocable() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let rival = s.signup("rex@rival.test").await;

    assert_error(
        &s.post(
            "/api/v1/api-keys",
            Some(&bob.access),
            json!({"name": "x", "scopes": ["users"]}),
        )
        .await,
        403,
        "PERMISSION_ERROR",
    );
    for bad in [
        json!({"name": "x", "scopes": []}),
        json!({"name": "x", "scopes": ["root"]}),
    ] {
        assert_error(
            &s.post("/api/v1/api-keys", Some(&ann.access), bad).await,
            400,
            "VALIDATION_ERROR",
        );
    }
    let (st, created) = s
        .post(
            "/api/v1/api-keys",
            Some(&ann.access),
            json!({"name": "hr backend", "scopes": ["users", "chats"]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with(created["prefix"].as_str().unwrap()));
    let (_, list) = s.get("/api/v1/api-keys", &ann.access).await;
    assert_eq!(list[0]["name"], "hr backend");
    assert_eq!(list[0]["scopes"], json!(["users", "chats"]));
    assert!(list[0].get("key").is_none(), "the secret is shown once");
    assert!(!list.to_string().contains(&key[13..]));
    assert_eq!(list[0]["last_used_at"], Value::Null);

    // x-api-key and Bearer both work; wrong or partial keys do not.
    let onboard = json!({"external_id": 7, "display_name": "Seven"});
    let (st, u) = service(
        &s,
        &key,
        Method::POST,
        "/users/find-or-create",
        Some(onboard.clone()),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{u}");
    let (st, _) = s
        .post(
            "/api/v1/service/users/find-or-create",
            Some(&key),
            onboard.clone(),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::OK,
        "Bearer works, and the second call creates nothing"
    );
    for wrong in [
        format!("{key}x"),
        key[..20].to_string(),
        "sbk_nothing".into(),
        ann.access.clone(),
    ] {
        let res = service(&s, &wrong, Method::GET, "/users", None).await;
        assert_error(&res, 401, "AUTH_ERROR");
    }
    // Scopes.
    let res = service(
        &s,
        &key,
        Method::POST,
        "/notifications",
        Some(json!({"user_ids": [bob.user_id], "title": "hi"})),
    )
    .await;
    assert_error(&res, 403, "PERMISSION_ERROR");
    // Tenants: the rival's key sees none of ann's users or chats.
    let rival_key = new_key(&s, &rival, &["users", "chats"]).await;
    let res = service(
        &s,
        &rival_key,
        Method::GET,
        &format!("/users/{}/chats", bob.user_id),
        None,
    )
    .await;
    assert_error(&res, 404, "NOT_FOUND");
    let (_, theirs) = service(&s, &rival_key, Method::GET, "/users", None).await;
    assert_eq!(theirs, json!([]));
    assert_error(
        &s.call(
            Method::DELETE,
            &format!("/api/v1/api-keys/{}", created["id"].as_str().unwrap()),
            Some(&rival.access),
            None,
        )
        .await,
        404,
        "NOT_FOUND",
    );

    // Revoked: refused at once; the list says when it was last used and revoked.
    let (st, revoked) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/api-keys/{}", created["id"].as_str().unwrap()),
            Some(&ann.access),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{revoked}");
    assert!(revoked["revoked_at"].is_string());
    assert_error(
        &service(&s, &key, Method::GET, "/users", None).await,
        401,
        "AUTH_ERROR",
    );
    let (_, list) = s.get("/api/v1/api-keys", &ann.access).await;
    assert!(list[0]["last_used_at"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_backend_onboards_users_and_opens_chats() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let key = new_key(&s, &ann, &["users", "chats", "notifications"]).await;

    // Onboarding by the host's ids (a number, a string); the three spellings agree.
    let (st, ali) = service(
        &s,
        &key,
        Method::POST,
        "/users/onboard",
        Some(json!({"external_id": 1001, "display_name": "Ali", "email": "ali@acme.test"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{ali}");
    assert_eq!(ali["user"]["external_id"], "1001");
    let (st, bea) = service(
        &s,
        &key,
        Method::POST,
        "/users/initialize",
        Some(json!({"external_id": "1002", "display_name": "Bea"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{bea}");
    let (st, again) = service(
        &s,
        &key,
        Method::POST,
        "/users/find-or-create",
        Some(json!({"external_id": "1001", "display_name": "Ali again"})),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        (again["created"].clone(), again["user"]["id"].clone()),
        (json!(false), ali["user"]["id"].clone())
    );
    // Onboarding with an email someone here already has is a clear 409.
    let res = service(
        &s,
        &key,
        Method::POST,
        "/users/find-or-create",
        Some(json!({"external_id": 1003, "display_name": "Imposter", "email": "ann@acme.test"})),
    )
    .await;
    assert_error(&res, 409, "CONFLICT");
    let res = service(
        &s,
        &key,
        Method::POST,
        "/users/find-or-create",
        Some(json!({"external_id": {}, "display_name": "x"})),
    )
    .await;
    assert_error(&res, 400, "VALIDATION_ERROR");
    let (_, users) = service(&s, &key, Method::GET, "/users", None).await;
    let ext: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(ext, ["1001", "1002"], "initialized users only (not ann)");

    // Chats by ext: ids and Switchboard ids.
    let (st, dm) = service(
        &s,
        &key,
        Method::POST,
        "/chats",
        Some(json!({"member_ids": ["ext:1001", "ext:1002"]})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{dm}");
    let (st, same) = service(
        &s,
        &key,
        Method::POST,
        "/chats",
        Some(json!({"member_ids": ["ext:1002", "ext:1001"]})),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(same["id"], dm["id"], "one direct chat per pair");
    let (st, group) = service(
        &s,
        &key,
        Method::POST,
        "/chats",
        Some(json!({"member_ids": ["ext:1001", "ext:1002", ann.user_id], "title": "Project X"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{group}");
    let res = service(
        &s,
        &key,
        Method::POST,
        "/chats",
        Some(json!({"member_ids": ["ext:1001", "ext:nobody"]})),
    )
    .await;
    assert_error(&res, 404, "NOT_FOUND");

    let (st, chats) = service(&s, &key, Method::GET, "/users/1001/chats", None).await;
    assert_eq!(st, StatusCode::OK, "{chats}");
    let mut ids: Vec<&str> = chats
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut want = vec![dm["id"].as_str().unwrap(), group["id"].as_str().unwrap()];
    want.sort();
    assert_eq!(ids, want);
    let gid = group["id"].as_str().unwrap();
    let (st, one) = service(&s, &key, Method::GET, &format!("/chats/{gid}"), None).await;
    assert_eq!(st, StatusCode::OK, "{one}");
    let (_, members) = service(
        &s,
        &key,
        Method::GET,
        &format!("/chats/{gid}/members"),
        None,
    )
    .await;
    assert_eq!(members.as_array().unwrap().len(), 3);

    // ann sees the group; a notification from the host reaches her inbox and socket.
    let mut live = SioClient::connect(&s.base, Some(json!({"token": ann.access})), "")
        .await
        .unwrap();
    let (_, mine) = s.get("/api/v1/chat/conversations", &ann.access).await;
    assert!(mine.to_string().contains(gid));
    let (st, n) = service(
        &s,
        &key,
        Method::POST,
        "/notifications",
        Some(
            json!({"user_ids": [ann.user_id], "title": "Payslip ready", "body": "November",
                    "category": "system", "data": {"url": "/payslips/11"}}),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{n}");
    assert_eq!(n["notified"], 1);
    let ev = live.expect("notification_created", WAIT).await.unwrap();
    assert_eq!(ev["payload"]["title"], "Payslip ready");
    assert_eq!(ev["payload"]["data"]["url"], "/payslips/11");

    // Ending ann's sessions closes her socket.
    let (st, _) = service(
        &s,
        &key,
        Method::POST,
        &format!("/users/{}/disconnect", ann.user_id),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    loop {
        match live.next_event(WAIT).await {
            Ok(_) => continue,
            Err(e) => {
                assert!(matches!(e, ClientError::Closed), "not closed: {e}");
                break;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_publishes_its_own_events_to_users_and_channels() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let rival = s.signup("rex@rival.test").await;
    let key = new_key(&s, &ann, &["publish"]).await;
    let (_, chat) = s
        .post(
            "/api/v1/chat/conversations",
            Some(&ann.access),
            json!({"type": "direct", "participant_ids": [bob.user_id]}),
        )
        .await;
    let chat_id = chat["id"].as_str().unwrap();
    let mut bob_io = SioClient::connect(&s.base, Some(json!({"token": bob.access})), "")
        .await
        .unwrap();
    let mut bob_ws = crate::common::ws::stream(&s, &bob).await;

    // To a user: Socket.IO gets the host's name; /api/v1/ws a `publication` envelope.
    let (st, p) = service(
        &s,
        &key,
        Method::POST,
        "/publish",
        Some(json!({"user_ids": [bob.user_id], "event": "order.shipped", "data": {"order": 42}})),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{p}");
    assert_eq!(p["recipients"], 1);
    let ev = bob_io.expect("order.shipped", WAIT).await.unwrap();
    assert_eq!(ev["payload"]["data"]["order"], 42);
    let env = crate::common::ws::next_of(&mut bob_ws, "publication").await;
    assert_eq!(env["payload"]["event"], "order.shipped");
    // To a conversation's channel: its members.
    let (st, _) = service(
        &s,
        &key,
        Method::POST,
        "/publish",
        Some(json!({"channel": format!("conversation:{chat_id}"), "event": "board_moved", "data": {}})),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let ev = bob_io.expect("board_moved", WAIT).await.unwrap();
    assert_eq!(ev["payload"]["channel"], format!("conversation:{chat_id}"));

    // Refusals: Switchboard's own names, bad names, nobody, another tenant, scope.
    for (body, status, code) in [
        (
            json!({"user_ids": [bob.user_id], "event": "new_message", "data": {}}),
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"user_ids": [bob.user_id], "event": "Bad Name", "data": {}}),
            400,
            "VALIDATION_ERROR",
        ),
        (json!({"event": "x", "data": {}}), 400, "VALIDATION_ERROR"),
        (
            json!({"user_ids": [rival.user_id], "event": "x", "data": {}}),
            404,
            "NOT_FOUND",
        ),
        (
            json!({"user_ids": [bob.user_id], "event": "x", "data": {"blob": "x".repeat(70_000)}}),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
    ] {
        let res = service(&s, &key, Method::POST, "/publish", Some(body)).await;
        assert_error(&res, status, code);
    }
    let other = new_key(&s, &ann, &["users"]).await;
    let res = service(
        &s,
        &other,
        Method::POST,
        "/publish",
        Some(json!({"user_ids": [bob.user_id], "event": "x", "data": {}})),
    )
    .await;
    assert_error(&res, 403, "PERMISSION_ERROR");
    assert!(bob_io.before_barrier("x", WAIT).await.unwrap().is_empty());
}

/// A host event named like one of Socket.IO's or Switchboard's own is refused: once
/// `connect_error` went out, every member's socket.io-client hit a parser error,
/// reconnected, was replayed the same event and looped. Bob stays connected and hears
/// the well-named event that follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_event_names_are_refused() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@reserved.test").await;
    let bob = s.add_member(&ann, "bob@reserved.test").await;
    let key = new_key(&s, &ann, &["publish"]).await;
    let mut bob_io = SioClient::connect(&s.base, Some(json!({"token": bob.access})), "")
        .await
        .unwrap();
    for name in [
        "connect_error",
        "connect",
        "disconnect",
        "disconnecting",
        "error",
        "session",
        "exception",
        "updated_chat_list",
        "get_all_chat_messages",
        "chat_created",
        "subscribed",
        "pong",
        "create_message",
        "typing",
        "publication",
    ] {
        let body = json!({"user_ids": [bob.user_id], "event": name, "data": {}});
        let res = service(&s, &key, Method::POST, "/publish", Some(body)).await;
        assert_eq!(res.0, StatusCode::BAD_REQUEST, "{name}: {}", res.1);
        assert_error(&res, 400, "VALIDATION_ERROR");
    }
    let body = json!({"user_ids": [bob.user_id], "event": "order.shipped", "data": {}});
    let (st, _) = service(&s, &key, Method::POST, "/publish", Some(body)).await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let got = bob_io.before_barrier("order.shipped", WAIT).await.unwrap();
    assert_eq!(
        got.len(),
        1,
        "Bob is still connected and hears the next one"
    );
}
