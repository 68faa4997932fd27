//! `bench`: a load tool that speaks Socket.IO v4 over WebSocket itself (the lean
//! `switchboard_tools::client`) and prints figures. Scenarios: `connect` (idle connections,
//! server memory per connection), `logins` (users created and logged in: the server memory
//! kept afterwards), `fanout` (one sender, many receivers in one
//! conversation: deliveries/s, latency, lost/duplicated), `persist` (concurrent
//! senders with acks: stored messages/s, ack latency), `outbox` (direct messages to
//! users who are not connected, each with a browser subscribed at a push sink the
//! tool serves: pushes/s through the server's outbox). It creates its own tenant and
//! users over REST. `churn` and `storm` (`reconnects.rs`): clients cut and coming back
//! with their offsets, one by one while messages flow or all at once. `--reference`
//! runs `fanout` against a bare Socket.IO server that needs no REST setup
//! (bench/reference-node, the `ceiling` binary).

mod reconnects;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use switchboard_tools::client::SioClient;
use switchboard_tools::push_sink::PushSink;
use tokio::sync::Mutex;

#[derive(Debug, Clone)]
struct Opts {
    scenario: String,
    url: String,
    connections: usize,
    clients: usize,
    messages: usize,
    rate: f64,
    senders: usize,
    duration: Duration,
    server_pid: Option<u32>,
    json: bool,
    reference: bool,
    users: usize,
    sink: String,
}

fn usage() -> ! {
    eprintln!(
        "usage: bench <connect|logins|fanout|persist|outbox|churn|storm> [--url http://127.0.0.1:3000] \
         [--connections N] [--clients M] [--messages K] [--rate R] [--senders C] \
         [--duration SECS] [--users U] [--sink 127.0.0.1:3901] [--server-pid PID] \
         [--reference] [--json]"
    );
    std::process::exit(2)
}

fn parse_opts() -> Opts {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_else(|| usage());
    let mut o = Opts {
        scenario,
        url: "http://127.0.0.1:3000".into(),
        connections: 1000,
        clients: 100,
        messages: 100,
        rate: 100.0,
        senders: 8,
        duration: Duration::from_secs(10),
        server_pid: None,
        json: false,
        reference: false,
        users: 20,
        sink: "127.0.0.1:3901".into(),
    };
    while let Some(flag) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--url" => o.url = val(),
            "--connections" => o.connections = val().parse().unwrap_or_else(|_| usage()),
            "--clients" => o.clients = val().parse().unwrap_or_else(|_| usage()),
            "--messages" => o.messages = val().parse().unwrap_or_else(|_| usage()),
            "--rate" => o.rate = val().parse().unwrap_or_else(|_| usage()),
            "--senders" => o.senders = val().parse().unwrap_or_else(|_| usage()),
            "--duration" => {
                o.duration = Duration::from_secs(val().parse().unwrap_or_else(|_| usage()))
            }
            "--server-pid" => o.server_pid = Some(val().parse().unwrap_or_else(|_| usage())),
            "--users" => o.users = val().parse().unwrap_or_else(|_| usage()),
            "--sink" => o.sink = val(),
            "--json" => o.json = true,
            "--reference" => o.reference = true,
            _ => usage(),
        }
    }
    o
}

#[tokio::main]
async fn main() {
    let o = parse_opts();
    let result = match o.scenario.as_str() {
        "connect" => connect(&o).await,
        "logins" => logins(&o).await,
        "fanout" => fanout(&o).await,
        "persist" => persist(&o).await,
        "outbox" => outbox(&o).await,
        "churn" => reconnects::churn(&o).await,
        "storm" => reconnects::storm(&o).await,
        _ => usage(),
    };
    match result {
        Ok(summary) => {
            if o.json {
                println!("{summary}");
            } else {
                println!("{}", human(&summary));
            }
        }
        Err(e) => {
            eprintln!("bench failed: {e}");
            std::process::exit(1);
        }
    }
}

type Res<T> = Result<T, String>;

fn human(v: &Value) -> String {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k:>24}: {v}"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// A tenant with an admin and `n` more users, all logged in: their access tokens.
struct Population {
    http: reqwest::Client,
    url: String,
    tokens: Vec<String>,
    ids: Vec<String>,
}

