//! `ceiling`: the physical limit for the `fanout` benchmark. A bare tokio-tungstenite
//! server speaking just enough Engine.IO v4 / Socket.IO to be driven by `bench
//! --reference`: every socket is in one room; `create_message` is rebroadcast to all as
//! `response_message`, serialised once. No auth, no storage. `ceiling [PORT]`.

use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(3100);
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("ceiling listening on 127.0.0.1:{port}");
    let (tx, _) = broadcast::channel::<Arc<str>>(4096);
    let seq = Arc::new(std::sync::atomic::AtomicU64::new(0));
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let (tx, seq) = (tx.clone(), seq.clone());
        tokio::spawn(async move {
            let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            let (mut sink, mut source) = ws.split();
            let open = r#"0{"sid":"c","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
            if sink.send(Message::text(open)).await.is_err() {
                return;
            }
            let mut rx = tx.subscribe();
            loop {
                tokio::select! {
                    frame = rx.recv() => match frame {
                        Ok(f) => if sink.send(Message::text(f.as_ref())).await.is_err() { return },
                        Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(_) => return,
                    },
                    incoming = source.next() => {
                        let Some(Ok(Message::Text(t))) = incoming else {
                            if matches!(incoming, Some(Ok(_))) { continue } else { return }
                        };
                        let t = t.as_str();
                        if t.starts_with("40") {
                            if sink.send(Message::text(r#"40{"sid":"s"}"#)).await.is_err() { return }
                        } else if let Some(body) = t.strip_prefix("42") {
                            let start = body.find('[').unwrap_or(0);
                            let Ok(Value::Array(args)) = serde_json::from_str::<Value>(&body[start..]) else { continue };
                            if args.first().and_then(Value::as_str) == Some("create_message") {
                                let n = seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                                let data = args.get(1).cloned().unwrap_or(Value::Null);
                                let out = json!(["response_message", {"seq": n, "message": data["message"], "chat_id": data["chat_id"]}]);
                                let _ = tx.send(format!("42{out}").into());
                            }
                        }
                    }
                }
            }
        });
    }
}
