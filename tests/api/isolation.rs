//! Isolation that covers routes nobody has written yet: every operation of the served
//! OpenAPI document is called with no token, with another tenant's token on the first
//! tenant's ids, and (admin routes, marked with the `admin` scope) with a member's
//! token. A route added tomorrow is walked the day it appears in the document.

use crate::common::{Session, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

/// A tenant's world: the victim's, which probes must never reach, or a ghost's
/// (random ids of nothing), whose answers the victim's must match.
struct Victim {
    ann: Session,
    bob: Session,
    conversation: String,
    message: String,
    /// A confirmed upload in the conversation.
    media: String,
    /// Strings that must never appear in an answer to another tenant.
    secrets: Vec<String>,
}

/// Random ids that exist nowhere, in the victim's shape.
fn ghost(v: &Victim) -> Victim {
    let random = || uuid::Uuid::now_v7().to_string();
    let mut bob = v.bob.clone();
    bob.user_id = random();
    Victim {
        ann: v.ann.clone(),
        bob,
        conversation: random(),
        message: random(),
        media: random(),
        secrets: Vec::new(),
    }
}

async fn victim(s: &TestServer) -> Victim {
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let (st, c) = s
        .post(
            "/api/v1/chat/conversations",
            Some(&ann.access),
            json!({"type": "group", "participant_ids": [bob.user_id], "title": "acme-secret-room"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    let conversation = c["id"].as_str().unwrap().to_string();
    let (st, m) = s
        .post(
            "/api/v1/chat/messages/send",
            Some(&ann.access),
            json!({"conversation_id": conversation, "content": "acme-secret-text"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{m}");
    let message = m["id"].as_str().unwrap().to_string();
    let (st, ticket) = s
        .post(
            "/api/v1/chat/media/upload-url",
            Some(&ann.access),
            json!({"file_name": "acme-secret-file.txt", "content_type": "text/plain", "size": 5,
                   "conversation_id": conversation}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{ticket}");
    let media = ticket["id"].as_str().unwrap().to_string();
    let put = s
        .http
        .put(format!(
            "{}{}",
            s.base,
            ticket["upload_url"].as_str().unwrap()
        ))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let (st, file) = s
        .post(
            &format!("/api/v1/chat/media/{media}/confirm"),
            Some(&ann.access),
            json!({"message_id": message}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{file}");
    let secrets = vec![
        media.clone(),
        "acme-secret-file".into(),
        ann.user_id.clone(),
        bob.user_id.clone(),
        ann.tenant_id.clone(),
        conversation.clone(),
        message.clone(),
        "acme-secret-room".into(),
        "acme-secret-text".into(),
        "bob@acme.test".into(),
    ];
    Victim {
        ann,
        bob,
        conversation,
        message,
        media,
        secrets,
    }
}

impl Victim {
    /// The victim's id for a parameter or field, judged by its name and the path.
    fn id_for(&self, name: &str, path: &str) -> String {
        let resource = path
            .rsplit_once(&format!("{{{name}}}"))
            .map_or(path, |(before, _)| before);
        match name {
            "user_id" | "receiver_id" => self.bob.user_id.clone(),
            "message_id" => self.message.clone(),
            "conversation_id" | "chat_id" => self.conversation.clone(),
            _ if resource.ends_with("/messages/") => self.message.clone(),
            _ if resource.ends_with("/media/") => self.media.clone(),
            _ if resource.ends_with("/users/") => self.bob.user_id.clone(),
            _ => self.conversation.clone(),
        }
    }
}

/// Resolves `{"$ref": "#/components/schemas/X"}`.
fn resolve<'a>(api: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap();
            &api["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// A plausible value for a schema, with every uuid pointing at the victim.
fn sample(api: &Value, schema: &Value, name: &str, path: &str, v: &Victim) -> Value {
    let schema = resolve(api, schema);
    if let Some(one) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        let first = one.iter().find(|s| s["type"] != "null").unwrap_or(&one[0]);
        return sample(api, first, name, path, v);
    }
    if let Some(all) = schema["allOf"].as_array() {
        let mut out = Map::new();
        for part in all {
            if let Value::Object(o) = sample(api, part, name, path, v) {
                out.extend(o);
            }
        }
        return Value::Object(out);
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds
            .iter()
            .find(|k| *k != "null")
            .cloned()
            .unwrap_or(Value::Null),
        k => k.clone(),
    };
    match kind.as_str() {
        Some("object") | None if schema["properties"].is_object() => {
            let mut out = Map::new();
            for (field, s) in schema["properties"].as_object().unwrap() {
                out.insert(field.clone(), sample(api, s, field, path, v));
            }
            Value::Object(out)
        }
        Some("array") => {
            let singular = name.trim_end_matches('s');
            json!([sample(api, &schema["items"], singular, path, v)])
        }
        Some("integer") | Some("number") => json!(1),
        Some("boolean") => json!(true),
        // A host platform's own id: not one of Switchboard's.
        Some("string") if name == "external_id" => json!(format!("probe-ext-{}", &v.message[24..])),
        Some("string") if schema["format"] == "uuid" || name.ends_with("_id") => {
            json!(v.id_for(name, path))
        }
        Some("string") if schema["format"] == "date-time" => json!("2030-01-01T00:00:00Z"),
        Some("string") => match name {
            // One per world, so the ghost's request is not a duplicate of the victim's.
            "email" => json!(format!("probe-{}@rival.test", &v.message[24..])),
            "password" | "current_password" | "new_password" => json!("probe password 1"),
            "type" => json!("group"),
            "role" => json!("member"),
            "phone" => json!("+1 555 0100"),
            "platform" => json!("web"),
            "emoji" => json!("👍"),
            "device_id" => json!("probe-device-1"),
            _ => json!("probe"),
        },
        _ => Value::Null,
    }
}

/// Every operation: (method, path template, operation object).
fn operations(api: &Value) -> Vec<(Method, String, Value)> {
    let mut out = Vec::new();
    for (path, ops) in api["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            out.push((m, path.clone(), op.clone()));
        }
    }
    assert!(
        out.len() > 40,
        "the document lists only {} operations",
        out.len()
    );
    out
}

/// The request a probe sends: the path with the victim's ids and query, and a body.
fn request(api: &Value, path: &str, op: &Value, v: &Victim) -> (String, Option<Value>) {
    let mut url = path.to_string();
    let mut query = Vec::new();
    for p in op["parameters"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap();
        let value = sample(api, &p["schema"], name, path, v);
        let text = match &value {
            Value::String(s) => s.clone(),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map_or(i.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        match p["in"].as_str() {
            Some("path") => url = url.replace(&format!("{{{name}}}"), &text),
            Some("query") if name == "ids" => query.push(format!("ids={}", v.bob.user_id)),
            Some("query") if name == "scope" => query.push("scope=for_everyone".into()),
            Some("query") if name == "limit" => query.push("limit=10".into()),
            Some("query") if name == "before" => {}
            Some("query") if !value.is_null() => query.push(format!("{name}={text}")),
            _ => {}
        }
    }
    if !query.is_empty() {
        url = format!("{url}?{}", query.join("&"));
    }
    let body = op["requestBody"]["content"]["application/json"]["schema"]
        .as_object()
        .map(|_| {
            sample(
                api,
                &op["requestBody"]["content"]["application/json"]["schema"],
                "",
                path,
                v,
            )
        });
    (url, body)
}

fn is_public(op: &Value) -> bool {
    op["security"].as_array().is_none_or(|s| s.is_empty())
}

fn is_admin_only(op: &Value) -> bool {
    op["security"].as_array().into_iter().flatten().any(|req| {
        req["bearer"]
            .as_array()
            .is_some_and(|scopes| scopes.iter().any(|s| s == "admin"))
    })
}

/// Operations a host backend calls with an API key instead of a user's token.
fn wants_api_key(op: &Value) -> bool {
    op["security"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|req| req.get("api_key").is_some())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_refuses_strangers_and_other_tenants() {
    // Every feature on, so that no route answers 503 for lack of configuration.
    let s = TestServer::start_with(&crate::notifications::VAPID).await;
    let (_, api) = s
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    let v = victim(&s).await;
    let rival = s.signup("eve@rival.test").await;
    // The rival's backend holds a key with every scope.
    let (st, key) = s
        .post(
            "/api/v1/api-keys",
            Some(&rival.access),
            json!({"name": "rival backend", "scopes": ["users", "chats", "notifications", "publish"]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{key}");
    let rival_key = key["key"].as_str().unwrap().to_string();
    let ghost = ghost(&v);
    let mut failures = Vec::new();
    let mut walked = 0;

    for (method, path, op) in operations(&api) {
        let (url, body) = request(&api, &path, &op, &v);
        let what = format!(
            "{method} {url} {}",
            body.as_ref().map_or(String::new(), Value::to_string)
        );

        // No token: 401 on every operation that needs one.
        if !is_public(&op) {
            let (st, res) = s.call(method.clone(), &url, None, body.clone()).await;
            if st != StatusCode::UNAUTHORIZED || res["error"]["code"] != "AUTH_ERROR" {
                failures.push(format!("no token: {what} → {st} {res}"));
            }
        }

        // Another tenant's admin on the victim's ids: never their data, never a 5xx;
        // an operation addressed to one of their ids is 404 or 403.
        if is_public(&op) {
            continue;
        }
        walked += 1;
        let credential = if wants_api_key(&op) {
            rival_key.as_str()
        } else {
            rival.access.as_str()
        };
        let (st, res) = s
            .call(method.clone(), &url, Some(credential), body.clone())
            .await;
        // The same request on ids that exist nowhere must get the same answer.
        let (ghost_url, ghost_body) = request(&api, &path, &op, &ghost);
        let (ghost_st, ghost_res) = s
            .call(method.clone(), &ghost_url, Some(credential), ghost_body)
            .await;
        let sent = format!(
            "{url} {}",
            body.as_ref().map_or(String::new(), Value::to_string)
        );
        let text = res.to_string();
        let addressed = path.contains('{');
        if st.is_server_error() {
            failures.push(format!("rival: {what} → {st} {res}"));
        } else if addressed && !matches!(st.as_u16(), 403 | 404) {
            failures.push(format!("rival on the victim's id: {what} → {st} {res}"));
        } else if (st, &res["error"]["code"]) != (ghost_st, &ghost_res["error"]["code"]) {
            failures.push(format!(
                "rival: {what} → {st} {res}, but on random ids → {ghost_st} {ghost_res}"
            ));
        } else if let Some(leak) = v
            .secrets
            .iter()
            .find(|sec| text.contains(sec.as_str()) && !sent.contains(sec.as_str()))
        {
            failures.push(format!("rival: {what} → {st} leaks {leak}: {res}"));
        }
    }

    // Admin routes: a member of the same tenant gets 403.
    let admin_ops: Vec<_> = operations(&api)
        .into_iter()
        .filter(|(_, _, op)| is_admin_only(op))
        .collect();
    assert!(admin_ops.len() >= 3, "the admin scope marks no routes");
    for (method, path, op) in admin_ops {
        let (url, body) = request(&api, &path, &op, &v);
        let (st, res) = s
            .call(method.clone(), &url, Some(&v.bob.access), body)
            .await;
        if st != StatusCode::FORBIDDEN || res["error"]["code"] != "PERMISSION_ERROR" {
            failures.push(format!(
                "member on an admin route: {method} {url} → {st} {res}"
            ));
        }
    }

    // The victim's data is untouched by all of the above.
    let (st, page) = s
        .get(
            &format!("/api/v1/chat/conversations/{}/messages", v.conversation),
            &v.ann.access,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(page["messages"][0]["id"], v.message.as_str());
    assert_eq!(page["messages"][0]["content"], "acme-secret-text");
    assert!(walked > 40, "walked only {walked} operations");
    assert!(
        failures.is_empty(),
        "{} isolation failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
