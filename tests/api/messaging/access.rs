//! Every conversation route checks who is asking: outsiders 403, other tenants 404.

use reqwest::Method;
use serde_json::{Value, json};

use super::{direct, send};
use crate::common::{TestServer, assert_error};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_conversation_route_checks_who_is_asking() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let outsider = s.add_member(&ann, "out@acme.test").await;
    let rival = s.signup("eve@rival.test").await;
    let chat = direct(&s, &ann, &bob).await;
    let msg = send(&s, &ann, &chat, "secret").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ghost = uuid::Uuid::now_v7().to_string();

    // (method, path with {c} for the conversation and {m} for a message, body)
    let remove_bob = format!(
        "/api/v1/chat/conversations/{{c}}/participants/{}",
        bob.user_id
    );
    let routes: Vec<(Method, &str, Value)> = vec![
        (
            Method::GET,
            "/api/v1/messages/conversations/{c}",
            Value::Null,
        ),
        (
            Method::GET,
            "/api/v1/messages/conversations/{c}/messages",
            Value::Null,
        ),
        (
            Method::POST,
            "/api/v1/messages/conversations/{c}/messages",
            json!({"content": "x"}),
        ),
        (Method::GET, "/api/v1/chat/conversations/{c}", Value::Null),
        (
            Method::PATCH,
            "/api/v1/chat/conversations/{c}",
            json!({"title": "x"}),
        ),
        (
            Method::DELETE,
            "/api/v1/chat/conversations/{c}?scope=for_me",
            Value::Null,
        ),
        (
            Method::GET,
            "/api/v1/chat/conversations/{c}/participants",
            Value::Null,
        ),
        (
            Method::POST,
            "/api/v1/chat/conversations/{c}/participants",
            json!({"user_ids": [outsider.user_id]}),
        ),
        (Method::DELETE, &remove_bob, Value::Null),
        (
            Method::POST,
            "/api/v1/chat/conversations/{c}/read",
            json!({}),
        ),
        (
            Method::POST,
            "/api/v1/chat/conversations/{c}/typing",
            Value::Null,
        ),
        (
            Method::POST,
            "/api/v1/chat/conversations/{c}/mute",
            Value::Null,
        ),
        (
            Method::POST,
            "/api/v1/chat/conversations/{c}/unmute",
            Value::Null,
        ),
        (
            Method::POST,
            "/api/v1/chat/conversations/{c}/archive",
            Value::Null,
        ),
        (
            Method::POST,
            "/api/v1/chat/conversations/{c}/unarchive",
            Value::Null,
        ),
        (
            Method::GET,
            "/api/v1/chat/conversations/{c}/messages",
            Value::Null,
        ),
        (
            Method::POST,
            "/api/v1/chat/messages/send",
            json!({"conversation_id": "{c}", "content": "x"}),
        ),
        (
            Method::POST,
            "/api/v1/chat/messages/sync",
            json!({"conversations": [{"id": "{c}", "last_seq": 0}]}),
        ),
        (
            Method::GET,
            "/api/v1/chat/messages/search?q=secret&conversation_id={c}",
            Value::Null,
        ),
        (
            Method::PATCH,
            "/api/v1/chat/messages/{m}",
            json!({"content": "x"}),
        ),
        (Method::DELETE, "/api/v1/chat/messages/{m}", Value::Null),
        (
            Method::POST,
            "/api/v1/chat/messages/{m}/reactions",
            json!({"emoji": "👍"}),
        ),
        (
            Method::POST,
            "/api/v1/chat/messages/forward",
            json!({"message_id": "{m}", "conversation_ids": ["{c}"]}),
        ),
    ];
    let fill = |t: &str, c: &str, m: &str| t.replace("{c}", c).replace("{m}", m);
    for (method, path, body) in &routes {
        let body = (!body.is_null())
            .then(|| serde_json::from_str::<Value>(&fill(&body.to_string(), &chat, &msg)).unwrap());
        // A participant of the same tenant who is not in the conversation: 403.
        let res = s
            .call(
                method.clone(),
                &fill(path, &chat, &msg),
                Some(&outsider.access),
                body.clone(),
            )
            .await;
        assert_error(&res, 403, "PERMISSION_ERROR");
        // Another tenant: 404, the same answer as for an id that does not exist.
        let res = s
            .call(
                method.clone(),
                &fill(path, &chat, &msg),
                Some(&rival.access),
                body.clone(),
            )
            .await;
        assert_error(&res, 404, "NOT_FOUND");
        let ghost_body = body.as_ref().map(|b| {
            serde_json::from_str::<Value>(
                &b.to_string().replace(&chat, &ghost).replace(&msg, &ghost),
            )
            .unwrap()
        });
        let res = s
            .call(
                method.clone(),
                &fill(path, &ghost, &ghost),
                Some(&bob.access),
                ghost_body,
            )
            .await;
        assert_error(&res, 404, "NOT_FOUND");
        // No token at all.
        let res = s
            .call(method.clone(), &fill(path, &chat, &msg), None, body)
            .await;
        assert_error(&res, 401, "AUTH_ERROR");
    }
    // Nothing above changed the conversation.
    let (_, page) = s
        .get(
            &format!("/api/v1/chat/conversations/{chat}/messages"),
            &ann.access,
        )
        .await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);
    assert_eq!(page["messages"][0]["content"], "secret");
    let (_, parts) = s
        .get(
            &format!("/api/v1/chat/conversations/{chat}/participants"),
            &ann.access,
        )
        .await;
    assert_eq!(parts.as_array().unwrap().len(), 2);
    // The directory is per tenant.
    let (_, users) = s.get("/api/v1/chat/users", &rival.access).await;
    assert_eq!(users.as_array().unwrap().len(), 1);
    let (_, found) = s
        .get("/api/v1/chat/users/search?q=acme", &rival.access)
        .await;
    assert!(found.as_array().unwrap().is_empty());
    assert_error(
        &s.call(
            Method::POST,
            &format!("/api/v1/chat/users/{}/block", ann.user_id),
            Some(&rival.access),
            None,
        )
        .await,
        404,
        "NOT_FOUND",
    );
}
