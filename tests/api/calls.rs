//! Calls over the wire: two Socket.IO clients and two `/api/v1/ws` clients set up a
//! call through Switchboard's signalling; the first device to answer wins and the
//! others learn it was answered elsewhere; signals reach only the addressed member;
//! a decline; an unanswered call is missed once with two nodes.

use std::time::Duration;

use futures::SinkExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_tools::client::SioClient;
use tokio_tungstenite::tungstenite::Message;

use crate::common::ws::{next_of, stream};
use crate::common::{Session, TestServer, assert_error};

const WAIT: Duration = Duration::from_secs(15);

async fn sio(s: &TestServer, who: &Session) -> SioClient {
    SioClient::connect(&s.base, Some(json!({"token": who.access})), "")
        .await
        .unwrap()
}

async fn conversation(s: &TestServer, owner: &Session, others: &[&Session]) -> String {
    let ids: Vec<&str> = others.iter().map(|o| o.user_id.as_str()).collect();
    let body = if others.len() == 1 {
        json!({"type": "direct", "participant_ids": ids})
    } else {
        json!({"type": "group", "participant_ids": ids, "title": "call room"})
    };
    let (st, c) = s
        .post("/api/v1/chat/conversations", Some(&owner.access), body)
        .await;
    assert!(st.is_success(), "{c}");
    c["id"].as_str().unwrap().to_string()
}

