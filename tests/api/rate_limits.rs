//! Each rate limit over the wire, hit and then lifted: REST per user and per client
//! address (429 `RATE_LIMITED` with `Retry-After`), `X-Forwarded-For` honoured only
//! from `TRUSTED_PROXIES`, and events per Socket.IO socket and per plain-WebSocket
//! session (refused with `rate_limited`, the connection stays).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_tools::client::SioClient;

use crate::common::TestServer;
use crate::common::ws::{next_json, stream};

/// GET `/api/v1/auth/me` until it answers 429; returns how many passed and the
/// `Retry-After` seconds.
async fn until_limited(s: &TestServer, token: &str) -> (usize, u64) {
    for passed in 0..50 {
        let res = s
            .http
            .get(format!("{}/api/v1/auth/me", s.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            let wait = res.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"]["code"], "RATE_LIMITED", "{body}");
            return (passed, wait);
        }
        assert_eq!(res.status(), StatusCode::OK);
    }
    panic!("never limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_requests_are_limited_per_user_and_the_limit_lifts() {
    // 5 per 10 s: all five at once, then one more every 2 s, so the burst below is
    // exactly five however slowly the requests go (within 2 s).
    let s = TestServer::start_with(&[
        ("RATE_LIMIT_PER_USER", "5"),
        ("RATE_LIMIT_WINDOW_SECONDS", "10"),
    ])
    .await;
    let ann = s.signup("ann@limits.test").await;
    // Bob's token has not been used yet (his login carries none): his count is fresh.
    let bob = s.add_member(&ann, "bob@limits.test").await;
    let (passed, wait) = until_limited(&s, &bob.access).await;
    assert_eq!(passed, 5, "requests that passed before the first 429");
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    // Another user is counted apart (Ann has made one request: adding Bob).
    let (st, _) = s.get("/api/v1/auth/me", &ann.access).await;
    assert_eq!(st, StatusCode::OK);
    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(200)).await;
    let (st, me) = s.get("/api/v1/auth/me", &bob.access).await;
    assert_eq!(st, StatusCode::OK, "lifted: {me}");
}

/// A request that needs no account: a refresh with a token that does not exist.
async fn anonymous(s: &TestServer, forwarded_for: &str) -> StatusCode {
    s.http
        .post(format!("{}/api/v1/auth/refresh", s.base))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"refresh_token": "no-such-token"}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_addresses_are_limited_and_forwarded_for_is_trusted_only_from_proxies() {
    let limits = [
        ("RATE_LIMIT_PER_IP", "3"),
        ("RATE_LIMIT_WINDOW_SECONDS", "2"),
    ];
    // Behind a trusted proxy (the test client's own address), each forwarded client
    // has a count of its own.
    let mut vars = limits.to_vec();
    vars.push(("TRUSTED_PROXIES", "127.0.0.1"));
    let s = TestServer::start_with(&vars).await;
    for _ in 0..3 {
        assert_eq!(anonymous(&s, "203.0.113.7").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        anonymous(&s, "203.0.113.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(anonymous(&s, "203.0.113.8").await, StatusCode::UNAUTHORIZED);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(
        anonymous(&s, "203.0.113.7").await,
        StatusCode::UNAUTHORIZED,
        "lifted"
    );

    // Without trusted proxies the header is ignored: every request is the peer's.
    let s = TestServer::start_with(&limits).await;
    for i in 0..3 {
        let who = format!("198.51.100.{i}");
        assert_eq!(anonymous(&s, &who).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        anonymous(&s, "198.51.100.9").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_limited_per_connection_and_the_connection_stays() {
    let s = TestServer::start_with(&[("RATE_LIMIT_EVENTS_PER_SECOND", "2")]).await;
    let ann = s.signup("ann@events.test").await;

    // Socket.IO: a burst of pings; those past the burst (4) are refused.
    let sio = SioClient::connect(&s.base, Some(json!({"token": ann.access})), "")
        .await
        .unwrap();
    let mut refused = 0;
    for _ in 0..10 {
        let ack = sio
            .emit_with_ack("ping", &json!({}), Duration::from_secs(5))
            .await
            .unwrap();
        if ack["code"] == "rate_limited" {
            refused += 1;
        } else {
            assert_eq!(ack["status"], "ok", "{ack}");
        }
    }
    assert!(refused >= 5, "{refused} refused");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let ack = sio
        .emit_with_ack("ping", &json!({}), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(ack["status"], "ok", "still connected and lifted: {ack}");

    // Plain WebSocket: the same for commands.
    use futures::SinkExt;
    let mut ws = stream(&s, &ann).await;
    for _ in 0..10 {
        ws.send(tokio_tungstenite::tungstenite::Message::text(
            json!({"type": "ping"}).to_string(),
        ))
        .await
        .unwrap();
    }
    let mut limited = 0;
    for _ in 0..10 {
        let v = next_json(&mut ws).await;
        if v["code"] == "rate_limited" || v["payload"]["code"] == "rate_limited" {
            limited += 1;
        }
    }
    assert!(limited >= 5, "{limited} refused");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        json!({"type": "ping"}).to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "pong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_the_limits_hold_across_nodes() {
    let redis = crate::common::services::redis_url();
    let prefix = format!("sbtest-{}", uuid::Uuid::now_v7().simple());
    let vars = [
        ("REDIS_URL", redis.as_str()),
        ("REDIS_PREFIX", prefix.as_str()),
        ("RATE_LIMIT_PER_USER", "4"),
        ("RATE_LIMIT_WINDOW_SECONDS", "3"),
    ];
    let a = TestServer::start_with(&vars).await;
    let b = TestServer::start_on(&a.database_url, &vars, None).await;
    let ann = a.signup("ann@shared.test").await;
    for node in [&a, &b, &a, &b] {
        let (st, _) = node.get("/api/v1/auth/me", &ann.access).await;
        assert_eq!(st, StatusCode::OK);
    }
    let (st, body) = b.get("/api/v1/auth/me", &ann.access).await;
    assert_eq!(
        st,
        StatusCode::TOO_MANY_REQUESTS,
        "the fifth, on either node: {body}"
    );
    let (st, _) = a.get("/api/v1/auth/me", &ann.access).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
}
