//! The server side of the official Socket.IO Admin UI (`@socket.io/admin-ui`): the
//! `/admin` namespace with the UI's protocol behind the operator's credentials, this
//! node's sockets and stats, and the bus that makes every node's appear in one UI. The
//! UI's static build is served by `http/web.rs` at `/admin/ui/`.

mod actions;
pub mod bus;
mod protocol;
mod session;

pub use session::Credentials;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

pub use bus::{AdminBus, BusMessage, Command};
use protocol::{Node, SocketInfo, timestamp};

use crate::app::Background;
use crate::config::RateLimitConfig;

/// The Admin UI's namespace.
pub const NAMESPACE: &str = "/admin";
/// How often each node sends its `server_stats` (as Node's instrument does).
const STATS_EVERY: Duration = Duration::from_secs(2);
/// How long after the last `Watching` a node keeps publishing notices.
const WATCH_FOR: Duration = Duration::from_secs(6);
/// How long a newly connected UI waits for the other nodes' socket lists.
const GATHER_FOR: Duration = Duration::from_millis(300);

/// A handle on the Admin UI's server side; clones share it.
#[derive(Clone)]
pub struct Admin(Arc<Inner>);

struct Inner {
    io: SocketIo,
    /// For the login guard the operator's login shares with users'.
    domain: crate::domain::Services,
    credentials: session::Credentials,
    bus: Arc<dyn AdminBus>,
    node: Node,
    proxies: RateLimitConfig,
    /// Until when (ms since the epoch) some node has a UI open.
    watched_until: AtomicI64,
    /// Socket lists being gathered for a UI that just connected, by request.
    gathering: std::sync::Mutex<HashMap<Uuid, Vec<Value>>>,
    /// The server's task tracker: every task this module starts is on it.
    tasks: tokio_util::task::TaskTracker,
}

/// Why an Admin UI connection was refused; the UI shows the message.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("too many attempts; try again in {0} s")]
    TooManyAttempts(u64),
    #[error("the login check is unavailable; try again")]
    Unavailable,
}

/// A session id minted at login, sent once the socket is connected.
#[derive(Clone)]
struct NewSession(String);

impl Admin {
    /// Registers `/admin` on `io` and starts this node's stats and bus tasks. Not
    /// async on purpose: nothing may wait between the event log starting and the
    /// namespaces being registered (the operator's password is hashed before).
    pub fn start(
        io: &SocketIo,
        domain: crate::domain::Services,
        credentials: Credentials,
        proxies: RateLimitConfig,
        bus: Arc<dyn AdminBus>,
        bg: &Background,
    ) -> Self {
        let admin = Self(Arc::new(Inner {
            io: io.clone(),
            domain,
            credentials,
            bus,
            node: Node::this_process(),
            proxies,
            watched_until: AtomicI64::new(0),
            gathering: std::sync::Mutex::default(),
            tasks: bg.tracker.clone(),
        }));
        admin.register();
        let rx = admin.0.bus.subscribe();
        bg.tracker
            .spawn(admin.clone().listen(rx, bg.cancel.clone()));
        bg.tracker.spawn(admin.clone().stats(bg.cancel.clone()));
        tracing::info!(server_id = %admin.0.node.server_id, "socket.io admin ui on {NAMESPACE}, page at /admin/ui/");
        admin
    }

    fn register(&self) {
        let auth_admin = self.clone();
        let auth = move |s: SocketRef, TryData(auth): TryData<Value>| {
            let admin = auth_admin.clone();
            async move {
                let auth = auth.unwrap_or(Value::Null);
                let field = |k: &str| auth.get(k).and_then(Value::as_str).unwrap_or("");
                let creds = &admin.0.credentials;
                if creds.session_valid(field("sessionId")) {
                    return Ok(());
                }
                // The login guard of user logins, per operator name and address.
                let ip = admin.0.proxies.client_ip_of(s.req_parts());
                let (name, password) = (field("username"), field("password"));
                let checked = admin
                    .0
                    .domain
                    .accounts()
                    .guarded_login(name, ip, creds.check(name, password))
                    .await;
                match checked {
                    Ok(true) => {
                        s.extensions.insert(NewSession(creds.new_session()));
                        Ok(())
                    }
                    Ok(false) => {
                        tracing::warn!(sid = %s.id, ip = ?ip, "admin ui: invalid credentials");
                        Err(Refused::InvalidCredentials)
                    }
                    Err(crate::error::AppError::RateLimited(after)) => {
                        tracing::warn!(sid = %s.id, ip = ?ip, "admin ui: login refused, too many attempts");
                        Err(Refused::TooManyAttempts(after.unwrap_or(1)))
                    }
                    Err(e) => {
                        e.log_hidden("admin ui login");
                        Err(Refused::Unavailable)
                    }
                }
            }
        };
        let admin = self.clone();
        let on_connect = move |s: SocketRef| {
            admin.clone().ui_connected(s);
            std::future::ready(())
        };
        self.0.io.ns(NAMESPACE, on_connect.with(auth));
    }

