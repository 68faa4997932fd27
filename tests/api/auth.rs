//! REST auth and user administration over the wire: every path of issue #2.

use crate::common::{JWT_SECRET, Session, TestServer, assert_error};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_login_me_refresh_logout() {
    let s = TestServer::start().await;
    let (st, body) = s
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"email": "Ann@Example.com", "password": "correct horse battery",
            "display_name": "Ann", "tenant_name": "Acme"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    assert_eq!(body["token_type"], "bearer");
    assert!(body["expires_in"].as_u64().unwrap() > 0);
    assert_eq!(body["user"]["email"], "ann@example.com");
    assert_eq!(body["user"]["role"], "admin");
    assert_eq!(body["tenant"]["name"], "Acme");
    assert!(body["user"].get("password_hash").is_none());

    let login = s.login("ANN@example.com", "correct horse battery").await;
    let (st, me) = s.get("/api/v1/auth/me", &login.access).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(me["user"]["id"], login.user_id.as_str());
    assert_eq!(me["tenant"]["id"], login.tenant_id.as_str());

    let (st, refreshed) = s
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": login.refresh}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{refreshed}");
    let next = Session::from_json(&refreshed);
    assert_ne!(next.refresh, login.refresh);
    assert_eq!(
        s.get("/api/v1/auth/me", &next.access).await.0,
        StatusCode::OK
    );

    let (st, _) = s
        .post(
            "/api/v1/auth/logout",
            Some(&next.access),
            json!({"refresh_token": next.refresh}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let res = s
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": next.refresh}),
        )
        .await;
    assert_error(&res, 401, "AUTH_ERROR");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_rejects_bad_input_and_duplicates() {
    let s = TestServer::start().await;
    let ok = json!({"email": "bo@example.com", "password": "long enough pw", "display_name": "Bo", "tenant_name": "T"});
    let mut bad_email = ok.clone();
    bad_email["email"] = json!("not-an-email");
    let res = s.post("/api/v1/auth/signup", None, bad_email).await;
    assert_error(&res, 400, "VALIDATION_ERROR");
    assert_eq!(res.1["error"]["field"], "email");

    let mut short = ok.clone();
    short["password"] = json!("short");
    let res = s.post("/api/v1/auth/signup", None, short).await;
    assert_error(&res, 400, "VALIDATION_ERROR");
    assert_eq!(res.1["error"]["field"], "password");

    let mut wrong_type = ok.clone();
    wrong_type["display_name"] = json!(42);
    let res = s.post("/api/v1/auth/signup", None, wrong_type).await;
    assert_error(&res, 400, "VALIDATION_ERROR");
    assert_eq!(res.1["error"]["field"], "display_name");

    let mut missing = ok.clone();
    missing.as_object_mut().unwrap().remove("tenant_name");
    let res = s.post("/api/v1/auth/signup", None, missing).await;
    assert_error(&res, 400, "VALIDATION_ERROR");

    // Malformed JSON and a body that is not JSON at all.
    let raw = s
        .http
        .post(format!("{}/api/v1/auth/signup", s.base))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
    let raw = s
        .http
        .post(format!("{}/api/v1/auth/signup", s.base))
        .body("email=x")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");

    // Nothing above created an account.
    let res = s
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "bo@example.com", "password": "long enough pw"}),
        )
        .await;
    assert_error(&res, 401, "AUTH_ERROR");

    assert_eq!(
        s.post("/api/v1/auth/signup", None, ok.clone()).await.0,
        StatusCode::CREATED
    );
    let mut dup = ok.clone();
    dup["email"] = json!("BO@example.com");
    let res = s.post("/api/v1/auth/signup", None, dup).await;
    assert_error(&res, 409, "CONFLICT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_body_is_413_json() {
    let s = TestServer::start_with(&[("MAX_BODY_BYTES", "1024")]).await;
    let res = s
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"email": "x@example.com", "password": "p".repeat(4000),
            "display_name": "X", "tenant_name": "X"}),
        )
        .await;
    assert_error(&res, 413, "PAYLOAD_TOO_LARGE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_email_are_401() {
    let s = TestServer::start().await;
    s.signup("cy@example.com").await;
    let res = s
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "cy@example.com", "password": "wrong password"}),
        )
        .await;
    let msg = assert_error(&res, 401, "AUTH_ERROR");
    let res2 = s
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "nobody@example.com", "password": "wrong password"}),
        )
        .await;
    // Same answer whether or not the account exists.
    assert_eq!(assert_error(&res2, 401, "AUTH_ERROR"), msg);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_expired_and_tampered_tokens_are_401() {
    let s = TestServer::start().await;
    let a = s.signup("di@example.com").await;
    assert_error(
        &s.call(Method::GET, "/api/v1/auth/me", None, None).await,
        401,
        "AUTH_ERROR",
    );
    assert_error(
        &s.get("/api/v1/auth/me", "garbage").await,
        401,
        "AUTH_ERROR",
    );

    // Flip one character of the signature.
    let mut tampered = a.access.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_error(
        &s.get("/api/v1/auth/me", &tampered).await,
        401,
        "AUTH_ERROR",
    );

    // Same claims, signed with another secret.
    let claims: serde_json::Value = {
        use base64::Engine;
        let payload = a.access.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    };
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"some-other-secret-some-other-secret"),
    )
    .unwrap();
    assert_error(&s.get("/api/v1/auth/me", &forged).await, 401, "AUTH_ERROR");

    // Correctly signed but expired an hour ago.
    let mut old = claims.clone();
    old["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
    old["iat"] = json!(chrono::Utc::now().timestamp() - 7200);
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &old,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let msg = assert_error(&s.get("/api/v1/auth/me", &expired).await, 401, "AUTH_ERROR");
    assert!(msg.contains("expired"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_reuse_revokes_the_whole_chain() {
    let s = TestServer::start().await;
    let first = s.signup("ed@example.com").await;
    let (st, body) = s
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": first.refresh}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let second = Session::from_json(&body);

    // The rotated token is presented again (stolen copy): rejected...
    let res = s
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": first.refresh}),
        )
        .await;
    assert!(assert_error(&res, 401, "AUTH_ERROR").contains("reused"));
    // ...and the legitimate newest token of that chain is dead too.
    let res = s
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": second.refresh}),
        )
        .await;
    assert_error(&res, 401, "AUTH_ERROR");

    // Another session (separate login) is untouched.
    let other = s.login("ed@example.com", "correct horse battery").await;
    let (st, _) = s
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": other.refresh}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_error(
        &s.post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": "nonsense"}),
        )
        .await,
        401,
        "AUTH_ERROR",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_updates_are_validated() {
    let s = TestServer::start().await;
    let a = s.signup("fay@example.com").await;
    let (st, user) = s
        .patch(
            "/api/v1/auth/profile",
            &a.access,
            json!({"display_name": "Fay F.", "timezone": "Europe/Berlin",
            "avatar_url": "https://cdn.example.com/fay.png"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{user}");
    assert_eq!(user["display_name"], "Fay F.");
    assert_eq!(user["timezone"], "Europe/Berlin");
    assert_eq!(user["avatar_url"], "https://cdn.example.com/fay.png");

    let res = s
        .patch(
            "/api/v1/auth/profile",
            &a.access,
            json!({"timezone": "Mars/Olympus_Mons"}),
        )
        .await;
    assert_error(&res, 400, "VALIDATION_ERROR");
    assert_eq!(res.1["error"]["field"], "timezone");
    let res = s
        .patch(
            "/api/v1/auth/profile",
            &a.access,
            json!({"display_name": ""}),
        )
        .await;
    assert_error(&res, 400, "VALIDATION_ERROR");
    let res = s
        .patch(
            "/api/v1/auth/profile",
            &a.access,
            json!({"avatar_url": "javascript:alert(1)"}),
        )
        .await;
    assert_error(&res, 400, "VALIDATION_ERROR");

    // Nothing changed by the rejected patches; null clears the avatar.
    let (_, user) = s
        .patch(
            "/api/v1/auth/profile",
            &a.access,
            json!({"avatar_url": null}),
        )
        .await;
    assert_eq!(user["timezone"], "Europe/Berlin");
    assert_eq!(user["display_name"], "Fay F.");
    assert!(user["avatar_url"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_password_revokes_other_sessions() {
    let s = TestServer::start().await;
    let a = s.signup("gus@example.com").await;
    let other_device = s.login("gus@example.com", "correct horse battery").await;
    // Tokens count in whole seconds: the change happens in a later one.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let res = s
        .post(
            "/api/v1/auth/change-password",
            Some(&a.access),
            json!({"current_password": "not it at all", "new_password": "brand new password"}),
        )
        .await;
    assert_error(&res, 400, "VALIDATION_ERROR");
    assert_eq!(res.1["error"]["field"], "current_password");

    let (st, body) = s
        .post("/api/v1/auth/change-password", Some(&a.access),
            json!({"current_password": "correct horse battery", "new_password": "brand new password"}))
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let fresh = Session::from_json(&body);
    // Access tokens issued before the change stop working at once; the new one works.
    for old in [&a.access, &other_device.access] {
        let res = s.get("/api/v1/auth/me", old).await;
        let msg = assert_error(&res, 401, "AUTH_ERROR");
        assert!(msg.contains("password was changed"), "{msg}");
    }
    let (st, _) = s.get("/api/v1/auth/me", &fresh.access).await;
    assert_eq!(st, StatusCode::OK);

    for old in [&a.refresh, &other_device.refresh] {
        let res = s
            .post("/api/v1/auth/refresh", None, json!({"refresh_token": old}))
            .await;
        assert_error(&res, 401, "AUTH_ERROR");
    }
    let (st, _) = s
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": fresh.refresh}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let res = s
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "gus@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_error(&res, 401, "AUTH_ERROR");
    s.login("gus@example.com", "brand new password").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_users_of_their_own_tenant_only() {
    let s = TestServer::start().await;
    let admin = s.signup("boss@acme.test").await;
    let member = s.add_member(&admin, "worker@acme.test").await;
    let rival = s.signup("boss@rival.test").await;
    let rival_member = s.add_member(&rival, "spy@rival.test").await;

    let (st, list) = s.get("/api/v1/users", &admin.access).await;
    assert_eq!(st, StatusCode::OK);
    let emails: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["boss@acme.test", "worker@acme.test"]);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|u| u["tenant_id"] == admin.tenant_id.as_str())
    );

    // A member may not call admin routes.
    assert_error(
        &s.get("/api/v1/users", &member.access).await,
        403,
        "PERMISSION_ERROR",
    );
    let res = s
        .post(
            "/api/v1/users",
            Some(&member.access),
            json!({"email": "x@acme.test", "password": "whatever123", "display_name": "X"}),
        )
        .await;
    assert_error(&res, 403, "PERMISSION_ERROR");
    let res = s
        .patch(
            &format!("/api/v1/users/{}", admin.user_id),
            &member.access,
            json!({"is_active": false}),
        )
        .await;
    assert_error(&res, 403, "PERMISSION_ERROR");

    // Another tenant's user is invisible: 404, same as a random id.
    let res = s
        .patch(
            &format!("/api/v1/users/{}", rival_member.user_id),
            &admin.access,
            json!({"is_active": false}),
        )
        .await;
    assert_error(&res, 404, "NOT_FOUND");
    let res = s
        .patch(
            &format!("/api/v1/users/{}", uuid::Uuid::now_v7()),
            &admin.access,
            json!({"is_active": false}),
        )
        .await;
    assert_error(&res, 404, "NOT_FOUND");
    let res = s
        .patch(
            "/api/v1/users/not-a-uuid",
            &admin.access,
            json!({"is_active": false}),
        )
        .await;
    assert_error(&res, 400, "VALIDATION_ERROR");
    // Unknown role value.
    let res = s
        .patch(
            &format!("/api/v1/users/{}", member.user_id),
            &admin.access,
            json!({"role": "emperor"}),
        )
        .await;
    assert_error(&res, 400, "VALIDATION_ERROR");
    // The rival's spy is still active.
    assert_eq!(
        s.get("/api/v1/auth/me", &rival_member.access).await.0,
        StatusCode::OK
    );

    // Promote, then deactivate the member.
    let (st, u) = s
        .patch(
            &format!("/api/v1/users/{}", member.user_id),
            &admin.access,
            json!({"role": "hr"}),
        )
        .await;
    assert_eq!((st, u["role"].as_str()), (StatusCode::OK, Some("hr")));
    let (st, u) = s
        .patch(
            &format!("/api/v1/users/{}", member.user_id),
            &admin.access,
            json!({"is_active": false}),
        )
        .await;
    assert_eq!(
        (st, u["is_active"].as_bool()),
        (StatusCode::OK, Some(false))
    );

    // Deactivated: existing access token, refresh and login all fail.
    assert_error(
        &s.get("/api/v1/auth/me", &member.access).await,
        401,
        "AUTH_ERROR",
    );
    let res = s
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": member.refresh}),
        )
        .await;
    assert_error(&res, 401, "AUTH_ERROR");
    let res = s
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "worker@acme.test", "password": "member password 1"}),
        )
        .await;
    assert_error(&res, 401, "AUTH_ERROR");

    // An admin cannot lock themselves out.
    let res = s
        .patch(
            &format!("/api/v1/users/{}", admin.user_id),
            &admin.access,
            json!({"is_active": false}),
        )
        .await;
    assert_error(&res, 409, "CONFLICT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_openapi_and_unknown_routes() {
    let s = TestServer::start().await;
    let (st, body) = s.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((st, body["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (st, body) = s.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (st, body["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );

    let (st, api) = s
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(api["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/auth/signup",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/me",
        "/api/v1/auth/profile",
        "/api/v1/auth/change-password",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/healthz",
        "/readyz",
        "/api/v1/auth/ws-ticket",
        "/api/v1/messages/conversations",
        "/api/v1/messages/conversations/{id}",
        "/api/v1/messages/conversations/{id}/messages",
        "/api/v1/messages/unread-count",
        "/api/v1/chat/conversations",
        "/api/v1/chat/conversations/unread",
        "/api/v1/chat/conversations/{id}",
        "/api/v1/chat/conversations/{id}/participants",
        "/api/v1/chat/conversations/{id}/participants/{user_id}",
        "/api/v1/chat/conversations/{id}/read",
        "/api/v1/chat/conversations/{id}/typing",
        "/api/v1/chat/conversations/{id}/mute",
        "/api/v1/chat/conversations/{id}/unmute",
        "/api/v1/chat/conversations/{id}/archive",
        "/api/v1/chat/conversations/{id}/unarchive",
        "/api/v1/chat/conversations/{id}/messages",
        "/api/v1/chat/messages/send",
        "/api/v1/chat/messages/sync",
        "/api/v1/chat/messages/forward",
        "/api/v1/chat/messages/search",
        "/api/v1/chat/messages/{id}",
        "/api/v1/chat/messages/{id}/reactions",
        "/api/v1/chat/users",
        "/api/v1/chat/users/search",
        "/api/v1/chat/agents",
        "/api/v1/chat/users/{id}/block",
        "/api/v1/chat/blocks",
        "/api/v1/presence/heartbeat",
        "/api/v1/presence/offline",
        "/api/v1/presence/users",
    ] {
        assert!(api["paths"].get(path).is_some(), "openapi lacks {path}");
    }

    let operations: usize = api["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert!(
        operations >= 50,
        "every operation is documented ({operations})"
    );

    let res = s.call(Method::GET, "/api/v1/nope", None, None).await;
    assert_error(&res, 404, "NOT_FOUND");
    let res = s.call(Method::GET, "/api/v1/auth/login", None, None).await;
    assert_error(&res, 405, "METHOD_NOT_ALLOWED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_get_cors_preflight_answers() {
    let s = TestServer::start_with(&[("CORS_ALLOWED_ORIGINS", "https://app.example.com")]).await;
    let res = s
        .http
        .request(Method::OPTIONS, format!("{}/api/v1/auth/login", s.base))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization",
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let res = s
        .http
        .request(Method::OPTIONS, format!("{}/api/v1/auth/login", s.base))
        .header("origin", "https://evil.example.net")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}
