//! Every per-request cost is bounded: what one caller (or a crowd of them) can make
//! the server fetch, decode, store or replay has a ceiling, and past it they get a
//! clear error rather than the server's memory or a host's patience.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::TestServer;
use crate::common::loopback::counting_service;

/// A host's JWKS endpoint on loopback that counts its requests: it serves `jwks`
/// (500 when null), slowly enough that concurrent tokens overlap the fetch.
async fn counting_jwks(jwks: Value) -> (String, Arc<AtomicUsize>) {
    counting_service(jwks, std::time::Duration::from_millis(300)).await
}

/// Sends these token exchanges at once; their statuses and bodies.
async fn exchanges(s: &TestServer, tokens: Vec<String>) -> Vec<(StatusCode, Value)> {
    let calls = tokens
        .iter()
        .map(|t| s.call(Method::GET, "/v1/messaging/token", Some(t), None));
    futures::future::join_all(calls).await
}

/// Twenty tokens arriving together while the host's key set is not cached make one
/// fetch, not twenty; a host that fails is asked once for all of them, each told 503
/// without the URL or the fetch error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_tokens_share_one_jwks_fetch_and_a_failure_is_cached() {
    let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let point = secret.public_key().to_encoded_point(false);
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "alg": "ES256",
        "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()), "y": URL_SAFE_NO_PAD.encode(point.y().unwrap())}]});
    let (good, good_hits) = counting_jwks(jwks).await;
    let (bad, bad_hits) = counting_jwks(Value::Null).await;
    let allowed = format!("{good}/,{bad}/");
    let s = TestServer::start_with(&[("JWKS_ALLOWED_URLS", allowed.as_str())]).await;
    let key = EncodingKey::from_ec_der(secret.to_pkcs8_der().unwrap().as_bytes());
    let token = |iss: &str, i: usize| {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("k1".into());
        jsonwebtoken::encode(
            &header,
            &json!({"iss": iss, "sub": format!("u-{i}"), "exp": chrono::Utc::now().timestamp() + 300}),
            &key,
        )
        .unwrap()
    };
    // A user each (the first use of a host id creates it).
    let tokens = |iss: &str, n: usize| -> Vec<String> { (0..n).map(|i| token(iss, i)).collect() };

    for (i, (base, iss)) in [
        (&good, "https://id.good.test"),
        (&bad, "https://id.bad.test"),
    ]
    .into_iter()
    .enumerate()
    {
        let admin = s.signup(&format!("admin{i}@jwks-crowd.test")).await;
        let (st, v) = s
            .call(
                Method::PUT,
                "/api/v1/host-auth",
                Some(&admin.access),
                Some(json!({"issuer": iss, "jwks_url": format!("{base}/jwks.json")})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
    }

    let answers = exchanges(&s, tokens("https://id.good.test", 20)).await;
    assert!(
        answers.iter().all(|(st, _)| *st == StatusCode::OK),
        "{answers:?}"
    );
    assert_eq!(
        good_hits.load(Ordering::SeqCst),
        1,
        "one fetch for twenty tokens"
    );

    let answers = exchanges(&s, tokens("https://id.bad.test", 20)).await;
    for (st, v) in &answers {
        assert_eq!(*st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
        assert!(
            !v.to_string().contains("127.0.0.1"),
            "the URL is not echoed: {v}"
        );
        assert!(!v.to_string().contains("500"), "nor the fetch error: {v}");
    }
    // And the next ones, within seconds, are answered from the cached failure.
    exchanges(&s, tokens("https://id.bad.test", 5)).await;
    assert_eq!(
        bad_hits.load(Ordering::SeqCst),
        1,
        "one fetch for every failure"
    );
}

/// An image whose header claims more pixels than `MEDIA_MAX_IMAGE_PIXELS` is refused
/// at confirm, before it is decoded (a 249 KB PNG of 16 000 × 16 000 once decoded to
/// 256 MB, seven at once to 1.8 GiB), and the upload is deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_with_too_many_pixels_is_not_decoded() {
    use crate::media::{confirm, put_bytes, upload_url};
    let s = TestServer::start_with(&[("MEDIA_MAX_IMAGE_PIXELS", "1000000")]).await;
    let ann = s.signup("ann@pixels.test").await;
    let bob = s.add_member(&ann, "bob@pixels.test").await;
    let conv = s.direct_chat(&ann, &bob).await;
    let wide = image::GrayImage::new(2000, 1000);
    let mut bytes = std::io::Cursor::new(Vec::new());
    wide.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    let bytes = bytes.into_inner();
    let (st, ticket) = upload_url(&s, &ann, &conv, "wide.png", "image/png", bytes.len()).await;
    assert_eq!(st, StatusCode::OK, "{ticket}");
    assert!(
        put_bytes(&s, &ticket, bytes, None)
            .await
            .status()
            .is_success()
    );
    let id = ticket["id"].as_str().unwrap();
    let res = confirm(&s, &ann, id, Value::Null).await;
    assert_eq!(res.0, StatusCode::BAD_REQUEST, "{}", res.1);
    assert!(res.1.to_string().contains("1000000 pixels"), "{}", res.1);
    // Within the bound, the same shape is fine.
    let ok = crate::media::png(1000, 500);
    let (_, ticket) = upload_url(&s, &ann, &conv, "ok.png", "image/png", ok.len()).await;
    put_bytes(&s, &ticket, ok, None).await;
    let (st, v) = confirm(&s, &ann, ticket["id"].as_str().unwrap(), Value::Null).await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

/// Upload URLs hold at most `MEDIA_PENDING_QUOTA_BYTES` per user (one member once
/// stored 500 MiB in 1.5 s): past it, 429 with the wait; another user is not held
/// back, and confirming frees the room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_uploads_are_bounded_per_user() {
    use crate::media::{confirm, put_bytes, upload_url};
    let s = TestServer::start_with(&[
        ("MEDIA_MAX_BYTES", "1000"),
        ("MEDIA_PENDING_QUOTA_BYTES", "3000"),
    ])
    .await;
    let ann = s.signup("ann@quota.test").await;
    let bob = s.add_member(&ann, "bob@quota.test").await;
    let conv = s.direct_chat(&ann, &bob).await;
    let mut tickets = Vec::new();
    for i in 0..3 {
        let (st, t) = upload_url(&s, &ann, &conv, &format!("{i}.txt"), "text/plain", 1000).await;
        assert_eq!(st, StatusCode::OK, "{t}");
        tickets.push(t);
    }
    let (st, v) = upload_url(&s, &ann, &conv, "3.txt", "text/plain", 1000).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["error"]["code"], "RATE_LIMITED", "{v}");
    let (st, v) = upload_url(&s, &bob, &conv, "b.txt", "text/plain", 1000).await;
    assert_eq!(st, StatusCode::OK, "another user is not held back: {v}");

    put_bytes(&s, &tickets[0], vec![b'x'; 1000], None).await;
    let (st, v) = confirm(&s, &ann, tickets[0]["id"].as_str().unwrap(), Value::Null).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = upload_url(&s, &ann, &conv, "4.txt", "text/plain", 1000).await;
    assert_eq!(st, StatusCode::OK, "a confirmed file no longer counts: {v}");
}

