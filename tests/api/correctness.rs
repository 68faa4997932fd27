//! Correctness at the edges (issue 27, item 10), over the wire and on both databases:
//! two tenants racing to bind one new issuer get 200 and 409, never 500; a host
//! token's `sub` and `name` with control characters are a bad token, a NUL in an
//! HS256 secret or anywhere in a service notification's `data` is a clean 400, and
//! nothing of them is stored; an Expo token another organisation's user holds does
//! not change hands.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Session, TestServer, assert_error};
use crate::host_platform::bind;

const SECRET: &str = "correctness-host-secret-correctness-host-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_racing_for_one_new_issuer_get_200_and_409_never_500() {
    let s = TestServer::start().await;
    // Fresh tenants race on their first binding (an insert each); the same two race
    // again in later rounds, each already bound elsewhere (an update each).
    let mut pairs = Vec::new();
    for i in 0..3 {
        pairs.push((
            s.signup(&format!("a{i}@left.test")).await,
            s.signup(&format!("b{i}@right.test")).await,
        ));
    }
    let mut rounds = 0;
    for round in 0..4 {
        for (i, (a, b)) in pairs.iter().enumerate() {
            rounds += 1;
            let issuer = format!("https://id-{round}-{i}.race.test");
            let body = json!({"issuer": issuer, "hs256_secret": SECRET});
            let (ra, rb) = tokio::join!(bind(&s, a, body.clone()), bind(&s, b, body.clone()));
            for (st, v) in [&ra, &rb] {
                assert!(
                    *st == StatusCode::OK || *st == StatusCode::CONFLICT,
                    "round {rounds}: every answer is 200 or 409, got {st}: {v}"
                );
                if *st == StatusCode::CONFLICT {
                    assert_eq!(v["error"]["code"], "CONFLICT", "{v}");
                    assert_eq!(
                        v["error"]["message"], "another organisation uses this issuer",
                        "the same answer as the check before the write"
                    );
                }
            }
            let winners: Vec<&Session> = [(&ra, a), (&rb, b)]
                .into_iter()
                .filter(|((st, _), _)| *st == StatusCode::OK)
                .map(|(_, who)| who)
                .collect();
            assert_eq!(
                winners.len(),
                1,
                "round {rounds}: exactly one tenant binds {issuer}: {ra:?} {rb:?}"
            );
            let (st, read) = s.get("/api/v1/host-auth", &winners[0].access).await;
            assert_eq!(
                (st, read["issuer"].as_str()),
                (StatusCode::OK, Some(issuer.as_str()))
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenant_binding_twice_at_once_gets_two_200s() {
    // Both PUTs find no binding and insert; the loser updates the winner's row.
    let s = TestServer::start().await;
    for i in 0..4 {
        let admin = s.signup(&format!("ann{i}@twice.test")).await;
        let [one, two] = [1, 2].map(
            |n| json!({"issuer": format!("https://id-{i}-{n}.twice.test"), "hs256_secret": SECRET}),
        );
        let (r1, r2) = tokio::join!(bind(&s, &admin, one), bind(&s, &admin, two));
        assert_eq!(
            (r1.0, r2.0),
            (StatusCode::OK, StatusCode::OK),
            "{r1:?} {r2:?}"
        );
        let (st, read) = s.get("/api/v1/host-auth", &admin.access).await;
        assert_eq!(st, StatusCode::OK, "{read}");
        assert!(
            [&r1.1["issuer"], &r2.1["issuer"]].contains(&&read["issuer"]),
            "one binding, the last written: {read}"
        );
    }
}

fn host_jwt(issuer: &str, claims: Value) -> String {
    let mut c = json!({"iss": issuer, "exp": chrono::Utc::now().timestamp() + 300});
    for (k, v) in claims.as_object().unwrap() {
        c[k] = v.clone();
    }
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &c,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_in_host_tokens_and_nul_in_secrets_and_data_are_refused() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let issuer = "https://id.controls.test";

    // A NUL in the HS256 secret: 400 naming the field, no binding stored.
    let res = bind(
        &s,
        &ann,
        json!({"issuer": issuer, "hs256_secret": format!("{SECRET}\u{0}tail")}),
    )
    .await;
    assert_error(&res, 400, "VALIDATION_ERROR");
    assert_eq!(res.1["error"]["field"], "hs256_secret", "{}", res.1);
    assert_error(
        &s.get("/api/v1/host-auth", &ann.access).await,
        404,
        "NOT_FOUND",
    );
    // A NUL after a good PEM (the PEM reader stops at its END line) is refused too.
    let pem = include_str!("fixtures/host-rs256.pub.pem");
    let res = bind(
        &s,
        &ann,
        json!({"issuer": issuer, "public_key_pem": format!("{pem}\u{0}")}),
    )
    .await;
    assert_error(&res, 400, "VALIDATION_ERROR");
    assert_eq!(res.1["error"]["field"], "public_key_pem", "{}", res.1);
    assert_error(
        &s.get("/api/v1/host-auth", &ann.access).await,
        404,
        "NOT_FOUND",
    );
    let (st, v) = bind(&s, &ann, json!({"issuer": issuer, "hs256_secret": SECRET})).await;
    assert_eq!(st, StatusCode::OK, "{v}");

    // A host token whose sub or name holds control characters is a bad token.
    let cases = [
        (json!({"sub": "evil\u{1b}[31mred"}), "sub"),
        (json!({"sub": "nul\u{0}byte"}), "sub"),
        (json!({"sub": "bell\u{7}"}), "sub"),
        (
            json!({"sub": 4242, "name": "\u{1b}[2J\u{1b}[Hcleared"}),
            "name",
        ),
        (json!({"sub": 4243, "name": "Ali\u{0}Khan"}), "name"),
        (
            json!({"sub": 4244, "preferred_username": "ding\u{7}"}),
            "name",
        ),
    ];
    let mut wrong = Vec::new();
    for (claims, why) in cases {
        let res = s
            .call(
                Method::GET,
                "/v1/messaging/token",
                Some(&host_jwt(issuer, claims.clone())),
                None,
            )
            .await;
        let refused = res.0 == StatusCode::UNAUTHORIZED
            && res.1["error"]["code"] == "AUTH_ERROR"
            && res.1["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(why));
        if !refused {
            wrong.push(format!("{claims} → {} {}", res.0, res.1));
        }
    }
    assert!(
        wrong.is_empty(),
        "each should be 401 AUTH_ERROR naming its claim:\n{}",
        wrong.join("\n")
    );
    let (st, users) = s.get("/api/v1/users", &ann.access).await;
    assert_eq!(st, StatusCode::OK, "{users}");
    assert_eq!(
        users.as_array().unwrap().len(),
        1,
        "no host user was created: {users}"
    );
    // Clean ones still work (whitespace around sub is trimmed as before).
    let (st, t) = s
        .call(
            Method::GET,
            "/v1/messaging/token",
            Some(&host_jwt(
                issuer,
                json!({"sub": " 77 ", "name": "Ali Khan"}),
            )),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{t}");
    let (_, me) = s.get("/api/v1/auth/me", t["token"].as_str().unwrap()).await;
    assert_eq!(
        (
            me["user"]["external_id"].as_str(),
            me["user"]["display_name"].as_str()
        ),
        (Some("77"), Some("Ali Khan"))
    );

    // A NUL anywhere in a service notification's data (a value, a key, nested): 400
    // naming data, nothing stored.
    let (st, k) = s
        .post(
            "/api/v1/api-keys",
            Some(&ann.access),
            json!({"name": "backend", "scopes": ["notifications"]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{k}");
    let key = k["key"].as_str().unwrap();
    let mut wrong = Vec::new();
    for data in [
        json!({"link": "a\u{0}b"}),
        json!({"k\u{0}ey": 1}),
        json!({"deep": [{"list": ["ok", "n\u{0}"]}]}),
    ] {
        let res = s
            .post(
                "/api/v1/service/notifications",
                Some(key),
                json!({"user_ids": [ann.user_id], "title": "hello", "data": data}),
            )
            .await;
        if res.0 != StatusCode::BAD_REQUEST || res.1["error"]["field"] != "data" {
            wrong.push(format!("{data} → {} {}", res.0, res.1));
        }
    }
    assert!(
        wrong.is_empty(),
        "each should be 400 naming data:\n{}",
        wrong.join("\n")
    );
    let (st, inbox) = s.get("/api/v1/notifications", &ann.access).await;
    assert_eq!(st, StatusCode::OK, "{inbox}");
    assert_eq!(
        inbox.as_array().unwrap().len(),
        0,
        "nothing stored: {inbox}"
    );
    // Other control characters in data are fine (escaped in JSON, storable).
    let (st, n) = s
        .post(
            "/api/v1/service/notifications",
            Some(key),
            json!({"user_ids": [ann.user_id], "title": "hello",
                   "data": {"note": "tab\there \u{1b} esc", "nested": {"a": [1, "b"]}}}),
        )
        .await;
    assert_eq!(
        (st, n["notified"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{n}"
    );
}

async fn register(s: &TestServer, token: &str, who: &Session) -> (StatusCode, Value) {
    s.post(
        "/api/v1/notifications/device-tokens",
        Some(&who.access),
        json!({"expo_push_token": token, "platform": "ios"}),
    )
    .await
}

async fn revoke_current(s: &TestServer, token: &str, who: &Session) -> (StatusCode, Value) {
    s.call(
        Method::DELETE,
        "/api/v1/notifications/device-tokens/current",
        Some(&who.access),
        Some(json!({"expo_push_token": token})),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expo_token_of_another_organisation_does_not_change_hands() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let rex = s.signup("rex@rival.test").await;
    let token = "ExponentPushToken[shared-device-1]";
    let (st, first) = register(&s, token, &ann).await;
    assert_eq!(st, StatusCode::OK, "{first}");

    // Another organisation's user registers the same token: refused, nothing moves.
    let msg = assert_error(&register(&s, token, &rex).await, 409, "CONFLICT");
    assert!(msg.contains("another organisation"), "{msg}");
    let (st, r) = revoke_current(&s, token, &rex).await;
    assert_eq!(
        (st, r["revoked"].as_u64()),
        (StatusCode::OK, Some(0)),
        "the rival holds nothing: {r}"
    );
    let (st, r) = revoke_current(&s, token, &ann).await;
    assert_eq!(
        (st, r["revoked"].as_u64()),
        (StatusCode::OK, Some(1)),
        "the first owner still has it: {r}"
    );

    // Once its owner let it go (logout revokes it), the phone may sign in elsewhere.
    let (st, moved) = register(&s, token, &rex).await;
    assert_eq!(st, StatusCode::OK, "{moved}");
    assert_ne!(
        moved["id"], first["id"],
        "a new registration: nothing queued for its former owner reaches it"
    );
    // And back: now the rival's active token, so ann is refused in turn.
    assert_error(&register(&s, token, &ann).await, 409, "CONFLICT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_organisations_registering_one_new_expo_token_at_once_get_200_and_409() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let rex = s.signup("rex@rival.test").await;
    for round in 0..8 {
        let token = format!("ExpoPushToken[race-{round}]");
        let (ra, rr) = tokio::join!(register(&s, &token, &ann), register(&s, &token, &rex));
        let mut statuses = [ra.0, rr.0];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "round {round}: one registration, one refusal: {ra:?} {rr:?}"
        );
        let holder = if ra.0 == StatusCode::OK { &ann } else { &rex };
        let (_, r) = revoke_current(&s, &token, holder).await;
        assert_eq!(r["revoked"], 1, "the winner holds it: {r}");
    }
}
