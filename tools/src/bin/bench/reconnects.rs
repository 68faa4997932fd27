//! The reconnect scenarios. `churn`: clients in group conversations are cut every
//! ~15 s (between 10 and 20), stay away ~2 s and come back with their `pid` and offset
//! while messages flow; per client it counts what it was owed (every message
//! acknowledged after it first connected), what it got, duplicates and gaps. `storm`:
//! every client is cut at the same moment and comes back at once; it times how long
//! until all are back and caught up.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{Value, json};
use switchboard_tools::client::SioClient;
use tokio::sync::Mutex;

use super::{Opts, Res, connect_spread, populate, post, round};

/// One client's account of the run.
#[derive(Default)]
struct Tally {
    /// When it first had a session (messages acknowledged after it are owed to it).
    first: Option<Instant>,
    /// (chat, seq) received, and how many arrived again.
    got: HashSet<(String, i64)>,
    duplicates: u64,
    reconnects: u64,
    recovered: u64,
    failed_connects: u64,
}

/// Connects with `auth` plus the resume fields of `prev` (its pid and last offset) and
/// waits for `session`: whether it was a recovery.
async fn join(o: &Opts, i: usize, token: &str, prev: Option<&SioClient>) -> Res<(SioClient, bool)> {
    let mut auth = json!({"token": token});
    if let Some(p) = prev {
        auth["pid"] = json!(p.pid);
        auth["offset"] = json!(p.last_offset);
    }
    let mut c = connect_spread(&o.url, i, auth).await?;
    let session = c
        .expect("session", Duration::from_secs(30))
        .await
        .map_err(|e| format!("no session event: {e}"))?;
    Ok((c, session["recovered"] == true))
}

/// Reads events until `until`, recording `response_message`s of the run's chats.
async fn listen(c: &mut SioClient, tally: &Mutex<Tally>, chats: &HashSet<String>, until: Instant) {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        let Ok((name, data)) = c.next_event(left).await else {
            return;
        };
        if name != "response_message" {
            continue;
        }
        let (Some(chat), Some(seq)) = (data["chat_id"].as_str(), data["seq"].as_i64()) else {
            continue;
        };
        if !chats.contains(chat) {
            continue;
        }
        let mut t = tally.lock().await;
        if !t.got.insert((chat.to_string(), seq)) {
            t.duplicates += 1;
        }
    }
}

pub async fn churn(o: &Opts) -> Res<Value> {
    let users = o.users.max(2);
    let pop = populate(&o.url, users).await?;
    // Groups of up to 20 users; every user is in one, the admin in all (it sends).
    let mut chats = Vec::new();
    for members in pop.ids[1..].chunks(20) {
        let c = post(
            &pop.http,
            &format!("{}/api/v1/chat/conversations", pop.url),
            Some(&pop.tokens[0]),
            json!({"type": "group", "title": "churn", "participant_ids": members}),
        )
        .await?;
        chats.push((
            c["id"].as_str().unwrap_or_default().to_string(),
            members.to_vec(),
        ));
    }
    let chat_ids: Arc<HashSet<String>> = Arc::new(chats.iter().map(|(c, _)| c.clone()).collect());
    let chat_of = |user: &str| {
        chats
            .iter()
            .find(|(_, m)| m.iter().any(|u| u == user))
            .map(|(c, _)| c.clone())
            .unwrap_or_default()
    };
    let end = Instant::now() + o.duration;
    let stop_sending = Arc::new(AtomicBool::new(false));

    // The clients: client i is a device of user 1 + i % users.
    let tallies: Vec<Arc<Mutex<Tally>>> = (0..o.clients).map(|_| Arc::default()).collect();
    let mut tasks = Vec::new();
    for (i, tally) in tallies.iter().enumerate() {
        let (opts, tally, chats) = (o.clone(), tally.clone(), chat_ids.clone());
        let token = pop.tokens[1 + i % users].clone();
        tasks.push(tokio::spawn(async move {
            let o = opts;
            let mut prev: Option<SioClient> = None;
            // Online, cut, away, back: until the run ends; a client whose last cut
            // falls before the end comes back once more to catch up.
            loop {
                let joined = join(&o, i, &token, prev.as_ref()).await;
                let (mut c, recovered) = match joined {
                    Ok(j) => j,
                    Err(_) => {
                        tally.lock().await.failed_connects += 1;
                        if Instant::now() >= end + Duration::from_secs(10) {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue;
                    }
                };
                {
                    let mut t = tally.lock().await;
                    if t.first.is_none() {
                        t.first = Some(Instant::now());
                    } else {
                        t.reconnects += 1;
                        t.recovered += u64::from(recovered);
                    }
                }
                let online = Duration::from_millis(rand::thread_rng().gen_range(10_000..20_000));
                let mut until = Instant::now() + online;
                if until >= end {
                    // The last stretch: stay until everything sent has arrived.
                    until = end + Duration::from_secs(3);
                }
                listen(&mut c, &tally, &chats, until).await;
                c.close();
                if Instant::now() >= end {
                    break;
                }
                prev = Some(c);
                let away = Duration::from_millis(rand::thread_rng().gen_range(1_500..2_500));
                tokio::time::sleep(away).await;
            }
        }));
        if i % 100 == 99 {
            eprint!("\rclients started: {}/{}", i + 1, o.clients);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    eprintln!();

    // The sender: `rate` messages a second over the groups, acknowledged over REST.
    let sent: Arc<Mutex<Vec<(String, i64, Instant)>>> = Arc::default();
    let in_flight = Arc::new(AtomicU64::new(0));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / o.rate.max(0.1)));
    let mut n = 0usize;
    let send_until = end - Duration::from_secs(3).min(o.duration / 2);
    while Instant::now() < send_until && !stop_sending.load(Ordering::Relaxed) {
        tick.tick().await;
        if in_flight.load(Ordering::Relaxed) > 64 {
            continue;
        }
        let (chat, _) = &chats[n % chats.len()];
        n += 1;
        let (http, url, token, chat, sent, in_flight) = (
            pop.http.clone(),
            pop.url.clone(),
            pop.tokens[0].clone(),
            chat.clone(),
            sent.clone(),
            in_flight.clone(),
        );
        in_flight.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let m = post(
                &http,
                &format!("{url}/api/v1/chat/messages/send"),
                Some(&token),
                json!({"conversation_id": chat, "content": format!("churn {n}")}),
            )
            .await;
            if let Ok(m) = m
                && let Some(seq) = m["seq"].as_i64()
            {
                sent.lock().await.push((chat, seq, Instant::now()));
            }
            in_flight.fetch_sub(1, Ordering::Relaxed);
        });
    }
    stop_sending.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }

    // Each client's due: what its user's group acknowledged after it first connected.
    let sent = sent.lock().await;
    let (mut due, mut got, mut gaps, mut dups) = (0u64, 0u64, 0u64, 0u64);
    let (mut reconnects, mut recovered, mut failed) = (0u64, 0u64, 0u64);
    let mut worst: Option<(usize, u64)> = None;
    for (i, tally) in tallies.iter().enumerate() {
        let t = tally.lock().await;
        let chat = chat_of(&pop.ids[1 + i % users]);
        let Some(first) = t.first else {
            failed += 1;
            continue;
        };
        let mut missing = 0;
        for (c, seq, at) in sent.iter() {
            if *c != chat || *at <= first {
                continue;
            }
            due += 1;
            if t.got.contains(&(c.clone(), *seq)) {
                got += 1;
            } else {
                missing += 1;
            }
        }
        gaps += missing;
        if missing > 0 && worst.is_none_or(|(_, w)| missing > w) {
            worst = Some((i, missing));
        }
        dups += t.duplicates;
        reconnects += t.reconnects;
        recovered += t.recovered;
        failed += t.failed_connects;
    }
    let delivered = if due == 0 {
        100.0
    } else {
        100.0 * got as f64 / due as f64
    };
    Ok(json!({
        "scenario": "churn",
        "clients": o.clients,
        "users": users,
        "seconds": o.duration.as_secs(),
        "messages_sent": sent.len(),
        "deliveries_due": due,
        "delivered_pct": (delivered * 1000.0).round() / 1000.0,
        "duplicates": dups,
        "gaps": gaps,
        "worst_client_gaps": worst.map(|(_, w)| w).unwrap_or(0),
        "reconnects": reconnects,
        "recovered": recovered,
        "failed_connects": failed,
    }))
}

