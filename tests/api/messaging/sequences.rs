//! Gapless seqs under concurrent senders, and idempotent resends, on both databases.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{direct, seqs};
use crate::common::{TestServer, assert_error};

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
async fn sends_to_many_conversations_at_once_each_stay_gapless_with_their_notifications() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let mut peers = Vec::new();
    let mut chats = Vec::new();
    for i in 0..4 {
        let peer = s.add_member(&ann, &format!("p{i}@acme.test")).await;
        chats.push(direct(&s, &ann, &peer).await);
        peers.push(peer);
    }
    // 40 sends at once across four direct chats whose peers are not connected: the
    // writer takes them in shared batches; each chat is numbered on its own and each
    // message makes its peer one notification, committed with it.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (http, base, access) = (s.http.clone(), s.base.clone(), ann.access.clone());
        let chat = chats[i % chats.len()].clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"conversation_id": chat, "content": format!("m{i}")});
            let res = http
                .post(format!("{base}/api/v1/chat/messages/send"))
                .bearer_auth(&access)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::CREATED);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for (chat, peer) in chats.iter().zip(&peers) {
        let (_, page) = s
            .get(
                &format!("/api/v1/chat/conversations/{chat}/messages?after_seq=0&limit=100"),
                &peer.access,
            )
            .await;
        assert_eq!(seqs(&page), (1..=10).collect::<Vec<i64>>(), "{chat}");
        let (_, c) = s
            .get("/api/v1/notifications/unread-count", &peer.access)
            .await;
        assert_eq!(c["unread_count"], 10, "one notification per message");
        let (_, list) = s.get("/api/v1/notifications", &peer.access).await;
        let mut bodies: Vec<String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["body"].as_str().unwrap().to_string())
            .collect();
        bodies.sort();
        bodies.dedup();
        assert_eq!(
            bodies.len(),
            10,
            "each of the chat's messages once: {bodies:?}"
        );
    }
}
