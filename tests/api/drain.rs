//! SIGTERM drains: while clients send messages with acks, the server stops taking
//! connections (new ones are refused; a request that reaches it on a connection it
//! had accepted finds `/readyz` 503 and handshakes refused), closes plain WebSockets
//! with 1012 (reconnect elsewhere) and Socket.IO transports, lets the message writer
//! store what it holds, and exits in time; every message a client got an ack for is
//! there when a server starts again on the same database.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::json;
use switchboard_tools::client::{Ended, SioClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

use crate::common::TestServer;
use crate::common::process::Child;
use crate::common::ws::{next_json, open, ticket};

/// Sends numbered messages with acks until the connection goes; returns the
/// `client_msg_id`s that were acknowledged and how the connection ended.
async fn sender(client: SioClient, chat: String, name: String) -> (Vec<String>, Option<Ended>) {
    let mut acked = Vec::new();
    for i in 0.. {
        let id = format!("{name}-{i}");
        let payload =
            json!({"chat_id": chat, "message": format!("text {id}"), "client_msg_id": id});
        let ack = client.emit_with_ack("create_message", &payload, Duration::from_secs(5));
        // An ack that came is taken before the end of the connection is noticed.
        let ended = async {
            while client.ended().is_none() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::select! {
            biased;
            ack = ack => match ack {
                Ok(a) if a["status"] == "ok" => acked.push(id),
                _ => break,
            },
            () = ended => break,
        }
    }
    (acked, client.ended())
}

/// A connection the server accepted before the drain, with a request begun on it
/// (enough for the server to read it as HTTP/1.1), to be finished during the drain:
/// what the server answers a request that reaches it then.
struct Held {
    tcp: tokio::net::TcpStream,
    host: String,
}

impl Held {
    async fn begin(addr: std::net::SocketAddr) -> Self {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"GET ").await.unwrap();
        tcp.flush().await.unwrap();
        Self {
            tcp,
            host: addr.to_string(),
        }
    }

    /// Finishes `GET target` with `headers` (each ending in CRLF); returns the
    /// response head and the connection, read up to the end of the head only.
    async fn finish(mut self, target: &str, headers: &str) -> (String, tokio::net::TcpStream) {
        let rest = format!("{target} HTTP/1.1\r\nHost: {}\r\n{headers}\r\n", self.host);
        self.tcp.write_all(rest.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            let n = tokio::time::timeout(Duration::from_secs(10), self.tcp.read(&mut byte))
                .await
                .expect("an answer in time")
                .unwrap();
            assert!(
                n == 1,
                "closed without an answer: {}",
                String::from_utf8_lossy(&head)
            );
            head.push(byte[0]);
        }
        (String::from_utf8(head).unwrap(), self.tcp)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_loses_nothing_acknowledged() {
    let (database_url, _file) = crate::common::fresh_database().await;
    let vars = vec![("DRAIN_TIMEOUT_SECONDS".to_string(), "10".to_string())];
    let mut first = Child::start(&database_url, &vars).await;
    let s = TestServer::attach(first.addr, &database_url);
    let ann = s.signup("ann@drain.test").await;
    let bob = s.add_member(&ann, "bob@drain.test").await;
    let chat = s.direct_chat(&ann, &bob).await;

    let t = ticket(&s, &bob).await;
    let mut bob_ws = open(&s, &format!("/api/v1/ws?ticket={t}")).await;
    assert_eq!(next_json(&mut bob_ws).await["type"], "connected");

    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut senders = Vec::new();
    for k in 0..4 {
        let client = SioClient::connect(&s.base, Some(json!({"token": ann.access})), "")
            .await
            .unwrap();
        let (chat, acked) = (chat.clone(), acked.clone());
        senders.push(tokio::spawn(async move {
            let (mine, ended) = sender(client, chat, format!("s{k}")).await;
            acked.lock().unwrap().extend(mine);
            ended
        }));
    }
    // Requests begun before the drain and finished during it (the server waits for
    // them, so they also keep it draining while this test looks at it).
    let held_ready = Held::begin(first.addr).await;
    let held_ws = Held::begin(first.addr).await;
    let held_sio = Held::begin(first.addr).await;
    let another_ticket = ticket(&s, &bob).await;
    assert_eq!(
        s.call(reqwest::Method::GET, "/readyz", None, None).await.0,
        StatusCode::OK
    );
    // Let messages flow, then SIGTERM with acks in flight.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let asked = Instant::now();
    first.terminate();

    // Bob's plain WebSocket is told to reconnect elsewhere.
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(10), bob_ws.next()).await {
            Ok(Some(Ok(Message::Close(c)))) => break c,
            Ok(Some(Ok(_))) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(
        close.map(|c| u16::from(c.code)),
        Some(1012),
        "service restart"
    );
    // It stops taking connections.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match tokio::net::TcpStream::connect(first.addr).await {
            Err(e) => {
                assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");
                break;
            }
            Ok(_) => assert!(
                Instant::now() < deadline,
                "still accepting connections while draining"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every Socket.IO transport is closed by the server (a close, no DISCONNECT: the
    // client reconnects elsewhere), while the server is still draining, not by its
    // exit.
    for sender in senders {
        let ended = sender.await.unwrap();
        assert!(
            matches!(ended, Some(Ended::CloseFrame | Ended::EngineClose)),
            "a Socket.IO connection ended so: {ended:?}"
        );
    }
    assert!(
        first.running(),
        "the server exited before the Socket.IO transports closed"
    );

    // What reaches it now is refused: `/readyz` 503, a plain WebSocket upgrade 503, a
    // Socket.IO handshake `connect_error`.
    let (head, mut tcp) = held_ready.finish("/readyz", "Connection: close\r\n").await;
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    let mut body = String::new();
    tcp.read_to_string(&mut body).await.unwrap();
    assert!(body.contains("draining"), "{body}");
    let upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    let (head, _) = held_ws
        .finish(&format!("/api/v1/ws?ticket={another_ticket}"), upgrade)
        .await;
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    let (head, tcp) = held_sio
        .finish("/socket.io/?EIO=4&transport=websocket", upgrade)
        .await;
    // The engine still upgrades; the namespace connect is refused (`connect_error`).
    // The auth middleware says `server_draining`, but by now the drain has closed the
    // namespace, which socketioxide reports as an invalid one: either is the refusal.
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let mut sio =
        tokio_tungstenite::WebSocketStream::from_raw_socket(tcp, Role::Client, None).await;
    let refused = loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), sio.next())
            .await
            .expect("an answer in time");
        let Some(Ok(Message::Text(t))) = frame else {
            panic!("the Socket.IO handshake got no answer: {frame:?}");
        };
        if t.starts_with('0') {
            sio.send(Message::text(format!("40{}", json!({"token": ann.access}))))
                .await
                .unwrap();
        } else if let Some(body) = t.strip_prefix("44") {
            break serde_json::from_str::<serde_json::Value>(body).unwrap();
        } else {
            assert!(!t.starts_with("40"), "a Socket.IO handshake was taken: {t}");
        }
    };
    assert!(
        ["server_draining", "Invalid namespace"].contains(&refused["message"].as_str().unwrap()),
        "{refused}"
    );

    let status = first
        .exited(Duration::from_secs(25))
        .await
        .expect("the server exits within the drain timeout");
    assert!(status.success(), "{status:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(22),
        "{:?}",
        asked.elapsed()
    );
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 10,
        "messages flowed before the drain: {}",
        acked.len()
    );

    // A server on the same database has every acknowledged message: resending its
    // client_msg_id finds it stored (200), never stores it anew (201).
    let second = Child::start(&database_url, &vars).await;
    let s = TestServer::attach(second.addr, &database_url);
    let ann = s.login("ann@drain.test", "correct horse battery").await;
    for id in &acked {
        let (st, m) = s
            .post(
                "/api/v1/chat/messages/send",
                Some(&ann.access),
                json!({"conversation_id": chat, "content": format!("text {id}"), "client_msg_id": id}),
            )
            .await;
        assert_eq!(
            st,
            StatusCode::OK,
            "{id} was acknowledged but not stored: {m}"
        );
    }
}
