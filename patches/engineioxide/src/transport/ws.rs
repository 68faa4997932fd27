//! The ws transport module is responsible for handling websocket connections
//! The only public function is [`new_req`] which is used to upgrade a http request to a websocket connection
//!
//! Other functions are used internally to handle the websocket connection through tasks and channels
//! and to handle upgrade from polling to ws

use std::{collections::VecDeque, sync::Arc, time::Duration};

use futures_util::{FutureExt as _, SinkExt, StreamExt};
use http::{HeaderValue, Request, Response, StatusCode, request::Parts};
use smallvec::smallvec;
use tokio::{
    io::{AsyncRead, AsyncWrite},
    time::Instant,
};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{
        self, Message,
        handshake::derive_accept_key,
        protocol::{Role, WebSocketConfig},
    },
};
use tokio_util::future::FutureExt as _;

use engineioxide_core::{Packet, PacketBuf, ProtocolVersion, Sid, Str, TransportType};

use crate::{
    DisconnectReason, Socket, body::ResponseBody, config::EngineIoConfig, engine::EngineIo,
    errors::Error, handler::EngineIoHandler, transport::make_open_packet,
};

/// Create a response for websocket upgrade
fn ws_response<B>(ws_key: &HeaderValue) -> Response<ResponseBody<B>> {
    let derived = derive_accept_key(ws_key.as_bytes());
    let sec = derived.parse::<HeaderValue>().unwrap();
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(http::header::UPGRADE, HeaderValue::from_static("websocket"))
        .header(
            http::header::CONNECTION,
            HeaderValue::from_static("Upgrade"),
        )
        .header(http::header::SEC_WEBSOCKET_ACCEPT, sec)
        .body(ResponseBody::empty_response())
        .unwrap() // we are only using constants
}

/// Upgrade a websocket request to create a websocket connection.
///
/// If a sid is provided in the query it means that is is upgraded from an existing HTTP polling request.
/// In this case the http polling request is closed and the SID is kept for the websocket
pub fn new_req<R: Send + 'static, B, H: EngineIoHandler>(
    engine: Arc<EngineIo<H>>,
    protocol: ProtocolVersion,
    sid: Option<Sid>,
    req: Request<R>,
) -> Result<Response<ResponseBody<B>>, Error> {
    let (parts, body) = req.into_parts();
    let req = Request::from_parts(parts.clone(), body);

    let ws_key = parts
        .headers
        .get("Sec-WebSocket-Key")
        .ok_or(Error::InvalidWebSocketKey)?
        .clone();

    tokio::spawn(async move {
        let conn = hyper::upgrade::on(req)
            .await
            .map(hyper_util::rt::TokioIo::new);

        let res = match conn {
            Ok(conn) => on_init(engine.clone(), conn, protocol, sid, parts).await,
            Err(_e) => {
                #[cfg(feature = "tracing")]
                tracing::debug!("ws upgrade error: {}", _e);
                return;
            }
        };

        match res {
            Ok(_) => {
                #[cfg(feature = "tracing")]
                tracing::debug!(?sid, "ws closed")
            }
            Err(Error::MultipleWebsocketRequests) => {}
            Err(_e) => {
                #[cfg(feature = "tracing")]
                tracing::debug!(?sid, "ws closed with error: {_e}");
                if let Some(sid) = sid {
                    engine.close_session(sid, DisconnectReason::TransportError);
                }
            }
        }
    });

    Ok(ws_response(&ws_key))
}

