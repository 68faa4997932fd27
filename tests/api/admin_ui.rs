//! The Socket.IO Admin UI's namespace over the wire, as `@socket.io/admin-ui` speaks
//! it (a raw Socket.IO client on `/admin`): what it shows never carries a credential,
//! and its login is guarded like the REST one.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use switchboard_tools::client::SioClient;
use tokio_tungstenite::tungstenite::Message;

use crate::common::TestServer;
use crate::common::ws::Ws;

const WAIT: Duration = Duration::from_secs(10);
const ADMIN: [(&str, &str); 2] = [
    ("ADMIN_UI_USERNAME", "operator"),
    ("ADMIN_UI_PASSWORD", "a-long-operator-password"),
];

/// Opens `/admin` with these credentials: the socket once connected, or the
/// CONNECT_ERROR packet's payload.
async fn admin_ui(s: &TestServer, username: &str, password: &str) -> Result<Ws, Value> {
    let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", s.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ws.next().await.unwrap().unwrap();
    ws.send(Message::text(format!(
        "40/admin,{}",
        json!({"username": username, "password": password})
    )))
    .await
    .unwrap();
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("an answer to CONNECT")
            .unwrap()
            .unwrap();
        let text = frame.to_text().unwrap_or_default().to_string();
        if text.starts_with("40/admin,") {
            return Ok(ws);
        }
        if let Some(body) = text.strip_prefix("44/admin,") {
            return Err(serde_json::from_str(body).unwrap_or(Value::Null));
        }
    }
}

/// The next `/admin` event called `name`: its arguments.
async fn admin_event(ws: &mut Ws, name: &str) -> Value {
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no {name} in time"))
            .unwrap()
            .unwrap();
        let text = frame.to_text().unwrap_or_default();
        if text == "2" {
            ws.send(Message::text("3")).await.unwrap();
            continue;
        }
        if let Some(body) = text.strip_prefix("42/admin,") {
            let v: Value = serde_json::from_str(body).unwrap();
            if v[0] == name {
                return v;
            }
        }
    }
}

/// A 002 client connects with its token in the query (`?token=`): neither the live
/// `socket_connected` notice nor the socket list shows it (nor `sid`), in `url`,
/// `query` or `headers`; the UI still sees that there was one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_ui_never_shows_a_token() {
    let s = TestServer::start_with(&ADMIN).await;
    let bob = s.signup("bob@admin-ui.test").await;
    let mut ui = admin_ui(&s, ADMIN[0].1, ADMIN[1].1)
        .await
        .expect("operator");
    admin_event(&mut ui, "all_sockets").await;

    let _bob = SioClient::connect_with(
        &s.base,
        None,
        &format!("token={}", bob.access),
        Some(&bob.access),
    )
    .await
    .unwrap();
    let notice = admin_event(&mut ui, "socket_connected").await;
    let shown = notice.to_string();
    assert!(!shown.contains(&bob.access), "the token is shown: {shown}");
    let handshake = &notice[1]["handshake"];
    assert_eq!(handshake["query"]["token"], "[redacted]", "{handshake}");
    assert_eq!(handshake["query"]["transport"], "websocket", "{handshake}");
    assert_eq!(handshake["headers"]["authorization"], "[redacted]");
    let url = handshake["url"].as_str().unwrap();
    assert!(url.contains("token=%5Bredacted%5D"), "{url}");

    // A UI opened later lists the socket: no token there either.
    let mut later = admin_ui(&s, ADMIN[0].1, ADMIN[1].1)
        .await
        .expect("operator");
    let listed = admin_event(&mut later, "all_sockets").await;
    let shown = listed.to_string();
    assert!(shown.contains("userId"), "Bob's socket is listed: {shown}");
    assert!(!shown.contains(&bob.access), "the token is listed: {shown}");
}

/// Guessing the operator's password is stopped like guessing a user's: past
/// `LOGIN_MAX_FAILURES` even the right password is refused, with the time to wait,
/// and a user's REST login is not held up by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_the_operators_password_is_stopped() {
    let s = TestServer::start_with(&[ADMIN[0], ADMIN[1], ("LOGIN_MAX_FAILURES", "3")]).await;
    let ann = s.signup("ann@admin-guess.test").await;
    let mut refusals = Vec::new();
    for guess in ["guess-1", "guess-2", "guess-3", ADMIN[1].1] {
        refusals.push(admin_ui(&s, ADMIN[0].1, guess).await.err());
    }
    for r in &refusals[..3] {
        assert_eq!(
            r.as_ref().unwrap()["message"],
            "invalid credentials",
            "{r:?}"
        );
    }
    let locked = refusals[3]
        .as_ref()
        .expect("the right password is refused too");
    assert!(
        locked["message"]
            .as_str()
            .unwrap()
            .starts_with("too many attempts"),
        "{locked}"
    );
    // Users' logins are their own: Ann still signs in.
    let again = s
        .login("ann@admin-guess.test", "correct horse battery")
        .await;
    assert_eq!(again.user_id, ann.user_id);
}
