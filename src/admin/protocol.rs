//! What the Socket.IO Admin UI (`@socket.io/admin-ui` 0.5) reads, in its own shapes:
//! the features offered, a socket's description, a node's `server_stats`.

use serde_json::{Map, Value, json};
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;

use crate::config::RateLimitConfig;
use crate::telemetry::metrics::SocketIoTotals;

/// The namespaces a node lists: the chat dialect and the Admin UI's own.
pub const NAMESPACES: [&str; 2] = ["/", super::NAMESPACE];

/// Offered to the UI. `EMIT` is not: events reach users only through the event log,
/// where they get offsets and can be replayed, never from a dashboard. Join and leave
/// work on operator rooms only (see `actions.rs`).
pub const FEATURES: [&str; 8] = [
    "JOIN",
    "LEAVE",
    "DISCONNECT",
    "MJOIN",
    "MLEAVE",
    "MDISCONNECT",
    "AGGREGATED_EVENTS",
    "ALL_EVENTS",
];

/// Headers and query parameters that carry credentials; shown as `[redacted]`.
const SECRET_HEADERS: [&str; 4] = ["authorization", "cookie", "x-api-key", "sec-websocket-key"];
const SECRET_PARAMS: [&str; 6] = ["token", "ticket", "access_token", "auth", "api_key", "sid"];
const REDACTED: &str = "[redacted]";

/// A request's query with every credential replaced by `[redacted]` (names compared
/// without case), as pairs and as the query string the UI shows in `url`.
fn redacted_query(query: &str) -> (Map<String, Value>, String) {
    let mut pairs = Map::new();
    let mut text = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let secret = SECRET_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(&k));
        let shown = if secret { REDACTED } else { v.as_ref() };
        text.append_pair(&k, shown);
        pairs.insert(k.into_owned(), Value::String(shown.to_owned()));
    }
    (pairs, text.finish())
}

/// Who a socket belongs to, kept on it when the Admin UI is on.
#[derive(Clone, Debug)]
pub struct SocketInfo {
    pub user_id: Option<uuid::Uuid>,
    pub tenant_id: Option<uuid::Uuid>,
    pub issued: chrono::DateTime<chrono::Utc>,
}

/// This node as the UI names it.
pub struct Node {
    pub server_id: String,
    pub hostname: String,
    pub pid: u32,
    pub started: std::time::Instant,
}

impl Node {
    pub fn this_process() -> Self {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "switchboard".into());
        let pid = std::process::id();
        // Several servers may share a process (the tests): each gets its own id.
        let server_id = format!("{hostname}#{pid}#{:04x}", rand::random::<u16>());
        Self {
            server_id,
            hostname,
            pid,
            started: std::time::Instant::now(),
        }
    }
}

/// A JavaScript `Date` as JSON.
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> Value {
    Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

pub fn transport<A: Adapter>(s: &SocketRef<A>) -> &'static str {
    match s.transport_type() {
        socketioxide::TransportType::Polling => "polling",
        socketioxide::TransportType::Websocket => "websocket",
    }
}

/// A socket as the UI lists it (Node's `serialize`), credentials left out.
pub fn describe<A: Adapter>(s: &SocketRef<A>, proxies: &RateLimitConfig) -> Value {
    let parts = s.req_parts();
    let mut headers = Map::new();
    for (name, value) in &parts.headers {
        let shown = if SECRET_HEADERS.contains(&name.as_str()) {
            REDACTED.to_owned()
        } else {
            String::from_utf8_lossy(value.as_bytes()).into_owned()
        };
        headers.insert(name.as_str().to_owned(), Value::String(shown));
    }
    let (query, query_text) = redacted_query(parts.uri.query().unwrap_or(""));
    let url = match query_text.is_empty() {
        true => parts.uri.path().to_owned(),
        false => format!("{}?{query_text}", parts.uri.path()),
    };
    let address = proxies.client_ip_of(s.req_parts()).map(|ip| ip.to_string());
    let info = s.extensions.get::<SocketInfo>();
    let issued = info.as_ref().map_or_else(chrono::Utc::now, |i| i.issued);
    let mut data = Map::new();
    if let Some(info) = &info {
        data.insert("userId".into(), json!(info.user_id));
        data.insert("tenantId".into(), json!(info.tenant_id));
    }
    let id = s.id.to_string();
    json!({
        "id": id,
        "clientId": id.chars().take(12).collect::<String>(),
        "transport": transport(s),
        "nsp": s.ns(),
        "data": data,
        "handshake": {
            "address": address,
            "headers": headers,
            "query": query,
            "issued": issued.timestamp_millis(),
            "secure": parts.headers.get("x-forwarded-proto").is_some_and(|v| v == "https"),
            "time": issued.to_rfc2822(),
            "url": url,
            "xdomain": parts.headers.contains_key("origin"),
        },
        "rooms": s.rooms().into_iter().map(|r| r.to_string()).collect::<Vec<_>>(),
    })
}

/// `server_stats`: this node, its namespaces, and what happened since `before`.
pub fn server_stats(
    node: &Node,
    namespaces: &[(&str, Vec<SocketRef>)],
    before: SocketIoTotals,
    now: SocketIoTotals,
) -> Value {
    let at = chrono::Utc::now().timestamp() * 1000;
    let mut events = Vec::new();
    let mut add = |kind: &str, count: u64| {
        if count > 0 {
            events.push(json!({"timestamp": at, "type": kind, "count": count}));
        }
    };
    add("rawConnection", now.opened - before.opened);
    add("rawDisconnection", now.closed - before.closed);
    add("packetsIn", now.events_in - before.events_in);
    add("packetsOut", now.deliveries - before.deliveries);
    let clients: usize = namespaces.iter().map(|(_, s)| s.len()).sum();
    let polling = namespaces
        .iter()
        .flat_map(|(_, s)| s.iter())
        .filter(|s| transport(s) == "polling")
        .count();
    json!({
        "serverId": node.server_id,
        "hostname": node.hostname,
        "pid": node.pid,
        "uptime": node.started.elapsed().as_secs_f64(),
        "clientsCount": clients,
        "pollingClientsCount": polling,
        "aggregatedEvents": events,
        "namespaces": namespaces
            .iter()
            .map(|(name, sockets)| json!({"name": name, "socketsCount": sockets.len()}))
            .collect::<Vec<_>>(),
    })
}
