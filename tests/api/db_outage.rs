//! PostgreSQL stops and starts again under a running server: while it is down, writes
//! answer 503 `SERVICE_UNAVAILABLE` promptly (never a 500, never a hang) and `/readyz`
//! says so; when it is back, the same server recovers by itself.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::common::services::OwnPostgres;
use crate::common::{TestServer, assert_error};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_answer_503_while_postgres_is_down_and_recover_by_themselves() {
    let pg = OwnPostgres::start();
    let s = TestServer::start_on(&pg.url(), &[("DB_ACQUIRE_TIMEOUT_MS", "1000")], None).await;
    let ann = s.signup("ann@outage.test").await;
    let bob = s.add_member(&ann, "bob@outage.test").await;
    let chat = s.direct_chat(&ann, &bob).await;
    s.say(&ann, &chat, "before").await;

    pg.down();
    let send = || {
        s.post(
            "/api/v1/chat/messages/send",
            Some(&ann.access),
            json!({"conversation_id": chat, "content": "during"}),
        )
    };
    // A bounded wait, not a measurement: a hang would stop here.
    let res = tokio::time::timeout(Duration::from_secs(15), send())
        .await
        .expect("a write while the database is down answers instead of hanging");
    assert_error(&res, 503, "SERVICE_UNAVAILABLE");
    let res = tokio::time::timeout(
        Duration::from_secs(15),
        s.get("/api/v1/chat/conversations", &ann.access),
    )
    .await
    .expect("a read answers too");
    assert_error(&res, 503, "SERVICE_UNAVAILABLE");
    let (st, ready) = s.call(reqwest::Method::GET, "/readyz", None, None).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{ready}");

    pg.up();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (st, body) = send().await;
        if st == StatusCode::CREATED {
            break;
        }
        assert_eq!(
            st,
            StatusCode::SERVICE_UNAVAILABLE,
            "only 503 while recovering: {body}"
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "not recovered: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (st, _) = s.call(reqwest::Method::GET, "/readyz", None, None).await;
    assert_eq!(st, StatusCode::OK);
    let (_, history) = s
        .get(
            &format!("/v1/chat/conversations/{chat}/messages"),
            &bob.access,
        )
        .await;
    let texts: Vec<_> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        texts,
        ["before", "during"],
        "the refused send stored nothing"
    );
}