async fn call(s: &TestServer, who: &Session, conv: &str) -> Value {
    let (st, c) = s
        .post(
            "/api/v1/calls",
            Some(&who.access),
            json!({"conversation_id": conv, "media": "video"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    c
}

fn signal(call_id: &str, to: &Session, kind: &str) -> Value {
    json!({"call_id": call_id, "to_user_id": to.user_id,
           "signal": {"type": kind, "sdp": format!("v=0 {kind}")}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socketio_clients_set_up_a_call_and_the_first_device_wins() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let cat = s.add_member(&ann, "cat@acme.test").await;
    let dan = s.add_member(&ann, "dan@acme.test").await;
    let room = conversation(&s, &ann, &[&bob, &cat]).await;
    let mut ann_io = sio(&s, &ann).await;
    let mut bob_phone = sio(&s, &bob).await;
    let mut bob_laptop = sio(&s, &bob).await;
    let mut cat_io = sio(&s, &cat).await;

    assert_error(
        &s.post(
            "/api/v1/calls",
            Some(&ann.access),
            json!({"conversation_id": room, "media": "fax"}),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &s.post(
            "/api/v1/calls",
            Some(&dan.access),
            json!({"conversation_id": room, "media": "audio"}),
        )
        .await,
        403,
        "PERMISSION_ERROR",
    );
    let c = call(&s, &ann, &room).await;
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["status"], "ringing");
    for device in [&mut bob_phone, &mut bob_laptop, &mut cat_io] {
        let ev = device.expect("call_incoming", WAIT).await.unwrap();
        assert_eq!(ev["payload"]["id"], id.as_str());
        assert_eq!(ev["payload"]["media"], "video");
    }
    assert_error(
        &s.post(
            "/api/v1/calls",
            Some(&bob.access),
            json!({"conversation_id": room, "media": "audio"}),
        )
        .await,
        409,
        "CONFLICT",
    );

    // The offer goes to bob's devices only.
    let ack = ann_io
        .emit_with_ack("call_signal", &signal(&id, &bob, "offer"), WAIT)
        .await
        .unwrap();
    assert_eq!(ack["status"], "ok", "{ack}");
    for device in [&mut bob_phone, &mut bob_laptop] {
        let ev = device.expect("call_signal", WAIT).await.unwrap();
        assert_eq!(ev["payload"]["from_user_id"], ann.user_id.as_str());
        assert_eq!(ev["payload"]["signal"]["type"], "offer");
    }
    assert!(
        cat_io
            .before_barrier("call_signal", WAIT)
            .await
            .unwrap()
            .is_empty(),
        "a signal for bob reached cat"
    );
    // Strangers cannot signal or look.
    assert_error(
        &s.post(
            &format!("/api/v1/calls/{id}/signal"),
            Some(&dan.access),
            signal(&id, &bob, "offer"),
        )
        .await,
        404,
        "NOT_FOUND",
    );
    assert_error(
        &s.get(&format!("/api/v1/calls/{id}"), &dan.access).await,
        404,
        "NOT_FOUND",
    );
    let big = json!({"to_user_id": bob.user_id, "signal": {"sdp": "x".repeat(20_000)}});
    assert_error(
        &s.post(
            &format!("/api/v1/calls/{id}/signal"),
            Some(&ann.access),
            big,
        )
        .await,
        413,
        "PAYLOAD_TOO_LARGE",
    );

    // bob's phone answers first; the laptop and cat learn it was answered elsewhere.
    let (st, accepted) = s
        .post(
            &format!("/api/v1/calls/{id}/accept"),
            Some(&bob.access),
            json!({"device_id": "bob-phone-1"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["status"], "active");
    let (st, late) = s
        .post(
            &format!("/api/v1/calls/{id}/accept"),
            Some(&cat.access),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{late}");
    for device in [&mut ann_io, &mut bob_laptop, &mut cat_io] {
        let ev = device.expect("call_accepted", WAIT).await.unwrap();
        assert_eq!(ev["payload"]["answered_by"], bob.user_id.as_str());
        assert_eq!(ev["payload"]["device_id"], "bob-phone-1");
    }

    // The answer back over Socket.IO, then ann hangs up.
    bob_phone
        .emit_with_ack("call_signal", &signal(&id, &ann, "answer"), WAIT)
        .await
        .unwrap();
    let ev = ann_io.expect("call_signal", WAIT).await.unwrap();
    assert_eq!(ev["payload"]["signal"]["type"], "answer");
    let (st, ended) = s
        .post(
            &format!("/api/v1/calls/{id}/end"),
            Some(&ann.access),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{ended}");
    for device in [&mut bob_phone, &mut cat_io] {
        let ev = device.expect("call_ended", WAIT).await.unwrap();
        assert_eq!(ev["payload"]["status"], "ended");
        assert!(ev["payload"]["duration_seconds"].as_i64().unwrap() >= 0);
    }
    let (_, history) = s
        .get(
            &format!("/api/v1/calls?conversation_id={room}"),
            &cat.access,
        )
        .await;
    assert_eq!(history[0]["id"], id.as_str());
    assert_eq!(history[0]["ended_by"], ann.user_id.as_str());
    assert_error(
        &s.post(
            &format!("/api/v1/calls/{id}/signal"),
            Some(&ann.access),
            json!({"to_user_id": bob.user_id, "signal": {}}),
        )
        .await,
        409,
        "CONFLICT",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_websocket_clients_set_up_a_call() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let dm = conversation(&s, &ann, &[&bob]).await;
    let mut ann_ws = stream(&s, &ann).await;
    let mut bob_ws = stream(&s, &bob).await;

    let c = call(&s, &ann, &dm).await;
    let id = c["id"].as_str().unwrap().to_string();
    let ring = next_of(&mut bob_ws, "call_incoming").await;
    assert_eq!(ring["payload"]["id"], id.as_str());

    let offer = json!({"type": "call_signal", "call_id": id, "to_user_id": bob.user_id,
                       "signal": {"type": "offer", "sdp": "v=0"}});
    ann_ws.send(Message::text(offer.to_string())).await.unwrap();
    assert_eq!(
        next_of(&mut ann_ws, "call_signal_sent").await["call_id"],
        id.as_str()
    );
    let got = next_of(&mut bob_ws, "call_signal").await;
    assert_eq!(got["payload"]["signal"]["type"], "offer");
    assert_eq!(got["payload"]["from_user_id"], ann.user_id.as_str());

    let (st, _) = s
        .post(
            &format!("/api/v1/calls/{id}/accept"),
            Some(&bob.access),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        next_of(&mut ann_ws, "call_accepted").await["payload"]["answered_by"],
        bob.user_id.as_str()
    );
    let answer = json!({"type": "call_signal", "call_id": id, "to_user_id": ann.user_id,
                        "signal": {"type": "answer", "sdp": "v=0"}});
    bob_ws
        .send(Message::text(answer.to_string()))
        .await
        .unwrap();
    let got = next_of(&mut ann_ws, "call_signal").await;
    assert_eq!(got["payload"]["signal"]["type"], "answer");
    // A bad command is an error frame, and the stream stays.
    bob_ws
        .send(Message::text(
            json!({"type": "call_signal", "call_id": id}).to_string(),
        ))
        .await
        .unwrap();
    assert_eq!(
        next_of(&mut bob_ws, "error").await["code"],
        "invalid_request"
    );

    let (st, _) = s
        .post(
            &format!("/api/v1/calls/{id}/end"),
            Some(&bob.access),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let ended = next_of(&mut ann_ws, "call_ended").await;
    assert_eq!(ended["payload"]["ended_by"], bob.user_id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_direct_call_ends() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let dm = conversation(&s, &ann, &[&bob]).await;
    let mut ann_io = sio(&s, &ann).await;
    let c = call(&s, &ann, &dm).await;
    let id = c["id"].as_str().unwrap();
    assert_error(
        &s.post(
            &format!("/api/v1/calls/{id}/decline"),
            Some(&ann.access),
            json!({}),
        )
        .await,
        403,
        "PERMISSION_ERROR",
    );
    let path = |verb: &str| format!("/api/v1/calls/{id}/{verb}");
    assert_error(
        &s.post(&path("accept"), Some(&ann.access), json!({})).await,
        403,
        "PERMISSION_ERROR",
    );
    assert_error(
        &s.post(&path("end"), Some(&bob.access), json!({})).await,
        409,
        "CONFLICT",
    );
    let (st, d) = s
        .post(
            &format!("/api/v1/calls/{id}/decline"),
            Some(&bob.access),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{d}");
    assert_eq!(d["status"], "declined");
    let ev = ann_io.expect("call_declined", WAIT).await.unwrap();
    assert_eq!(ev["payload"]["declined_by"], bob.user_id.as_str());
    // Over: a new call may ring; the caller hangs up while it rings.
    let again = call(&s, &ann, &dm).await;
    let again_id = again["id"].as_str().unwrap();
    let (st, ended) = s
        .post(
            &format!("/api/v1/calls/{again_id}/end"),
            Some(&ann.access),
            json!({}),
        )
        .await;
    assert_eq!(
        (st, ended["status"].clone()),
        (StatusCode::OK, json!("ended"))
    );
    // A block stops calls as it stops messages.
    let block = format!("/api/v1/chat/users/{}/block", ann.user_id);
    let (st, b) = s.post(&block, Some(&bob.access), json!({})).await;
    assert!(st.is_success(), "{b}");
    let again = json!({"conversation_id": dm, "media": "audio"});
    assert_error(
        &s.post("/api/v1/calls", Some(&ann.access), again).await,
        403,
        "PERMISSION_ERROR",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_call_is_missed_once_across_two_nodes() {
    let redis = crate::common::services::redis_url();
    let prefix = format!("sbtest-{}", uuid::Uuid::now_v7().simple());
    let vars = [
        ("REDIS_URL", redis.as_str()),
        ("REDIS_PREFIX", prefix.as_str()),
        ("CALL_RING_TIMEOUT_SECONDS", "1"),
        ("SCHEDULER_POLL_MS", "50"),
    ];
    let a = TestServer::start_with(&vars).await;
    let b = TestServer::start_on(&a.database_url, &vars, None).await;
    let ann = a.signup("ann@acme.test").await;
    let bob = a.add_member(&ann, "bob@acme.test").await;
    let dm = conversation(&a, &ann, &[&bob]).await;
    let mut bob_io = sio(&b, &bob).await;
    let mut ann_io = sio(&a, &ann).await;

    let c = call(&a, &ann, &dm).await;
    let id = c["id"].as_str().unwrap().to_string();
    bob_io.expect("call_incoming", WAIT).await.unwrap();
    let missed = bob_io.expect("call_missed", WAIT).await.unwrap();
    assert_eq!(missed["payload"]["id"], id.as_str());
    assert_eq!(missed["payload"]["status"], "missed");
    ann_io.expect("call_missed", WAIT).await.unwrap();
    // Both nodes poll every 50 ms; one fired it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        bob_io
            .before_barrier("call_missed", WAIT)
            .await
            .unwrap()
            .is_empty()
    );
    let (_, inbox) = b.get("/api/v1/notifications", &bob.access).await;
    let missed_notes: Vec<&Value> = inbox
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["title"] == "Missed call from ann")
        .collect();
    assert_eq!(missed_notes.len(), 1, "{inbox}");
    assert_eq!(missed_notes[0]["type"], "call");
    assert_eq!(missed_notes[0]["data"]["call_id"], id.as_str());
    let (_, got) = b.get(&format!("/api/v1/calls/{id}"), &bob.access).await;
    assert_eq!(got["status"], "missed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callee_who_is_not_connected_is_rung_by_an_urgent_push() {
    use crate::push_delivery::{start, subscribe, vapid_public, web_vars};
    let web = crate::common::push::WebPushService::start(vapid_public()).await;
    let s = start(&web_vars(&web), &[]).await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let phone = web.browser();
    subscribe(&s, &bob, phone.subscription()).await;
    let dm = conversation(&s, &ann, &[&bob]).await;
    let c = call(&s, &ann, &dm).await;
    let got = web.wait_delivered(&phone, 1, WAIT).await;
    assert_eq!(got[0]["type"], "call");
    assert_eq!(got[0]["title"], "Incoming call from ann");
    assert_eq!(got[0]["data"]["call_id"], c["id"]);
    assert_eq!(web.received()[0].urgency.as_deref(), Some("high"));
    // Signalling over REST while it rings.
    let id = c["id"].as_str().unwrap();
    let (st, _) = s
        .post(
            &format!("/api/v1/calls/{id}/signal"),
            Some(&ann.access),
            signal(id, &bob, "offer"),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let res = s
        .post(
            &format!("/api/v1/calls/{id}/signal"),
            Some(&ann.access),
            signal(id, &ann, "offer"),
        )
        .await;
    assert_error(&res, 400, "VALIDATION_ERROR");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_one_call_rings_per_conversation_even_when_started_at_once() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let dm = conversation(&s, &ann, &[&bob]).await;
    let body = json!({"conversation_id": dm, "media": "audio"});
    let (a, b, c, d) = tokio::join!(
        s.post("/api/v1/calls", Some(&ann.access), body.clone()),
        s.post("/api/v1/calls", Some(&bob.access), body.clone()),
        s.post("/api/v1/calls", Some(&ann.access), body.clone()),
        s.post("/api/v1/calls", Some(&bob.access), body.clone()),
    );
    let statuses: Vec<u16> = [a, b, c, d].iter().map(|(st, _)| st.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    let (_, history) = s
        .get(&format!("/api/v1/calls?conversation_id={dm}"), &ann.access)
        .await;
    assert_eq!(history.as_array().unwrap().len(), 1);
}
