//! What each REST write produces live on Socket.IO.

use reqwest::Method;
use serde_json::json;

use super::{WAIT, send};
use crate::common::TestServer;
use switchboard_tools::client::SioClient;

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