async fn post(http: &reqwest::Client, url: &str, token: Option<&str>, body: Value) -> Res<Value> {
    let mut req = http.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.map_err(|e| e.to_string())?;
    let status = res.status();
    let v: Value = res.json().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(v)
    } else {
        Err(format!("{url}: {status} {v}"))
    }
}

async fn populate(url: &str, users: usize) -> Res<Population> {
    let http = reqwest::Client::new();
    let run = format!(
        "{:x}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    );
    let admin = post(
        &http,
        &format!("{url}/api/v1/auth/signup"),
        None,
        json!({
        "email": format!("bench-{run}@bench.test"), "password": "bench password",
        "display_name": "bench admin", "tenant_name": format!("bench {run}")}),
    )
    .await?;
    let admin_token = admin["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut tokens = vec![admin_token.clone()];
    let mut ids = vec![admin["user"]["id"].as_str().unwrap_or_default().to_string()];
    for chunk in (0..users).collect::<Vec<_>>().chunks(8) {
        let mut tasks = Vec::new();
        for i in chunk {
            let (http, url, admin_token, run) = (
                http.clone(),
                url.to_string(),
                admin_token.clone(),
                run.clone(),
            );
            let i = *i;
            tasks.push(tokio::spawn(async move {
                let email = format!("u{i}-{run}@bench.test");
                let u = post(&http, &format!("{url}/api/v1/users"), Some(&admin_token),
                    json!({"email": email, "password": "bench password", "display_name": format!("user {i}")})).await?;
                let s = post(&http, &format!("{url}/api/v1/auth/login"), None,
                    json!({"email": email, "password": "bench password"})).await?;
                Ok::<_, String>((s["access_token"].as_str().unwrap_or_default().to_string(), u["id"].as_str().unwrap_or_default().to_string()))
            }));
        }
        for t in tasks {
            let (tok, id) = t.await.map_err(|e| e.to_string())??;
            tokens.push(tok);
            ids.push(id);
        }
        eprint!("\rcreating users: {}/{}", ids.len() - 1, users);
    }
    eprintln!();
    Ok(Population {
        http,
        url: url.to_string(),
        tokens,
        ids,
    })
}

/// CPU seconds (user + system) the process has used so far (`/proc/PID/stat`, whose
/// clock ticks are 1/100 s on Linux).
fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Connects through a socket bound to 127.0.0.(1 + i % 100), so tens of thousands of
/// connections do not run out of source ports.
async fn connect_spread(url: &str, i: usize, auth: Value) -> Res<SioClient> {
    let host = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default();
    let server: std::net::SocketAddr = host
        .parse()
        .map_err(|e| format!("--url needs ip:port ({e})"))?;
    let sock = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
    if server.ip().is_loopback() {
        let local = std::net::SocketAddr::from(([127, 0, 0, 1 + (i % 100) as u8], 0));
        sock.bind(local).map_err(|e| e.to_string())?;
    }
    let stream = sock.connect(server).await.map_err(|e| e.to_string())?;
    SioClient::connect_stream(stream, url, Some(auth))
        .await
        .map_err(|e| e.to_string())
}

fn percentiles(mut v: Vec<f64>) -> Value {
    if v.is_empty() {
        return json!(null);
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    json!({"p50_ms": round(p(0.5)), "p90_ms": round(p(0.9)), "p99_ms": round(p(0.99)), "max_ms": round(p(1.0))})
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn now_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros()
}

/// `logins`: creates `--users` users and logs each in (an argon2 hash and a verify
/// each), then reads how much of the memory that took the server kept.
async fn logins(o: &Opts) -> Res<Value> {
    let before = rss_kib(o.server_pid);
    let started = Instant::now();
    let pop = populate(&o.url, o.users).await?;
    let secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = rss_kib(o.server_pid);
    Ok(json!({
        "scenario": "logins",
        "users": pop.ids.len() - 1,
        "seconds": round(secs),
        "server_rss_before_kib": before,
        "server_rss_after_kib": after,
        "rss_kept_mib": match (before, after) {
            (Some(b), Some(a)) => json!(round(a.saturating_sub(b) as f64 / 1024.0)),
            _ => json!(null),
        },
    }))
}

async fn connect(o: &Opts) -> Res<Value> {
    let pop = populate(&o.url, 0).await?;
    let before = rss_kib(o.server_pid);
    let started = Instant::now();
    let done = Arc::new(AtomicU64::new(0));
    let mut sockets = Vec::with_capacity(o.connections);
    let mut pending = Vec::new();
    for i in 0..o.connections {
        let (url, token, counter) = (o.url.clone(), pop.tokens[0].clone(), done.clone());
        pending.push(tokio::spawn(async move {
            let c = connect_spread(&url, i, json!({"token": token})).await;
            counter.fetch_add(1, Ordering::Relaxed);
            c
        }));
        if pending.len() == 200 {
            for p in pending.drain(..) {
                sockets.push(p.await.map_err(|e| e.to_string())??);
            }
            eprint!(
                "\rconnected {}/{}",
                done.load(Ordering::Relaxed),
                o.connections
            );
        }
    }
    for p in pending {
        sockets.push(p.await.map_err(|e| e.to_string())??);
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "\rconnected {}/{} in {secs:.1}s",
        sockets.len(),
        o.connections
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(o.server_pid);
    let per_conn = match (before, after) {
        (Some(b), Some(a)) => json!(((a.saturating_sub(b)) * 1024) / o.connections.max(1) as u64),
        _ => json!(null),
    };
    Ok(json!({
        "scenario": "connect",
        "connections": sockets.len(),
        "seconds": round(secs),
        "connects_per_sec": round(sockets.len() as f64 / secs),
        "server_rss_before_kib": before,
        "server_rss_after_kib": after,
        "bytes_per_idle_connection": per_conn,
    }))
}

async fn fanout(o: &Opts) -> Res<Value> {
    // Receivers and a sender; against Switchboard, all in one group conversation.
    let (chat, tokens) = if o.reference {
        (json!(null), vec!["reference".to_string()])
    } else {
        let pop = populate(&o.url, o.users.max(1)).await?;
        let others: Vec<&String> = pop.ids[1..].iter().collect();
        let c = post(
            &pop.http,
            &format!("{}/api/v1/chat/conversations", pop.url),
            Some(&pop.tokens[0]),
            json!({"type": "group", "participant_ids": others, "title": "bench"}),
        )
        .await?;
        (c["id"].clone(), pop.tokens)
    };
    let k = o.messages;
    let delivered = Arc::new(AtomicU64::new(0));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut receivers = Vec::new();
    for i in 0..o.clients {
        // Receivers are users 1.. (round robin); the sender is user 0 on its own socket.
        let token = if tokens.len() > 1 {
            tokens[1 + i % (tokens.len() - 1)].clone()
        } else {
            tokens[0].clone()
        };
        let c = connect_spread(&o.url, i, json!({"token": token})).await?;
        receivers.push(tokio::spawn(receive(
            c,
            k,
            delivered.clone(),
            stop_rx.clone(),
        )));
        if i % 100 == 99 {
            eprint!("\rreceivers connected {}/{}", i + 1, o.clients);
        }
    }
    eprintln!("\rreceivers connected {}/{}", o.clients, o.clients);
    let sender = connect_spread(&o.url, o.clients, json!({"token": tokens[0]})).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let cpu_before = cpu_seconds(o.server_pid);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / o.rate.max(0.1)));
    for idx in 0..k {
        tick.tick().await;
        let text = format!("{idx}:{}", now_micros());
        sender
            .emit("create_message", &json!({"chat_id": chat, "message": text}))
            .map_err(|e| e.to_string())?;
        if idx % 50 == 0 {
            eprint!(
                "\rsent {idx}/{k}, delivered {}/{}",
                delivered.load(Ordering::Relaxed),
                k * o.clients
            );
        }
    }
    let expected = (k * o.clients) as u64;
    let deadline = Instant::now() + Duration::from_secs(30);
    while delivered.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        eprint!(
            "\rsent {k}/{k}, delivered {}/{}",
            delivered.load(Ordering::Relaxed),
            expected
        );
    }
    let secs = started.elapsed().as_secs_f64();
    let server_cpu = cpu_before
        .zip(cpu_seconds(o.server_pid))
        .map(|(a, b)| b - a);
    eprintln!();
    let _ = stop_tx.send(true);
    let (mut lost, mut dup) = (0u64, 0u64);
    let mut lat = Vec::with_capacity(k * o.clients);
    for r in receivers {
        let (counts, latencies) = r.await.map_err(|e| e.to_string())?;
        lat.extend(latencies);
        for n in counts {
            match n {
                0 => lost += 1,
                1 => {}
                n => dup += u64::from(n) - 1,
            }
        }
    }
    Ok(json!({
        "scenario": "fanout",
        "target": if o.reference { "reference" } else { "switchboard" },
        "receivers": o.clients,
        "messages": k,
        "rate_per_sec": o.rate,
        "deliveries": delivered.load(Ordering::Relaxed),
        "deliveries_per_sec": round(delivered.load(Ordering::Relaxed) as f64 / secs),
        "latency": percentiles(lat),
        // Server CPU used while messages were flowing (needs --server-pid): the
        // efficiency figure that still means something when load and server share cores.
        "server_cpu_seconds": server_cpu.map(round),
        "deliveries_per_server_cpu_second": server_cpu
            .filter(|c| *c > 0.0)
            .map(|c| round(delivered.load(Ordering::Relaxed) as f64 / c)),
        "lost": lost,
        "duplicated": dup,
    }))
}

/// One fanout receiver: counts each message index it gets and its send→deliver
/// latency, reading packets unparsed (a substring search, not a JSON decode, so the
/// tool spends little CPU per delivery). Returns when told to stop or disconnected.
async fn receive(
    mut c: SioClient,
    k: usize,
    delivered: Arc<AtomicU64>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> (Vec<u8>, Vec<f64>) {
    let (mut counts, mut lat) = (vec![0u8; k], Vec::with_capacity(k));
    loop {
        let packet = tokio::select! {
            p = c.next_raw() => match p { Some(p) => p, None => break },
            _ = stop.changed() => break,
        };
        let Some(text) = message_text(&packet) else {
            continue;
        };
        let Some((idx, sent)) = text.split_once(':') else {
            continue;
        };
        let (Ok(idx), Ok(sent)) = (idx.parse::<usize>(), sent.parse::<u128>()) else {
            continue;
        };
        lat.push((now_micros().saturating_sub(sent)) as f64 / 1000.0);
        if let Some(slot) = counts.get_mut(idx) {
            *slot = slot.saturating_add(1);
        }
        delivered.fetch_add(1, Ordering::Relaxed);
    }
    (counts, lat)
}

/// The `"message":"…"` string of a `response_message` packet, if it is one.
fn message_text(packet: &str) -> Option<&str> {
    let body = packet.strip_prefix("42[\"response_message\",")?;
    let start = body.find("\"message\":\"")? + "\"message\":\"".len();
    let len = body[start..].find('"')?;
    Some(&body[start..start + len])
}

async fn persist(o: &Opts) -> Res<Value> {
    let pop = populate(&o.url, o.senders).await?;
    let mut chats = Vec::new();
    for peer in &pop.ids[1..] {
        let c = post(
            &pop.http,
            &format!("{}/api/v1/chat/conversations", pop.url),
            Some(&pop.tokens[0]),
            json!({"type": "direct", "participant_ids": [peer]}),
        )
        .await?;
        chats.push(c["id"].clone());
    }
    let acked = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let stop = started + o.duration;
    let mut tasks = Vec::new();
    for (i, chat) in chats.into_iter().enumerate() {
        let c = connect_spread(&o.url, i, json!({"token": pop.tokens[0]})).await?;
        let (acked, failed, latencies) = (acked.clone(), failed.clone(), latencies.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut n = 0u64;
            while Instant::now() < stop {
                let t = Instant::now();
                let ack = c
                    .emit_with_ack(
                        "create_message",
                        &json!({"chat_id": chat, "message": format!("p{n}")}),
                        Duration::from_secs(10),
                    )
                    .await;
                n += 1;
                match ack {
                    Ok(v) if v["status"] == "ok" => {
                        mine.push(t.elapsed().as_secs_f64() * 1000.0);
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies.lock().await.extend(mine);
        }));
    }
    let progress = {
        let acked = acked.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                eprint!("\rstored {}", acked.load(Ordering::Relaxed));
            }
        })
    };
    for t in tasks {
        t.await.map_err(|e| e.to_string())?;
    }
    progress.abort();
    let secs = started.elapsed().as_secs_f64();
    eprintln!();
    let lat = std::mem::take(&mut *latencies.lock().await);
    Ok(json!({
        "scenario": "persist",
        "senders": o.senders,
        "seconds": round(secs),
        "messages_stored": acked.load(Ordering::Relaxed),
        "failed": failed.load(Ordering::Relaxed),
        "messages_per_sec": round(acked.load(Ordering::Relaxed) as f64 / secs),
        "ack_latency": percentiles(lat),
    }))
}