/// An upload abandoned past its URL's expiry is deleted by the retention sweep (at
/// start, then hourly), row and bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_uploads_are_swept_with_their_bytes() {
    use crate::media::{put_bytes, upload_url};
    let dir = std::env::temp_dir().join(format!("sb-sweep-{}", uuid::Uuid::now_v7()));
    let dir_text = dir.display().to_string();
    let vars = [
        ("MEDIA_DIR", dir_text.as_str()),
        ("MEDIA_UPLOAD_URL_TTL_SECONDS", "1"),
    ];
    let s = TestServer::start_with(&vars).await;
    let ann = s.signup("ann@sweep.test").await;
    let bob = s.add_member(&ann, "bob@sweep.test").await;
    let conv = s.direct_chat(&ann, &bob).await;
    let (_, ticket) = upload_url(&s, &ann, &conv, "left.txt", "text/plain", 10).await;
    assert!(
        put_bytes(&s, &ticket, vec![b'y'; 10], None)
            .await
            .status()
            .is_success()
    );
    let id = ticket["id"].as_str().unwrap().to_string();
    let files = || {
        walk(&dir)
            .into_iter()
            .filter(|p| p.to_string_lossy().contains(&id))
            .count()
    };
    assert!(files() > 0, "the upload is on disk");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;

    // Another node starts on the same database and directory: its first round sweeps.
    let other = TestServer::start_on(&s.database_url, &vars, None).await;
    let path = format!("/api/v1/chat/media/{id}");
    for _ in 0..100 {
        if other.get(&path, &ann.access).await.0 == StatusCode::NOT_FOUND && files() == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the abandoned upload is still there: {} files", files());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The per-socket event limit multiplied with sockets (25 sockets stored 1 004
/// messages in 0.6 s): a user's events are also counted across all their sockets.
/// Five sockets sending ten events each at once get the limit's worth through, the
/// rest `rate_limited`, and every socket stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_events_are_limited_across_sockets() {
    use switchboard_tools::client::SioClient;
    let s = TestServer::start_with(&[("RATE_LIMIT_EVENTS_PER_USER_PER_SECOND", "10")]).await;
    let ann = s.signup("ann@events.test").await;
    let mut sockets = Vec::new();
    for _ in 0..5 {
        let c = SioClient::connect(&s.base, Some(json!({"token": ann.access})), "")
            .await
            .unwrap();
        sockets.push(c);
    }
    let wait = std::time::Duration::from_secs(10);
    let ping = json!({});
    let sends = sockets
        .iter()
        .flat_map(|c| (0..10).map(|_| c.emit_with_ack("ping", &ping, wait)));
    let acks = futures::future::join_all(sends).await;
    let ok = acks
        .iter()
        .filter(|a| a.as_ref().is_ok_and(|v| v.get("code").is_none()))
        .count();
    let limited = acks
        .iter()
        .filter(|a| a.as_ref().is_ok_and(|v| v["code"] == "rate_limited"))
        .count();
    assert_eq!(ok + limited, 50, "every event is answered: {acks:?}");
    // The limit's worth gets through (a window boundary may let a second one in).
    assert!((10..=20).contains(&ok), "{ok} admitted of 50");
    for mut c in sockets {
        assert!(
            c.before_barrier("pong", wait).await.is_ok(),
            "the socket stays"
        );
    }
}

