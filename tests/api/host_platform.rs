//! The host platform's users over the wire: a tenant binds its issuer (HS256 secret,
//! RS256 or ES256 public key, a JWKS served here), the host's JWT is exchanged at
//! `messaging/token` (003) for a Switchboard session, and a Worknation client speaks
//! in the host's numeric ids from the handshake to a message.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchboard_tools::client::{ClientError, SioClient};

use crate::common::{Session, TestServer, assert_error};

const ISSUER: &str = "https://id.worknation.test";
const SECRET: &str = "worknation-host-secret-worknation-host-secret";

fn host_jwt(key: &EncodingKey, alg: Algorithm, kid: Option<&str>, claims: Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

fn claims(sub: Value, extra: Value) -> Value {
    let mut c = json!({"iss": ISSUER, "aud": "switchboard", "sub": sub,
                       "exp": chrono::Utc::now().timestamp() + 300});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

async fn exchange(s: &TestServer, path: &str, jwt: &str) -> (StatusCode, Value) {
    s.call(Method::GET, path, Some(jwt), None).await
}

pub(crate) async fn bind(s: &TestServer, admin: &Session, body: Value) -> (StatusCode, Value) {
    s.call(
        Method::PUT,
        "/api/v1/host-auth",
        Some(&admin.access),
        Some(body),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hs256_host_tokens_become_sessions_and_bad_ones_are_refused() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let rival = s.signup("rex@rival.test").await;

    assert_error(
        &bind(&s, &bob, json!({"issuer": ISSUER, "hs256_secret": SECRET})).await,
        403,
        "PERMISSION_ERROR",
    );
    for bad in [
        json!({"issuer": ISSUER}),
        json!({"issuer": ISSUER, "hs256_secret": "short"}),
        json!({"issuer": ISSUER, "hs256_secret": SECRET, "jwks_url": "https://x.test/jwks"}),
        json!({"issuer": ISSUER, "jwks_url": "https://169.254.169.254/latest"}),
        json!({"issuer": ISSUER, "public_key_pem": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"}),
    ] {
        assert_error(&bind(&s, &ann, bad).await, 400, "VALIDATION_ERROR");
    }
    let (st, view) = bind(
        &s,
        &ann,
        json!({"issuer": ISSUER, "audience": "switchboard", "hs256_secret": SECRET}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{view}");
    assert_eq!(view["method"], "hs256");
    let (_, read) = s.get("/api/v1/host-auth", &ann.access).await;
    assert!(
        !read.to_string().contains(SECRET),
        "the secret is never read back"
    );
    assert_error(
        &bind(
            &s,
            &rival,
            json!({"issuer": ISSUER, "hs256_secret": SECRET}),
        )
        .await,
        409,
        "CONFLICT",
    );

    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let jwt = host_jwt(
        &key,
        Algorithm::HS256,
        None,
        claims(
            json!(1001),
            json!({"name": "Ali Khan", "email": "ali@worknation.test"}),
        ),
    );
    let (st, t) = exchange(&s, "/v1/messaging/token", &jwt).await;
    assert_eq!(st, StatusCode::OK, "{t}");
    assert!(t["expires_in"].as_u64().unwrap() > 0);
    let (st, me) = s.get("/api/v1/auth/me", t["token"].as_str().unwrap()).await;
    assert_eq!(st, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["external_id"], "1001");
    assert_eq!(me["user"]["display_name"], "Ali Khan");
    assert_eq!(me["user"]["tenant_id"], ann.tenant_id.as_str());
    // A token whose email is someone else's here still signs its user in.
    let taken = host_jwt(
        &key,
        Algorithm::HS256,
        None,
        claims(json!("2002"), json!({"email": "ann@acme.test"})),
    );
    let (st, t3) = exchange(&s, "/v1/messaging/token", &taken).await;
    assert_eq!(st, StatusCode::OK, "{t3}");
    let (_, me3) = s
        .get("/api/v1/auth/me", t3["token"].as_str().unwrap())
        .await;
    assert_ne!(me3["user"]["email"], "ann@acme.test");
    // Again (and under /api/v1): the same user.
    let (_, t2) = exchange(&s, "/api/v1/messaging/token", &jwt).await;
    assert_eq!(t2["user_id"], t["user_id"]);

    // Refusals: each 401 with a reason.
    let wrong_key = EncodingKey::from_secret(b"another-secret-another-secret-another");
    let expired = claims(
        json!(1001),
        json!({"exp": chrono::Utc::now().timestamp() - 3600}),
    );
    let cases = [
        (
            host_jwt(
                &wrong_key,
                Algorithm::HS256,
                None,
                claims(json!(1001), json!({})),
            ),
            "signature",
        ),
        (host_jwt(&key, Algorithm::HS256, None, expired), "expired"),
        (
            host_jwt(
                &key,
                Algorithm::HS256,
                None,
                claims(json!(1001), json!({"aud": "someone-else"})),
            ),
            "audience",
        ),
        (
            host_jwt(
                &key,
                Algorithm::HS256,
                None,
                claims(json!(1001), json!({"iss": "https://evil.test"})),
            ),
            "issuer",
        ),
        (
            host_jwt(
                &key,
                Algorithm::HS256,
                None,
                json!({"iss": ISSUER, "sub": "1001", "exp": chrono::Utc::now().timestamp() + 300}),
            ),
            "invalid",
        ),
        (
            host_jwt(
                &key,
                Algorithm::HS256,
                None,
                claims(json!("x".repeat(200)), json!({})),
            ),
            "128",
        ),
        ("not.a.jwt".to_string(), "JWT"),
    ];
    for (jwt, why) in cases {
        let res = exchange(&s, "/v1/messaging/token", &jwt).await;
        let msg = assert_error(&res, 401, "AUTH_ERROR");
        assert!(msg.contains(why), "{msg} should say {why}");
    }
    assert_error(
        &s.call(Method::GET, "/v1/messaging/token", None, None).await,
        401,
        "AUTH_ERROR",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_es256_and_jwks_keys() {
    // A JWKS served here, holding an ES256 key with kid "k1".
    let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let point = secret.public_key().to_encoded_point(false);
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "alg": "ES256",
        "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()), "y": URL_SAFE_NO_PAD.encode(point.y().unwrap())}]});
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_base = format!("http://{}", listener.local_addr().unwrap());
    let served = std::sync::Arc::new(std::sync::Mutex::new(jwks.clone()));
    let serving = served.clone();
    tokio::spawn(async move {
        let app = Router::new().route(
            "/.well-known/jwks.json",
            get(move || {
                let v = serving.lock().unwrap().clone();
                async move { axum::Json(v) }
            }),
        );
        axum::serve(listener, app).await
    });
    let allowed = format!("{jwks_base}/.well-known/");
    let s = TestServer::start_with(&[("JWKS_ALLOWED_URLS", allowed.as_str())]).await;
    let ann = s.signup("ann@acme.test").await;
    let es_key = EncodingKey::from_ec_der(secret.to_pkcs8_der().unwrap().as_bytes());

    // RS256 with a PEM public key.
    let rsa_private = include_str!("fixtures/host-rs256.key.pem");
    let rsa_public = include_str!("fixtures/host-rs256.pub.pem");
    // A private key, or a URL outside the allow-list, is refused at bind time.
    for bad in [
        json!({"issuer": ISSUER, "public_key_pem": rsa_private}),
        json!({"issuer": ISSUER, "jwks_url": format!("{jwks_base}/elsewhere/jwks.json")}),
    ] {
        assert_error(&bind(&s, &ann, bad).await, 400, "VALIDATION_ERROR");
    }
    let (st, v) = bind(
        &s,
        &ann,
        json!({"issuer": ISSUER, "public_key_pem": rsa_public}),
    )
    .await;
    assert_eq!(
        (st, v["method"].clone()),
        (StatusCode::OK, json!("public_key")),
        "{v}"
    );
    let rs_key = EncodingKey::from_rsa_pem(rsa_private.as_bytes()).unwrap();
    let no_aud =
        |sub: &str| json!({"iss": ISSUER, "sub": sub, "exp": chrono::Utc::now().timestamp() + 300});
    let (st, t) = exchange(
        &s,
        "/v1/messaging/token",
        &host_jwt(&rs_key, Algorithm::RS256, None, no_aud("rs-user")),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{t}");
    // An HS256 token signed with the public key as a secret (the classic confusion).
    let confused = host_jwt(
        &EncodingKey::from_secret(rsa_public.as_bytes()),
        Algorithm::HS256,
        None,
        no_aud("rs-user"),
    );
    assert_error(
        &exchange(&s, "/v1/messaging/token", &confused).await,
        401,
        "AUTH_ERROR",
    );

    // ES256 with a PEM public key.
    let es_public = secret
        .public_key()
        .to_public_key_pem(Default::default())
        .unwrap();
    bind(
        &s,
        &ann,
        json!({"issuer": ISSUER, "public_key_pem": es_public}),
    )
    .await;
    let (st, t) = exchange(
        &s,
        "/v1/messaging/token",
        &host_jwt(&es_key, Algorithm::ES256, None, no_aud("es-user")),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{t}");

    // The same key from the JWKS, found by kid; an unknown kid is refused.
    let (st, v) = bind(
        &s,
        &ann,
        json!({"issuer": ISSUER, "jwks_url": format!("{jwks_base}/.well-known/jwks.json")}),
    )
    .await;
    assert_eq!(
        (st, v["method"].clone()),
        (StatusCode::OK, json!("jwks")),
        "{v}"
    );
    let (st, t) = exchange(
        &s,
        "/v1/messaging/token",
        &host_jwt(&es_key, Algorithm::ES256, Some("k1"), no_aud("es-user")),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{t}");
    let res = exchange(
        &s,
        "/v1/messaging/token",
        &host_jwt(&es_key, Algorithm::ES256, Some("k9"), no_aud("es-user")),
    )
    .await;
    assert_error(&res, 401, "AUTH_ERROR");

    // The host rotates in a second key: a token naming it makes the server look again
    // (once its cached copy is a couple of seconds old).
    let rotated = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let p2 = rotated.public_key().to_encoded_point(false);
    served.lock().unwrap()["keys"]
        .as_array_mut()
        .unwrap()
        .push(json!({"kty": "EC", "crv": "P-256", "kid": "k2", "use": "sig", "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(p2.x().unwrap()), "y": URL_SAFE_NO_PAD.encode(p2.y().unwrap())}));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let k2 = EncodingKey::from_ec_der(rotated.to_pkcs8_der().unwrap().as_bytes());
    let (st, t) = exchange(
        &s,
        "/v1/messaging/token",
        &host_jwt(&k2, Algorithm::ES256, Some("k2"), no_aud("es-user")),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{t}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worknation_client_speaks_in_host_ids_from_handshake_to_message() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    bind(&s, &ann, json!({"issuer": ISSUER, "hs256_secret": SECRET})).await;
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let token_for = |sub: i64| {
        let jwt = host_jwt(
            &key,
            Algorithm::HS256,
            None,
            json!({"iss": ISSUER, "sub": sub.to_string(),
            "exp": chrono::Utc::now().timestamp() + 300}),
        );
        let s = &s;
        async move {
            exchange(s, "/v1/messaging/token", &jwt).await.1["token"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let ali = token_for(1001).await;
    let bea = token_for(1002).await;

    // 002's handshake: the token and the host's numeric id of the same user.
    let mut ali_io = SioClient::connect(&s.base, Some(json!({"token": ali})), "userId=1001")
        .await
        .unwrap();
    let mut bea_io = SioClient::connect(&s.base, Some(json!({"token": bea})), "userId=1002")
        .await
        .unwrap();
    match SioClient::connect(&s.base, Some(json!({"token": ali})), "userId=1002").await {
        Err(ClientError::Rejected(m)) => assert_eq!(m, "user_mismatch"),
        other => panic!("another user's id was accepted: {:?}", other.is_ok()),
    }

    // create_chat with the host's id of the peer, then a message.
    ali_io
        .emit("create_chat", &json!({"receiver_id": 1002}))
        .unwrap();
    let chat = ali_io
        .expect("chat_created", Duration::from_secs(10))
        .await
        .unwrap();
    let chat_id = chat["chat_id"]
        .as_str()
        .or(chat["id"].as_str())
        .unwrap()
        .to_string();
    let ack = ali_io
        .emit_with_ack(
            "create_message",
            &json!({"chat_id": chat_id, "receiver_id": 1002, "message": "salaam"}),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(ack["status"], "ok", "{ack}");
    let got = bea_io
        .expect("response_message", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(got["message"], "salaam");
    // An unknown host id is a clear error.
    ali_io
        .emit("create_chat", &json!({"receiver_id": 424242}))
        .unwrap();
    let e = ali_io
        .expect("exception", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(e["code"], "not_found", "{e}");
}