/// Handle a websocket connection upgrade
///
/// Sends an open packet if it is not an upgrade from a polling request
///
/// Read packets from the websocket and handle them, it will block until the connection is closed
#[cfg_attr(
    feature = "tracing",
    tracing::instrument(level = "trace", name = "init_websocket", skip(engine, conn, req_data))
)]
pub async fn on_init<H: EngineIoHandler, S>(
    engine: Arc<EngineIo<H>>,
    conn: S,
    protocol: ProtocolVersion,
    sid: Option<Sid>,
    req_data: Parts,
) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(engine.config.ws_read_buffer_size)
        .max_message_size(Some(engine.config.ws_max_message_size))
        .max_frame_size(Some(engine.config.ws_max_frame_size));

    let ws_init = move || WebSocketStream::from_raw_socket(conn, Role::Server, Some(ws_config));
    let (socket, ws, inline_heartbeat) = if let Some(sid) = sid {
        match engine.get_socket(sid) {
            None => return Err(Error::UnknownSessionID(sid)),
            Some(socket) if socket.is_ws() => return Err(Error::MultipleWebsocketRequests),
            Some(socket) => {
                let mut ws = ws_init().await;

                let upgrade_fut = upgrade_handshake::<H, S>(&socket, &mut ws);
                match tokio::time::timeout(engine.config.upgrade_timeout, upgrade_fut)
                    .with_cancellation_token(&socket.cancellation_token)
                    .await
                {
                    Some(Ok(res)) => res?,
                    Some(Err(_)) => {
                        #[cfg(feature = "tracing")]
                        tracing::debug!(?sid, "ws upgrade timed out, closing session");
                        engine.close_session(socket.id, DisconnectReason::TransportError);
                        return Err(Error::Upgrade);
                    }
                    None => {
                        #[cfg(feature = "tracing")]
                        tracing::debug!(?sid, "socket is being closed");
                        return Err(Error::Upgrade);
                    }
                }
                (socket, ws, false)
            }
        }
    } else {
        let socket = engine.create_session(protocol, TransportType::Websocket, req_data, false);

        #[cfg(feature = "tracing")]
        tracing::debug!("new websocket connection");

        let mut ws = ws_init().await;
        init_handshake(socket.id, &mut ws, &engine.config).await?;
        // PATCH (switchboard): a v4 session born on WebSocket keeps its heartbeat in its
        // connection's task (`serve`); others keep the heartbeat task.
        let inline = socket.protocol == ProtocolVersion::V4;
        if !inline {
            socket
                .clone()
                .spawn_heartbeat(engine.config.ping_interval, engine.config.ping_timeout);
        }
        (socket, ws, inline)
    };
    let heartbeat =
        inline_heartbeat.then_some((engine.config.ping_interval, engine.config.ping_timeout));
    serve(&engine, ws, &socket, heartbeat).await;
    Ok(())
}

/// PATCH (switchboard): how a connection's loop ended.
enum Ended {
    /// The server closed the session (its cancellation token, or its queue closed).
    Closing,
    /// The client closed the connection or it broke; `Err` says how.
    Transport(Result<(), Error>),
    /// No pong within the timeout.
    HeartbeatTimeout,
}