/// A valid P-256 point and a 16-byte secret for the sink's browsers: the server
/// encrypts for them; the sink does not decrypt.
const SINK_P256DH: &str =
    "BNwAdAnGgViWiVfera4cIAbzWtD08a94olYTVZErAX7JPMkztvt7z9u0x1lvvwVK2bPV31ePOGUjPGTQfbQ0oRY";
const SINK_AUTH: &str = "AAECAwQFBgcICQoLDA0ODw";

/// `--messages` direct messages from one user, round robin to `--users` others who
/// are not connected, each with a browser at the sink; `--senders` at a time over
/// REST. The server must allow the sink (`WEB_PUSH_ALLOWED_ENDPOINTS=http://<sink>/`),
/// have VAPID keys, and `PUSH_COLLAPSE_SECONDS=0` (else a burst is one push).
async fn outbox(o: &Opts) -> Res<Value> {
    let sink = PushSink::start(&o.sink)
        .await
        .map_err(|e| format!("push sink on {}: {e}", o.sink))?;
    let pop = populate(&o.url, o.users).await?;
    let mut chats = Vec::new();
    for (i, (token, id)) in pop.tokens.iter().zip(&pop.ids).enumerate().skip(1) {
        post(
            &pop.http,
            &format!("{}/api/v1/notifications/push-subscriptions", pop.url),
            Some(token),
            json!({"endpoint": format!("http://{}/push/{i}", o.sink),
                   "keys": {"p256dh": SINK_P256DH, "auth": SINK_AUTH}}),
        )
        .await?;
        let c = post(
            &pop.http,
            &format!("{}/api/v1/chat/conversations", pop.url),
            Some(&pop.tokens[0]),
            json!({"type": "direct", "participant_ids": [id]}),
        )
        .await?;
        chats.push(c["id"].as_str().unwrap_or_default().to_string());
    }
    let chats = Arc::new(chats);
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = cpu_seconds(o.server_pid);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..o.senders {
        let (http, url, token) = (pop.http.clone(), pop.url.clone(), pop.tokens[0].clone());
        let (chats, next, total) = (chats.clone(), next.clone(), o.messages);
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return Ok::<_, String>(());
                }
                post(
                    &http,
                    &format!("{url}/api/v1/chat/messages/send"),
                    Some(&token),
                    json!({"conversation_id": chats[n % chats.len()], "content": format!("o{n}")}),
                )
                .await?;
            }
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    let sent_in = started.elapsed();
    // Drained: every push arrived, or none arrived for 10 s.
    let mut quiet_since = Instant::now();
    let mut seen = sink.count();
    while sink.count() < o.messages && quiet_since.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        eprint!("\rsent {} pushed {}", o.messages, sink.count());
        if sink.count() != seen {
            seen = sink.count();
            quiet_since = Instant::now();
        }
    }
    eprintln!();
    let pushed = sink.count();
    let drained = sink
        .last()
        .map(|t| t.duration_since(started).as_secs_f64())
        .unwrap_or(f64::NAN);
    let cpu = match (cpu_before, cpu_seconds(o.server_pid)) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    Ok(json!({
        "scenario": "outbox",
        "recipients": chats.len(),
        "messages": o.messages,
        "pushes": pushed,
        "missing": o.messages.saturating_sub(pushed),
        "send_seconds": round(sent_in.as_secs_f64()),
        "drain_seconds": round(drained),
        "pushes_per_sec": round(pushed as f64 / drained),
        "server_cpu_seconds": cpu.map(round),
        "pushes_per_server_cpu_sec": cpu.map(|c| round(pushed as f64 / c)),
    }))
}
