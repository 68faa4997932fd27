//! The REST messaging surfaces (`/api/v1/messages`, `/api/v1/chat`) over the wire:
//! access rules on every route, gapless seqs under concurrency, idempotent sends,
//! sync with tombstones, search, blocks, and the live events each write produces.

mod common;

use std::time::Duration;

use common::{Session, TestServer, assert_error};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchboard_tools::client::SioClient;

const WAIT: Duration = Duration::from_secs(15);

async fn direct(s: &TestServer, a: &Session, b: &Session) -> String {
    let (st, chat) = s
        .post(
            "/api/v1/messages/conversations",
            Some(&a.access),
            json!({"type": "direct", "participant_ids": [b.user_id]}),
        )
        .await;
    assert!(st.is_success(), "{chat}");
    chat["id"].as_str().unwrap().to_string()
}

async fn send(s: &TestServer, who: &Session, chat: &str, text: &str) -> Value {
    let (st, m) = s
        .post(
            "/api/v1/chat/messages/send",
            Some(&who.access),
            json!({"conversation_id": chat, "content": text}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{m}");
    m
}

/// The seqs of a history: the HR route's bare array or the chat route's page.
fn seqs(page: &Value) -> Vec<i64> {
    page.as_array()
        .or_else(|| page["messages"].as_array())
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hr_surface_conversations_and_messages() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let cat = s.add_member(&ann, "cat@acme.test").await;

    // A direct conversation is never duplicated, whoever asks.
    let (st, first) = s
        .post(
            "/api/v1/messages/conversations",
            Some(&ann.access),
            json!({"type": "direct", "participant_ids": [bob.user_id]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{first}");
    let (st, again) = s
        .post(
            "/api/v1/messages/conversations",
            Some(&bob.access),
            json!({"type": "direct", "participant_ids": [ann.user_id]}),
        )
        .await;
    assert_eq!((st, &again["id"]), (StatusCode::OK, &first["id"]));
    let direct_id = first["id"].as_str().unwrap().to_string();

    // A group gets a generated title.
    let (st, group) = s
        .post(
            "/api/v1/messages/conversations",
            Some(&ann.access),
            json!({"type": "group", "participant_ids": [bob.user_id, cat.user_id]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(group["title"], "ann, bob, cat");
    assert_eq!(group["participants"].as_array().unwrap().len(), 3);
    let group_id = group["id"].as_str().unwrap().to_string();
    let res = s
        .post(
            "/api/v1/messages/conversations",
            Some(&ann.access),
            json!({"type": "direct", "participant_ids": [bob.user_id, cat.user_id]}),
        )
        .await;
    assert_error(&res, 400, "VALIDATION_ERROR");
    let res = s
        .post(
            "/api/v1/messages/conversations",
            Some(&ann.access),
            json!({"type": "wormhole", "participant_ids": []}),
        )
        .await;
    assert_error(&res, 400, "VALIDATION_ERROR");

    // Posting: html is sanitised, mentions must be able to read, replies stay in place.
    let path = format!("/api/v1/messages/conversations/{group_id}/messages");
    let (st, m1) = s
        .post(
            &path,
            Some(&ann.access),
            json!({"content": "hi @bob",
        "html": "<p>hi <b>@bob</b><script>alert(1)</script><img src=x onerror=alert(2)></p>",
        "mention_user_ids": [bob.user_id]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{m1}");
    let html = m1["html"].as_str().unwrap();
    assert!(
        html.contains("<b>@bob</b>") && !html.contains("script") && !html.contains("onerror"),
        "{html}"
    );
    let outsider = s.add_member(&ann, "dan@acme.test").await;
    let res = s
        .post(
            &path,
            Some(&ann.access),
            json!({"content": "x", "mention_user_ids": [outsider.user_id]}),
        )
        .await;
    assert_error(&res, 400, "VALIDATION_ERROR");
    assert_eq!(res.1["error"]["field"], "mention_user_ids");
    let other = send(&s, &ann, &direct_id, "elsewhere").await;
    let res = s
        .post(
            &path,
            Some(&ann.access),
            json!({"content": "x", "reply_to_id": other["id"]}),
        )
        .await;
    assert_eq!(res.1["error"]["field"], "reply_to_id");
    // Unread for Bob: the group (one message, mentioning him) and the direct one.
    let (_, unread) = s.get("/api/v1/messages/unread-count", &bob.access).await;
    assert_eq!(
        unread,
        json!({"conversations": 2, "messages": 2, "mentions": 1})
    );
    let (st, reply) = s
        .post(
            &path,
            Some(&bob.access),
            json!({"content": "hello", "reply_to_id": m1["id"]}),
        )
        .await;
    assert_eq!(
        (st, &reply["reply_to_id"]),
        (StatusCode::CREATED, &m1["id"])
    );
    let res = s
        .post(&path, Some(&ann.access), json!({"content": ""}))
        .await;
    assert_eq!(res.1["error"]["field"], "content");
    let res = s
        .post(
            &path,
            Some(&ann.access),
            json!({"content": "x", "attachment_ids": [uuid::Uuid::now_v7()]}),
        )
        .await;
    assert_eq!(res.1["error"]["field"], "attachment_ids");

    // After replying, Bob has read the group; only the direct message is unread.
    let (_, unread) = s.get("/api/v1/messages/unread-count", &bob.access).await;
    assert_eq!(
        unread,
        json!({"conversations": 1, "messages": 1, "mentions": 0})
    );

    // Listing with filters and bounds.
    let (st, list) = s
        .get("/api/v1/messages/conversations?type=group", &cat.access)
        .await;
    assert_eq!(st, StatusCode::OK);
    // 000: "Array of ConversationRead objects".
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["unread_count"], 2);
    let (_, list) = s
        .get(
            "/api/v1/messages/conversations?unread_only=true",
            &ann.access,
        )
        .await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "ann has only bob's reply unread"
    );
    let (_, list) = s
        .get("/api/v1/messages/conversations?search=cat", &ann.access)
        .await;
    assert_eq!(list[0]["id"], group_id.as_str());
    assert_error(
        &s.get("/api/v1/messages/conversations?limit=101", &ann.access)
            .await,
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &s.get("/api/v1/messages/conversations?limit=abc", &ann.access)
            .await,
        400,
        "VALIDATION_ERROR",
    );

    // History by time cursor.
    let (st, page) = s.get(&format!("{path}?limit=1"), &cat.access).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(seqs(&page), [2]);
    let before = page[0]["created_at"].as_str().unwrap().replace('+', "%2B");
    let (_, page) = s.get(&format!("{path}?before={before}"), &cat.access).await;
    assert_eq!(seqs(&page), [1]);
    assert_error(
        &s.get(&format!("{path}?before=yesterday"), &cat.access)
            .await,
        400,
        "VALIDATION_ERROR",
    );
    let (st, one) = s
        .get(
            &format!("/api/v1/messages/conversations/{group_id}"),
            &cat.access,
        )
        .await;
    assert_eq!((st, one["last_seq"].as_i64()), (StatusCode::OK, Some(2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_conversation_route_checks_who_is_asking() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let outsider = s.add_member(&ann, "out@acme.test").await;
    let rival = s.signup("eve@rival.test").await;
    let chat = direct(&s, &ann, &bob).await;
    let msg = send(&s, &ann, &chat, "secret").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ghost = uuid::Uuid::now_v7().to_string();

    // (method, path with {c} for the conversation and {m} for a message, body)
    let remove_bob = format!(
        "/api/v1/chat/conversations/{{c}}/participants/{}",
        bob.user_id
    );
    let routes: Vec<(Method, &str, Value)> = vec![
        (
            Method::GET,
            "/api/v1/messages/conversations/{c}",
            Value::Null,
        ),
        (
            Method::GET,
            "/api/v1/messages/conversations/{c}/messages",
            Value::Null,
        ),
        (
            Method::POST,
            "/api/v1/messages/conversations/{c}/messages",
            json!({"content": "x"}),
        ),
        (Method::GET, "/api/v1/chat/conversations/{c}", Value::Null),
        (
            Method::PATCH,
            "/api/v1/chat/conversations/{c}",
            json!({"title": "x"}),
        ),
        (
            Method::DELETE,
            "/api/v1/chat/conversations/{c}?scope=for_me",
            Value::Null,
        ),
        (
            Method::GET,
            "/api/v1/chat/conversations/{c}/participants",
            Value::Null,
        ),
        (
            Method::POST,
            "/api/v1/chat/conversations/{c}/participants",
            json!({"user_ids": [outsider.user_id]}),
        ),
        (Method::DELETE, &remove_bob, Value::Null),
        (
            Method::POST,
            "/api/v1/chat/conversations/{c}/read",
            json!({}),
        ),
        (
            Method::POST,
            "/api/v1/chat/conversations/{c}/typing",
            Value::Null,
        ),
        (
            Method::POST,
            "/api/v1/chat/conversations/{c}/mute",
            Value::Null,
        ),
        (
            Method::POST,
            "/api/v1/chat/conversations/{c}/unmute",
            Value::Null,
        ),
        (
            Method::POST,
            "/api/v1/chat/conversations/{c}/archive",
            Value::Null,
        ),
        (
            Method::POST,
            "/api/v1/chat/conversations/{c}/unarchive",
            Value::Null,
        ),
        (
            Method::GET,
            "/api/v1/chat/conversations/{c}/messages",
            Value::Null,
        ),
        (
            Method::POST,
            "/api/v1/chat/messages/send",
            json!({"conversation_id": "{c}", "content": "x"}),
        ),
        (
            Method::POST,
            "/api/v1/chat/messages/sync",
            json!({"conversations": [{"id": "{c}", "last_seq": 0}]}),
        ),
        (
            Method::GET,
            "/api/v1/chat/messages/search?q=secret&conversation_id={c}",
            Value::Null,
        ),
        (
            Method::PATCH,
            "/api/v1/chat/messages/{m}",
            json!({"content": "x"}),
        ),
        (Method::DELETE, "/api/v1/chat/messages/{m}", Value::Null),
        (
            Method::POST,
            "/api/v1/chat/messages/{m}/reactions",
            json!({"emoji": "👍"}),
        ),
        (
            Method::POST,
            "/api/v1/chat/messages/forward",
            json!({"message_id": "{m}", "conversation_ids": ["{c}"]}),
        ),
    ];
    let fill = |t: &str, c: &str, m: &str| t.replace("{c}", c).replace("{m}", m);
    for (method, path, body) in &routes {
        let body = (!body.is_null())
            .then(|| serde_json::from_str::<Value>(&fill(&body.to_string(), &chat, &msg)).unwrap());
        // A participant of the same tenant who is not in the conversation: 403.
        let res = s
            .call(
                method.clone(),
                &fill(path, &chat, &msg),
                Some(&outsider.access),
                body.clone(),
            )
            .await;
        assert_error(&res, 403, "PERMISSION_ERROR");
        // Another tenant: 404, the same answer as for an id that does not exist.
        let res = s
            .call(
                method.clone(),
                &fill(path, &chat, &msg),
                Some(&rival.access),
                body.clone(),
            )
            .await;
        assert_error(&res, 404, "NOT_FOUND");
        let ghost_body = body.as_ref().map(|b| {
            serde_json::from_str::<Value>(
                &b.to_string().replace(&chat, &ghost).replace(&msg, &ghost),
            )
            .unwrap()
        });
        let res = s
            .call(
                method.clone(),
                &fill(path, &ghost, &ghost),
                Some(&bob.access),
                ghost_body,
            )
            .await;
        assert_error(&res, 404, "NOT_FOUND");
        // No token at all.
        let res = s
            .call(method.clone(), &fill(path, &chat, &msg), None, body)
            .await;
        assert_error(&res, 401, "AUTH_ERROR");
    }
    // Nothing above changed the conversation.
    let (_, page) = s
        .get(
            &format!("/api/v1/chat/conversations/{chat}/messages"),
            &ann.access,
        )
        .await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);
    assert_eq!(page["messages"][0]["content"], "secret");
    let (_, parts) = s
        .get(
            &format!("/api/v1/chat/conversations/{chat}/participants"),
            &ann.access,
        )
        .await;
    assert_eq!(parts.as_array().unwrap().len(), 2);
    // The directory is per tenant.
    let (_, users) = s.get("/api/v1/chat/users", &rival.access).await;
    assert_eq!(users.as_array().unwrap().len(), 1);
    let (_, found) = s
        .get("/api/v1/chat/users/search?q=acme", &rival.access)
        .await;
    assert!(found.as_array().unwrap().is_empty());
    assert_error(
        &s.call(
            Method::POST,
            &format!("/api/v1/chat/users/{}/block", ann.user_id),
            Some(&rival.access),
            None,
        )
        .await,
        404,
        "NOT_FOUND",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_senders_get_gapless_seqs_and_resends_are_stored_once() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let mut members = vec![ann.clone()];
    for i in 0..9 {
        members.push(s.add_member(&ann, &format!("u{i}@acme.test")).await);
    }
    let ids: Vec<&str> = members[1..].iter().map(|m| m.user_id.as_str()).collect();
    let (_, group) = s
        .post(
            "/api/v1/chat/conversations",
            Some(&ann.access),
            json!({"type": "group", "participant_ids": ids}),
        )
        .await;
    let chat = group["id"].as_str().unwrap().to_string();

    // 50 sends at once from 10 users, each with its own client_msg_id...
    let mut tasks = Vec::new();
    for i in 0..50 {
        let who = members[i % members.len()].clone();
        let (http, base, chat) = (s.http.clone(), s.base.clone(), chat.clone());
        tasks.push(tokio::spawn(async move {
            let body = json!({"conversation_id": chat, "content": format!("m{i}"), "client_msg_id": format!("c{i}")});
            let res = http.post(format!("{base}/api/v1/chat/messages/send")).bearer_auth(&who.access).json(&body).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::CREATED);
            let m: Value = res.json().await.unwrap();
            (who, body, m)
        }));
    }
    let mut sent = Vec::new();
    for t in tasks {
        sent.push(t.await.unwrap());
    }
    // ...and every one resent once (a client that missed its reply).
    for (who, body, original) in &sent {
        let (st, again) = s
            .post(
                "/api/v1/chat/messages/send",
                Some(&who.access),
                body.clone(),
            )
            .await;
        assert_eq!((st, &again["id"]), (StatusCode::OK, &original["id"]));
    }
    // ...and one new message sent five times at once (a client retrying in a hurry):
    // stored once, every reply names that one message.
    let body = json!({"conversation_id": chat, "content": "m50", "client_msg_id": "burst"});
    let mut burst = Vec::new();
    for _ in 0..5 {
        let (http, base, who, body) = (
            s.http.clone(),
            s.base.clone(),
            members[0].access.clone(),
            body.clone(),
        );
        burst.push(tokio::spawn(async move {
            let res = http
                .post(format!("{base}/api/v1/chat/messages/send"))
                .bearer_auth(&who)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success(), "{}", res.status());
            res.json::<Value>().await.unwrap()["id"].clone()
        }));
    }
    let mut ids = Vec::new();
    for t in burst {
        ids.push(t.await.unwrap());
    }
    assert!(ids.iter().all(|id| *id == ids[0]), "one message: {ids:?}");
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let (_, page) = s
            .get(
                &format!("/api/v1/chat/conversations/{chat}/messages?after_seq={after}&limit=100"),
                &ann.access,
            )
            .await;
        let got = seqs(&page);
        if got.is_empty() {
            break;
        }
        after = *got.last().unwrap();
        all.extend(got);
    }
    assert_eq!(
        all,
        (1..=51).collect::<Vec<i64>>(),
        "seqs are exactly 1..51"
    );
    let (_, c) = s
        .get(&format!("/api/v1/chat/conversations/{chat}"), &ann.access)
        .await;
    assert_eq!(c["last_seq"], 51);
    // The same client_msg_id in another conversation is a conflict, not a silent reuse.
    let other = direct(&s, &ann, &members[1]).await;
    let res = s
        .post(
            "/api/v1/chat/messages/send",
            Some(&ann.access),
            json!({"conversation_id": other, "content": "x", "client_msg_id": "c0"}),
        )
        .await;
    assert_error(&res, 409, "CONFLICT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_edits_deletes_reactions_forward_and_search() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let chat = direct(&s, &ann, &bob).await;
    for t in ["alpha apples", "bravo bananas", "charlie cherries"] {
        send(&s, &ann, &chat, t).await;
    }
    // Bob's device holds seq 1..2 and synced at `since`.
    let (_, first) = s
        .post(
            "/api/v1/chat/messages/sync",
            Some(&bob.access),
            json!({"conversations": [{"id": chat, "last_seq": 2}]}),
        )
        .await;
    assert_eq!(seqs(&first["conversations"][0]), [3]);
    let since = first["server_time"].clone();

    let (_, page) = s
        .get(
            &format!("/api/v1/chat/conversations/{chat}/messages"),
            &bob.access,
        )
        .await;
    let (m1, m2) = (
        page["messages"][0]["id"].as_str().unwrap().to_string(),
        page["messages"][1]["id"].as_str().unwrap().to_string(),
    );
    let res = s
        .patch(
            &format!("/api/v1/chat/messages/{m1}"),
            &bob.access,
            json!({"content": "not mine"}),
        )
        .await;
    assert_error(&res, 403, "PERMISSION_ERROR");
    let (st, edited) = s
        .patch(
            &format!("/api/v1/chat/messages/{m1}"),
            &ann.access,
            json!({"content": "alpha apricots"}),
        )
        .await;
    assert_eq!(
        (st, edited["content"].as_str()),
        (StatusCode::OK, Some("alpha apricots"))
    );
    assert!(edited["edited_at"].is_string());
    let (st, gone) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/chat/messages/{m2}"),
            Some(&ann.access),
            None,
        )
        .await;
    assert_eq!(
        (st, gone["deleted"].as_bool(), gone["content"].as_str()),
        (StatusCode::OK, Some(true), Some(""))
    );
    send(&s, &bob, &chat, "delta dates").await;

    let (_, synced) = s
        .post(
            "/api/v1/chat/messages/sync",
            Some(&bob.access),
            json!({"conversations": [{"id": chat, "last_seq": 3}], "since": since}),
        )
        .await;
    let c = &synced["conversations"][0];
    assert_eq!(seqs(c), [4]);
    assert_eq!(c["updated"].as_array().unwrap().len(), 1);
    assert_eq!(c["updated"][0]["content"], "alpha apricots");
    assert_eq!(c["deleted"], json!([m2]));
    assert_eq!(c["has_more"], false);
    let res = s
        .post(
            "/api/v1/chat/messages/sync",
            Some(&bob.access),
            json!({"conversations": []}),
        )
        .await;
    assert_error(&res, 400, "VALIDATION_ERROR");

    // Reactions toggle.
    let path = format!("/api/v1/chat/messages/{m1}/reactions");
    let (_, r) = s
        .post(&path, Some(&bob.access), json!({"emoji": "👍"}))
        .await;
    assert_eq!(
        (r["added"].as_bool(), r["counts"]["👍"].as_u64()),
        (Some(true), Some(1))
    );
    let (_, r) = s
        .post(&path, Some(&ann.access), json!({"emoji": "👍"}))
        .await;
    assert_eq!(r["counts"]["👍"], 2);
    let (_, r) = s
        .post(&path, Some(&bob.access), json!({"emoji": "👍"}))
        .await;
    assert_eq!(
        (r["added"].as_bool(), r["counts"]["👍"].as_u64()),
        (Some(false), Some(1))
    );

    // Forward into a group Bob is in.
    let cat = s.add_member(&ann, "cat@acme.test").await;
    let (_, group) = s
        .post(
            "/api/v1/chat/conversations",
            Some(&bob.access),
            json!({"type": "group", "participant_ids": [cat.user_id]}),
        )
        .await;
    let gid = group["id"].as_str().unwrap();
    let (st, fwd) = s
        .post(
            "/api/v1/chat/messages/forward",
            Some(&bob.access),
            json!({"message_id": m1, "conversation_ids": [gid]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{fwd}");
    assert_eq!(
        (
            fwd[0]["forwarded_from_id"].as_str(),
            fwd[0]["content"].as_str()
        ),
        (Some(m1.as_str()), Some("alpha apricots"))
    );

    // Search: only what the caller can read, never deleted text, query syntax is inert.
    let (st, hits) = s
        .get("/api/v1/chat/messages/search?q=apricots", &cat.access)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        hits.as_array().unwrap().len(),
        1,
        "cat sees only the forwarded copy: {hits}"
    );
    let (_, hits) = s
        .get("/api/v1/chat/messages/search?q=apricots", &ann.access)
        .await;
    assert_eq!(hits.as_array().unwrap().len(), 1);
    let (_, hits) = s
        .get("/api/v1/chat/messages/search?q=bananas", &ann.access)
        .await;
    assert!(
        hits.as_array().unwrap().is_empty(),
        "deleted messages are not found"
    );
    let (_, hits) = s
        .get(
            &format!("/api/v1/chat/messages/search?q=dates&conversation_id={chat}"),
            &ann.access,
        )
        .await;
    assert_eq!(hits.as_array().unwrap().len(), 1);
    let (st, _) = s
        .get(
            "/api/v1/chat/messages/search?q=%22%20OR%20NEAR(*",
            &ann.access,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_error(
        &s.get("/api/v1/chat/messages/search?q=", &ann.access).await,
        400,
        "VALIDATION_ERROR",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn management_blocks_and_read_markers() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let cat = s.add_member(&ann, "cat@acme.test").await;
    let (_, chan) = s
        .post(
            "/api/v1/chat/conversations",
            Some(&ann.access),
            json!({"type": "channel", "participant_ids": [bob.user_id], "title": "news"}),
        )
        .await;
    let cid = chan["id"].as_str().unwrap().to_string();
    // Channel posts only by owners/admins.
    let res = s
        .post(
            "/api/v1/chat/messages/send",
            Some(&bob.access),
            json!({"conversation_id": cid, "content": "hi"}),
        )
        .await;
    assert_error(&res, 403, "PERMISSION_ERROR");
    for i in 1..=3 {
        send(&s, &ann, &cid, &format!("n{i}")).await;
    }
    let res = s
        .patch(
            &format!("/api/v1/chat/conversations/{cid}"),
            &bob.access,
            json!({"title": "mine"}),
        )
        .await;
    assert_error(&res, 403, "PERMISSION_ERROR");
    let (st, renamed) = s
        .patch(
            &format!("/api/v1/chat/conversations/{cid}"),
            &ann.access,
            json!({"title": "all news"}),
        )
        .await;
    assert_eq!(
        (st, renamed["title"].as_str()),
        (StatusCode::OK, Some("all news"))
    );
    let res = s
        .patch(
            &format!("/api/v1/chat/conversations/{cid}"),
            &ann.access,
            json!({"title": "x".repeat(201)}),
        )
        .await;
    assert_eq!(res.1["error"]["field"], "title");

    // Read markers never move backwards.
    let read_path = format!("/api/v1/chat/conversations/{cid}/read");
    assert_eq!(
        s.post(&read_path, Some(&bob.access), json!({"seq": 2}))
            .await
            .1["last_read_seq"],
        2
    );
    assert_eq!(
        s.post(&read_path, Some(&bob.access), json!({"seq": 1}))
            .await
            .1["last_read_seq"],
        2
    );
    let (_, unread) = s
        .get("/api/v1/chat/conversations/unread", &bob.access)
        .await;
    assert_eq!(
        unread,
        json!([{"conversation_id": cid, "unread_count": 1, "last_seq": 3}])
    );
    let (_, flags) = s
        .post(
            &format!("/api/v1/chat/conversations/{cid}/mute"),
            Some(&bob.access),
            json!({}),
        )
        .await;
    assert_eq!(flags["muted"], true);

    // Participants: add, remove, leave.
    let (st, parts) = s
        .post(
            &format!("/api/v1/chat/conversations/{cid}/participants"),
            Some(&ann.access),
            json!({"user_ids": [cat.user_id]}),
        )
        .await;
    assert_eq!((st, parts.as_array().unwrap().len()), (StatusCode::OK, 3));
    let (_, page) = s
        .get(
            &format!("/api/v1/chat/conversations/{cid}/messages"),
            &cat.access,
        )
        .await;
    assert!(
        page["messages"].as_array().unwrap().is_empty(),
        "history before joining stays hidden"
    );
    let res = s
        .call(
            Method::DELETE,
            &format!(
                "/api/v1/chat/conversations/{cid}/participants/{}",
                cat.user_id
            ),
            Some(&bob.access),
            None,
        )
        .await;
    assert_error(&res, 403, "PERMISSION_ERROR");
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!(
                "/api/v1/chat/conversations/{cid}/participants/{}",
                bob.user_id
            ),
            Some(&bob.access),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_error(
        &s.get(&format!("/api/v1/chat/conversations/{cid}"), &bob.access)
            .await,
        403,
        "PERMISSION_ERROR",
    );

    // Delete for me hides history; for everyone needs an owner.
    let dm = direct(&s, &ann, &cat).await;
    send(&s, &ann, &dm, "old").await;
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/chat/conversations/{dm}?scope=for_me"),
            Some(&cat.access),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, page) = s
        .get(
            &format!("/api/v1/chat/conversations/{dm}/messages"),
            &cat.access,
        )
        .await;
    assert!(page["messages"].as_array().unwrap().is_empty());
    let (_, page) = s
        .get(
            &format!("/api/v1/chat/conversations/{dm}/messages"),
            &ann.access,
        )
        .await;
    assert_eq!(
        page["messages"].as_array().unwrap().len(),
        1,
        "ann still sees it"
    );
    let res = s
        .call(
            Method::DELETE,
            &format!("/api/v1/chat/conversations/{cid}?scope=for_everyone"),
            Some(&cat.access),
            None,
        )
        .await;
    assert_error(&res, 403, "PERMISSION_ERROR");
    let res = s
        .call(
            Method::DELETE,
            &format!("/api/v1/chat/conversations/{cid}?scope=sideways"),
            Some(&ann.access),
            None,
        )
        .await;
    assert_error(&res, 400, "VALIDATION_ERROR");
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/chat/conversations/{cid}?scope=for_everyone"),
            Some(&ann.access),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_error(
        &s.get(&format!("/api/v1/chat/conversations/{cid}"), &ann.access)
            .await,
        404,
        "NOT_FOUND",
    );

    // Blocks: a blocked user can neither open a direct chat nor write in one.
    let dm_bob = direct(&s, &ann, &bob).await;
    let (st, b) = s
        .call(
            Method::POST,
            &format!("/api/v1/chat/users/{}/block", ann.user_id),
            Some(&bob.access),
            None,
        )
        .await;
    assert_eq!(
        (st, b["user_id"].as_str()),
        (StatusCode::OK, Some(ann.user_id.as_str()))
    );
    let res = s
        .post(
            "/api/v1/chat/messages/send",
            Some(&ann.access),
            json!({"conversation_id": dm_bob, "content": "hey"}),
        )
        .await;
    assert_error(&res, 403, "PERMISSION_ERROR");
    let (_, blocks) = s.get("/api/v1/chat/blocks", &bob.access).await;
    assert_eq!(blocks.as_array().unwrap().len(), 1);
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/chat/users/{}/block", ann.user_id),
            Some(&bob.access),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    send(&s, &ann, &dm_bob, "hey again").await;

    // Directory: search and agents.
    let (_, found) = s.get("/api/v1/chat/users/search?q=cat", &ann.access).await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    s.patch(
        &format!("/api/v1/users/{}", cat.user_id),
        &ann.access,
        json!({"role": "agent"}),
    )
    .await;
    let (_, agents) = s.get("/api/v1/chat/agents", &bob.access).await;
    assert_eq!(agents.as_array().unwrap().len(), 1);
    assert_eq!(agents[0]["id"], cat.user_id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_writes_show_up_live_on_socket_io() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let cat = s.add_member(&ann, "cat@acme.test").await;
    let mut live = SioClient::connect(&s.base, Some(json!({"token": bob.access})), "")
        .await
        .unwrap();
    let (_, group) = s
        .post(
            "/api/v1/chat/conversations",
            Some(&ann.access),
            json!({"type": "group", "participant_ids": [bob.user_id]}),
        )
        .await;
    let gid = group["id"].as_str().unwrap().to_string();
    assert_eq!(
        live.expect("conversation_updated", WAIT).await.unwrap()["payload"]["id"],
        gid.as_str()
    );

    let m = send(&s, &ann, &gid, "live!").await;
    let got = live.expect("response_message", WAIT).await.unwrap();
    assert_eq!(
        (got["id"].as_str(), got["seq"].as_i64()),
        (m["id"].as_str(), Some(1))
    );
    // A send is one fact: Socket.IO hears `response_message` (the RealtimeEvent stream
    // also renders it as `conversation_updated`, see tests/ws.rs).

    let mid = m["id"].as_str().unwrap();
    s.patch(
        &format!("/api/v1/chat/messages/{mid}"),
        &ann.access,
        json!({"content": "edited"}),
    )
    .await;
    let e = live.expect("message_updated", WAIT).await.unwrap();
    assert_eq!(
        (e["type"].as_str(), e["payload"]["content"].as_str()),
        (Some("message_updated"), Some("edited"))
    );
    s.post(
        &format!("/api/v1/chat/messages/{mid}/reactions"),
        Some(&ann.access),
        json!({"emoji": "🎉"}),
    )
    .await;
    assert_eq!(
        live.expect("message_reaction", WAIT).await.unwrap()["payload"]["emoji"],
        "🎉"
    );
    s.call(
        Method::DELETE,
        &format!("/api/v1/chat/messages/{mid}"),
        Some(&ann.access),
        None,
    )
    .await;
    assert_eq!(
        live.expect("message_deleted", WAIT).await.unwrap()["entity_id"],
        mid
    );
    // Ann's own message is already read for her: only Bob's read moves a marker.
    s.post(
        &format!("/api/v1/chat/conversations/{gid}/read"),
        Some(&bob.access),
        json!({}),
    )
    .await;
    let r = live.expect("conversation_read", WAIT).await.unwrap();
    assert_eq!(
        (
            r["payload"]["user_id"].as_str(),
            r["payload"]["last_read_seq"].as_i64()
        ),
        (Some(bob.user_id.as_str()), Some(1))
    );
    s.post(
        &format!("/api/v1/chat/conversations/{gid}/typing"),
        Some(&ann.access),
        json!({}),
    )
    .await;
    assert_eq!(
        live.expect("typing", WAIT).await.unwrap()["payload"]["user_id"],
        ann.user_id.as_str()
    );
    s.post(
        &format!("/api/v1/chat/conversations/{gid}/participants"),
        Some(&ann.access),
        json!({"user_ids": [cat.user_id]}),
    )
    .await;
    assert_eq!(
        live.expect("conversation_participants_added", WAIT)
            .await
            .unwrap()["payload"]["user_ids"],
        json!([cat.user_id])
    );
    s.call(
        Method::DELETE,
        &format!(
            "/api/v1/chat/conversations/{gid}/participants/{}",
            cat.user_id
        ),
        Some(&ann.access),
        None,
    )
    .await;
    assert_eq!(
        live.expect("participant_removed", WAIT).await.unwrap()["payload"]["user_id"],
        cat.user_id.as_str()
    );
    s.patch(
        &format!("/api/v1/chat/conversations/{gid}"),
        &ann.access,
        json!({"title": "renamed"}),
    )
    .await;
    let upd = live.expect("conversation_updated", WAIT).await.unwrap();
    assert_eq!(upd["payload"]["title"], "renamed");
}