pub async fn storm(o: &Opts) -> Res<Value> {
    let pop = populate(&o.url, o.users.max(1)).await?;
    let users = pop.tokens.len();
    // Everyone connects (a session each), then everyone drops at once.
    let mut clients = Vec::with_capacity(o.clients);
    let mut pending = Vec::new();
    for i in 0..o.clients {
        let (opts, token) = (o.clone(), pop.tokens[i % users].clone());
        pending.push(tokio::spawn(
            async move { join(&opts, i, &token, None).await },
        ));
        if pending.len() == 200 || i + 1 == o.clients {
            for p in pending.drain(..) {
                clients.push(p.await.map_err(|e| e.to_string())??.0);
            }
            eprint!("\rconnected {}/{}", clients.len(), o.clients);
        }
    }
    eprintln!();
    // Every client needs an offset to come back with: one message to everyone.
    let members: Vec<&String> = pop.ids[1..].iter().collect();
    if !members.is_empty() {
        let c = post(
            &pop.http,
            &format!("{}/api/v1/chat/conversations", pop.url),
            Some(&pop.tokens[0]),
            json!({"type": "group", "title": "storm", "participant_ids": members}),
        )
        .await?;
        post(
            &pop.http,
            &format!("{}/api/v1/chat/messages/send", pop.url),
            Some(&pop.tokens[0]),
            json!({"conversation_id": c["id"], "content": "before the storm"}),
        )
        .await?;
    }
    for c in clients.iter_mut() {
        let _ = c.expect("response_message", Duration::from_secs(30)).await;
    }
    for c in &clients {
        c.close();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    let back = Arc::new(AtomicU64::new(0));
    let recovered = Arc::new(AtomicU64::new(0));
    let mut waiting = Vec::with_capacity(clients.len());
    for (i, prev) in clients.into_iter().enumerate() {
        let (opts, token, back, recovered) = (
            o.clone(),
            pop.tokens[i % users].clone(),
            back.clone(),
            recovered.clone(),
        );
        waiting.push(tokio::spawn(async move {
            for _ in 0..20 {
                if let Ok((c, r)) = join(&opts, i, &token, Some(&prev)).await {
                    back.fetch_add(1, Ordering::Relaxed);
                    recovered.fetch_add(u64::from(r), Ordering::Relaxed);
                    return Some(c);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            None
        }));
    }
    let mut kept = Vec::new();
    for w in waiting {
        if let Ok(Some(c)) = w.await {
            kept.push(c);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(json!({
        "scenario": "storm",
        "clients": o.clients,
        "back": back.load(Ordering::Relaxed),
        "recovered": recovered.load(Ordering::Relaxed),
        "all_back_seconds": round(secs),
        "reconnects_per_sec": round(kept.len() as f64 / secs),
    }))
}
