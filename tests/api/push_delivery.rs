//! Push delivery over the wire: a user who is not connected gets a Web Push the
//! browser can decrypt (VAPID checked), a valid Expo request and a mail, once; bursts
//! collapse; throttling, failing and forgotten browsers and phones; the outbox
//! survives a killed process, and two nodes send each push once.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::process::Child;
use crate::common::push::{Browser, ExpoAnswer, ExpoService, SmtpSink, WebPushService, eventually};
use crate::common::{Session, TestServer};
use crate::notifications::{VAPID, send};

const WAIT: Duration = Duration::from_secs(30);

pub(crate) fn vapid_public() -> &'static str {
    VAPID[0].1
}

/// The VAPID pair, pushes allowed to `web`, and a quick worker.
pub(crate) fn web_vars(web: &WebPushService) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = VAPID
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    vars.extend([
        ("WEB_PUSH_ALLOWED_ENDPOINTS".into(), web.prefix()),
        ("VAPID_SUBJECT".into(), "mailto:ops@acme.test".into()),
        ("PUSH_POLL_MS".into(), "100".into()),
        ("PUSH_RETRY_BASE_MS".into(), "200".into()),
    ]);
    vars
}

pub(crate) async fn start(vars: &[(String, String)], extra: &[(&str, &str)]) -> TestServer {
    let mut all: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    all.extend_from_slice(extra);
    TestServer::start_with(&all).await
}