/// PATCH (switchboard): one task per WebSocket connection reads the client's frames,
/// writes the socket's queued packets and, when `heartbeat` is set (interval, timeout),
/// pings the client (written directly, not through the queue, so a full queue does not
/// count as a lost heartbeat). It replaces a reader task, a writer task sharing the split stream
/// and a heartbeat task: ~3 KB per idle connection. Like the writer it replaces, it
/// holds the socket's `internal_rx` lock (waiting for a polling request that still has
/// it) and, once the session ends, writes what is queued (a Close packet) and closes.
async fn serve<H: EngineIoHandler, S>(
    engine: &Arc<EngineIo<H>>,
    mut ws: WebSocketStream<S>,
    socket: &Arc<Socket<H::Data>>,
    heartbeat: Option<(Duration, Duration)>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let lock = socket.internal_rx.lock();
    let Some(_internal_rx) = lock
        .with_cancellation_token(&socket.cancellation_token)
        .await
    else {
        #[cfg(feature = "tracing")]
        tracing::debug!(sid = %socket.id, "session closed before its websocket started");
        return;
    };

    // The first ping goes out one interval after the handshake, as the reference
    // server's and the heartbeat task's do.
    let first_ping = heartbeat.map_or(Duration::ZERO, |(interval, _)| interval);
    let ping = tokio::time::sleep(first_ping);
    tokio::pin!(ping);
    let mut pong_due: Option<Instant> = None;
    // Once the session closes, one budget for every write still to go out.
    let mut closing_deadline: Option<Instant> = None;

    let ended = loop {
        tokio::select! {
            groups = socket.queue.take_all() => match groups {
                Some(groups) => {
                    // What was taken is written, also when the session closes meanwhile
                    // (it may hold the Close packet); but a client that stops reading
                    // keeps a closed session's task at most `CLOSING_WRITE_TIMEOUT`.
                    let write = async {
                        write_groups(&mut ws, socket, groups).await;
                        ws.flush().await.ok();
                    };
                    tokio::pin!(write);
                    let closed = tokio::select! {
                        biased;
                        _ = &mut write => false,
                        _ = socket.cancellation_token.cancelled() => {
                            let deadline = Instant::now() + CLOSING_WRITE_TIMEOUT;
                            closing_deadline = Some(deadline);
                            tokio::time::timeout_at(deadline, &mut write).await.ok();
                            true
                        }
                    };
                    if closed {
                        break Ended::Closing;
                    }
                }
                None => break Ended::Closing,
            },
            _ = socket.cancellation_token.cancelled() => break Ended::Closing,
            msg = ws.next() => match msg {
                None => break Ended::Transport(Ok(())),
                Some(Err(e)) => break Ended::Transport(Err(e.into())),
                Some(Ok(msg)) => match on_frame(engine, socket, msg) {
                    Ok(Frame::Other) => {}
                    Ok(Frame::Heartbeat) => match (heartbeat, pong_due) {
                        (Some((interval, _)), Some(sent)) => {
                            pong_due = None;
                            ping.as_mut().reset(sent + interval);
                        }
                        // An early or duplicate pong.
                        (Some(_), None) => {}
                        (None, _) => socket.heartbeat.notify_one(),
                    },
                    Ok(Frame::Close) => break Ended::Transport(Ok(())),
                    Err(e) => break Ended::Transport(Err(e)),
                },
            },
            () = &mut ping, if heartbeat.is_some() => {
                if pong_due.is_some() {
                    break Ended::HeartbeatTimeout;
                }
                // Written here, ahead of the queue: a queue kept full by a client that
                // reads slowly (a paced replay) is not a client that stopped answering.
                // One that does not take the ping within the timeout has.
                let (_, timeout) = heartbeat.unwrap_or_default();
                let now = Instant::now();
                let write = ws.send(Message::Text(String::from(Packet::Ping).into()));
                if tokio::time::timeout(timeout, write).await.is_err() {
                    break Ended::HeartbeatTimeout;
                }
                pong_due = Some(now);
                ping.as_mut().reset(now + timeout);
            },
        }
    };

    match ended {
        Ended::Closing => {
            #[cfg(feature = "tracing")]
            tracing::debug!(sid = %socket.id, "socket is closing");
        }
        Ended::HeartbeatTimeout => {
            #[cfg(feature = "tracing")]
            tracing::debug!(sid = %socket.id, "heartbeat timeout");
            socket.close(DisconnectReason::HeartbeatTimeout);
        }
        Ended::Transport(Ok(())) => {
            #[cfg(feature = "tracing")]
            tracing::debug!(sid = %socket.id, "ws transport was closed");
            engine.close_session(socket.id, DisconnectReason::TransportClose);
        }
        Ended::Transport(Err(ref e)) => {
            let reason =
                Option::<DisconnectReason>::from(e).unwrap_or(DisconnectReason::TransportError);
            #[cfg(feature = "tracing")]
            tracing::debug!("error when handling packet: {:?}", e);
            engine.close_session(socket.id, reason);
        }
    }

    // What was queued before the end (a Close packet) still goes out, unless the client
    // does not take it within `CLOSING_WRITE_TIMEOUT`.
    let closing = async {
        if let Some(Some(groups)) = socket.queue.take_all().now_or_never() {
            write_groups(&mut ws, socket, groups).await;
        }
        #[cfg(feature = "tracing")]
        tracing::trace!(sid = %socket.id, "ws closing flush");
        ws.flush().await.ok();
        ws.close(None).await.ok();
    };
    let deadline = closing_deadline.unwrap_or_else(|| Instant::now() + CLOSING_WRITE_TIMEOUT);
    tokio::time::timeout_at(deadline, closing).await.ok();
}

