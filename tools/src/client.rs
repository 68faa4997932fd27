//! A lean Socket.IO v4 client over WebSocket (Engine.IO v4 framing, JSON parser).
//! Used by the integration tests and the load tool; small enough that measurements
//! show the server, not the client.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

type Acks = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// How the connection ended, as this client's reader saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The server disconnected the socket: a Socket.IO DISCONNECT packet (`41`).
    Disconnect,
    /// The server closed the Engine.IO session: a CLOSE packet (`1`).
    EngineClose,
    /// A WebSocket close frame, with neither packet before it.
    CloseFrame,
    /// The connection broke: a reset or an end without a close frame.
    Broken,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server refused the namespace connect (`connect_error`); holds its message.
    #[error("connect_error: {0}")]
    Rejected(String),
    #[error("websocket: {0}")]
    Ws(String),
    #[error("protocol: {0}")]
    Protocol(String),
    #[error("timed out")]
    Timeout,
    #[error("connection closed")]
    Closed,
}

/// One connected socket on namespace `/`.
pub struct SioClient {
    out: mpsc::UnboundedSender<Message>,
    /// Event packets as received (the text after `42`), parsed only when asked for.
    events: mpsc::UnboundedReceiver<Utf8Bytes>,
    /// Events received while waiting for another one.
    backlog: Vec<(String, Value)>,
    acks: Acks,
    next_ack: AtomicU64,
    pub sid: String,
    /// The `pid` of the CONNECT answer (connection state recovery).
    pub pid: Option<String>,
    /// The offset that ended the last event parsed off the wire, as socket.io-client
    /// keeps it (`_lastOffset`): a last argument that is a string.
    pub last_offset: Option<String>,
    /// How the connection ended, once it has.
    ended: Arc<std::sync::Mutex<Option<Ended>>>,
}

impl SioClient {
    /// Connects to `base` (e.g. `http://127.0.0.1:3000`) with an optional handshake
    /// `auth` object and extra query string (e.g. `token=…&userId=…`).
    pub async fn connect(
        base: &str,
        auth: Option<Value>,
        query: &str,
    ) -> Result<Self, ClientError> {
        Self::connect_with(base, auth, query, None).await
    }

    /// Like [`connect`](Self::connect), optionally sending `Authorization: Bearer <token>`.
    pub async fn connect_with(
        base: &str,
        auth: Option<Value>,
        query: &str,
        bearer: Option<&str>,
    ) -> Result<Self, ClientError> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let ws_base = base.replacen("http", "ws", 1);
        let mut url = format!("{ws_base}/socket.io/?EIO=4&transport=websocket");
        if !query.is_empty() {
            url.push('&');
            url.push_str(query);
        }
        let mut request = url
            .into_client_request()
            .map_err(|e| ClientError::Ws(e.to_string()))?;
        if let Some(token) = bearer {
            let value = format!("Bearer {token}")
                .parse()
                .map_err(|_| ClientError::Protocol("bad token".into()))?;
            request.headers_mut().insert("authorization", value);
        }
        let (ws, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
            .await
            .map_err(|e| ClientError::Ws(e.to_string()))?;
        Self::handshake(ws, auth).await
    }

    /// Connects over an already connected TCP stream (e.g. bound to a chosen local
    /// address, to spread many connections over several source addresses).
    pub async fn connect_stream(
        stream: tokio::net::TcpStream,
        base: &str,
        auth: Option<Value>,
    ) -> Result<Self, ClientError> {
        let url = format!(
            "{}/socket.io/?EIO=4&transport=websocket",
            base.replacen("http", "ws", 1)
        );
        stream
            .set_nodelay(true)
            .map_err(|e| ClientError::Ws(e.to_string()))?;
        let (ws, _) = tokio_tungstenite::client_async(url, stream)
            .await
            .map_err(|e| ClientError::Ws(e.to_string()))?;
        Self::handshake(ws, auth).await
    }

