//! Meetings and announcements over the wire, as 000's HR client uses them: create,
//! list, upcoming, today in the caller's zone, RSVP, edit, cancel, the events each
//! sends and the notifications; the reminder fired once across a restart;
//! announcements to everyone, roles or people, now or later.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_tools::client::SioClient;

use crate::common::process::Child;
use crate::common::{Session, TestServer, assert_error};

const WAIT: Duration = Duration::from_secs(15);

/// An admin adds someone with this role (member, hr, …); their session.
async fn with_role(s: &TestServer, admin: &Session, email: &str, role: &str) -> Session {
    let (st, body) = s
        .post(
            "/api/v1/users",
            Some(&admin.access),
            json!({"email": email, "password": "member password 1",
                   "display_name": email.split('@').next().unwrap(), "role": role}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    s.login(email, "member password 1").await
}

fn hours(h: i64) -> String {
    (Utc::now() + chrono::Duration::hours(h)).to_rfc3339()
}

async fn sio(s: &TestServer, who: &Session) -> SioClient {
    SioClient::connect(&s.base, Some(json!({"token": who.access})), "")
        .await
        .unwrap()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_meetings_flow_of_the_hr_document() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let cat = s.add_member(&ann, "cat@acme.test").await;
    let dan = s.add_member(&ann, "dan@acme.test").await;
    let hana = with_role(&s, &ann, "hana@acme.test", "hr").await;
    let rival = s.signup("rex@rival.test").await;
    let mut ann_live = sio(&s, &ann).await;
    let mut bob_live = sio(&s, &bob).await;
    let mut cat_live = sio(&s, &cat).await;
    let mut dan_live = sio(&s, &dan).await;

    // Bad input changes nothing.
    let bad = [
        json!({"title": "x", "start_at": hours(3), "end_at": hours(2), "participant_ids": []}),
        json!({"title": "x", "start_at": hours(2), "end_at": hours(3), "participant_ids": [rival.user_id]}),
        json!({"title": "", "start_at": hours(2), "end_at": hours(3)}),
        json!({"title": "x", "start_at": "tomorrow", "end_at": hours(3)}),
    ];
    for b in bad {
        let res = s.post("/api/v1/meetings", Some(&ann.access), b).await;
        assert_error(&res, 400, "VALIDATION_ERROR");
    }
    let (_, list) = s.get("/api/v1/meetings", &ann.access).await;
    assert_eq!(list, json!([]));

    let (st, m) = s
        .post(
            "/api/v1/meetings",
            Some(&ann.access),
            json!({"title": "Quarterly review", "start_at": hours(2), "end_at": hours(3),
                   "participant_ids": [bob.user_id, cat.user_id], "description": "numbers",
                   "meeting_url": "https://meet.example.com/q4", "location": "Room 4"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{m}");
    let id = m["id"].as_str().unwrap().to_string();
    assert_eq!(m["status"], "scheduled");
    assert_eq!(m["organizer_id"], ann.user_id.as_str());
    assert_eq!(m["meeting_url"], "https://meet.example.com/q4");
    let rsvp = |m: &Value, who: &Session| {
        m["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["user_id"] == who.user_id.as_str())
            .map(|p| p["rsvp"].as_str().unwrap().to_string())
    };
    assert_eq!(
        rsvp(&m, &ann).as_deref(),
        Some("accepted"),
        "organiser accepted"
    );
    assert_eq!(rsvp(&m, &bob).as_deref(), Some("pending"));
    let ev = bob_live.expect("meeting_created", WAIT).await.unwrap();
    assert_eq!(ev["payload"]["id"], id.as_str());
    let (_, inbox) = s.get("/api/v1/notifications", &bob.access).await;
    assert_eq!(inbox[0]["type"], "meeting");
    assert_eq!(inbox[0]["data"]["meeting_id"], id.as_str());
    assert_eq!(inbox[0]["title"], "ann invited you to a meeting");

    // Who sees it.
    for who in [&ann, &bob, &hana] {
        let (st, one) = s.get(&format!("/api/v1/meetings/{id}"), &who.access).await;
        assert_eq!(st, StatusCode::OK, "{one}");
    }
    assert_error(
        &s.get(&format!("/api/v1/meetings/{id}"), &dan.access).await,
        403,
        "PERMISSION_ERROR",
    );
    assert_error(
        &s.get(&format!("/api/v1/meetings/{id}"), &rival.access)
            .await,
        404,
        "NOT_FOUND",
    );
    assert_eq!(
        ids(&s.get("/api/v1/meetings", &bob.access).await.1),
        [id.as_str()]
    );
    assert_eq!(
        ids(&s.get("/api/v1/meetings/upcoming", &cat.access).await.1),
        [id.as_str()]
    );
    assert_eq!(s.get("/api/v1/meetings", &dan.access).await.1, json!([]));
    assert_error(
        &s.get("/api/v1/meetings?scope=all", &dan.access).await,
        403,
        "PERMISSION_ERROR",
    );
    for who in [&ann, &hana] {
        let (_, all) = s.get("/api/v1/meetings?scope=all", &who.access).await;
        assert_eq!(ids(&all), [id.as_str()]);
    }

    // RSVP: the organiser hears it.
    let respond = format!("/api/v1/meetings/{id}/respond");
    assert_error(
        &s.post(&respond, Some(&bob.access), json!({"status": "maybe"}))
            .await,
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &s.post(&respond, Some(&dan.access), json!({"status": "accepted"}))
            .await,
        403,
        "PERMISSION_ERROR",
    );
    let (st, r) = s
        .post(&respond, Some(&bob.access), json!({"status": "accepted"}))
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(
        (r["id"].clone(), r["status"].clone()),
        (json!(id), json!("scheduled"))
    );
    let ev = ann_live.expect("meeting_rsvp_updated", WAIT).await.unwrap();
    assert_eq!(ev["payload"]["user_id"], bob.user_id.as_str());
    assert_eq!(ev["payload"]["rsvp"], "accepted");

    // Editing: the organiser only; cat is removed, dan invited, bob stays.
    let edit = format!("/api/v1/meetings/{id}");
    assert_error(
        &s.patch(&edit, &bob.access, json!({"title": "mine now"}))
            .await,
        403,
        "PERMISSION_ERROR",
    );
    let (st, m) = s
        .patch(
            &edit,
            &ann.access,
            json!({"start_at": hours(4), "end_at": hours(5), "participant_ids": [bob.user_id, dan.user_id]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(
        rsvp(&m, &bob).as_deref(),
        Some("accepted"),
        "answers survive"
    );
    assert_eq!(rsvp(&m, &cat), None);
    assert_eq!(rsvp(&m, &dan).as_deref(), Some("pending"));
    assert_eq!(
        bob_live.expect("meeting_updated", WAIT).await.unwrap()["payload"]["id"],
        id.as_str()
    );
    assert_eq!(
        cat_live.expect("meeting_deleted", WAIT).await.unwrap()["payload"]["id"],
        id.as_str()
    );
    assert_eq!(
        dan_live.expect("meeting_created", WAIT).await.unwrap()["payload"]["id"],
        id.as_str()
    );

    // Cancelling: organiser or admin; then RSVPs are refused and it is not upcoming.
    let cancel = format!("/api/v1/meetings/{id}/cancel");
    assert_error(
        &s.post(&cancel, Some(&bob.access), json!({})).await,
        403,
        "PERMISSION_ERROR",
    );
    let (st, c) = s.post(&cancel, Some(&ann.access), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{c}");
    assert_eq!(c["status"], "cancelled");
    let ev = bob_live.expect("meeting_deleted", WAIT).await.unwrap();
    assert_eq!(ev["payload"]["status"], "cancelled");
    let (_, inbox) = s.get("/api/v1/notifications", &bob.access).await;
    assert_eq!(inbox[0]["title"], "ann cancelled a meeting");
    assert_error(
        &s.post(&respond, Some(&bob.access), json!({"status": "declined"}))
            .await,
        400,
        "VALIDATION_ERROR",
    );
    assert_eq!(
        s.get("/api/v1/meetings/upcoming", &bob.access).await.1,
        json!([])
    );
    let (_, again) = s.get(&edit, &bob.access).await;
    assert_eq!(again["status"], "cancelled");
}

/// The ids of the caller's meetings today, sorted.
async fn today(s: &TestServer, who: &Session) -> Vec<String> {
    let mut v = ids(&s.get("/api/v1/meetings/today", &who.access).await.1);
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn today_is_the_callers_day() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let karachi = chrono_tz::Asia::Karachi;
    let la = chrono_tz::America::Los_Angeles;
    let day_start = |tz: chrono_tz::Tz, offset_days: i64| {
        let d = Utc::now().with_timezone(&tz).date_naive() + chrono::Duration::days(offset_days);
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    };
    // Just inside and just outside Karachi's today, and inside Los Angeles' today.
    let starts = [
        day_start(karachi, 0) + chrono::Duration::minutes(1),
        day_start(karachi, 1) + chrono::Duration::minutes(1),
        day_start(karachi, 0) - chrono::Duration::minutes(1),
        day_start(la, 0) + chrono::Duration::minutes(1),
    ];
    let mut made = Vec::new();
    for (i, at) in starts.iter().enumerate() {
        let (st, m) = s
            .post(
                "/api/v1/meetings",
                Some(&ann.access),
                json!({"title": format!("m{i}"), "start_at": at.to_rfc3339(),
                       "end_at": (*at + chrono::Duration::minutes(30)).to_rfc3339()}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{m}");
        made.push((m["id"].as_str().unwrap().to_string(), *at));
    }
    let expected = |tz: chrono_tz::Tz| {
        let (from, to) = (day_start(tz, 0), day_start(tz, 1));
        let mut v: Vec<String> = made
            .iter()
            .filter(|(_, at)| *at >= from && *at < to)
            .map(|(id, _)| id.clone())
            .collect();
        v.sort();
        v
    };
    // No zone chosen: 000's Asia/Karachi.
    assert_eq!(today(&s, &ann).await, expected(karachi));
    assert!(today(&s, &ann).await.contains(&made[0].0));
    // A chosen zone wins.
    let (st, me) = s
        .patch(
            "/api/v1/auth/profile",
            &ann.access,
            json!({"timezone": "America/Los_Angeles"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{me}");
    assert_eq!(today(&s, &ann).await, expected(la));
    assert!(today(&s, &ann).await.contains(&made[3].0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_is_sent_once_across_a_restart() {
    let (database_url, _file) = crate::common::fresh_database().await;
    let vars: Vec<(String, String)> = vec![
        ("MEETING_REMINDER_MINUTES".into(), "1".into()),
        ("SCHEDULER_POLL_MS".into(), "200".into()),
    ];
    let first = Child::start(&database_url, &vars).await;
    let s = TestServer::attach(first.addr, &database_url);
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    // Starts in 64 s: the reminder is due in 4 s, after this server is gone.
    let start = Utc::now() + chrono::Duration::seconds(64);
    let (st, m) = s
        .post(
            "/api/v1/meetings",
            Some(&ann.access),
            json!({"title": "standup", "start_at": start.to_rfc3339(),
                   "end_at": (start + chrono::Duration::minutes(15)).to_rfc3339(),
                   "participant_ids": [bob.user_id]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{m}");
    first.kill();

    let second = Child::start(&database_url, &vars).await;
    let s = TestServer::attach(second.addr, &database_url);
    let reminders = |list: &Value| {
        list.as_array()
            .unwrap()
            .iter()
            .filter(|n| n["title"].as_str().unwrap_or("").starts_with("A meeting "))
            .count()
    };
    let mut found = 0;
    for _ in 0..100 {
        let (_, inbox) = s.get("/api/v1/notifications", &bob.access).await;
        found = reminders(&inbox);
        if found > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(found, 1, "the reminder after the restart");
    // Nothing fires it again: not this node, not a restart.
    second.kill();
    let third = Child::start(&database_url, &vars).await;
    let s = TestServer::attach(third.addr, &database_url);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, inbox) = s.get("/api/v1/notifications", &bob.access).await;
    assert_eq!(reminders(&inbox), 1);
    let (_, ann_inbox) = s.get("/api/v1/notifications", &ann.access).await;
    assert_eq!(reminders(&ann_inbox), 1, "the organiser is reminded too");
    third.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announcements_reach_their_audience_now_or_later() {
    let s = TestServer::start_with(&[("SCHEDULER_POLL_MS", "200")]).await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let hana = with_role(&s, &ann, "hana@acme.test", "hr").await;
    let mut bob_live = sio(&s, &bob).await;

    let post = |who: &Session, body: Value| {
        let token = who.access.clone();
        let s = &s;
        async move { s.post("/api/v1/announcements", Some(&token), body).await }
    };
    assert_error(
        &post(&bob, json!({"title": "hi", "body": "all"})).await,
        403,
        "PERMISSION_ERROR",
    );
    assert_error(
        &post(
            &ann,
            json!({"title": "hi", "body": "x", "audience": {"type": "roles", "roles": ["pilot"]}}),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    );

    let (st, a) = post(
        &ann,
        json!({"title": "Office closed", "body": "Friday is off."}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    assert_eq!(a["status"], "published");
    let ev = bob_live.expect("announcement_created", WAIT).await.unwrap();
    assert_eq!(ev["payload"]["title"], "Office closed");
    let (_, inbox) = s.get("/api/v1/notifications", &bob.access).await;
    assert_eq!(inbox[0]["type"], "announcement");
    assert_eq!(inbox[0]["data"]["announcement_id"], a["id"]);

    // To HR only: bob neither lists it nor is told.
    let (st, hr_only) = post(
        &hana,
        json!({"title": "Payroll", "body": "HR eyes only", "audience": {"type": "roles", "roles": ["hr"]}}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{hr_only}");
    let titles = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        titles(&s.get("/api/v1/announcements", &bob.access).await.1),
        ["Office closed"]
    );
    assert_eq!(
        titles(&s.get("/api/v1/announcements", &hana.access).await.1),
        ["Payroll", "Office closed"]
    );

    // Later: scheduled, invisible to readers until the scheduler publishes it.
    let at = (Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let (st, later) = post(
        &ann,
        json!({"title": "Town hall", "body": "at noon", "audience": {"type": "users", "user_ids": [bob.user_id]}, "publish_at": at}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{later}");
    assert_eq!(later["status"], "scheduled");
    assert!(
        !titles(&s.get("/api/v1/announcements", &bob.access).await.1)
            .contains(&"Town hall".to_string())
    );
    let (_, all) = s.get("/api/v1/announcements?scope=all", &ann.access).await;
    assert!(titles(&all).contains(&"Town hall".to_string()));
    let ev = bob_live.expect("announcement_created", WAIT).await.unwrap();
    assert_eq!(ev["payload"]["title"], "Town hall");
    assert_eq!(ev["payload"]["status"], "published");
    assert_eq!(
        titles(&s.get("/api/v1/announcements", &bob.access).await.1),
        ["Town hall", "Office closed"]
    );
}