/// PATCH (switchboard): how long a closed session's last packets may wait for the client.
const CLOSING_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// PATCH (switchboard): what a client's frame asks of the connection loop.
enum Frame {
    Other,
    /// A pong (v4) or ping (v3).
    Heartbeat,
    /// The client closed the session.
    Close,
}

/// Handles one frame from the client: messages go to the handler.
fn on_frame<H: EngineIoHandler>(
    engine: &Arc<EngineIo<H>>,
    socket: &Arc<Socket<H::Data>>,
    msg: Message,
) -> Result<Frame, Error> {
    match msg {
        Message::Text(msg) => match Packet::parse(socket.protocol, ws_bytes_to_str(msg))? {
            Packet::Close => {
                #[cfg(feature = "tracing")]
                tracing::debug!("[sid={}] closing session", socket.id);
                Ok(Frame::Close)
            }
            Packet::Pong | Packet::Ping => Ok(Frame::Heartbeat),
            Packet::Message(msg) => {
                engine.handler.on_message(msg, socket.clone());
                Ok(Frame::Other)
            }
            p => Err(Error::BadPacket(p)),
        },
        Message::Binary(mut data) => {
            if socket.protocol == ProtocolVersion::V3 && !data.is_empty() {
                data = data.split_off(1);
            }
            engine.handler.on_binary(data, socket.clone());
            Ok(Frame::Other)
        }
        Message::Close(_) => {
            #[cfg(feature = "tracing")]
            tracing::debug!("websocket closed, closing session");
            Ok(Frame::Close)
        }
        _ => {
            #[cfg(feature = "tracing")]
            tracing::debug!(sid = ?socket.id, "unexpected ws message");
            Ok(Frame::Other)
        }
    }
}

/// Feeds the groups taken from the queue to the connection (flushed by the caller); a
/// failed write is logged, as the session ends through its reader or its heartbeat.
async fn write_groups<D: Default + Send + Sync + 'static, S>(
    ws: &mut WebSocketStream<S>,
    socket: &Socket<D>,
    groups: VecDeque<PacketBuf>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    for item in groups.into_iter().flatten() {
        let res = match item {
            Packet::Binary(bin) | Packet::BinaryV3(bin) => {
                if socket.protocol == ProtocolVersion::V3 {
                    let mut buff = Vec::with_capacity(bin.len() + 1);
                    buff.push(0x04);
                    buff.extend(bin);
                    ws.feed(Message::Binary(buff.into())).await
                } else {
                    ws.feed(Message::Binary(bin)).await
                }
            }
            Packet::Noop => Ok(()),
            item => {
                let packet: String = item.try_into().unwrap();
                ws.feed(Message::Text(packet.into())).await
            }
        };
        if let Err(_e) = res {
            #[cfg(feature = "tracing")]
            tracing::debug!("[sid={}] error sending packet: {}", socket.id, _e);
        }
    }
}

async fn init_handshake<S>(
    sid: Sid,
    ws: &mut WebSocketStream<S>,
    config: &EngineIoConfig,
) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let packet = Packet::Open(make_open_packet(TransportType::Websocket, sid, config));
    let packet: String = packet.into();
    ws.send(Message::Text(packet.into())).await?;
    Ok(())
}

