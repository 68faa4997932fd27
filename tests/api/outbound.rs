//! The server fetches only what its configuration allows, matched on the parsed URL:
//! a push endpoint or a host's JWKS URL that merely starts like a listed one (a user
//! part before an IP, `..` out of a listed path, a prefix without its slash) is
//! refused at registration and never connected to. A stand-in "internal service" on
//! loopback counts every connection it gets.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::loopback::counting_service;
use crate::common::{TestServer, assert_error};
use crate::notifications::VAPID;

/// A loopback service that counts its requests (a JWKS-shaped answer).
async fn internal_service() -> (String, Arc<AtomicUsize>) {
    counting_service(json!({"keys": []}), Duration::ZERO).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_endpoints_are_matched_on_the_parsed_url_by_default() {
    let (internal, hits) = internal_service().await;
    let port = internal.rsplit(':').next().unwrap();
    // The default allow-list (the public push services), VAPID on.
    let s = TestServer::start_with(&VAPID[..2]).await;
    let ann = s.signup("ann@ssrf.test").await;
    let keys = json!({"p256dh": "BAcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-P0BBQkNERUY", "auth": "AAECAwQFBgcICQoLDA0ODw"});
    let register = |endpoint: String| {
        let body = json!({"endpoint": endpoint, "keys": keys.clone()});
        let s = &s;
        let token = ann.access.clone();
        async move {
            s.post(
                "/api/v1/notifications/push-subscriptions",
                Some(&token),
                body,
            )
            .await
        }
    };
    for bad in [
        format!("https://wns2-x@127.0.0.1:{port}/internal"),
        format!("https://fcm.googleapis.com@127.0.0.1:{port}/fcm/send/x"),
        "https://fcm.googleapis.com.evil.test/fcm/send/x".to_string(),
        format!("https://127.0.0.1:{port}/fcm/send/x"),
        "https://fcm.googleapis.com:8443/fcm/send/x".to_string(),
        "http://fcm.googleapis.com/fcm/send/x".to_string(),
        "https://notify.windows.com/w/?token=x".to_string(),
    ] {
        let res = register(bad.clone()).await;
        assert_eq!(res.0, StatusCode::BAD_REQUEST, "{bad}: {}", res.1);
        assert_error(&res, 400, "VALIDATION_ERROR");
    }
    for good in [
        "https://wns2-par02p.notify.windows.com/w/?token=abc",
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
    ] {
        let (st, v) = register(good.to_string()).await;
        assert!(st.is_success(), "{good}: {st} {v}");
    }
    let (_, subs) = s
        .get("/api/v1/notifications/push-subscriptions", &ann.access)
        .await;
    let endpoints = subs.to_string();
    assert!(!endpoints.contains("127.0.0.1"), "{endpoints}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "never connected to");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_urls_never_climb_out_of_the_listed_path() {
    let (listed, hits) = internal_service().await;
    let (other, other_hits) = internal_service().await;
    let other_port = other.rsplit(':').next().unwrap();
    // One entry with a path, one host without a trailing slash.
    let allowed = format!("{listed}/jwks/,{listed}");
    let s = TestServer::start_with(&[("JWKS_ALLOWED_URLS", allowed.as_str())]).await;
    let ann = s.signup("ann@jwks-ssrf.test").await;
    let bind = |url: String| {
        let s = &s;
        let token = ann.access.clone();
        async move {
            s.call(
                Method::PUT,
                "/api/v1/host-auth",
                Some(&token),
                Some(json!({"issuer": "https://id.ssrf.test", "jwks_url": url})),
            )
            .await
        }
    };
    for bad in [
        format!("{listed}@localhost:{other_port}/x"),
        format!(
            "{}@127.0.0.1:{other_port}/x",
            listed.trim_start_matches("http://")
        ),
        format!(
            "http://user@{}/jwks/keys",
            listed.trim_start_matches("http://")
        ),
        format!("http://127.0.0.1:{other_port}/jwks/keys"),
        format!("http://localhost:{other_port}/jwks/keys"),
    ] {
        let res = bind(bad.clone()).await;
        assert_eq!(res.0, StatusCode::BAD_REQUEST, "{bad}: {}", res.1);
    }
    // A listed entry with a path: `..` and its encodings stay inside it.
    let narrow =
        TestServer::start_with(&[("JWKS_ALLOWED_URLS", format!("{listed}/jwks/").as_str())]).await;
    let bob = narrow.signup("bob@jwks-ssrf.test").await;
    for bad in [
        format!("{listed}/jwks/../internal"),
        format!("{listed}/jwks/%2e%2e/internal"),
        format!("{listed}/jwks/%2E%2E%2Finternal"),
        format!("{listed}/jwks\\..\\internal"),
        format!("{listed}/jwksx"),
    ] {
        let res = narrow
            .call(
                Method::PUT,
                "/api/v1/host-auth",
                Some(&bob.access),
                Some(json!({"issuer": "https://id.narrow.test", "jwks_url": bad})),
            )
            .await;
        assert_eq!(res.0, StatusCode::BAD_REQUEST, "{bad}: {}", res.1);
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing fetched yet");
    assert_eq!(other_hits.load(Ordering::SeqCst), 0, "never connected to");

    // What is listed is fetched (the counter counts): a token makes the server read it.
    let (st, v) = bind(format!("{listed}/jwks/keys.json")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"iss": "https://id.ssrf.test", "sub": "u1", "exp": chrono::Utc::now().timestamp() + 60}),
        &EncodingKey::from_secret(b"not-the-key-not-the-key-not-the-key"),
    )
    .unwrap();
    let (st, v) = s
        .call(Method::GET, "/v1/messaging/token", Some(&token), None)
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    assert!(
        hits.load(Ordering::SeqCst) >= 1,
        "the listed URL was fetched"
    );
    assert!(
        !v.to_string().contains("127.0.0.1"),
        "an answer never echoes the URL: {v}"
    );
}
