//! Revocation has no gaps: a handshake racing a deactivation never leaves a socket
//! connected, a token from before a deactivation never works again (after a
//! reactivation either), and a token not valid yet (`nbf`) is refused.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::json;
use switchboard_tools::client::{ClientError, SioClient};

use crate::common::{JWT_SECRET, TestServer};

async fn set_active(s: &TestServer, admin: &str, user: &str, active: bool) {
    let (st, v) = s
        .patch(
            &format!("/api/v1/users/{user}"),
            admin,
            json!({"is_active": active}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

/// Sockets that open on node B while an admin deactivates their user on node A
/// are refused or cut, every one: none is left connected, none hears a message sent
/// to that user afterwards. Several rounds, since the window is a race.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_handshake_racing_a_deactivation_survives_it() {
    let (a, b) = TestServer::two_nodes().await;
    let ann = a.signup("ann@race.test").await;
    for round in 0..6 {
        let bob = a.add_member(&ann, &format!("bob{round}@race.test")).await;
        let chat = a.direct_chat(&ann, &bob).await;
        let opening: Vec<_> = (0..20)
            .map(|_| {
                let (base, token) = (b.base.clone(), bob.access.clone());
                tokio::spawn(async move {
                    SioClient::connect(&base, Some(json!({"token": token})), "").await
                })
            })
            .collect();
        // Into the middle of the handshakes.
        tokio::time::sleep(Duration::from_millis(2 * round)).await;
        set_active(&a, &ann.access, &bob.user_id, false).await;
        let mut open = Vec::new();
        for o in opening {
            if let Ok(client) = o.await.unwrap() {
                open.push(client);
            }
        }
        a.say(&ann, &chat, "after the deactivation").await;
        for mut client in open {
            // Each is cut: what it gets before the close is never the message.
            loop {
                match client.next_event(Duration::from_secs(10)).await {
                    Ok((name, data)) => assert!(
                        !data.to_string().contains("after the deactivation"),
                        "round {round}: a deactivated user's socket got {name} {data}"
                    ),
                    Err(e) => {
                        assert!(
                            matches!(e, ClientError::Closed),
                            "round {round}: a socket stayed connected: {e}"
                        );
                        break;
                    }
                }
            }
        }
        // The node still takes others' connections: the refusals were Bob's.
        SioClient::connect(&b.base, Some(json!({"token": ann.access})), "")
            .await
            .expect("node B still accepts sockets")
            .close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_before_a_deactivation_never_works_again() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@reactivate.test").await;
    let bob = s.add_member(&ann, "bob@reactivate.test").await;
    let me = "/api/v1/auth/me";
    assert_eq!(s.get(me, &bob.access).await.0, StatusCode::OK);
    set_active(&s, &ann.access, &bob.user_id, false).await;
    set_active(&s, &ann.access, &bob.user_id, true).await;
    assert_eq!(
        s.get(me, &bob.access).await.0,
        StatusCode::UNAUTHORIZED,
        "the old token after a reactivation"
    );
    let refused = SioClient::connect(&s.base, Some(json!({"token": bob.access})), "").await;
    assert!(
        matches!(&refused, Err(ClientError::Rejected(m)) if m == "unauthorized"),
        "{:?}",
        refused.err()
    );
    // Tokens count in whole seconds: a new sign-in in the next one works.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let again = s.login("bob@reactivate.test", "member password 1").await;
    assert_eq!(s.get(me, &again.access).await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_not_valid_yet_is_refused() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@nbf.test").await;
    let now = chrono::Utc::now().timestamp();
    let sign = |nbf: i64| {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &json!({"sub": ann.user_id, "tid": ann.tenant_id, "role": "admin", "iat": now,
                    "exp": now + 600, "jti": uuid::Uuid::now_v7(), "nbf": nbf}),
            &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        )
        .unwrap()
    };
    let (st, v) = s
        .call(
            Method::GET,
            "/api/v1/auth/me",
            Some(&sign(now + 3600)),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    let (st, v) = s
        .call(Method::GET, "/api/v1/auth/me", Some(&sign(now - 10)), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

/// The same race on the legacy `/ws` (which takes the token itself): every session
/// opened while the user is deactivated ends with 1008, and none hears the message
/// sent afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_plain_websocket_racing_a_deactivation_survives_it() {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let (a, b) = TestServer::two_nodes().await;
    let ann = a.signup("ann@ws-race.test").await;
    for round in 0..6u64 {
        let bob = a
            .add_member(&ann, &format!("bob{round}@ws-race.test"))
            .await;
        let chat = a.direct_chat(&ann, &bob).await;
        let url = format!("ws://{}/ws?token={}", b.addr, bob.access);
        // Four openers, each opening sessions one after another, while the
        // deactivation lands in the middle.
        let opening: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move {
                    let mut opened = Vec::new();
                    for _ in 0..15 {
                        if let Ok((ws, _)) = tokio_tungstenite::connect_async(&url).await {
                            opened.push(ws);
                        }
                    }
                    opened
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(5 + 3 * round)).await;
        set_active(&a, &ann.access, &bob.user_id, false).await;
        let mut open = Vec::new();
        for o in opening {
            open.extend(o.await.unwrap());
        }
        a.say(&ann, &chat, "after the deactivation").await;
        for mut ws in open {
            let code = loop {
                let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
                    .await
                    .unwrap_or_else(|_| panic!("round {round}: a session stayed open"));
                match next {
                    Some(Ok(Message::Text(t))) => assert!(
                        !t.as_str().contains("after the deactivation"),
                        "round {round}: a deactivated user's session got {t}"
                    ),
                    Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
                    Some(Ok(_)) => {}
                    None | Some(Err(_)) => break None,
                }
            };
            assert_eq!(code, Some(1008), "round {round}");
        }
    }
}