/// Upgrade a session from a polling request to a websocket request.
///
/// Before upgrading the session the server should send a NOOP packet to any pending polling request.
///
/// ## Handshake :
/// ```text
/// CLIENT                                                 SERVER
///│                                                      │
///│   GET /engine.io/?EIO=4&transport=websocket&sid=...  │
///│ ───────────────────────────────────────────────────► │
///│  ◄─────────────────────────────────────────────────┘ │
///│            HTTP 101 (WebSocket handshake)            │
///│                                                      │
///│            -----  WebSocket frames -----             │
///│  ─────────────────────────────────────────────────►  │
///│                         2probe                       │ (ping packet)
///│  ◄─────────────────────────────────────────────────  │
///│                         3probe                       │ (pong packet)
///│  ─────────────────────────────────────────────────►  │
///│                         5                            │ (upgrade packet)
///│                                                      │
///│            -----  WebSocket frames -----             │
/// ```
#[cfg_attr(
    feature = "tracing",
    tracing::instrument(level = "trace", skip(socket, ws))
)]
async fn upgrade_handshake<H: EngineIoHandler, S>(
    socket: &Arc<Socket<H::Data>>,
    ws: &mut WebSocketStream<S>,
) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    #[cfg(feature = "tracing")]
    tracing::debug!("starting websocket connection upgrade");

    // The socket is upgrading, from now on all polling
    // request will return a `Packet::Noop`
    socket.start_upgrade();

    // We send a last Noop request to close a potential waiting polling request.
    // PATCH (switchboard): a full queue already wakes a waiting polling request, so the
    // NOOP only needs a place when there is one.
    match socket.queue.try_send(smallvec![Packet::Noop]) {
        Ok(()) | Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {}
        Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => Err(Error::Upgrade)?,
    }

    // wait for any current polling connection to finish by waiting for the socket to be unlocked
    // All other polling connection will be immediately closed with a NOOP packet.
    let _lock = socket.internal_rx.lock().await;

    // Fetch the next packet from the ws stream, it should be a PingUpgrade packet
    let msg = match ws.next().await {
        Some(Ok(Message::Text(d))) => d,
        _ => Err(Error::Upgrade)?,
    };
    match Packet::parse(socket.protocol, ws_bytes_to_str(msg))? {
        Packet::PingUpgrade => {
            #[cfg(feature = "tracing")]
            tracing::debug!("received first ping upgrade");
            // Respond with a PongUpgrade packet
            ws.send(Message::Text(String::from(Packet::PongUpgrade).into()))
                .await?;
        }
        p => Err(Error::BadPacket(p))?,
    };

    // Fetch the next packet from the ws stream, it should be an Upgrade packet
    let msg = match ws.next().await {
        Some(Ok(Message::Text(d))) => d,
        Some(Ok(Message::Close(_))) => {
            #[cfg(feature = "tracing")]
            tracing::debug!("ws stream closed before upgrade");
            Err(Error::Upgrade)?
        }
        _ => {
            #[cfg(feature = "tracing")]
            tracing::debug!("unexpected ws message before upgrade");
            Err(Error::Upgrade)?
        }
    };
    match Packet::parse(socket.protocol, ws_bytes_to_str(msg))? {
        Packet::Upgrade => {
            #[cfg(feature = "tracing")]
            tracing::debug!("ws upgraded successfully")
        }
        p => Err(Error::BadPacket(p))?,
    };

    socket.upgrade_to_websocket();
    Ok(())
}