pub(crate) async fn subscribe(s: &TestServer, who: &Session, sub: Value) {
    let (st, body) = s
        .post(
            "/api/v1/notifications/push-subscriptions",
            Some(&who.access),
            sub,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
}

/// A push service, a server sending to it, ann, and bob (not connected) with one
/// subscribed browser and a direct chat from ann.
struct Scene {
    web: WebPushService,
    s: TestServer,
    ann: Session,
    bob: Session,
    browser: Browser,
    dm: String,
}

async fn scene(extra: &[(&str, &str)]) -> Scene {
    let web = WebPushService::start(vapid_public()).await;
    let s = start(&web_vars(&web), extra).await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let browser = web.browser();
    subscribe(&s, &bob, browser.subscription()).await;
    let dm = s.direct_chat(&ann, &bob).await;
    Scene {
        web,
        s,
        ann,
        bob,
        browser,
        dm,
    }
}

/// What the outbox holds for `who`: (channel, the push's body) of every row, sorted.
/// A notification's rows are written in its own transaction, so once the request that
/// made it has answered this is exact: no waiting to see that nothing was queued.
async fn queued_for(s: &TestServer, who: &Session) -> Vec<(String, String)> {
    use entity::push_outbox as outbox;
    use sea_orm::{ColumnTrait, Database, EntityTrait, QueryFilter};
    let db = Database::connect(s.database_url.as_str()).await.unwrap();
    let user = uuid::Uuid::parse_str(&who.user_id).unwrap();
    let mut rows: Vec<(String, String)> = outbox::Entity::find()
        .filter(outbox::Column::UserId.eq(user))
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.channel,
                r.payload["body"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    db.close().await.ok();
    rows.sort();
    rows
}

fn web_push_rows(bodies: &[&str]) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = bodies
        .iter()
        .map(|b| ("web_push".to_string(), b.to_string()))
        .collect();
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_user_gets_one_decryptable_web_push_and_a_muted_chat_sends_none() {
    // Merging off: a push that should not exist cannot hide in the next one's row.
    let Scene {
        web,
        s,
        ann,
        bob,
        browser: laptop,
        dm,
    } = scene(&[("PUSH_COLLAPSE_SECONDS", "0")]).await;

    let m = s.say(&ann, &dm, "lunch at noon?").await;
    let got = web.wait_delivered(&laptop, 1, WAIT).await;
    let push = &got[0];
    assert_eq!(push["title"], "New message from ann");
    assert_eq!(push["body"], "lunch at noon?");
    assert_eq!(push["type"], "message");
    assert_eq!(push["data"]["conversation_id"], dm.as_str());
    assert_eq!(push["data"]["message_id"], m["id"]);
    let (_, inbox) = s.get("/api/v1/notifications", &bob.access).await;
    assert_eq!(
        inbox[0]["id"], push["notification_id"],
        "the push is the inbox item"
    );
    let first = &web.received()[0];
    assert_eq!(first.urgency.as_deref(), Some("normal"));
    assert_eq!(first.ttl, Some(86_400));
    assert!(web.errors().is_empty(), "{:?}", web.errors());

    // Muted: the inbox still fills, but nothing is pushed. Unmuted again, the next
    // message is the only further push.
    let mute = format!("/api/v1/chat/conversations/{dm}/mute");
    let (st, body) = s.post(&mute, Some(&bob.access), json!({})).await;
    assert!(st.is_success(), "{body}");
    s.say(&ann, &dm, "muted one").await;
    let (st, body) = s.call(Method::DELETE, &mute, Some(&bob.access), None).await;
    assert!(st.is_success(), "{body}");
    s.say(&ann, &dm, "after unmute").await;
    let got = web.wait_delivered(&laptop, 2, WAIT).await;
    assert_eq!(got[1]["body"], "after unmute", "{got:?}");
    assert_eq!(got[1]["collapsed"], 0, "{got:?}");
    let (_, inbox) = s.get("/api/v1/notifications", &bob.access).await;
    assert_eq!(
        inbox.as_array().unwrap().len(),
        3,
        "muting silences push, not the inbox"
    );
    assert_eq!(
        queued_for(&s, &bob).await,
        web_push_rows(&["lunch at noon?", "after unmute"]),
        "the muted message was queued for push"
    );

    // 000's push switch off, then only the message category's web_push switch off:
    // nothing is pushed. Both on again: the next message is.
    let prefs = "/api/v1/notifications/preferences";
    for patch in [
        json!({"push_enabled": false}),
        json!({"push_enabled": true, "categories": {"message": {"web_push": false}}}),
    ] {
        let (st, p) = s.patch(prefs, &bob.access, patch).await;
        assert_eq!(st, StatusCode::OK, "{p}");
        s.say(&ann, &dm, "not pushed").await;
    }
    let on = json!({"categories": {"message": {"web_push": true}}});
    assert_eq!(s.patch(prefs, &bob.access, on).await.0, StatusCode::OK);
    s.say(&ann, &dm, "pushed again").await;
    let got = web.wait_delivered(&laptop, 3, WAIT).await;
    assert_eq!(
        got[2]["body"], "pushed again",
        "switched-off pushes went out: {got:?}"
    );
    assert_eq!(
        queued_for(&s, &bob).await,
        web_push_rows(&["lunch at noon?", "after unmute", "pushed again"]),
        "a push switched off was queued"
    );
    let bodies: Vec<&Value> = got.iter().map(|p| &p["body"]).collect();
    assert_eq!(
        bodies,
        [
            &json!("lunch at noon?"),
            &json!("after unmute"),
            &json!("pushed again")
        ]
    );

    // A mention in a group is pushed too (someone connected gets mentions pushed as
    // well: they may be on another device).
    let (_, g) = s
        .post(
            "/api/v1/chat/conversations",
            Some(&ann.access),
            json!({"type": "group", "participant_ids": [bob.user_id], "title": "ops"}),
        )
        .await;
    let gid = g["id"].as_str().unwrap();
    send(
        &s,
        &ann,
        gid,
        json!({"content": "@bob please check", "mention_user_ids": [bob.user_id]}),
    )
    .await;
    let got = web.wait_delivered(&laptop, 4, WAIT).await;
    assert_eq!(got[3]["type"], "mention");
    assert_eq!(got[3]["title"], "ann mentioned you");
    assert_eq!(got[3]["data"]["conversation_id"], gid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_in_one_conversation_is_one_push_per_window() {
    let Scene {
        web,
        s,
        ann,
        browser: phone,
        dm,
        ..
    } = scene(&[("PUSH_COLLAPSE_SECONDS", "3")]).await;

    let began = Instant::now();
    for i in 1..=10 {
        s.say(&ann, &dm, &format!("m{i}")).await;
    }
    let windows = began.elapsed().as_secs() / 3 + 1;
    let got = eventually(WAIT, || {
        let d = web.delivered_to(&phone);
        d.last().is_some_and(|p| p["body"] == "m10").then_some(d)
    })
    .await
    .unwrap_or_else(|| panic!("m10 never pushed: {:?}", web.received()));
    assert!(
        got.len() as u64 <= windows + 1,
        "{} pushes for 10 messages in {windows} window(s)",
        got.len()
    );
    let covered: i64 = got
        .iter()
        .map(|p| 1 + p["collapsed"].as_i64().unwrap())
        .sum();
    assert_eq!(covered, 10, "every message is in exactly one push: {got:?}");
    assert_eq!(got[0]["body"], "m1", "the first is not held back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_failing_and_forgotten_browsers() {
    let Scene {
        web,
        s,
        ann,
        bob,
        browser: throttled,
        dm,
    } = scene(&[("PUSH_MAX_ATTEMPTS", "3")]).await;
    let forgotten = web.browser();
    let broken = web.browser();
    web.answer(&throttled, &[(429, Some(1))]);
    web.answer(&forgotten, &[(410, None)]);
    web.answer(&broken, &[(500, None); 20]);
    for b in [&forgotten, &broken] {
        subscribe(&s, &bob, b.subscription()).await;
    }
    s.say(&ann, &dm, "hello").await;

    // 429 with Retry-After: 1 → tried again no sooner, then taken once.
    web.wait_delivered(&throttled, 1, WAIT).await;
    let tries: Vec<_> = web
        .received()
        .into_iter()
        .filter(|p| throttled.endpoint.ends_with(&p.browser))
        .collect();
    assert_eq!(
        tries.iter().map(|p| p.status).collect::<Vec<_>>(),
        [429, 201]
    );
    assert!(tries[1].at - tries[0].at >= Duration::from_millis(950));
    // 500s: retried with backoff until the attempts run out, then left alone.
    let count = |b: &Browser| {
        web.received()
            .iter()
            .filter(|p| b.endpoint.ends_with(&p.browser))
            .count()
    };
    eventually(WAIT, || (count(&broken) >= 3).then_some(()))
        .await
        .expect("three attempts");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(count(&broken), 3, "attempts are bounded");
    assert_eq!(count(&forgotten), 1, "410 is not retried");

    // push/test: the 410 browser was revoked; the broken one fails; a new one that
    // answers 404 is counted as failed and revoked too.
    let (st, t) = s
        .post(
            "/api/v1/notifications/push/test",
            Some(&bob.access),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{t}");
    assert_eq!(
        (
            t["configured"].clone(),
            t["subscriptions"].clone(),
            t["attempted"].clone()
        ),
        (json!(true), json!(2), json!(2))
    );
    assert_eq!(
        (t["delivered"].clone(), t["failed"].clone()),
        (json!(1), json!(1))
    );
    let stale = web.browser();
    web.answer(&stale, &[(404, None)]);
    subscribe(&s, &bob, stale.subscription()).await;
    let (_, t) = s
        .post(
            "/api/v1/notifications/push/test",
            Some(&bob.access),
            json!({}),
        )
        .await;
    assert_eq!(
        (t["subscriptions"].clone(), t["failed"].clone()),
        (json!(3), json!(2))
    );
    let (_, t) = s
        .post(
            "/api/v1/notifications/push/test",
            Some(&bob.access),
            json!({}),
        )
        .await;
    assert_eq!(t["subscriptions"], 2, "the 404 browser was revoked: {t}");
    let test_push = web.delivered_to(&throttled).pop().unwrap();
    assert_eq!(test_push["title"], "Test notification");
    assert!(web.errors().is_empty(), "{:?}", web.errors());

    // Without VAPID keys push/test says so.
    let plain = TestServer::start().await;
    let cat = plain.signup("cat@acme.test").await;
    let (st, t) = plain
        .post(
            "/api/v1/notifications/push/test",
            Some(&cat.access),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(t["configured"], false);
    assert_eq!(t["attempted"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_phone_gets_a_valid_expo_request_and_unregistered_ones_are_dropped() {
    let expo = ExpoService::start("expo-access-secret").await;
    let url = expo.send_url();
    let s = TestServer::start_with(&[
        ("EXPO_PUSH_URL", url.as_str()),
        ("EXPO_ACCESS_TOKEN", "expo-access-secret"),
        ("EXPO_RECEIPT_DELAY_SECONDS", "1"),
        ("PUSH_COLLAPSE_SECONDS", "0"),
        ("PUSH_POLL_MS", "100"),
    ])
    .await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let (ok, gone_at_ticket, gone_at_receipt) = (
        "ExponentPushToken[bob-phone-ok]",
        "ExpoPushToken[bob-old-tablet]",
        "ExponentPushToken[bob-wiped-phone]",
    );
    expo.answer(gone_at_ticket, ExpoAnswer::NotRegisteredTicket);
    expo.answer(gone_at_receipt, ExpoAnswer::NotRegisteredReceipt);
    for token in [ok, gone_at_ticket, gone_at_receipt] {
        let (st, body) = s
            .post(
                "/api/v1/notifications/device-tokens",
                Some(&bob.access),
                json!({"expo_push_token": token, "platform": "ios"}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{body}");
    }
    let dm = s.direct_chat(&ann, &bob).await;
    let m = s.say(&ann, &dm, "are you coming?").await;

    let sent = eventually(WAIT, || {
        let all = expo.messages();
        (all.len() >= 3).then_some(all)
    })
    .await
    .unwrap_or_else(|| panic!("expo got {:?}; errors {:?}", expo.messages(), expo.errors()));
    assert_eq!(sent.len(), 3, "one message per phone: {sent:?}");
    let mine = &expo.messages_to(ok)[0];
    assert_eq!(mine["title"], "New message from ann");
    assert_eq!(mine["body"], "are you coming?");
    assert_eq!(mine["priority"], "default");
    assert_eq!(mine["data"]["conversation_id"], dm.as_str());
    assert_eq!(mine["data"]["message_id"], m["id"]);
    assert!(mine["data"]["notification_id"].is_string());

    // The receipts of the two tickets are read; the unregistered phones are dropped,
    // so the next message goes to the working one only.
    eventually(WAIT, || {
        let asked: usize = expo.receipt_requests().iter().map(Vec::len).sum();
        (asked >= 2).then_some(())
    })
    .await
    .expect("receipts read");
    tokio::time::sleep(Duration::from_secs(1)).await;
    s.say(&ann, &dm, "second").await;
    eventually(WAIT, || (expo.messages_to(ok).len() == 2).then_some(()))
        .await
        .expect("second push");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(expo.messages_to(gone_at_ticket).len(), 1);
    assert_eq!(expo.messages_to(gone_at_receipt).len(), 1);
    assert!(expo.errors().is_empty(), "{:?}", expo.errors());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_who_enabled_email_gets_a_mail() {
    let smtp = SmtpSink::start().await;
    let s = TestServer::start_with(&[
        ("SMTP_URL", smtp.url.as_str()),
        ("SMTP_FROM", "Acme Chat <chat@acme.test>"),
        ("PUSH_POLL_MS", "100"),
    ])
    .await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let cat = s.add_member(&ann, "cat@acme.test").await;
    let (st, p) = s
        .patch(
            "/api/v1/notifications/preferences",
            &bob.access,
            json!({"email_enabled": true}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let to_cat = s.direct_chat(&ann, &cat).await;
    s.say(&ann, &to_cat, "cat has email off").await;
    let to_bob = s.direct_chat(&ann, &bob).await;
    s.say(&ann, &to_bob, "see you at 3").await;

    let mails = eventually(WAIT, || {
        let m = smtp.mails();
        (!m.is_empty()).then_some(m)
    })
    .await
    .expect("a mail");
    // Cat's message was sent first: had it been queued, its row would be there now.
    assert_eq!(queued_for(&s, &cat).await, [], "cat has email off");
    assert_eq!(
        queued_for(&s, &bob).await,
        [("email".to_string(), "see you at 3".to_string())]
    );
    assert_eq!(smtp.mails().len(), 1, "only bob enabled email");
    let mail = &mails[0];
    assert_eq!(mail.to, ["<bob@acme.test>"]);
    assert_eq!(mail.from, "<chat@acme.test>");
    assert!(
        mail.data.contains("Subject: New message from ann"),
        "{}",
        mail.data
    );
    assert!(mail.data.contains("see you at 3"), "{}", mail.data);
}

/// Waits until no outbox row is waiting or being sent.
async fn settled(db: &sea_orm::DatabaseConnection) {
    use entity::push_outbox as outbox;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let deadline = Instant::now() + WAIT;
    loop {
        let unsettled = outbox::Entity::find()
            .filter(outbox::Column::Status.is_in(["pending", "sending"]))
            .all(db)
            .await
            .unwrap();
        if unsettled.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "rows never settled: {unsettled:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undelivered_pushes_survive_a_killed_server_and_are_sent_once() {
    use entity::push_outbox as outbox;
    use sea_orm::{ActiveModelTrait, Database, EntityTrait, Set};

    let web = WebPushService::start(vapid_public()).await;
    web.answer_all(503);
    let (database_url, _file) = crate::common::fresh_database().await;
    let mut vars = web_vars(&web);
    vars.extend([
        ("PUSH_COLLAPSE_SECONDS".into(), "0".into()),
        ("PUSH_TIMEOUT_MS".into(), "500".into()),
        ("PUSH_RETRY_MAX_SECONDS".into(), "1".into()),
    ]);

    let first = Child::start(&database_url, &vars).await;
    let s = TestServer::attach(first.addr, &database_url);
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let tablet = web.browser();
    subscribe(&s, &bob, tablet.subscription()).await;
    let dm = s.direct_chat(&ann, &bob).await;
    let mut ids = Vec::new();
    for text in ["one", "two", "three"] {
        ids.push(s.say(&ann, &dm, text).await["id"].clone());
    }
    eventually(WAIT, || (web.received().len() >= 3).then_some(()))
        .await
        .expect("tried while the push service is down");
    first.kill();

    // The rows as a dead node leaves them, set here so that each path is taken:
    // "one" and "three" waiting for a retry that is due, and "two" claimed (`sending`)
    // under a lease that runs out in 3 s, as when the node died while sending it.
    let db = Database::connect(database_url.as_str()).await.unwrap();
    let rows = outbox::Entity::find().all(&db).await.unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    let two = ids[1].clone();
    let lease = Duration::from_secs(3);
    let lease_ends = Instant::now() + lease;
    let now = chrono::Utc::now();
    for row in rows {
        let claimed = row.payload["data"]["message_id"] == two;
        let mut am: outbox::ActiveModel = row.into();
        if claimed {
            am.status = Set("sending".into());
            am.lease_until = Set(Some(now + chrono::Duration::from_std(lease).unwrap()));
        } else {
            am.status = Set("pending".into());
            am.lease_until = Set(None);
            am.next_attempt_at = Set(now);
        }
        am.update(&db).await.unwrap();
    }

    // The service is back; a new process sends the due rows at once, the claimed one
    // once its lease has run out, and each once.
    web.answer_all(201);
    let second = Child::start(&database_url, &vars).await;
    let got = web.wait_delivered(&tablet, 3, WAIT).await;
    let mut pushed: Vec<Value> = got
        .iter()
        .map(|p| p["data"]["message_id"].clone())
        .collect();
    pushed.sort_by_key(|v| v.to_string());
    ids.sort_by_key(|v| v.to_string());
    assert_eq!(pushed, ids, "each message pushed once");
    let delivered = |id: &Value| {
        web.received()
            .into_iter()
            .find(|p| p.status < 300 && p.json["data"]["message_id"] == *id)
            .map(|p| p.at)
            .unwrap()
    };
    assert!(
        delivered(&two) + Duration::from_millis(100) >= lease_ends,
        "the claimed row was taken from its holder {:?} before its lease ran out",
        lease_ends - delivered(&two)
    );
    for id in ids.iter().filter(|id| **id != two) {
        assert!(
            delivered(id) < delivered(&two),
            "a due row waited for the claimed one"
        );
    }
    // Each send is recorded (`sent`) before this node goes: a node killed between a
    // send and its record sends it again, which is not what is tested here.
    settled(&db).await;
    second.kill();

    // Settled rows are never sent again, whatever restarts: a new process sends a new
    // message's push, and once its round is settled (no row `sending`), the old ones
    // were not in it, nor in any round before it.
    let third = Child::start(&database_url, &vars).await;
    let s = TestServer::attach(third.addr, &database_url);
    let ann = s.login("ann@acme.test", "correct horse battery").await;
    ids.push(s.say(&ann, &dm, "four").await["id"].clone());
    web.wait_delivered(&tablet, 4, WAIT).await;
    settled(&db).await;
    let mut pushed: Vec<Value> = web
        .delivered_to(&tablet)
        .iter()
        .map(|p| p["data"]["message_id"].clone())
        .collect();
    pushed.sort_by_key(|v| v.to_string());
    ids.sort_by_key(|v| v.to_string());
    assert_eq!(pushed, ids, "a settled row was sent again");
    third.kill();
    assert!(web.errors().is_empty(), "{:?}", web.errors());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_database_send_each_push_once() {
    let web = WebPushService::start(vapid_public()).await;
    // While the service is down every row is retried, so rows fall due together on
    // both nodes, which poll every 100 ms and race for them; a slow service keeps
    // both nodes' rounds in flight at once.
    web.answer_all(503);
    web.slow(Duration::from_millis(20));
    let mut vars = web_vars(&web);
    vars.extend([
        ("PUSH_COLLAPSE_SECONDS".into(), "0".into()),
        ("PUSH_RETRY_MAX_SECONDS".into(), "1".into()),
    ]);
    let all: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let a = TestServer::start_with(&all).await;
    let b = TestServer::start_on(&a.database_url, &all, None).await;
    let ann = a.signup("ann@acme.test").await;
    let bob = a.add_member(&ann, "bob@acme.test").await;
    let browser = web.browser();
    subscribe(&a, &bob, browser.subscription()).await;
    let dm = a.direct_chat(&ann, &bob).await;
    let mut ids = Vec::new();
    for i in 0..40 {
        let node = if i % 2 == 0 { &a } else { &b };
        ids.push(node.say(&ann, &dm, &format!("n{i}")).await["id"].to_string());
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    web.answer_all(201);
    web.wait_delivered(&browser, ids.len(), WAIT).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut pushed: Vec<String> = web
        .delivered_to(&browser)
        .iter()
        .map(|p| p["data"]["message_id"].to_string())
        .collect();
    pushed.sort();
    ids.sort();
    assert_eq!(pushed, ids, "every message pushed exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_settled_rows_are_swept_and_live_ones_kept() {
    use entity::{push_outbox as outbox, scheduled_jobs as jobs};
    use sea_orm::{ActiveModelTrait, Database, EntityTrait, Set};

    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let user = uuid::Uuid::parse_str(&ann.user_id).unwrap();
    let db = Database::connect(s.database_url.as_str()).await.unwrap();
    let long_ago = chrono::Utc::now() - chrono::Duration::days(10);
    let recent = chrono::Utc::now();
    let mut keep = Vec::new();
    let mut gone = Vec::new();
    for (status, at) in [
        ("sent", long_ago),
        ("gone", long_ago),
        ("pending", long_ago),
        ("sent", recent),
    ] {
        let id = uuid::Uuid::now_v7();
        outbox::ActiveModel {
            id: Set(id),
            user_id: Set(user),
            channel: Set("web_push".into()),
            target_id: Set(uuid::Uuid::now_v7()),
            payload: Set(json!({})),
            attempts: Set(1),
            status: Set(status.into()),
            next_attempt_at: Set(at + chrono::Duration::days(1000)),
            last_error: Set(None),
            created_at: Set(at),
            sent_at: Set(None),
            lease_until: Set(None),
            collapse_key: Set(None),
            notification_id: Set(None),
            ticket_id: Set(None),
            collapsed: Set(0),
        }
        .insert(&db)
        .await
        .unwrap();
        if status == "pending" || at == recent {
            keep.push(id)
        } else {
            gone.push(id)
        }
    }
    for (status, at) in [
        ("done", long_ago),
        ("pending", long_ago + chrono::Duration::days(1000)),
        ("done", recent),
    ] {
        let id = uuid::Uuid::now_v7();
        jobs::ActiveModel {
            id: Set(id),
            kind: Set("meeting_reminder".into()),
            subject_id: Set(uuid::Uuid::now_v7()),
            due_at: Set(at),
            status: Set(status.into()),
            lease_until: Set(None),
            attempts: Set(0),
            last_error: Set(None),
            created_at: Set(at),
        }
        .insert(&db)
        .await
        .unwrap();
        if status == "done" && at == long_ago {
            gone.push(id)
        } else {
            keep.push(id)
        }
    }

    // A node starting on this database sweeps at once (RETENTION_DAYS, default 7).
    let _second = TestServer::start_on(&s.database_url, &[], None).await;
    let mut left = Vec::new();
    for _ in 0..100 {
        left = outbox::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        left.extend(
            jobs::Entity::find()
                .all(&db)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.id),
        );
        if gone.iter().all(|g| !left.contains(g)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        gone.iter().all(|g| !left.contains(g)),
        "old settled rows stay"
    );
    assert!(
        keep.iter().all(|k| left.contains(k)),
        "live or recent rows were deleted"
    );
}
