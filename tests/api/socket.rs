//! The Socket.IO dialect over the wire with a real Socket.IO v4 client: handshake,
//! every event of DESIGN.md §1, every error path, multi-device delivery, ordering.

use std::time::Duration;

use crate::common::{Session, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_tools::client::{ClientError, SioClient};

const WAIT: Duration = Duration::from_secs(15);

async fn connect(s: &TestServer, who: &Session) -> SioClient {
    SioClient::connect(&s.base, Some(json!({"token": who.access})), "")
        .await
        .expect("socket connects")
}

/// Two members of one tenant with a direct chat between them.
async fn pair(s: &TestServer) -> (Session, Session, String) {
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let c = connect(s, &ann).await;
    let ack = c
        .emit_with_ack("create_chat", &json!({"receiver_id": bob.user_id}), WAIT)
        .await
        .unwrap();
    assert_eq!(ack["status"], "ok", "{ack}");
    let chat = ack["data"]["id"].as_str().unwrap().to_string();
    c.close();
    (ann, bob, chat)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_accepts_every_token_source_and_rejects_bad_ones() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;

    // auth.token, ?token=, Authorization: Bearer, and ?userId= matching the token.
    connect(&s, &ann).await;
    SioClient::connect(&s.base, None, &format!("token={}", ann.access))
        .await
        .unwrap();
    SioClient::connect_with(&s.base, None, "", Some(&ann.access))
        .await
        .unwrap();
    SioClient::connect(
        &s.base,
        Some(json!({"token": ann.access})),
        &format!("userId={}", ann.user_id),
    )
    .await
    .unwrap();

    let rejected = |r: Result<SioClient, ClientError>| match r {
        Err(ClientError::Rejected(m)) => m,
        Err(e) => panic!("expected connect_error, got {e}"),
        Ok(_) => panic!("expected connect_error, got a connected socket"),
    };
    assert_eq!(
        rejected(SioClient::connect(&s.base, None, "").await),
        "unauthorized"
    );
    assert_eq!(
        rejected(SioClient::connect(&s.base, Some(json!({"token": "junk"})), "").await),
        "unauthorized"
    );
    assert_eq!(
        rejected(
            SioClient::connect(
                &s.base,
                Some(json!({"token": ann.access})),
                &format!("userId={}", bob.user_id)
            )
            .await
        ),
        "user_mismatch"
    );
    let (st, _) = s
        .patch(
            &format!("/api/v1/users/{}", bob.user_id),
            &ann.access,
            json!({"is_active": false}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        rejected(SioClient::connect(&s.base, Some(json!({"token": bob.access})), "").await),
        "user_inactive"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_chat_is_find_or_create() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let mut a = connect(&s, &ann).await;
    let mut b = connect(&s, &bob).await;

    a.emit("create_chat", &json!({"receiver_id": bob.user_id}))
        .unwrap();
    let chat = a.expect("chat_created", WAIT).await.unwrap();
    assert_eq!(chat["type"], "direct");
    assert_eq!(chat["id"], chat["chat_id"]);
    assert_eq!(chat["participants"].as_array().unwrap().len(), 2);
    assert_eq!(chat["unread_count"], 0);
    // Bob learns about the new conversation.
    let upd = b.expect("conversation_updated", WAIT).await.unwrap();
    assert_eq!(upd["type"], "conversation_updated");
    assert_eq!(upd["payload"]["id"], chat["id"]);
    // In Bob's own view: a direct chat is titled after the other person, so not as in
    // Ann's (which names Bob).
    assert!(upd["payload"]["title"].is_string());
    assert_ne!(upd["payload"]["title"], chat["title"]);

    // Either side asking again gets the same conversation.
    let again = b
        .emit_with_ack("create_chat", &json!({"receiver_id": ann.user_id}), WAIT)
        .await
        .unwrap();
    assert_eq!(again["data"]["id"], chat["id"]);
    let again = a
        .emit_with_ack("create_chat", &json!({"receiverId": bob.user_id}), WAIT)
        .await
        .unwrap();
    assert_eq!(again["data"]["id"], chat["id"]);

    // Self, unknown user, other tenant.
    let e = a
        .emit_with_ack("create_chat", &json!({"receiver_id": ann.user_id}), WAIT)
        .await
        .unwrap();
    assert_eq!(
        (e["status"].as_str(), e["code"].as_str()),
        (Some("error"), Some("invalid_request"))
    );
    let e = a
        .emit_with_ack(
            "create_chat",
            &json!({"receiver_id": uuid::Uuid::now_v7()}),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(e["code"], "not_found");
    let rival = s.signup("eve@rival.test").await;
    let e = a
        .emit_with_ack("create_chat", &json!({"receiver_id": rival.user_id}), WAIT)
        .await
        .unwrap();
    assert_eq!(e["code"], "not_found");
    let ex = a.expect("exception", WAIT).await.unwrap();
    assert_eq!(ex["status"], "error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_reach_every_device_of_every_participant_once() {
    let s = TestServer::start().await;
    let (ann, bob, chat) = pair(&s).await;
    let mut a1 = connect(&s, &ann).await;
    let mut a2 = connect(&s, &ann).await;
    let mut b1 = connect(&s, &bob).await;
    let mut b2 = connect(&s, &bob).await;

    let ack = a1
        .emit_with_ack(
            "create_message",
            &json!({"chat_id": chat, "receiver_id": bob.user_id,
            "message": "hello bob", "client_msg_id": "c-1"}),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(ack["status"], "ok", "{ack}");
    let m = &ack["data"];
    assert_eq!(m["seq"], 1);
    assert_eq!(m["chat_id"], chat.as_str());
    assert_eq!(m["sender_id"], ann.user_id.as_str());
    assert_eq!(m["receiver_id"], bob.user_id.as_str());
    assert_eq!(
        (m["message"].as_str(), m["content"].as_str()),
        (Some("hello bob"), Some("hello bob"))
    );
    assert_eq!(m["client_msg_id"], "c-1");
    assert!(m["created_at"].as_str().is_some());

    for dev in [&mut a1, &mut a2, &mut b1, &mut b2] {
        let got = dev.before_barrier("response_message", WAIT).await.unwrap();
        assert_eq!(got.len(), 1, "each device gets the message exactly once");
        assert_eq!(got[0]["id"], m["id"]);
    }

    // A subscriber to the conversation channel who is also a participant still gets it once.
    let ok = b1
        .emit_with_ack(
            "subscribe",
            &json!({"channel": format!("conversation:{chat}")}),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(ok["status"], "ok");
    // Acknowledged means broadcast: b1's barrier comes after it.
    a1.emit_with_ack(
        "create_message",
        &json!({"chat_id": chat, "message": "second"}),
        WAIT,
    )
    .await
    .unwrap();
    assert_eq!(
        b1.before_barrier("response_message", WAIT)
            .await
            .unwrap()
            .len(),
        1
    );
    // 002's DTO has a numeric receiver_id: any value is taken, the chat names the peer.
    let ack = a1
        .emit_with_ack(
            "create_message",
            &json!({"chat_id": chat, "receiver_id": 42, "message": "numeric peer id"}),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(ack["data"]["receiver_id"], bob.user_id.as_str(), "{ack}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_messages_keeps_emission_order() {
    let s = TestServer::start().await;
    let (ann, bob, chat) = pair(&s).await;
    let a = connect(&s, &ann).await;
    let mut b = connect(&s, &bob).await;
    for i in 1..=20 {
        a.emit(
            "create_message",
            &json!({"chat_id": chat, "message": format!("m{i}")}),
        )
        .unwrap();
    }
    let mut got = Vec::new();
    for _ in 0..20 {
        got.push(b.expect("response_message", WAIT).await.unwrap());
    }
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m["seq"], (i + 1) as i64);
        assert_eq!(m["message"], format!("m{}", i + 1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resending_a_client_msg_id_returns_the_original() {
    let s = TestServer::start().await;
    let (ann, bob, chat) = pair(&s).await;
    let mut a = connect(&s, &ann).await;
    let mut b = connect(&s, &bob).await;
    let payload = json!({"chat_id": chat, "message": "once", "client_msg_id": "retry-me"});
    let first = a
        .emit_with_ack("create_message", &payload, WAIT)
        .await
        .unwrap();
    let second = a
        .emit_with_ack("create_message", &payload, WAIT)
        .await
        .unwrap();
    assert_eq!(first["data"]["id"], second["data"]["id"]);
    assert_eq!(second["data"]["seq"], 1);
    // Bob saw one message; history holds one.
    assert_eq!(
        b.before_barrier("response_message", WAIT)
            .await
            .unwrap()
            .len(),
        1
    );
    a.emit("chat_messages", &json!({"chat_id": chat})).unwrap();
    let page = a.expect("get_all_chat_messages", WAIT).await.unwrap();
    assert_eq!(page.as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_chat_list_and_read_markers() {
    let s = TestServer::start().await;
    let (ann, bob, chat) = pair(&s).await;
    let a = connect(&s, &ann).await;
    let mut b = connect(&s, &bob).await;
    for i in 1..=5 {
        a.emit_with_ack(
            "create_message",
            &json!({"chat_id": chat, "message": format!("m{i}")}),
            WAIT,
        )
        .await
        .unwrap();
    }

    b.emit("get_chats", &json!({})).unwrap();
    // 002 §3.3: the event carries a bare array of chats.
    let list = b.expect("updated_chat_list", WAIT).await.unwrap();
    let c = &list[0];
    assert_eq!(c["id"], chat.as_str());
    assert_eq!(c["unread_count"], 5);
    assert_eq!(c["last_seq"], 5);
    assert_eq!(c["last_message"]["message"], "m5");
    assert_eq!(c["title"], "ann");

    // Paging backwards from the newest.
    b.emit("chat_messages", &json!({"chat_id": chat, "limit": 2}))
        .unwrap();
    // 002 §3.3: the event carries a bare array of messages, oldest first.
    let page = b.expect("get_all_chat_messages", WAIT).await.unwrap();
    let seqs: Vec<i64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [4, 5]);
    let page = b
        .emit_with_ack(
            "chat_messages",
            &json!({"chat_id": chat, "before_seq": 4, "limit": 10}),
            WAIT,
        )
        .await
        .unwrap();
    let seqs: Vec<i64> = page["data"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(page["data"]["has_more"], false);

    // Bob reads: Ann is told, Bob's unread count drops to zero.
    let mut a = a;
    let ack = b
        .emit_with_ack("seen_message", &json!({"chat_id": chat}), WAIT)
        .await
        .unwrap();
    assert_eq!(ack["data"]["last_read_seq"], 5);
    let read = a.expect("conversation_read", WAIT).await.unwrap();
    assert_eq!(read["type"], "conversation_read");
    assert_eq!(read["payload"]["user_id"], bob.user_id.as_str());
    assert_eq!(read["payload"]["last_read_seq"], 5);
    let list = b
        .emit_with_ack("get_chats", &Value::Null, WAIT)
        .await
        .unwrap();
    assert_eq!(list["data"]["chats"][0]["unread_count"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_ping_and_typing() {
    let s = TestServer::start().await;
    let (ann, bob, chat) = pair(&s).await;
    let outsider = s.add_member(&ann, "carl@acme.test").await;
    let mut a = connect(&s, &ann).await;
    let mut b = connect(&s, &bob).await;
    let mut o = connect(&s, &outsider).await;

    let ok = a
        .emit_with_ack(
            "subscribe",
            &json!({"channel": format!("conversation:{chat}")}),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(
        (ok["status"].as_str(), ok["data"]["channel"].as_str()),
        (Some("ok"), Some(format!("conversation:{chat}").as_str()))
    );
    let e = o
        .emit_with_ack(
            "subscribe",
            &json!({"channel": format!("conversation:{chat}")}),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(e["code"], "forbidden");
    let e = o
        .emit_with_ack("subscribe", &json!({"channel": "weather:london"}), WAIT)
        .await
        .unwrap();
    assert_eq!(e["code"], "subscription_failed");
    let e = o
        .emit_with_ack(
            "subscribe",
            &json!({"channel": format!("conversation:{}", uuid::Uuid::now_v7())}),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(e["code"], "not_found");
    let e = o
        .emit_with_ack(
            "subscribe",
            &json!({"channel": format!("user:{}", ann.user_id)}),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(e["code"], "forbidden");
    let ok = a
        .emit_with_ack(
            "unsubscribe",
            &json!({"channel": format!("conversation:{chat}")}),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(ok["status"], "ok");

    a.emit("ping", &json!({})).unwrap();
    assert!(a.expect("pong", WAIT).await.is_ok());

    a.emit_with_ack("typing", &json!({"chat_id": chat}), WAIT)
        .await
        .unwrap();
    let t = b.expect("typing", WAIT).await.unwrap();
    assert_eq!(t["payload"]["user_id"], ann.user_id.as_str());
    assert_eq!(t["conversation_id"], chat.as_str());
    assert!(
        a.before_barrier("typing", WAIT).await.unwrap().is_empty(),
        "the typist is not told"
    );
    assert!(
        o.before_barrier("typing", WAIT).await.unwrap().is_empty(),
        "outsiders are not told"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_an_exception_and_changes_nothing() {
    let s = TestServer::start_with(&[
        ("MAX_MESSAGE_LENGTH", "20"),
        ("SOCKETIO_MAX_PAYLOAD", "2048"),
    ])
    .await;
    let (ann, bob, chat) = pair(&s).await;
    let outsider = s.add_member(&ann, "carl@acme.test").await;
    let mut a = connect(&s, &ann).await;
    let o = connect(&s, &outsider).await;
    let mut b = connect(&s, &bob).await;

    let cases = [
        (
            json!({"chat_id": "not-a-uuid", "message": "x"}),
            "invalid_request",
        ),
        (json!({"message": "no chat"}), "invalid_request"),
        (json!("just a string"), "invalid_request"),
        (
            json!({"chat_id": chat, "message": "   "}),
            "invalid_request",
        ),
        (
            json!({"chat_id": chat, "message": "x".repeat(21)}),
            "invalid_request",
        ),
        (
            json!({"chat_id": chat, "message": "y".repeat(3000)}),
            "invalid_request",
        ),
        (
            json!({"chat_id": uuid::Uuid::now_v7(), "message": "x"}),
            "not_found",
        ),
    ];
    for (payload, code) in cases {
        let e = a
            .emit_with_ack("create_message", &payload, WAIT)
            .await
            .unwrap();
        assert_eq!(
            (e["status"].as_str(), e["code"].as_str()),
            (Some("error"), Some(code)),
            "{payload}"
        );
        assert!(!e["message"].as_str().unwrap().is_empty());
        let ex = a.expect("exception", WAIT).await.unwrap();
        assert_eq!(ex["code"], code);
    }
    let e = o
        .emit_with_ack(
            "create_message",
            &json!({"chat_id": chat, "message": "intruder"}),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(e["code"], "forbidden");
    let e = o
        .emit_with_ack("chat_messages", &json!({"chat_id": chat}), WAIT)
        .await
        .unwrap();
    assert_eq!(e["code"], "forbidden");
    let e = o
        .emit_with_ack("seen_message", &json!({"chat_id": chat}), WAIT)
        .await
        .unwrap();
    assert_eq!(e["code"], "forbidden");
    let e = a
        .emit_with_ack("no_such_event", &json!({}), WAIT)
        .await
        .unwrap();
    assert_eq!(e["code"], "invalid_request");
    // Without an ack the error still arrives as `exception`.
    a.emit("chat_messages", &json!({"chat_id": 12})).unwrap();
    assert_eq!(
        a.expect("exception", WAIT).await.unwrap()["code"],
        "invalid_request"
    );

    // Nothing was stored or delivered.
    assert!(
        b.before_barrier("response_message", WAIT)
            .await
            .unwrap()
            .is_empty()
    );
    let page = a
        .emit_with_ack("chat_messages", &json!({"chat_id": chat}), WAIT)
        .await
        .unwrap();
    assert_eq!(page["data"]["messages"].as_array().unwrap().len(), 0);
}
