//! Document 003: the chat REST client, on its own paths (`/auth/*`, `/v1/chat/*` on the
//! base URL), verbs and field names, with nothing Switchboard-specific.

use crate::common::{Session, TestServer, assert_error};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn call(
    s: &TestServer,
    m: Method,
    path: &str,
    who: &Session,
    body: Value,
) -> (StatusCode, Value) {
    let body = (!body.is_null()).then_some(body);
    s.call(m, path, Some(&who.access), body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_on_the_documented_paths() {
    let s = TestServer::start().await;
    // POST /auth/signup: account + tenant.
    let (st, body) = s
        .post(
            "/auth/signup",
            None,
            json!({"email": "ann@acme.test", "password": "correct horse battery",
                   "display_name": "Ann", "tenant_name": "Acme"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    // POST /auth/login: a JWT + refresh token.
    let (st, login) = s
        .post(
            "/auth/login",
            None,
            json!({"email": "ann@acme.test", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let ann = Session::from_json(&login);
    // GET /auth/me: the user + tenant.
    let (st, me) = s.get("/auth/me", &ann.access).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        (
            me["user"]["display_name"].as_str(),
            me["tenant"]["name"].as_str()
        ),
        (Some("Ann"), Some("Acme"))
    );
    // PATCH /auth/profile: display name, avatar, timezone (and a phone).
    let (st, p) = s
        .patch(
            "/auth/profile",
            &ann.access,
            json!({"display_name": "Ann A.", "avatar_url": "https://cdn.example/ann.png",
                   "timezone": "Asia/Karachi", "phone": "+92 300 1234567"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(
        (
            p["display_name"].as_str(),
            p["timezone"].as_str(),
            p["phone"].as_str()
        ),
        (Some("Ann A."), Some("Asia/Karachi"), Some("+923001234567"))
    );
    assert_error(
        &s.patch("/auth/profile", &ann.access, json!({"phone": "call me"}))
            .await,
        400,
        "VALIDATION_ERROR",
    );
    // POST /auth/refresh rotates; POST /auth/change-password; POST /auth/logout.
    let (st, r) = s
        .post("/auth/refresh", None, json!({"refresh_token": ann.refresh}))
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let ann = Session::from_json(&r);
    let (st, c) = s
        .post(
            "/auth/change-password",
            Some(&ann.access),
            json!({"current_password": "correct horse battery", "new_password": "a new long password"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    let ann = Session::from_json(&c);
    let (st, _) = s
        .post(
            "/auth/logout",
            Some(&ann.access),
            json!({"refresh_token": ann.refresh}),
        )
        .await;
    assert!(st.is_success(), "logout: {st}");
    assert_error(
        &s.post("/auth/refresh", None, json!({"refresh_token": ann.refresh}))
            .await,
        401,
        "AUTH_ERROR",
    );
    // Unknown paths under the alias are the JSON 404, a wrong verb the JSON 405.
    assert_error(&s.get("/auth/nope", &ann.access).await, 404, "NOT_FOUND");
    assert_error(
        &s.call(Method::DELETE, "/auth/me", Some(&ann.access), None)
            .await,
        405,
        "METHOD_NOT_ALLOWED",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_with_the_documented_verbs() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let cat = s.add_member(&ann, "cat@acme.test").await;

    // POST /v1/chat/conversations (a name, as 003 calls it).
    let (st, c) = call(
        &s,
        Method::POST,
        "/v1/chat/conversations",
        &ann,
        json!({"type": "group", "participant_ids": [bob.user_id], "name": "Launch"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    assert_eq!(
        (c["name"].as_str(), c["title"].as_str()),
        (Some("Launch"), Some("Launch"))
    );
    let id = c["id"].as_str().unwrap().to_string();
    let conv = |rest: &str| format!("/v1/chat/conversations/{id}{rest}");

    // GET /v1/chat/conversations: the caller's conversations.
    let (st, list) = call(&s, Method::GET, "/v1/chat/conversations", &bob, Value::Null).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list[0]["id"], id.as_str());

    // PATCH /v1/chat/conversations/:id: "Update name or description".
    let (st, c) = call(
        &s,
        Method::PATCH,
        &conv(""),
        &ann,
        json!({"name": "Launch day", "description": "go/no-go"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    assert_eq!(
        (c["name"].as_str(), c["description"].as_str()),
        (Some("Launch day"), Some("go/no-go"))
    );

    // Participants: list, add, remove.
    let (st, p) = call(
        &s,
        Method::POST,
        &conv("/participants"),
        &ann,
        json!({"user_ids": [cat.user_id]}),
    )
    .await;
    assert_eq!((st, p.as_array().map(Vec::len)), (StatusCode::OK, Some(3)));
    let (st, p) = call(&s, Method::GET, &conv("/participants"), &bob, Value::Null).await;
    assert_eq!((st, p.as_array().map(Vec::len)), (StatusCode::OK, Some(3)));
    let (st, _) = call(
        &s,
        Method::DELETE,
        &conv(&format!("/participants/{}", cat.user_id)),
        &ann,
        Value::Null,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);

    // Mute / unmute, archive / unarchive: POST and DELETE on the same path.
    for (verb, path, key, want) in [
        (Method::POST, "/mute", "muted", true),
        (Method::DELETE, "/mute", "muted", false),
        (Method::POST, "/archive", "archived", true),
        (Method::DELETE, "/archive", "archived", false),
    ] {
        let (st, f) = call(&s, verb.clone(), &conv(path), &bob, Value::Null).await;
        assert_eq!(st, StatusCode::OK, "{verb} {path}: {f}");
        assert_eq!(f[key], want, "{verb} {path}: {f}");
        let (_, one) = call(&s, Method::GET, &conv(""), &bob, Value::Null).await;
        assert_eq!(one[key], want, "{verb} {path} not stored");
    }

    // Typing, a message, unread, read up to a seq.
    let (st, _) = call(&s, Method::POST, &conv("/typing"), &ann, Value::Null).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, m) = call(
        &s,
        Method::POST,
        "/v1/chat/messages/send",
        &ann,
        json!({"conversation_id": id, "content": "T-minus 10"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{m}");
    let (st, unread) = call(
        &s,
        Method::GET,
        "/v1/chat/conversations/unread",
        &bob,
        Value::Null,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(unread[0]["unread_count"], 1, "{unread}");
    let (st, r) = call(&s, Method::POST, &conv("/read"), &bob, json!({"seq": 1})).await;
    assert_eq!((st, r["last_read_seq"].as_i64()), (StatusCode::OK, Some(1)));

    // DELETE /v1/chat/conversations/:id (for_me, then for_everyone by the owner).
    let (st, _) = call(
        &s,
        Method::DELETE,
        &conv("?scope=for_me"),
        &bob,
        Value::Null,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = call(
        &s,
        Method::DELETE,
        &conv("?scope=for_everyone"),
        &ann,
        Value::Null,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_error(
        &call(&s, Method::GET, &conv(""), &ann, Value::Null).await,
        404,
        "NOT_FOUND",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_with_the_documented_paths() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let (_, c) = call(
        &s,
        Method::POST,
        "/v1/chat/conversations",
        &ann,
        json!({"type": "direct", "participant_ids": [bob.user_id]}),
    )
    .await;
    let id = c["id"].as_str().unwrap().to_string();
    let (_, other) = call(
        &s,
        Method::POST,
        "/v1/chat/conversations",
        &ann,
        json!({"type": "group", "participant_ids": [bob.user_id], "name": "Elsewhere"}),
    )
    .await;
    let other = other["id"].as_str().unwrap().to_string();

    let mut sent = Vec::new();
    for text in ["orbit reached", "telemetry nominal"] {
        let (st, m) = call(
            &s,
            Method::POST,
            "/v1/chat/messages/send",
            &ann,
            json!({"conversation_id": id, "content": text}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED);
        sent.push(m);
    }
    // GET /v1/chat/conversations/:id/messages with pagination.
    let (st, page) = call(
        &s,
        Method::GET,
        &format!("/v1/chat/conversations/{id}/messages?limit=1"),
        &bob,
        Value::Null,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(page["messages"][0]["seq"], 2);
    assert_eq!(page["has_more"], true);
    let (_, page) = call(
        &s,
        Method::GET,
        &format!("/v1/chat/conversations/{id}/messages?before_seq=2"),
        &bob,
        Value::Null,
    )
    .await;
    assert_eq!(page["messages"][0]["content"], "orbit reached");

    // POST /v1/chat/messages/sync by last_seq.
    let (st, sync) = call(
        &s,
        Method::POST,
        "/v1/chat/messages/sync",
        &bob,
        json!({"conversations": [{"id": id, "last_seq": 1}]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{sync}");
    assert_eq!(sync["conversations"][0]["messages"][0]["seq"], 2);

    // PATCH /v1/chat/messages/:id: edit a message you sent (only you).
    let mid = sent[0]["id"].as_str().unwrap();
    let (st, e) = call(
        &s,
        Method::PATCH,
        &format!("/v1/chat/messages/{mid}"),
        &ann,
        json!({"content": "orbit reached!"}),
    )
    .await;
    assert_eq!(
        (st, e["content"].as_str()),
        (StatusCode::OK, Some("orbit reached!"))
    );
    assert_error(
        &call(
            &s,
            Method::PATCH,
            &format!("/v1/chat/messages/{mid}"),
            &bob,
            json!({"content": "not mine"}),
        )
        .await,
        403,
        "PERMISSION_ERROR",
    );

    // POST /v1/chat/messages/:id/reactions toggles.
    let path = format!("/v1/chat/messages/{mid}/reactions");
    let (st, r) = call(&s, Method::POST, &path, &bob, json!({"emoji": "🚀"})).await;
    assert_eq!((st, r["added"].as_bool()), (StatusCode::OK, Some(true)));
    let (_, r) = call(&s, Method::POST, &path, &bob, json!({"emoji": "🚀"})).await;
    assert_eq!(r["added"], false);

    // POST /v1/chat/messages/forward.
    let (st, f) = call(
        &s,
        Method::POST,
        "/v1/chat/messages/forward",
        &bob,
        json!({"message_id": mid, "conversation_ids": [other]}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{f}");
    assert_eq!(f[0]["conversation_id"], other.as_str());

    // GET /v1/chat/messages/search: full text over accessible messages.
    let (st, found) = call(
        &s,
        Method::GET,
        "/v1/chat/messages/search?q=telemetry",
        &bob,
        Value::Null,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found[0]["id"], sent[1]["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_search_by_name_or_phone_and_blocks() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let rival = s.signup("eve@rival.test").await;
    // An admin sets a member's phone; a user sets their own in the profile.
    let (st, u) = s
        .patch(
            &format!("/api/v1/users/{}", bob.user_id),
            &ann.access,
            json!({"phone": "+1 (555) 010-9999"}),
        )
        .await;
    assert_eq!(
        (st, u["phone"].as_str()),
        (StatusCode::OK, Some("+15550109999"))
    );
    assert_error(
        &s.patch(
            &format!("/api/v1/users/{}", ann.user_id),
            &bob.access,
            json!({"phone": "123"}),
        )
        .await,
        403,
        "PERMISSION_ERROR",
    );
    s.patch(
        "/auth/profile",
        &rival.access,
        json!({"phone": "555 010 9999"}),
    )
    .await;

    // GET /v1/chat/users; GET /v1/chat/users/search by name or phone.
    let (st, users) = call(&s, Method::GET, "/v1/chat/users", &ann, Value::Null).await;
    assert_eq!(
        (st, users.as_array().map(Vec::len)),
        (StatusCode::OK, Some(2))
    );
    for q in ["bob", "555-010", "0109999", "(555)"] {
        let (st, found) = call(
            &s,
            Method::GET,
            &format!("/v1/chat/users/search?q={q}"),
            &ann,
            Value::Null,
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        let ids: Vec<&str> = found
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|u| u["id"].as_str())
            .collect();
        assert_eq!(
            ids,
            [bob.user_id.as_str()],
            "q={q}: another tenant's phone never matches"
        );
    }
    assert_error(
        &call(&s, Method::GET, "/v1/chat/users/search", &ann, Value::Null).await,
        400,
        "VALIDATION_ERROR",
    );
    // GET /v1/chat/agents.
    let (st, agents) = call(&s, Method::GET, "/v1/chat/agents", &ann, Value::Null).await;
    assert_eq!(
        (st, agents.as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );

    // Block, list, unblock.
    let block = format!("/v1/chat/users/{}/block", bob.user_id);
    let (st, _) = call(&s, Method::POST, &block, &ann, Value::Null).await;
    assert_eq!(st, StatusCode::OK);
    let (_, blocks) = call(&s, Method::GET, "/v1/chat/blocks", &ann, Value::Null).await;
    assert_eq!(blocks[0]["user_id"], bob.user_id.as_str());
    let (st, _) = call(&s, Method::DELETE, &block, &ann, Value::Null).await;
    assert_eq!(st, StatusCode::OK);
    let (_, blocks) = call(&s, Method::GET, "/v1/chat/blocks", &ann, Value::Null).await;
    assert_eq!(blocks.as_array().map(Vec::len), Some(0));
}