fn ws_bytes_to_str(bytes: tungstenite::Utf8Bytes) -> Str {
    // SAFETY: the bytes are guaranteed to be valid UTF-8 by the tungstenite parser
    unsafe { Str::from_bytes_unchecked(bytes.into()) }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use futures_util::StreamExt;
    use http::Request;
    use tokio::io::DuplexStream;

    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(1);

    #[derive(Debug)]
    struct StubHandler;
    impl EngineIoHandler for StubHandler {
        type Data = ();
        fn on_connect(self: Arc<Self>, _: Arc<Socket<()>>) {}
        fn on_disconnect(&self, _: Arc<Socket<()>>, _: DisconnectReason) {}
        fn on_message(self: &Arc<Self>, _: Str, _: Arc<Socket<()>>) {}
        fn on_binary(self: &Arc<Self>, _: Bytes, _: Arc<Socket<()>>) {}
    }

    fn socket() -> Arc<Socket<()>> {
        Arc::new(Socket::new(
            ProtocolVersion::V4,
            TransportType::Websocket,
            &EngineIoConfig::default(),
            Request::<()>::default().into_parts().0,
            Box::new(|_, _| ()),
            false,
        ))
    }

    async fn ws_pair() -> (WebSocketStream<DuplexStream>, WebSocketStream<DuplexStream>) {
        let (server, client) = tokio::io::duplex(1024);
        (
            WebSocketStream::from_raw_socket(server, Role::Server, None).await,
            WebSocketStream::from_raw_socket(client, Role::Client, None).await,
        )
    }

    fn engine() -> Arc<EngineIo<StubHandler>> {
        Arc::new(EngineIo::new(
            Arc::new(StubHandler),
            EngineIoConfig::default(),
        ))
    }

    async fn next_text(client: &mut WebSocketStream<DuplexStream>) -> Message {
        tokio::time::timeout(TIMEOUT, client.next())
            .await
            .expect("the server should send a frame")
            .unwrap()
            .unwrap()
    }

    /// A polling request can still hold the lock at the end of an upgrade.
    #[tokio::test]
    async fn serve_waits_for_the_lock_of_a_polling_request() {
        let (engine, socket) = (engine(), socket());
        let (server, mut client) = ws_pair().await;

        let polling = socket.internal_rx.lock().await;
        let conn = {
            let socket = socket.clone();
            tokio::spawn(async move { serve(&engine, server, &socket, None).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !conn.is_finished(),
            "the connection should wait for the lock"
        );

        drop(polling);
        socket.emit(Str::from("hello")).unwrap();
        assert_eq!(next_text(&mut client).await, Message::text("4hello"));
    }

    #[tokio::test]
    async fn serve_waiting_for_the_lock_stops_with_the_session() {
        let (engine, socket) = (engine(), socket());
        let (server, _client) = ws_pair().await;

        let _polling = socket.internal_rx.lock().await;
        let conn = {
            let socket = socket.clone();
            tokio::spawn(async move { serve(&engine, server, &socket, None).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;

        socket.cancellation_token.cancel();
        tokio::time::timeout(TIMEOUT, conn)
            .await
            .expect("the connection should stop")
            .unwrap();
    }

    /// The heartbeat kept in the connection's task: pings one interval after the start
    /// and then every interval while the client answers.
    #[tokio::test]
    async fn serve_pings_a_client_that_answers() {
        let (engine, socket) = (engine(), socket());
        let (server, mut client) = ws_pair().await;
        let interval = Duration::from_millis(30);
        let conn = {
            let socket = socket.clone();
            tokio::spawn(async move {
                serve(&engine, server, &socket, Some((interval, interval))).await
            })
        };
        for _ in 0..4 {
            assert_eq!(next_text(&mut client).await, Message::text("2"));
            client.send(Message::text("3")).await.unwrap();
        }
        assert!(!conn.is_finished(), "a client that answers stays connected");
        socket.emit(Str::from("still here")).unwrap();
        assert_eq!(next_text(&mut client).await, Message::text("4still here"));
    }

    /// The first ping waits for the interval: nothing is sent before it (the reference
    /// server's behaviour, which the protocol test suite relies on).
    #[tokio::test]
    async fn serve_sends_the_first_ping_after_the_interval() {
        let (engine, socket) = (engine(), socket());
        let (server, mut client) = ws_pair().await;
        let interval = Duration::from_millis(300);
        let started = Instant::now();
        tokio::spawn({
            let socket = socket.clone();
            async move { serve(&engine, server, &socket, Some((interval, interval))).await }
        });
        let early = tokio::time::timeout(Duration::from_millis(200), client.next()).await;
        assert!(early.is_err(), "nothing before the interval: {early:?}");
        assert_eq!(next_text(&mut client).await, Message::text("2"));
        assert!(started.elapsed() >= interval, "{:?}", started.elapsed());
    }

    /// A queue kept full (a paced replay to a client that reads at its own pace) does not
    /// keep pings from going out or count as a lost heartbeat.
    #[tokio::test]
    async fn serve_pings_past_a_full_queue() {
        let (engine, socket) = (engine(), socket());
        let (server, mut client) = ws_pair().await;
        let interval = Duration::from_millis(30);
        let conn = {
            let socket = socket.clone();
            tokio::spawn(async move {
                serve(&engine, server, &socket, Some((interval, interval))).await
            })
        };
        let producer = {
            let socket = socket.clone();
            tokio::spawn(async move {
                loop {
                    while socket.emit(Str::from("filler")).is_ok() {}
                    tokio::task::yield_now().await;
                }
            })
        };
        let mut pings = 0;
        while pings < 8 {
            match next_text(&mut client).await {
                Message::Text(t) if t == "2" => {
                    pings += 1;
                    client.send(Message::text("3")).await.unwrap();
                }
                Message::Text(t) => assert_eq!(t, "4filler"),
                other => panic!("the connection should stay open: {other:?}"),
            }
        }
        producer.abort();
        assert!(!conn.is_finished());
    }

    /// A client that does not answer a ping is sent a Close packet and the socket closed.
    #[tokio::test]
    async fn serve_closes_a_client_that_does_not_answer() {
        let engine = engine();
        let closed = Arc::new(std::sync::Mutex::new(None));
        let socket = {
            let closed = closed.clone();
            Arc::new(Socket::<()>::new(
                ProtocolVersion::V4,
                TransportType::Websocket,
                &EngineIoConfig::default(),
                Request::<()>::default().into_parts().0,
                Box::new(move |_, reason| *closed.lock().unwrap() = Some(reason)),
                false,
            ))
        };
        let (server, mut client) = ws_pair().await;
        let interval = Duration::from_millis(30);
        let conn = {
            let socket = socket.clone();
            tokio::spawn(async move {
                serve(&engine, server, &socket, Some((interval, interval))).await
            })
        };
        assert_eq!(next_text(&mut client).await, Message::text("2"));
        assert_eq!(next_text(&mut client).await, Message::text("1"));
        assert!(matches!(next_text(&mut client).await, Message::Close(_)));
        tokio::time::timeout(TIMEOUT, conn).await.unwrap().unwrap();
        assert_eq!(
            *closed.lock().unwrap(),
            Some(DisconnectReason::HeartbeatTimeout)
        );
    }

    /// A session closed while its client reads nothing ends its task anyway: the loop
    /// stops waiting on the write, and the closing writes give up after a while.
    #[tokio::test]
    async fn serve_ends_when_the_session_closes_under_a_client_that_does_not_read() {
        let (engine, socket) = (engine(), socket());
        let (server, _client) = ws_pair().await;
        let conn = {
            let socket = socket.clone();
            tokio::spawn(async move { serve(&engine, server, &socket, None).await })
        };
        socket.emit(Str::from("x".repeat(64 * 1024))).unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !conn.is_finished(),
            "the write should be waiting for the client"
        );
        socket.cancellation_token.cancel();
        tokio::time::timeout(CLOSING_WRITE_TIMEOUT + TIMEOUT, conn)
            .await
            .expect("the connection's task should end")
            .unwrap();
    }
}
