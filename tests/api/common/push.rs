//! Stand-ins for the push services that cannot run here, each checking what the
//! server sends for real: a Web Push service that verifies the VAPID JWT (ES256,
//! `aud`, `exp`, `sub`) and decrypts the aes128gcm body with the browser's private
//! key (Mozilla's `ece`); an Expo endpoint that validates requests as Expo documents
//! them and answers tickets and receipts; an SMTP relay that keeps the mail.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A loopback listener and its base URL.
async fn listen() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    (listener, base)
}

fn serve(listener: tokio::net::TcpListener, router: Router) {
    tokio::spawn(async move { axum::serve(listener, router).await });
}

/// Polls `f` until it returns `Some`, for at most `within`.
pub async fn eventually<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if tokio::time::Instant::now() > end {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------- Web Push

/// A browser's subscription: what `PushSubscription.toJSON()` gives a page.
#[derive(Clone, Debug)]
pub struct Browser {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

impl Browser {
    pub fn subscription(&self) -> Value {
        json!({"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}})
    }
}

/// One push the service took (or refused), decrypted.
#[derive(Clone, Debug)]
pub struct WebPush {
    pub browser: String,
    /// What the service answered.
    pub status: u16,
    /// The decrypted notification JSON.
    pub json: Value,
    pub urgency: Option<String>,
    pub ttl: Option<u64>,
    /// When it arrived.
    pub at: std::time::Instant,
}

struct Keys {
    components: ece::EcKeyComponents,
    auth: [u8; 16],
}

#[derive(Default)]
struct WebState {
    browsers: HashMap<String, Keys>,
    /// Answers to give per browser, in order, then `default`.
    script: HashMap<String, VecDeque<(u16, Option<u64>)>>,
    default: Option<u16>,
    /// Per browser: how long to take before answering.
    delay: Option<Duration>,
    received: Vec<WebPush>,
    /// Anything wrong with a request (bad JWT, undecryptable body, …).
    errors: Vec<String>,
}

/// A push service on loopback.
#[derive(Clone)]
pub struct WebPushService {
    pub base: String,
    vapid_public: String,
    subject_prefixes: [&'static str; 2],
    state: Arc<Mutex<WebState>>,
}

impl WebPushService {
    /// A service that accepts pushes signed by this VAPID public key.
    pub async fn start(vapid_public: &str) -> Self {
        let (listener, base) = listen().await;
        let svc = Self {
            base,
            vapid_public: vapid_public.to_string(),
            subject_prefixes: ["mailto:", "https://"],
            state: Arc::default(),
        };
        let router = Router::new()
            .route("/push/{browser}", post(web_push))
            .with_state(svc.clone());
        serve(listener, router);
        svc
    }

    /// The URL prefix to allow (`WEB_PUSH_ALLOWED_ENDPOINTS`).
    pub fn prefix(&self) -> String {
        format!("{}/push/", self.base)
    }

    /// A new browser with its own key pair and auth secret.
    pub fn browser(&self) -> Browser {
        let (pair, auth) = ece::generate_keypair_and_auth_secret().unwrap();
        let name = uuid::Uuid::now_v7().simple().to_string();
        let browser = Browser {
            endpoint: format!("{}/push/{name}", self.base),
            p256dh: URL_SAFE_NO_PAD.encode(pair.pub_as_raw().unwrap()),
            auth: URL_SAFE_NO_PAD.encode(auth),
        };
        self.state.lock().unwrap().browsers.insert(
            name,
            Keys {
                components: pair.raw_components().unwrap(),
                auth,
            },
        );
        browser
    }

    /// The next answers for `browser` (status, Retry-After seconds).
    pub fn answer(&self, browser: &Browser, answers: &[(u16, Option<u64>)]) {
        let name = browser.endpoint.rsplit('/').next().unwrap().to_string();
        self.state
            .lock()
            .unwrap()
            .script
            .entry(name)
            .or_default()
            .extend(answers.iter().copied());
    }

    /// What every request is answered once the script is used up (default 201).
    pub fn answer_all(&self, status: u16) {
        self.state.lock().unwrap().default = Some(status);
    }

    /// Makes every answer wait this long.
    pub fn slow(&self, by: Duration) {
        self.state.lock().unwrap().delay = Some(by);
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<WebPush> {
        self.state.lock().unwrap().received.clone()
    }

    /// The pushes this browser took (answered 2xx).
    pub fn delivered_to(&self, browser: &Browser) -> Vec<Value> {
        self.received()
            .into_iter()
            .filter(|p| browser.endpoint.ends_with(&p.browser) && p.status < 300)
            .map(|p| p.json)
            .collect()
    }

    /// Waits until `browser` has taken `n` pushes; returns them.
    pub async fn wait_delivered(
        &self,
        browser: &Browser,
        n: usize,
        within: Duration,
    ) -> Vec<Value> {
        let got = eventually(within, || {
            let d = self.delivered_to(browser);
            (d.len() >= n).then_some(d)
        })
        .await;
        got.unwrap_or_else(|| {
            let seen: Vec<(String, u16)> = self
                .received()
                .into_iter()
                .map(|p| (p.browser, p.status))
                .collect();
            panic!(
                "{browser:?} took {:?}, expected {n}; every request: {seen:?}; errors: {:?}",
                self.delivered_to(browser),
                self.errors()
            )
        })
    }

    pub fn errors(&self) -> Vec<String> {
        self.state.lock().unwrap().errors.clone()
    }
}

/// Checks `Authorization: vapid t=<jwt>, k=<key>` as RFC 8292 says.
fn check_vapid(svc: &WebPushService, headers: &HeaderMap) -> Result<(), String> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or("no Authorization header")?;
    let rest = auth
        .strip_prefix("vapid ")
        .ok_or("not a vapid Authorization")?;
    let mut t = None;
    let mut k = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("t=") {
            t = Some(v);
        } else if let Some(v) = part.strip_prefix("k=") {
            k = Some(v);
        }
    }
    let (t, k) = (t.ok_or("no t=")?, k.ok_or("no k=")?);
    if k != svc.vapid_public {
        return Err(format!("k={k} is not the server's VAPID key"));
    }
    let point = URL_SAFE_NO_PAD.decode(k).map_err(|e| e.to_string())?;
    let key = jsonwebtoken::DecodingKey::from_ec_der(&point);
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[svc.base.as_str()]);
    validation.set_required_spec_claims(&["exp", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(t, &key, &validation)
        .map_err(|e| format!("VAPID JWT: {e}"))?
        .claims;
    let exp = claims["exp"].as_i64().ok_or("exp")?;
    let now = chrono::Utc::now().timestamp();
    if exp > now + 24 * 3600 {
        return Err("exp more than 24 hours ahead".into());
    }
    let sub = claims["sub"].as_str().ok_or("sub")?;
    if !svc.subject_prefixes.iter().any(|p| sub.starts_with(p)) {
        return Err(format!("sub {sub} is not mailto: or https:"));
    }
    Ok(())
}

async fn web_push(
    State(svc): State<WebPushService>,
    Path(browser): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let delay = svc.state.lock().unwrap().delay;
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let mut st = svc.state.lock().unwrap();
    let checked = (|| -> Result<Value, String> {
        check_vapid(&svc, &headers)?;
        let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
        if header("content-encoding") != Some("aes128gcm") {
            return Err("Content-Encoding is not aes128gcm".into());
        }
        header("ttl").ok_or("no TTL header")?;
        let keys = st.browsers.get(&browser).ok_or("unknown browser")?;
        let plain = ece::decrypt(&keys.components, &keys.auth, &body)
            .map_err(|e| format!("cannot decrypt: {e}"))?;
        serde_json::from_slice(&plain).map_err(|e| format!("not JSON: {e}"))
    })();
    let json = match checked {
        Ok(j) => j,
        Err(e) => {
            st.errors.push(e.clone());
            return (StatusCode::BAD_REQUEST, e).into_response();
        }
    };
    let (status, retry_after) = st
        .script
        .get_mut(&browser)
        .and_then(VecDeque::pop_front)
        .unwrap_or((st.default.unwrap_or(201), None));
    st.received.push(WebPush {
        browser,
        status,
        json,
        urgency: headers
            .get("urgency")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        ttl: headers
            .get("ttl")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()),
        at: std::time::Instant::now(),
    });
    let mut res = StatusCode::from_u16(status).unwrap().into_response();
    if let Some(secs) = retry_after {
        res.headers_mut()
            .insert("retry-after", secs.to_string().parse().unwrap());
    }
    res
}

// ---------------------------------------------------------------- Expo

/// What the fake Expo answers for a token.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ExpoAnswer {
    /// A ticket, and an ok receipt.
    Ok,
    /// An error ticket `DeviceNotRegistered`.
    NotRegisteredTicket,
    /// A ticket, then a `DeviceNotRegistered` receipt.
    NotRegisteredReceipt,
    /// The whole request answered 503 with `Retry-After: 2`, once; then `Ok`.
    BusyOnce,
}

#[derive(Default)]
struct ExpoState {
    answers: HashMap<String, ExpoAnswer>,
    /// Every message, as sent.
    messages: Vec<Value>,
    /// Ticket id → token.
    tickets: HashMap<String, String>,
    receipt_requests: Vec<Vec<String>>,
    errors: Vec<String>,
}

/// Expo's push API on loopback (`/--/api/v2/push/send` and `/getReceipts`).
#[derive(Clone)]
pub struct ExpoService {
    pub base: String,
    access_token: String,
    state: Arc<Mutex<ExpoState>>,
}

impl ExpoService {
    pub async fn start(access_token: &str) -> Self {
        let (listener, base) = listen().await;
        let svc = Self {
            base,
            access_token: access_token.to_string(),
            state: Arc::default(),
        };
        let router = Router::new()
            .route("/--/api/v2/push/send", post(expo_send))
            .route("/--/api/v2/push/getReceipts", post(expo_receipts))
            .with_state(svc.clone());
        serve(listener, router);
        svc
    }

    /// `EXPO_PUSH_URL`.
    pub fn send_url(&self) -> String {
        format!("{}/--/api/v2/push/send", self.base)
    }

    pub fn answer(&self, token: &str, answer: ExpoAnswer) {
        self.state
            .lock()
            .unwrap()
            .answers
            .insert(token.to_string(), answer);
    }

    pub fn messages(&self) -> Vec<Value> {
        self.state.lock().unwrap().messages.clone()
    }

    pub fn messages_to(&self, token: &str) -> Vec<Value> {
        self.messages()
            .into_iter()
            .filter(|m| m["to"] == token)
            .collect()
    }

    /// Ticket ids asked for, per receipts request.
    pub fn receipt_requests(&self) -> Vec<Vec<String>> {
        self.state.lock().unwrap().receipt_requests.clone()
    }

    pub fn errors(&self) -> Vec<String> {
        self.state.lock().unwrap().errors.clone()
    }
}

fn expo_token_ok(t: &str) -> bool {
    ["ExponentPushToken[", "ExpoPushToken["]
        .iter()
        .any(|p| t.starts_with(p) && t.ends_with(']') && t.len() > p.len() + 1)
}

/// Validates one message as Expo's docs describe it.
fn check_expo_message(m: &Value) -> Result<(), String> {
    let obj = m.as_object().ok_or("a message is not an object")?;
    let to = obj.get("to").and_then(Value::as_str).ok_or("no `to`")?;
    if !expo_token_ok(to) {
        return Err(format!("`to` {to} is not an Expo push token"));
    }
    for key in obj.keys() {
        let known = [
            "to",
            "title",
            "body",
            "data",
            "priority",
            "sound",
            "ttl",
            "expiration",
            "badge",
            "channelId",
            "categoryId",
            "subtitle",
            "mutableContent",
            "interruptionLevel",
            "richContent",
        ];
        if !known.contains(&key.as_str()) {
            return Err(format!("unknown field `{key}`"));
        }
    }
    if obj.get("title").and_then(Value::as_str).is_none() {
        return Err("`title` is not a string".into());
    }
    if let Some(b) = obj.get("body")
        && !b.is_string()
    {
        return Err("`body` is not a string".into());
    }
    if !obj.get("data").is_none_or(Value::is_object) {
        return Err("`data` is not an object".into());
    }
    if let Some(p) = obj.get("priority")
        && !["default", "normal", "high"].contains(&p.as_str().unwrap_or(""))
    {
        return Err(format!("priority {p} is not default|normal|high"));
    }
    if let Some(s) = obj.get("sound")
        && !(s.is_null() || s == "default")
    {
        return Err(format!("sound {s}"));
    }
    Ok(())
}

async fn expo_send(State(svc): State<ExpoService>, headers: HeaderMap, body: Bytes) -> Response {
    let mut st = svc.state.lock().unwrap();
    let checked = (|| -> Result<Vec<Value>, String> {
        let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
        if !header("content-type").is_some_and(|c| c.starts_with("application/json")) {
            return Err("Content-Type is not application/json".into());
        }
        if header("authorization") != Some(&format!("Bearer {}", svc.access_token)) {
            return Err("no Bearer access token".into());
        }
        let v: Value = serde_json::from_slice(&body).map_err(|e| format!("not JSON: {e}"))?;
        let messages = v.as_array().ok_or("the body is not an array")?.clone();
        if messages.is_empty() || messages.len() > 100 {
            return Err(format!("{} messages in one request", messages.len()));
        }
        for m in &messages {
            check_expo_message(m)?;
        }
        Ok(messages)
    })();
    let messages = match checked {
        Ok(m) => m,
        Err(e) => {
            st.errors.push(e.clone());
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"errors": [{"code": "VALIDATION_ERROR", "message": e}]})),
            )
                .into_response();
        }
    };
    let busy: Vec<String> = messages
        .iter()
        .filter_map(|m| m["to"].as_str())
        .filter(|to| st.answers.get(*to) == Some(&ExpoAnswer::BusyOnce))
        .map(str::to_string)
        .collect();
    if !busy.is_empty() {
        st.messages.extend(messages);
        for to in busy {
            st.answers.insert(to, ExpoAnswer::Ok);
        }
        return (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "2")]).into_response();
    }
    let mut data = Vec::new();
    for m in messages {
        let to = m["to"].as_str().unwrap().to_string();
        let answer = st.answers.get(&to).copied().unwrap_or(ExpoAnswer::Ok);
        st.messages.push(m);
        if answer == ExpoAnswer::NotRegisteredTicket {
            data.push(json!({"status": "error",
                "message": format!("\"{to}\" is not a registered push notification recipient"),
                "details": {"error": "DeviceNotRegistered", "expoPushToken": to}}));
        } else {
            let id = uuid::Uuid::new_v4().to_string();
            st.tickets.insert(id.clone(), to);
            data.push(json!({"status": "ok", "id": id}));
        }
    }
    axum::Json(json!({ "data": data })).into_response()
}

