//! Conversation management, blocks and read markers.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{direct, send};
use crate::common::{TestServer, assert_error};

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