/// Socket.IO handshakes count as requests: a client reconnecting in a loop is
/// refused with `rate_limited` past `RATE_LIMIT_PER_USER` in the window, while
/// another user still connects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_are_rate_limited() {
    use switchboard_tools::client::{ClientError, SioClient};
    let s = TestServer::start_with(&[("RATE_LIMIT_PER_USER", "8")]).await;
    let ann = s.signup("ann@handshakes.test").await;
    let bob = s.add_member(&ann, "bob@handshakes.test").await;
    let (mut admitted, mut refused) = (0, 0);
    for _ in 0..12 {
        match SioClient::connect(&s.base, Some(json!({"token": bob.access})), "").await {
            Ok(c) => {
                admitted += 1;
                c.close();
            }
            Err(ClientError::Rejected(why)) => {
                assert_eq!(why, "rate_limited");
                refused += 1;
            }
            Err(e) => panic!("neither admitted nor refused: {e}"),
        }
    }
    assert_eq!(
        (admitted, refused),
        (8, 4),
        "the window's eight, then refusals"
    );
    let other = s.add_member(&ann, "cat@handshakes.test").await;
    SioClient::connect(&s.base, Some(json!({"token": other.access})), "")
        .await
        .expect("another user connects");
}

/// A reconnect replays at most `HISTORY_REPLAY_MAX` events (resuming from the log's
/// first offset once cost 140 fresh handshakes): a client owed more is told
/// `recovered: false` and fetches its state; one owed fewer is replayed as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_is_bounded() {
    use switchboard_tools::client::SioClient;
    let s = TestServer::start_with(&[("HISTORY_REPLAY_MAX", "5")]).await;
    let ann = s.signup("ann@replay-bound.test").await;
    let bob = s.add_member(&ann, "bob@replay-bound.test").await;
    let conv = s.direct_chat(&ann, &bob).await;
    let wait = std::time::Duration::from_secs(10);
    let connect = |extra: Value| {
        let mut auth = json!({"token": bob.access});
        auth.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        SioClient::connect(&s.base, Some(auth), "")
    };
    // A message is several events for Bob (the message, its notification, the count).
    for (missed, recovered) in [(1, true), (10, false)] {
        let mut first = connect(json!({})).await.unwrap();
        s.say(&ann, &conv, "seen").await;
        first
            .before_barrier("response_message", wait)
            .await
            .unwrap();
        let (pid, offset) = (
            first.pid.clone().unwrap(),
            first.last_offset.clone().unwrap(),
        );
        first.close();
        for i in 0..missed {
            s.say(&ann, &conv, &format!("m{i}")).await;
        }
        let mut back = connect(json!({"pid": pid, "offset": offset}))
            .await
            .unwrap();
        let session = back.expect("session", wait).await.unwrap();
        assert_eq!(
            session["recovered"], recovered,
            "{missed} missed: {session}"
        );
        let replayed = back.before_barrier("response_message", wait).await.unwrap();
        assert_eq!(
            replayed.len(),
            if recovered { missed } else { 0 },
            "{missed} missed"
        );
        back.close();
    }
}

/// A service notification names each user once however often it lists them (1 000
/// copies of one id made 1 000 notifications), under any of their ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_notification_reaches_each_user_once() {
    use crate::service::{new_key, service};
    let s = TestServer::start().await;
    let ann = s.signup("ann@dedupe.test").await;
    let key = new_key(&s, &ann, &["users", "notifications"]).await;
    let (st, ali) = service(
        &s,
        &key,
        Method::POST,
        "/users/onboard",
        Some(json!({"external_id": 1001, "display_name": "Ali"})),
    )
    .await;
    assert!(st.is_success(), "{ali}");
    let ali_id = ali["user"]["id"].clone();
    let mut ids: Vec<Value> = vec![ali_id.clone(); 998];
    ids.push(json!("ext:1001"));
    ids.push(json!(ann.user_id));
    let (st, v) = service(
        &s,
        &key,
        Method::POST,
        "/notifications",
        Some(json!({"user_ids": ids, "title": "Once"})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["notified"], 2, "Ali once and Ann once: {v}");
    let (_, inbox) = s.get("/api/v1/notifications", &ann.access).await;
    let once = inbox.to_string().matches("\"Once\"").count();
    assert_eq!(once, 1, "{inbox}");
}