async fn expo_receipts(State(svc): State<ExpoService>, body: Bytes) -> Response {
    let mut st = svc.state.lock().unwrap();
    let ids: Vec<String> = match serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| serde_json::from_value(v["ids"].clone()).ok())
    {
        Some(ids) => ids,
        None => {
            st.errors
                .push("getReceipts body is not {ids: [...]}".into());
            return StatusCode::BAD_REQUEST.into_response();
        }
    };
    st.receipt_requests.push(ids.clone());
    let mut data = serde_json::Map::new();
    for id in ids {
        let Some(token) = st.tickets.get(&id) else {
            continue;
        };
        let receipt = match st.answers.get(token) {
            Some(ExpoAnswer::NotRegisteredReceipt) => json!({"status": "error",
                "message": "The recipient device is not registered with FCM.",
                "details": {"error": "DeviceNotRegistered"}}),
            _ => json!({"status": "ok"}),
        };
        data.insert(id, receipt);
    }
    axum::Json(json!({ "data": data })).into_response()
}

// ---------------------------------------------------------------- SMTP

/// One mail as the relay received it.
#[derive(Clone, Debug)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body, as sent.
    pub data: String,
}

/// An SMTP relay on loopback that keeps every mail (`smtp://127.0.0.1:port`).
#[derive(Clone)]
pub struct SmtpSink {
    pub url: String,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let kept = mails.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(smtp_session(sock, kept.clone()));
            }
        });
        Self { url, mails }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

async fn smtp_session(sock: tokio::net::TcpStream, mails: Arc<Mutex<Vec<Mail>>>) {
    let (read, mut write) = sock.into_split();
    let mut lines = BufReader::new(read).lines();
    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
    let (mut from, mut to) = (String::new(), Vec::new());
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-sink\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().to_string();
            to.clear();
            b"250 ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(line[8..].trim().to_string());
            b"250 ok\r\n"
        } else if upper == "DATA" {
            let _ = write.write_all(b"354 go on\r\n").await;
            let mut data = String::new();
            while let Ok(Some(l)) = lines.next_line().await {
                if l == "." {
                    break;
                }
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
                data.push('\n');
            }
            mails.lock().unwrap().push(Mail {
                from: from.clone(),
                to: to.clone(),
                data,
            });
            b"250 kept\r\n"
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 ok\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
