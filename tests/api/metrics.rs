//! `/metrics` over the wire: Prometheus text that moves as the server works (HTTP by
//! route template, connections by transport, events in and published, the message
//! writer, delivery latency), and on a listener of its own with `METRICS_ADDR`.
//! Servers started in the test process share one recorder with every test running
//! beside them, so each test here reads a server in a child process
//! (`common::process`), whose recorder counts only that test's traffic: values are
//! asserted exactly.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use switchboard_tools::client::SioClient;

use crate::common::TestServer;
use crate::common::process::Child;
use crate::common::ws::stream;

/// The sum of a metric's samples whose labels include all of `labels`.
pub(crate) fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.split(['{', ' ']).next() == Some(name)
                && labels
                    .iter()
                    .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub(crate) async fn scrape(base: &str) -> String {
    let res = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
    );
    res.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_as_the_server_works() {
    let (database_url, _file) = crate::common::fresh_database().await;
    let child = Child::start(&database_url, &[]).await;
    let s = TestServer::attach(child.addr, &database_url);
    let ann = s.signup("ann@metrics.test").await;
    let bob = s.add_member(&ann, "bob@metrics.test").await;
    let chat = s.direct_chat(&ann, &bob).await;
    let _ws = stream(&s, &ann).await;
    let mut sio = SioClient::connect(&s.base, Some(json!({"token": bob.access})), "")
        .await
        .unwrap();
    // Bob's socket is open and caught up (its worker opens it before the ping).
    sio.before_barrier("response_message", Duration::from_secs(10))
        .await
        .unwrap();
    let before = scrape(&s.base).await;

    let ack = sio
        .emit_with_ack(
            "create_message",
            &json!({"chat_id": chat, "message": "counted"}),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(ack["status"], "ok", "{ack}");
    for i in 0..5 {
        s.say(&ann, &chat, &format!("m{i}")).await;
    }
    let heard = sio
        .before_barrier("response_message", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(heard.len(), 6, "{heard:?}");
    let after = scrape(&s.base).await;

    let total = |name: &str, labels: &[(&str, &str)]| value(&after, name, labels);
    let moved = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    let signup = [
        ("method", "POST"),
        ("route", "/api/v1/auth/signup"),
        ("status", "201"),
    ];
    assert_eq!(total("switchboard_http_requests_total", &signup), 1.0);
    let send = [
        ("method", "POST"),
        ("route", "/api/v1/chat/messages/send"),
        ("status", "201"),
    ];
    assert_eq!(total("switchboard_http_requests_total", &send), 5.0);
    assert_eq!(
        total(
            "switchboard_http_request_duration_seconds_count",
            &[("route", "/api/v1/chat/messages/send")]
        ),
        5.0
    );
    assert_eq!(
        total("switchboard_connections", &[("transport", "socketio")]),
        1.0,
        "{after}"
    );
    assert_eq!(
        total("switchboard_connections", &[("transport", "websocket")]),
        1.0
    );
    assert_eq!(
        total(
            "switchboard_events_in_total",
            &[("transport", "socketio"), ("event", "create_message")]
        ),
        1.0
    );
    assert_eq!(
        total(
            "switchboard_events_in_total",
            &[("transport", "socketio"), ("event", "ping")]
        ),
        2.0
    );
    assert_eq!(
        total(
            "switchboard_events_published_total",
            &[("type", "new_message")]
        ),
        6.0
    );
    // Between the two readings only the six messages were published, and each went to
    // Bob's one socket.
    assert_eq!(
        moved("switchboard_events_published_total", &[]),
        6.0,
        "{after}"
    );
    assert_eq!(
        moved("switchboard_deliveries_total", &[("transport", "socketio")]),
        6.0
    );
    assert_eq!(
        moved("switchboard_delivery_latency_seconds_count", &[]),
        6.0
    );
    // The writer stored six messages, in one to six group commits.
    assert_eq!(total("switchboard_message_writer_batch_size_sum", &[]), 6.0);
    let commits = total("switchboard_message_writer_batch_size_count", &[]);
    assert!((1.0..=6.0).contains(&commits), "{commits} commits");
    assert_eq!(
        total("switchboard_message_writer_commit_seconds_count", &[]),
        commits
    );
    assert_eq!(
        total("switchboard_catch_ups_total", &[("transport", "socketio")]),
        1.0
    );
    assert!(after.contains("# TYPE switchboard_delivery_latency_seconds histogram"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_addr_serves_them_apart_from_the_api() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let (database_url, _file) = crate::common::fresh_database().await;
    let child = Child::start(&database_url, &[("METRICS_ADDR".into(), addr.clone())]).await;
    let s = TestServer::attach(child.addr, &database_url);
    s.signup("ann@apart.test").await;
    let text = scrape(&format!("http://{addr}")).await;
    let signup = [
        ("method", "POST"),
        ("route", "/api/v1/auth/signup"),
        ("status", "201"),
    ];
    assert_eq!(
        value(&text, "switchboard_http_requests_total", &signup),
        1.0,
        "{text}"
    );
    let res = reqwest::get(format!("{}/metrics", s.base)).await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "not on the public port"
    );
}