    /// A UI connected here: its session, the features, every node's sockets.
    fn ui_connected(self, s: SocketRef) {
        if let Some(NewSession(id)) = s.extensions.remove::<NewSession>() {
            let _ = s.emit("session", &id);
        }
        let _ = s.emit("config", &json!({"supportedFeatures": protocol::FEATURES}));
        for event in ["join", "leave", "_disconnect"] {
            let admin = self.clone();
            // Several arguments: a tuple (socketioxide hands a non-tuple the first only).
            type Args = (Value, Value, Option<Value>);
            s.on(event, move |TryData(args): TryData<Args>| {
                let command = args
                    .ok()
                    .and_then(|(a, b, c)| parse_command(event, &[a, b, c.unwrap_or_default()]));
                if let Some(command) = command {
                    let admin = admin.clone();
                    let tasks = admin.0.tasks.clone();
                    tasks.spawn(async move {
                        admin.0.bus.publish(&BusMessage::Command { command }).await;
                    });
                }
                std::future::ready(())
            });
        }
        self.watch_now();
        self.connected(&s);
        let request = Uuid::now_v7();
        self.0
            .gathering
            .lock()
            .expect("not poisoned")
            .insert(request, Vec::new());
        let tasks = self.0.tasks.clone();
        tasks.spawn(async move {
            self.0
                .bus
                .publish(&BusMessage::FetchSockets { request })
                .await;
            tokio::time::sleep(GATHER_FOR).await;
            let sockets = self
                .0
                .gathering
                .lock()
                .expect("not poisoned")
                .remove(&request);
            let _ = s.emit("all_sockets", &(sockets.unwrap_or_default(),));
        });
    }

    /// Keeps who a Socket.IO socket belongs to, for the UI's list.
    pub fn authenticated<A: Adapter>(&self, s: &SocketRef<A>, user_id: Uuid, tenant_id: Uuid) {
        s.extensions.insert(SocketInfo {
            user_id: Some(user_id),
            tenant_id: Some(tenant_id),
            issued: chrono::Utc::now(),
        });
    }

    /// A socket connected on this node (any namespace): tells the UIs, and again
    /// when it goes.
    pub fn connected<A: Adapter>(&self, s: &SocketRef<A>) {
        if s.extensions.get::<SocketInfo>().is_none() {
            s.extensions.insert(SocketInfo {
                user_id: None,
                tenant_id: None,
                issued: chrono::Utc::now(),
            });
        }
        let admin = self.clone();
        s.on_disconnect(
            move |s: SocketRef<A>, reason: socketioxide::socket::DisconnectReason| {
                admin.notice(
                    "socket_disconnected",
                    vec![
                        json!(s.ns()),
                        json!(s.id.to_string()),
                        json!(reason.to_string()),
                        timestamp(chrono::Utc::now()),
                    ],
                );
                std::future::ready(())
            },
        );
        if self.watched() {
            let described = protocol::describe(s, &self.0.proxies);
            self.notice(
                "socket_connected",
                vec![described, timestamp(chrono::Utc::now())],
            );
        }
    }

    /// An event arrived from a socket of this node. Its name only: what users send
    /// each other is not shown on a dashboard.
    pub fn event_in<A: Adapter>(&self, s: &SocketRef<A>, event: &str) {
        if self.watched() {
            let args = vec![
                json!(s.ns()),
                json!(s.id.to_string()),
                json!([event]),
                timestamp(chrono::Utc::now()),
            ];
            self.notice("event_received", args);
        }
    }

    fn notice(&self, event: &str, args: Vec<Value>) {
        let admin = self.clone();
        let message = BusMessage::Notice {
            event: event.to_owned(),
            args,
        };
        self.0
            .tasks
            .spawn(async move { admin.0.bus.publish(&message).await });
    }

    fn watched(&self) -> bool {
        self.0.watched_until.load(Ordering::Relaxed) > chrono::Utc::now().timestamp_millis()
    }

    fn watch_now(&self) {
        let until = chrono::Utc::now().timestamp_millis() + WATCH_FOR.as_millis() as i64;
        self.0.watched_until.fetch_max(until, Ordering::Relaxed);
    }

