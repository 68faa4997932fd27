//! The HR app's `/api/v1/messages` surface: lists, filters, bounds, time-cursor history.

use reqwest::StatusCode;
use serde_json::json;

use super::{send, seqs};
use crate::common::{TestServer, assert_error};

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
