//! `/metrics` over the wire: Prometheus text that moves as the server works (HTTP by
//! route template, connections by transport, events in and published, the message
//! writer, delivery latency), and on a listener of its own with `METRICS_ADDR`.
//! Servers of one test process share one recorder, so values are compared before and
//! after, never against a total.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use switchboard_tools::client::SioClient;

use crate::common::TestServer;
use crate::common::ws::stream;

/// The sum of a metric's samples whose labels include all of `labels`.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
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

async fn scrape(base: &str) -> String {
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
    let s = TestServer::start().await;
    let before = scrape(&s.base).await;
    let ann = s.signup("ann@metrics.test").await;
    let bob = s.add_member(&ann, "bob@metrics.test").await;
    let chat = s.direct_chat(&ann, &bob).await;
    let signup = [
        ("method", "POST"),
        ("route", "/api/v1/auth/signup"),
        ("status", "201"),
    ];
    let mut sio = SioClient::connect(&s.base, Some(json!({"token": bob.access})), "")
        .await
        .unwrap();
    let _ws = stream(&s, &ann).await;
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
    sio.before_barrier("response_message", Duration::from_secs(10))
        .await
        .unwrap();
    let after = scrape(&s.base).await;

    let moved = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    assert!(moved("switchboard_http_requests_total", &signup) >= 1.0);
    let send = [("route", "/api/v1/chat/messages/send"), ("status", "201")];
    assert!(moved("switchboard_http_requests_total", &send) >= 5.0);
    assert!(
        moved(
            "switchboard_http_request_duration_seconds_count",
            &[("route", "/api/v1/chat/messages/send")]
        ) >= 5.0
    );
    assert!(
        value(
            &after,
            "switchboard_connections",
            &[("transport", "socketio")]
        ) >= 1.0,
        "{after}"
    );
    assert!(
        value(
            &after,
            "switchboard_connections",
            &[("transport", "websocket")]
        ) >= 1.0
    );
    assert!(
        moved(
            "switchboard_events_in_total",
            &[("transport", "socketio"), ("event", "create_message")]
        ) >= 1.0
    );
    assert!(
        moved(
            "switchboard_events_published_total",
            &[("type", "new_message")]
        ) >= 6.0
    );
    assert!(moved("switchboard_deliveries_total", &[("transport", "socketio")]) >= 6.0);
    assert!(moved("switchboard_message_writer_batch_size_count", &[]) >= 1.0);
    assert!(moved("switchboard_message_writer_commit_seconds_count", &[]) >= 1.0);
    assert!(moved("switchboard_delivery_latency_seconds_count", &[]) >= 6.0);
    assert!(moved("switchboard_catch_ups_total", &[("transport", "socketio")]) >= 1.0);
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
    let s = TestServer::start_with(&[("METRICS_ADDR", addr.as_str())]).await;
    s.signup("ann@apart.test").await;
    let text = scrape(&format!("http://{addr}")).await;
    assert!(text.contains("switchboard_http_requests_total"), "{text}");
    let res = reqwest::get(format!("{}/metrics", s.base)).await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "not on the public port"
    );
}
