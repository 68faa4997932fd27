//! Sync with tombstones, edits, deletes, reactions, forwards and full-text search.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{direct, send, seqs};
use crate::common::{TestServer, assert_error};

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