    fn local_sockets(&self) -> Vec<(&'static str, Vec<SocketRef>)> {
        protocol::NAMESPACES
            .iter()
            .map(|ns| {
                (
                    *ns,
                    self.0.io.of(ns).map(|o| o.sockets()).unwrap_or_default(),
                )
            })
            .collect()
    }

    /// What every node's bus brings to this one.
    async fn listen(
        self,
        mut rx: tokio::sync::broadcast::Receiver<BusMessage>,
        cancel: tokio_util::sync::CancellationToken,
    ) {
        loop {
            let message = tokio::select! {
                m = rx.recv() => m,
                _ = cancel.cancelled() => return,
            };
            let message = match message {
                Ok(m) => m,
                Err(RecvError::Lagged(n)) => {
                    tracing::debug!(skipped = n, "admin ui bus lagged");
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            match message {
                BusMessage::Notice { event, args } => self.to_uis(&event, args),
                BusMessage::Command { command } => {
                    for notice in actions::apply(&self.0.io, &command) {
                        self.0.bus.publish(&notice).await;
                    }
                }
                BusMessage::FetchSockets { request } => {
                    let sockets = self
                        .local_sockets()
                        .iter()
                        .flat_map(|(_, s)| s.iter())
                        .map(|s| protocol::describe(s, &self.0.proxies))
                        .collect();
                    self.0
                        .bus
                        .publish(&BusMessage::Sockets { request, sockets })
                        .await;
                }
                BusMessage::Sockets { request, sockets } => {
                    if let Some(list) = self
                        .0
                        .gathering
                        .lock()
                        .expect("not poisoned")
                        .get_mut(&request)
                    {
                        list.extend(sockets);
                    }
                }
                BusMessage::Watching => self.watch_now(),
            }
        }
    }

    /// Emits an event to this node's UIs, its arguments spread as the UI expects.
    fn to_uis(&self, event: &str, args: Vec<Value>) {
        let Some(ns) = self.0.io.of(NAMESPACE) else {
            return;
        };
        // Spread, as the UI's handlers take them (a tuple is several arguments).
        let event = event.to_owned();
        self.0.tasks.spawn(async move {
            let mut args = args.into_iter();
            let mut next = || args.next().unwrap_or(Value::Null);
            let sent = match event.as_str() {
                "server_stats" | "socket_updated" => ns.emit(event.clone(), &(next(),)).await,
                "socket_connected" => ns.emit(event.clone(), &(next(), next())).await,
                _ => {
                    ns.emit(event.clone(), &(next(), next(), next(), next()))
                        .await
                }
            };
            if let Err(e) = sent {
                tracing::debug!(error = %e, event, "admin ui: emit failed");
            }
        });
    }

    /// Every `STATS_EVERY`: tells other nodes a UI is open here, and, while any is,
    /// sends this node's stats.
    async fn stats(self, cancel: tokio_util::sync::CancellationToken) {
        let mut before = crate::telemetry::metrics::socketio_totals();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(STATS_EVERY) => {}
                _ = cancel.cancelled() => return,
            }
            let now = crate::telemetry::metrics::socketio_totals();
            let namespaces = self.local_sockets();
            if namespaces
                .iter()
                .any(|(ns, s)| *ns == NAMESPACE && !s.is_empty())
            {
                self.0.bus.publish(&BusMessage::Watching).await;
            }
            if self.watched() {
                let stats = protocol::server_stats(&self.0.node, &namespaces, before, now);
                self.0
                    .bus
                    .publish(&BusMessage::Notice {
                        event: "server_stats".into(),
                        args: vec![stats],
                    })
                    .await;
            }
            before = now;
        }
    }
}

/// The UI's `join (nsp, room, filter?)`, `leave (nsp, room, filter?)` and
/// `_disconnect (nsp, close, filter?)`.
fn parse_command(event: &str, args: &[Value]) -> Option<Command> {
    let text = |i: usize| args.get(i).and_then(Value::as_str).map(str::to_owned);
    let nsp = text(0)?;
    match event {
        "join" => Some(Command::Join {
            nsp,
            room: text(1)?,
            filter: text(2),
        }),
        "leave" => Some(Command::Leave {
            nsp,
            room: text(1)?,
            filter: text(2),
        }),
        "_disconnect" => Some(Command::Disconnect {
            nsp,
            close: args.get(1).and_then(Value::as_bool).unwrap_or(false),
            filter: text(2),
        }),
        _ => None,
    }
}
