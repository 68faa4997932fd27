//! Nothing missed across a reconnect: a client that comes back with the offset of the
//! last event it received gets what was published meanwhile, in order, once, and is
//! told it `recovered`; with an offset the log no longer reaches (trimmed, another
//! epoch) it is told it did not, so it fetches its state again. On Socket.IO (our Rust
//! client speaking socket.io-client's recovery: `pid` + `offset`), on `/api/v1/ws`
//! (`?since=`), on one node and across two nodes sharing Redis.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_tools::client::SioClient;

use crate::common::ws::{next_json, next_of, open, ticket};
use crate::common::{Session, TestServer, services};

const WAIT: Duration = Duration::from_secs(15);

/// Connects with `extra` merged into the handshake auth (`pid`, `offset`).
async fn connect(s: &TestServer, who: &Session, extra: Value) -> SioClient {
    let mut auth = json!({"token": who.access});
    if let (Some(a), Value::Object(e)) = (auth.as_object_mut(), extra) {
        a.extend(e);
    }
    SioClient::connect(&s.base, Some(auth), "").await.unwrap()
}

/// The texts of every `response_message` up to a barrier (so nothing is merely late).
async fn texts(c: &mut SioClient) -> Vec<String> {
    c.before_barrier("response_message", WAIT)
        .await
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Bob drops; Ann says three things; Bob comes back with his offset and gets exactly
/// those, in order, then live ones, each once; a bad offset is not recovered.
/// `redis`: the URL and key prefix of the nodes' shared log, which is then lost too.
async fn socketio_resumes(a: &TestServer, b: &TestServer, redis: Option<(&str, &str)>) {
    let ann = a.signup("ann@resume.test").await;
    let bob = a.add_member(&ann, "bob@resume.test").await;
    let conv = a.direct_chat(&ann, &bob).await;

    let mut first = connect(b, &bob, json!({})).await;
    let pid = first.pid.clone().expect("the CONNECT answer carries a pid");
    let session = first.expect("session", WAIT).await.unwrap();
    assert_eq!(session["recovered"], false, "{session}");
    a.say(&ann, &conv, "one").await;
    assert_eq!(texts(&mut first).await, ["one"]);
    let offset = first
        .last_offset
        .clone()
        .expect("events end with their offset");
    first.close();

    for text in ["two", "three", "four"] {
        a.say(&ann, &conv, text).await;
    }
    let mut back = connect(b, &bob, json!({"pid": pid, "offset": offset})).await;
    assert_eq!(
        back.pid.as_deref(),
        Some(pid.as_str()),
        "the same pid: recovered"
    );
    a.say(&ann, &conv, "five").await;
    let session = back.expect("session", WAIT).await.unwrap();
    assert_eq!(session["recovered"], true, "{session}");
    assert_eq!(texts(&mut back).await, ["two", "three", "four", "five"]);
    let later = back.last_offset.clone().unwrap();
    assert_ne!(later, offset);

    // An offset from another epoch is never trusted.
    let epoch_less = format!("other{}", &offset[offset.find(':').unwrap()..]);
    let mut stranger = connect(b, &bob, json!({"pid": pid, "offset": epoch_less})).await;
    assert_ne!(
        stranger.pid.as_deref(),
        Some(pid.as_str()),
        "not recovered: a new pid"
    );
    let session = stranger.expect("session", WAIT).await.unwrap();
    assert_eq!(session["recovered"], false, "{session}");
    assert!(texts(&mut stranger).await.is_empty(), "nothing replayed");

    // When the log is lost, an offset from before is not recovered either: what a
    // FLUSHALL does to this deployment's keys.
    let Some((url, prefix)) = redis else { return };
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(format!("{prefix}:stream"))
        .arg(format!("{prefix}:epoch"))
        .query_async(&mut conn)
        .await
        .unwrap();
    a.say(&ann, &conv, "six").await;
    let mut after_loss = connect(b, &bob, json!({"pid": pid, "offset": later})).await;
    let session = after_loss.expect("session", WAIT).await.unwrap();
    assert_eq!(session["recovered"], false, "{session}");
    assert_ne!(after_loss.pid.as_deref(), Some(pid.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socketio_client_recovers_what_it_missed_on_one_node() {
    let s = TestServer::start().await;
    socketio_resumes(&s, &s, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socketio_client_recovers_across_two_nodes_and_not_after_redis_loses_the_log() {
    let redis = services::redis_url();
    let prefix = format!("sbtest-{}", uuid::Uuid::now_v7().simple());
    let vars = [
        ("REDIS_URL", redis.as_str()),
        ("REDIS_PREFIX", prefix.as_str()),
    ];
    let a = TestServer::start_with(&vars).await;
    let b = TestServer::start_on(&a.database_url, &vars, None).await;
    socketio_resumes(&a, &b, Some((&redis, &prefix))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offset_the_trimmed_log_no_longer_reaches_is_not_recovered() {
    let s = TestServer::start_with(&[("HISTORY_SIZE", "5")]).await;
    let ann = s.signup("ann@trim.test").await;
    let bob = s.add_member(&ann, "bob@trim.test").await;
    let conv = s.direct_chat(&ann, &bob).await;
    let mut bob_sio = connect(&s, &bob, json!({})).await;
    s.say(&ann, &conv, "kept?").await;
    assert_eq!(texts(&mut bob_sio).await, ["kept?"]);
    let offset = bob_sio.last_offset.clone().unwrap();
    let pid = bob_sio.pid.clone().unwrap();
    bob_sio.close();
    for i in 0..10 {
        s.say(&ann, &conv, &format!("m{i}")).await;
    }
    let mut back = connect(&s, &bob, json!({"pid": pid, "offset": offset})).await;
    assert_ne!(back.pid.as_deref(), Some(pid.as_str()));
    let session = back.expect("session", WAIT).await.unwrap();
    assert_eq!(
        session["recovered"], false,
        "never a partial recovery: {session}"
    );
    assert!(texts(&mut back).await.is_empty());
}

/// `/api/v1/ws?since=`: the `connected` frame says `recovered`, the missed events
/// follow with their offsets, then live ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_resumes_after_since() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@since.test").await;
    let bob = s.add_member(&ann, "bob@since.test").await;
    let conv = s.direct_chat(&ann, &bob).await;

    let t = ticket(&s, &bob).await;
    let mut ws = open(&s, &format!("/api/v1/ws?ticket={t}")).await;
    let hello = next_json(&mut ws).await;
    assert_eq!(
        (hello["type"].as_str(), &hello["payload"]["recovered"]),
        (Some("connected"), &json!(false))
    );
    s.say(&ann, &conv, "one").await;
    let one = next_of(&mut ws, "new_message").await;
    let offset = one["offset"]
        .as_str()
        .expect("frames carry their offset")
        .to_string();
    drop(ws);

    s.say(&ann, &conv, "two").await;
    s.say(&ann, &conv, "three").await;
    let t = ticket(&s, &bob).await;
    let mut ws = open(&s, &format!("/api/v1/ws?ticket={t}&since={offset}")).await;
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["payload"]["recovered"], true, "{hello}");
    assert_eq!(
        next_of(&mut ws, "new_message").await["payload"]["content"],
        "two"
    );
    assert_eq!(
        next_of(&mut ws, "new_message").await["payload"]["content"],
        "three"
    );
    s.say(&ann, &conv, "four").await;
    let four = next_of(&mut ws, "new_message").await;
    assert_eq!(four["payload"]["content"], "four");

    let t = ticket(&s, &bob).await;
    let mut ws = open(&s, &format!("/api/v1/ws?ticket={t}&since=elsewhere:0-1")).await;
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["payload"]["recovered"], false, "{hello}");
}

/// `/ws` clients cannot resume: they are told to refresh (`UPDATE_STATUS`) as soon as
/// they connect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_clients_are_told_to_refresh_on_connect() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@legacy.test").await;
    let mut ws = open(&s, &format!("/ws?token={}", ann.access)).await;
    let greeting = next_json(&mut ws).await;
    assert_eq!(greeting, json!("Websocket Connection Established"));
    let refresh = next_json(&mut ws).await;
    assert_eq!(refresh["message_type"], "UPDATE_STATUS", "{refresh}");
}

/// Bob is away while more goes by than the log keeps, by size (`HISTORY_SIZE`) or by
/// age (`HISTORY_TTL_SECONDS`, when `ttl` is set): he comes back `recovered: false`
/// with nothing replayed, on Socket.IO and on `/api/v1/ws?since=`; never a part of
/// what he missed presented as all of it.
async fn away_past_the_log(s: &TestServer, sent: usize, ttl: Option<Duration>) {
    let ann = s.signup("ann@away.test").await;
    let bob = s.add_member(&ann, "bob@away.test").await;
    let conv = s.direct_chat(&ann, &bob).await;
    let mut first = connect(s, &bob, json!({})).await;
    s.say(&ann, &conv, "seen").await;
    assert_eq!(texts(&mut first).await, ["seen"]);
    let offset = first.last_offset.clone().unwrap();
    let pid = first.pid.clone().unwrap();
    first.close();
    for i in 0..sent {
        s.say(&ann, &conv, &format!("m{i}")).await;
    }
    if let Some(ttl) = ttl {
        // Older than the log keeps; the next append trims them.
        tokio::time::sleep(ttl + Duration::from_millis(1200)).await;
        s.say(&ann, &conv, "late").await;
    }

    let mut back = connect(s, &bob, json!({"pid": pid, "offset": offset})).await;
    let session = back.expect("session", WAIT).await.unwrap();
    assert_eq!(session["recovered"], false, "never partial: {session}");
    assert_ne!(back.pid.as_deref(), Some(pid.as_str()), "a new pid");
    assert!(texts(&mut back).await.is_empty(), "nothing replayed");

    let t = ticket(s, &bob).await;
    let mut ws = open(s, &format!("/api/v1/ws?ticket={t}&since={offset}")).await;
    let hello = next_json(&mut ws).await;
    assert_eq!(
        hello["payload"]["recovered"], false,
        "never partial: {hello}"
    );
    use futures::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        r#"{"type":"ping"}"#,
    ))
    .await
    .unwrap();
    loop {
        let frame = next_json(&mut ws).await;
        assert_ne!(frame["type"], "new_message", "nothing replayed: {frame}");
        if frame["type"] == "pong" {
            break;
        }
    }
}

/// Redis's own vars for one node whose log is trimmed early.
fn redis_log(extra: (&'static str, &'static str)) -> Vec<(String, String)> {
    vec![
        ("REDIS_URL".into(), services::redis_url()),
        (
            "REDIS_PREFIX".into(),
            format!("sbtest-{}", uuid::Uuid::now_v7().simple()),
        ),
        (extra.0.into(), extra.1.into()),
    ]
}

async fn start_owned(vars: &[(String, String)]) -> TestServer {
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    TestServer::start_with(&vars).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn away_past_the_size_of_the_in_process_log_is_not_recovered() {
    let s = TestServer::start_with(&[("HISTORY_SIZE", "20")]).await;
    away_past_the_log(&s, 60, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn away_past_the_age_of_the_in_process_log_is_not_recovered() {
    let s = TestServer::start_with(&[("HISTORY_TTL_SECONDS", "1")]).await;
    away_past_the_log(&s, 3, Some(Duration::from_secs(1))).await;
}

/// Redis trims in whole stream nodes and, on Redis 7.0, does not move
/// `max-deleted-entry-id` when it does: this once came back `recovered: true` with a
/// third of what was missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn away_past_the_size_of_the_redis_log_is_not_recovered() {
    let s = start_owned(&redis_log(("HISTORY_SIZE", "20"))).await;
    away_past_the_log(&s, 150, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn away_past_the_age_of_the_redis_log_is_not_recovered() {
    let s = start_owned(&redis_log(("HISTORY_TTL_SECONDS", "1"))).await;
    away_past_the_log(&s, 40, Some(Duration::from_secs(1))).await;
}

/// An entry of the Redis log this node cannot read (written by a newer node whose view
/// has a field this one does not know, or damaged) is a gap: a client whose replay
/// would pass over it is told it did not recover, never handed the rest as all of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_the_log_cannot_read_is_not_recovered_over() {
    let vars = redis_log(("HISTORY_SIZE", "1000"));
    let prefix = vars[1].1.clone();
    let s = start_owned(&vars).await;
    let ann = s.signup("ann@gap.test").await;
    let bob = s.add_member(&ann, "bob@gap.test").await;
    let conv = s.direct_chat(&ann, &bob).await;
    let t = ticket(&s, &bob).await;
    let mut ws = open(&s, &format!("/api/v1/ws?ticket={t}")).await;
    assert_eq!(next_json(&mut ws).await["type"], "connected");
    s.say(&ann, &conv, "seen").await;
    let seen = next_of(&mut ws, "new_message").await;
    let offset = seen["offset"].as_str().expect("an offset").to_string();
    drop(ws);

    // An event for bob the node cannot read back, then one it can.
    let client = redis::Client::open(services::redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let epoch: String = redis::cmd("GET")
        .arg(format!("{prefix}:epoch"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let unreadable = json!({
        "event": {"type": "new_message", "event_id": uuid::Uuid::now_v7(),
                  "timestamp": "2026-12-07T00:00:00Z", "payload": {"content": "from the future"}},
        "audience": {"users": [bob.user_id], "conversation": null, "except_users": []},
    });
    let _: String = redis::cmd("XADD")
        .arg(format!("{prefix}:stream"))
        .arg("*")
        .arg("epoch")
        .arg(&epoch)
        .arg("e")
        .arg(unreadable.to_string())
        .arg("origin")
        .arg("another-node")
        .arg("local")
        .arg("0")
        .query_async(&mut conn)
        .await
        .unwrap();
    s.say(&ann, &conv, "after").await;

    let t = ticket(&s, &bob).await;
    let mut ws = open(&s, &format!("/api/v1/ws?ticket={t}&since={offset}")).await;
    let hello = next_json(&mut ws).await;
    assert_eq!(
        hello["payload"]["recovered"], false,
        "a gap is not a recovery: {hello}"
    );
}