    /// Engine.IO open, namespace connect, then the reader and writer tasks.
    async fn handshake<S>(
        ws: tokio_tungstenite::WebSocketStream<S>,
        auth: Option<Value>,
    ) -> Result<Self, ClientError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sink, mut stream) = ws.split();
        // Engine.IO open packet.
        let open = next_text(&mut stream).await?;
        if !open.starts_with('0') {
            return Err(ClientError::Protocol(format!(
                "expected open packet, got {open}"
            )));
        }
        let connect = match &auth {
            Some(a) => format!("40{a}"),
            None => "40".to_string(),
        };
        sink.send(Message::text(connect))
            .await
            .map_err(|e| ClientError::Ws(e.to_string()))?;
        let (sid, pid) = loop {
            let p = next_text(&mut stream).await?;
            if p == "2" {
                sink.send(Message::text("3"))
                    .await
                    .map_err(|e| ClientError::Ws(e.to_string()))?;
                continue;
            }
            if let Some(body) = p.strip_prefix("40") {
                let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
                break (
                    v["sid"].as_str().unwrap_or_default().to_string(),
                    v["pid"].as_str().map(str::to_string),
                );
            }
            if let Some(body) = p.strip_prefix("44") {
                let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
                return Err(ClientError::Rejected(
                    v["message"].as_str().unwrap_or(body).to_string(),
                ));
            }
        };

        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let acks: Acks = Arc::default();
        tokio::spawn(async move {
            while let Some(m) = out_rx.recv().await {
                if sink.send(m).await.is_err() {
                    break;
                }
            }
        });
        let reader_acks = acks.clone();
        let pong = out_tx.clone();
        let ended: Arc<std::sync::Mutex<Option<Ended>>> = Arc::default();
        let reader_ended = ended.clone();
        tokio::spawn(async move {
            let mut how = Ended::Broken;
            while let Some(Ok(msg)) = stream.next().await {
                let text = match msg {
                    Message::Text(text) => text,
                    Message::Close(_) => {
                        how = Ended::CloseFrame;
                        continue;
                    }
                    _ => continue,
                };
                if text == "2" {
                    let _ = pong.send(Message::text("3"));
                } else if text.starts_with("42") {
                    let _ = ev_tx.send(text.clone());
                } else if let Some(body) = text.strip_prefix("43") {
                    let digits: String = body.chars().take_while(char::is_ascii_digit).collect();
                    let rest = &body[digits.len()..];
                    if let (Ok(id), Ok(Value::Array(mut args))) =
                        (digits.parse::<u64>(), serde_json::from_str(rest))
                        && let Some(tx) = reader_acks.lock().await.remove(&id)
                    {
                        let _ = tx.send(if args.is_empty() {
                            Value::Null
                        } else {
                            args.remove(0)
                        });
                    }
                } else if text.starts_with("41") {
                    how = Ended::Disconnect;
                    break;
                } else if text.starts_with('1') {
                    how = Ended::EngineClose;
                    break;
                }
            }
            // Set before the event channel closes (with this task), so a caller that
            // saw `Closed` finds it.
            *reader_ended.lock().unwrap_or_else(|e| e.into_inner()) = Some(how);
            drop(ev_tx);
        });
        Ok(Self {
            out: out_tx,
            events: ev_rx,
            backlog: Vec::new(),
            acks,
            next_ack: AtomicU64::new(1),
            sid,
            pid,
            last_offset: None,
            ended,
        })
    }

    /// How the connection ended (`None` while it is open): whether the server said
    /// so with a packet, or only closed or broke the connection.
    pub fn ended(&self) -> Option<Ended> {
        *self.ended.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Emits an event without asking for an ack.
    pub fn emit(&self, event: &str, data: &Value) -> Result<(), ClientError> {
        let frame = format!("42{}", serde_json::json!([event, data]));
        self.out
            .send(Message::text(frame))
            .map_err(|_| ClientError::Closed)
    }

    /// Emits raw Socket.IO packet text (for tests of malformed input).
    pub fn send_raw(&self, packet: &str) -> Result<(), ClientError> {
        self.out
            .send(Message::text(packet.to_string()))
            .map_err(|_| ClientError::Closed)
    }

    /// Emits an event and waits for the server's ack (first ack argument).
    pub async fn emit_with_ack(
        &self,
        event: &str,
        data: &Value,
        wait: Duration,
    ) -> Result<Value, ClientError> {
        let id = self.next_ack.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.acks.lock().await.insert(id, tx);
        let frame = format!("42{id}{}", serde_json::json!([event, data]));
        self.out
            .send(Message::text(frame))
            .map_err(|_| ClientError::Closed)?;
        tokio::time::timeout(wait, rx)
            .await
            .map_err(|_| ClientError::Timeout)?
            .map_err(|_| ClientError::Closed)
    }

    /// The next event called `name` (others are kept for later calls).
    pub async fn expect(&mut self, name: &str, wait: Duration) -> Result<Value, ClientError> {
        if let Some(i) = self.backlog.iter().position(|(n, _)| n == name) {
            return Ok(self.backlog.remove(i).1);
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = self.next_parsed(deadline).await?;
            if next.0 == name {
                return Ok(next.1);
            }
            self.backlog.push(next);
        }
    }

    /// A barrier: emits `ping` with an ack and returns every event called `name` that
    /// arrived before the ack (other events stay for later calls). The server answers a
    /// socket's events in order and writes to a socket in order, and this client reads
    /// in order, so whatever the server sent this socket before it handled the ping is
    /// in here: nothing missing was merely slow.
    pub async fn before_barrier(
        &mut self,
        name: &str,
        wait: Duration,
    ) -> Result<Vec<Value>, ClientError> {
        self.emit_with_ack("ping", &serde_json::json!({}), wait)
            .await?;
        while let Ok(raw) = self.events.try_recv() {
            if let Some((event, offset)) = parse_event(&raw) {
                if offset.is_some() {
                    self.last_offset = offset;
                }
                self.backlog.push(event);
            }
        }
        let (wanted, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.backlog)
            .into_iter()
            .filter(|(n, _)| n != "pong")
            .partition(|(n, _)| n == name);
        self.backlog = rest;
        Ok(wanted.into_iter().map(|(_, v)| v).collect())
    }

    /// The next event of any name.
    pub async fn next_event(&mut self, wait: Duration) -> Result<(String, Value), ClientError> {
        if !self.backlog.is_empty() {
            return Ok(self.backlog.remove(0));
        }
        self.next_parsed(tokio::time::Instant::now() + wait).await
    }

    /// The next well-formed event off the wire (not the backlog), by `deadline`.
    async fn next_parsed(
        &mut self,
        deadline: tokio::time::Instant,
    ) -> Result<(String, Value), ClientError> {
        loop {
            let raw = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .map_err(|_| ClientError::Timeout)?
                .ok_or(ClientError::Closed)?;
            if let Some((event, offset)) = parse_event(&raw) {
                if offset.is_some() {
                    self.last_offset = offset;
                }
                return Ok(event);
            }
        }
    }

    /// The next event packet exactly as received (`42["name",…]`), unparsed, or
    /// `None` once the connection is gone. For the load tool, which must not spend
    /// its CPU decoding JSON; do not mix with the parsing calls above.
    pub async fn next_raw(&mut self) -> Option<Utf8Bytes> {
        self.events.recv().await
    }

    /// Closes the socket (namespace disconnect, then the transport).
    pub fn close(&self) {
        let _ = self.out.send(Message::text("41"));
        let _ = self.out.send(Message::Close(None));
    }
}

/// The event's name and first argument, and its offset: a string last argument
/// after the data, as socket.io-client reads it.
fn parse_event(packet: &str) -> Option<((String, Value), Option<String>)> {
    // `42`, then maybe an ack id, then the array.
    let body = packet.strip_prefix("42")?;
    let start = body.find('[')?;
    let Value::Array(mut args) = serde_json::from_str(&body[start..]).ok()? else {
        return None;
    };
    if args.is_empty() {
        return None;
    }
    let name = args.remove(0).as_str()?.to_string();
    let offset = match args.last() {
        Some(Value::String(o)) if args.len() > 1 => Some(o.clone()),
        _ => None,
    };
    let data = if args.is_empty() {
        Value::Null
    } else {
        args.remove(0)
    };
    Some(((name, data), offset))
}

async fn next_text<S>(stream: &mut S) -> Result<String, ClientError>
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .map_err(|_| ClientError::Timeout)?
            .ok_or(ClientError::Closed)?
            .map_err(|e| ClientError::Ws(e.to_string()))?;
        if let Message::Text(t) = msg {
            return Ok(t.as_str().to_string());
        }
    }
}
