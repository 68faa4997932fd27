//! The in-app inbox over the wire: what creates a notification (a mention; a direct
//! message to someone not connected), the events on every dialect, 000's and
//! Worknation's routes, preferences, and who may read what.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchboard_tools::client::SioClient;

use crate::common::ws::{next_json, open, stream};
use crate::common::{Session, TestServer, assert_error};

const WAIT: Duration = Duration::from_secs(15);

async fn group(s: &TestServer, owner: &Session, members: &[&Session]) -> String {
    let ids: Vec<&str> = members.iter().map(|m| m.user_id.as_str()).collect();
    let (_, c) = s
        .post(
            "/api/v1/chat/conversations",
            Some(&owner.access),
            json!({"type": "group", "participant_ids": ids, "title": "team"}),
        )
        .await;
    c["id"].as_str().unwrap().to_string()
}

/// Posts a message (`body` plus the conversation id); asserts 201.
pub(crate) async fn send(s: &TestServer, who: &Session, chat: &str, body: Value) -> Value {
    let mut body = body;
    body["conversation_id"] = json!(chat);
    let (st, m) = s
        .post("/api/v1/chat/messages/send", Some(&who.access), body)
        .await;
    assert_eq!(st, StatusCode::CREATED, "{m}");
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_reaches_every_dialect_and_the_inbox() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let chat = group(&s, &ann, &[&bob]).await;
    let mut sio = SioClient::connect(&s.base, Some(json!({"token": bob.access})), "")
        .await
        .unwrap();
    let mut hr = stream(&s, &bob).await;
    let mut legacy = open(&s, &format!("/ws?token={}", bob.access)).await;

    let m = send(
        &s,
        &ann,
        &chat,
        json!({"content": "@bob can you look?", "mention_user_ids": [bob.user_id]}),
    )
    .await;

    let created = sio.expect("notification_created", WAIT).await.unwrap();
    let n = &created["payload"];
    assert_eq!(n["type"], "mention");
    assert_eq!(n["is_read"], false);
    assert_eq!(n["data"]["message_id"], m["id"]);
    assert_eq!(n["data"]["conversation_id"], chat.as_str());
    assert_eq!(n["body"], "@bob can you look?");
    let count = sio
        .expect("notifications_count_updated", WAIT)
        .await
        .unwrap();
    assert_eq!(count["payload"]["unread_count"], 1);
    let on_hr = loop {
        let v = next_json(&mut hr).await;
        if v["type"] == "notification_created" {
            break v;
        }
    };
    assert_eq!(on_hr["payload"]["id"], n["id"]);
    let on_legacy = loop {
        let v = next_json(&mut legacy).await;
        if v["type"] == "notification" {
            break v;
        }
    };
    assert_eq!(on_legacy["data"]["id"], n["id"]);
    assert_eq!(on_legacy["data"]["level"], "info");
    assert!(
        on_legacy["data"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("mentioned"))
    );

    // 000's routes: list (array, newest first), unread-count, read one, read-all.
    let (st, list) = s.get("/api/v1/notifications", &bob.access).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let (_, c) = s
        .get("/api/v1/notifications/unread-count", &bob.access)
        .await;
    assert_eq!(c["unread_count"], 1);
    let id = n["id"].as_str().unwrap();
    // Only its owner reads it: Ann gets 404.
    assert_error(
        &s.call(
            Method::PATCH,
            &format!("/api/v1/notifications/{id}/read"),
            Some(&ann.access),
            None,
        )
        .await,
        404,
        "NOT_FOUND",
    );
    let (st, read) = s
        .call(
            Method::PATCH,
            &format!("/api/v1/notifications/{id}/read"),
            Some(&bob.access),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{read}");
    assert_eq!(read["is_read"], true);
    assert!(read["read_at"].is_string());
    let ev = sio.expect("notification_read", WAIT).await.unwrap();
    assert_eq!(ev["payload"]["id"], id);
    let (_, stats) = s.get("/api/v1/notifications/stats", &bob.access).await;
    assert_eq!(stats, json!({"total": 1, "unread": 0, "read": 1}));

    // Mark-all-read tells the devices the count.
    send(
        &s,
        &ann,
        &chat,
        json!({"content": "again @bob", "mention_user_ids": [bob.user_id]}),
    )
    .await;
    let (st, all) = s
        .call(
            Method::PATCH,
            "/api/v1/notifications/read-all",
            Some(&bob.access),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(all["updated"], 1);
    loop {
        let c = sio
            .expect("notifications_count_updated", WAIT)
            .await
            .unwrap();
        if c["payload"]["unread_count"] == 0 {
            break;
        }
    }
    let (_, c) = s
        .get("/api/v1/notifications/unread-count", &bob.access)
        .await;
    assert_eq!(c["count"], 0);
    // Worknation's names serve the same.
    let (st, _) = s
        .call(
            Method::PATCH,
            "/api/v1/notifications/mark-all-read",
            Some(&bob.access),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .call(
            Method::PATCH,
            &format!("/api/v1/notifications/{id}/mark-read"),
            Some(&bob.access),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_messages_notify_only_users_who_are_not_connected() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let (_, c) = s
        .post(
            "/api/v1/chat/conversations",
            Some(&ann.access),
            json!({"type": "direct", "participant_ids": [bob.user_id]}),
        )
        .await;
    let dm = c["id"].as_str().unwrap().to_string();
    // Bob is not connected: a notification.
    send(&s, &ann, &dm, json!({"content": "are you there?"})).await;
    let (_, list) = s.get("/api/v1/notifications", &bob.access).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["type"], "message");
    assert!(list[0]["title"].as_str().unwrap().contains("ann"));
    // Bob connects: he sees messages arrive, so no more notifications.
    let mut sio = SioClient::connect(&s.base, Some(json!({"token": bob.access})), "")
        .await
        .unwrap();
    sio.before_barrier("notification_created", WAIT)
        .await
        .unwrap();
    send(&s, &ann, &dm, json!({"content": "ah, hello"})).await;
    sio.expect("response_message", WAIT).await.unwrap();
    assert!(
        sio.before_barrier("notification_created", WAIT)
            .await
            .unwrap()
            .is_empty()
    );
    let (_, list) = s.get("/api/v1/notifications", &bob.access).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    // Ann never notifies herself.
    let (_, mine) = s.get("/api/v1/notifications", &ann.access).await;
    assert_eq!(mine, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preferences_switch_categories_and_channels() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let (st, p) = s
        .get("/api/v1/notifications/preferences", &bob.access)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        (p["email_enabled"].as_bool(), p["push_enabled"].as_bool()),
        (Some(false), Some(true))
    );
    assert_eq!(
        p["categories"]["mention"],
        json!({"in_app": true, "email": true, "web_push": true, "mobile_push": true})
    );

    let (st, p) = s
        .patch(
            "/api/v1/notifications/preferences",
            &bob.access,
            json!({"email_enabled": true, "categories": {"mention": {"in_app": false}}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(p["email_enabled"], true);
    assert_eq!(p["categories"]["mention"]["in_app"], false);
    assert_eq!(p["categories"]["message"]["in_app"], true);
    let (_, again) = s
        .get("/api/v1/notifications/preferences", &bob.access)
        .await;
    assert_eq!(again, p, "stored");
    for bad in [
        json!({"categories": {"gossip": {"in_app": false}}}),
        json!({"categories": {"mention": {"pigeon": false}}}),
        json!({"sms_enabled": true}),
    ] {
        assert_error(
            &s.patch("/api/v1/notifications/preferences", &bob.access, bad)
                .await,
            400,
            "VALIDATION_ERROR",
        );
    }
    // With mentions off in-app, a mention makes no notification.
    let chat = group(&s, &ann, &[&bob]).await;
    send(
        &s,
        &ann,
        &chat,
        json!({"content": "@bob", "mention_user_ids": [bob.user_id]}),
    )
    .await;
    let (_, list) = s.get("/api/v1/notifications", &bob.access).await;
    assert_eq!(list, json!([]));
}

/// A VAPID pair made by `switchboard vapid-keys`, for tests only.
pub(crate) const VAPID: [(&str, &str); 3] = [
    (
        "VAPID_PUBLIC_KEY",
        "BNwAdAnGgViWiVfera4cIAbzWtD08a94olYTVZErAX7JPMkztvt7z9u0x1lvvwVK2bPV31ePOGUjPGTQfbQ0oRY",
    ),
    (
        "VAPID_PRIVATE_KEY",
        "FlIfncHwnIVu-4FCYUPxlDfECEnJsVtQcluh-5HHWSE",
    ),
    ("WEB_PUSH_ALLOWED_ENDPOINTS", "https://push.example.test/"),
];
const P256DH: &str =
    "BAcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-P0BBQkNERUY";
const AUTH: &str = "AAECAwQFBgcICQoLDA0ODw";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_push_subscriptions_as_documented() {
    // Without VAPID keys: no key, and registering is 503.
    let bare = TestServer::start().await;
    let ann = bare.signup("ann@acme.test").await;
    let (st, k) = bare
        .call(
            Method::GET,
            "/api/v1/notifications/push-public-key",
            None,
            None,
        )
        .await;
    assert_eq!(
        (st, &k),
        (
            StatusCode::OK,
            &json!({"public_key": null, "configured": false})
        )
    );
    let sub = json!({"endpoint": "https://push.example.test/abc", "keys": {"p256dh": P256DH, "auth": AUTH}});
    assert_error(
        &bare
            .post(
                "/api/v1/notifications/push-subscriptions",
                Some(&ann.access),
                sub.clone(),
            )
            .await,
        503,
        "SERVICE_UNAVAILABLE",
    );

    let s = TestServer::start_with(&VAPID).await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let (_, k) = s
        .call(
            Method::GET,
            "/api/v1/notifications/push-public-key",
            None,
            None,
        )
        .await;
    assert_eq!(k["public_key"], VAPID[0].1);
    assert_eq!(k["configured"], true);
    // PushSubscription.toJSON() registers; the flat shape on the same endpoint updates.
    let (st, r) = s
        .post(
            "/api/v1/notifications/push-subscriptions",
            Some(&ann.access),
            json!({
            "endpoint": "https://push.example.test/abc", "expirationTime": null,
            "keys": {"p256dh": P256DH, "auth": AUTH}}),
        )
        .await;
    assert_eq!(
        (st, r["message"].as_str()),
        (StatusCode::OK, Some("Push subscription registered."))
    );
    let (_, r2) = s
        .post(
            "/api/v1/notifications/push-subscriptions",
            Some(&ann.access),
            json!({
            "endpoint": "https://push.example.test/abc", "p256dh": P256DH, "auth": AUTH,
            "user_agent": "Firefox"}),
        )
        .await;
    assert_eq!(r2["message"], "Push subscription updated.");
    assert_eq!(r2["id"], r["id"]);
    // The server only POSTs where it is allowed to, and keys must be keys.
    for (body, field) in [
        (
            json!({"endpoint": "https://evil.example/steal", "keys": {"p256dh": P256DH, "auth": AUTH}}),
            "endpoint",
        ),
        (
            json!({"endpoint": "http://169.254.169.254/latest", "keys": {"p256dh": P256DH, "auth": AUTH}}),
            "endpoint",
        ),
        (
            json!({"endpoint": "https://push.example.test/x", "keys": {"p256dh": "short", "auth": AUTH}}),
            "p256dh",
        ),
        (
            json!({"endpoint": "https://push.example.test/x", "keys": {"p256dh": P256DH, "auth": "x"}}),
            "auth",
        ),
        (json!({"endpoint": "https://push.example.test/x"}), "keys"),
    ] {
        let res = s
            .post(
                "/api/v1/notifications/push-subscriptions",
                Some(&ann.access),
                body,
            )
            .await;
        assert_error(&res, 400, "VALIDATION_ERROR");
        assert_eq!(res.1["error"]["field"], field);
    }
    // Only its owner removes it.
    let del = json!({"endpoint": "https://push.example.test/abc", "keys": {"p256dh": P256DH, "auth": AUTH}});
    assert_error(
        &s.call(
            Method::DELETE,
            "/api/v1/notifications/push-subscriptions",
            Some(&bob.access),
            Some(del.clone()),
        )
        .await,
        404,
        "NOT_FOUND",
    );
    let (st, d) = s
        .call(
            Method::DELETE,
            "/api/v1/notifications/push-subscriptions",
            Some(&ann.access),
            Some(del.clone()),
        )
        .await;
    assert_eq!(
        (st, d["message"].as_str()),
        (StatusCode::OK, Some("Push subscription removed."))
    );
    assert_error(
        &s.call(
            Method::DELETE,
            "/api/v1/notifications/push-subscriptions",
            Some(&ann.access),
            Some(del),
        )
        .await,
        404,
        "NOT_FOUND",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expo_device_tokens_as_documented() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let register = |who: &Session, body: Value| {
        let token = who.access.clone();
        let s = &s;
        async move {
            s.post("/api/v1/notifications/device-tokens", Some(&token), body)
                .await
        }
    };
    let (st, r) = register(
        &ann,
        json!({"expo_push_token": "ExponentPushToken[abc123_-X]", "platform": "iOS",
               "device_name": "Ann's phone", "device_id": "device-1", "app_version": "1.2.3",
               "build_number": "45", "environment": "production"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["registered"], true);
    let first = r["id"].clone();
    // Both token formats; the same token registered by Bob moves to him.
    let (st, r2) = register(&ann, json!({"expo_push_token": "ExpoPushToken[zzz999]"})).await;
    assert_eq!(
        (st, r2["registered"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let (_, moved) = register(
        &bob,
        json!({"expo_push_token": "ExponentPushToken[abc123_-X]"}),
    )
    .await;
    assert_eq!(moved["id"], first, "reassigned, not duplicated");
    // Bad input: 400 naming the field.
    for (body, field) in [
        (json!({"expo_push_token": "not-a-token"}), "expo_push_token"),
        (
            json!({"expo_push_token": "ExponentPushToken[]"}),
            "expo_push_token",
        ),
        (
            json!({"expo_push_token": "ExpoPushToken[ok]", "environment": "staging"}),
            "environment",
        ),
    ] {
        let res = register(&ann, body).await;
        assert_error(&res, 400, "VALIDATION_ERROR");
        assert_eq!(res.1["error"]["field"], field);
    }
    // By id: owner only (the first token is Bob's now).
    let path = format!(
        "/api/v1/notifications/device-tokens/{}",
        first.as_str().unwrap()
    );
    assert_error(
        &s.call(Method::DELETE, &path, Some(&ann.access), None).await,
        404,
        "NOT_FOUND",
    );
    let (st, d) = s.call(Method::DELETE, &path, Some(&bob.access), None).await;
    assert_eq!(
        (st, d["message"].as_str()),
        (StatusCode::OK, Some("Device token unregistered."))
    );
    // Current: one named token, then all (none left).
    let (st, d) = s
        .call(
            Method::DELETE,
            "/api/v1/notifications/device-tokens/current",
            Some(&ann.access),
            Some(json!({"expo_push_token": "ExpoPushToken[zzz999]"})),
        )
        .await;
    assert_eq!((st, d["revoked"].as_u64()), (StatusCode::OK, Some(1)));
    assert_eq!(d["message"], "Device token unregistered.");
    let (st, d) = s
        .call(
            Method::DELETE,
            "/api/v1/notifications/device-tokens/current",
            Some(&ann.access),
            None,
        )
        .await;
    assert_eq!((st, d["revoked"].as_u64()), (StatusCode::OK, Some(0)));
}
