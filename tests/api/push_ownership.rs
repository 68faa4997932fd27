//! A push belongs to the user it was written for: one still queued (waiting out a
//! busy push service) never reaches a phone or browser that has since been signed in
//! by another user of the tenant, and the new owner's own pushes still arrive.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::common::TestServer;
use crate::common::push::{ExpoAnswer, ExpoService, WebPushService, eventually};
use crate::push_delivery::{start, subscribe, vapid_public, web_vars};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_expo_push_does_not_follow_the_phone_to_its_next_user() {
    let expo = ExpoService::start("expo-access-secret").await;
    let url = expo.send_url();
    let s = TestServer::start_with(&[
        ("EXPO_PUSH_URL", url.as_str()),
        ("EXPO_ACCESS_TOKEN", "expo-access-secret"),
        ("PUSH_COLLAPSE_SECONDS", "0"),
        ("PUSH_POLL_MS", "100"),
    ])
    .await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let cat = s.add_member(&ann, "cat@acme.test").await;
    let phone = "ExponentPushToken[shared-ward-phone]";
    let register = |who| {
        let s = &s;
        async move {
            let (st, body) = s
                .post(
                    "/api/v1/notifications/device-tokens",
                    Some(who),
                    json!({"expo_push_token": phone, "platform": "android"}),
                )
                .await;
            assert_eq!(st, StatusCode::OK, "{body}");
        }
    };
    register(&bob.access).await;
    expo.answer(phone, ExpoAnswer::BusyOnce);
    let to_bob = s.direct_chat(&ann, &bob).await;
    s.say(&ann, &to_bob, "bob: your results are in").await;
    // Expo is busy: the push waits in the outbox for its retry.
    eventually(WAIT, || (!expo.messages_to(phone).is_empty()).then_some(()))
        .await
        .expect("first attempt");

    // Bob hands the phone over; cat signs in on it before the retry is due.
    register(&cat.access).await;
    let to_cat = s.direct_chat(&ann, &cat).await;
    s.say(&ann, &to_cat, "cat: welcome to the ward").await;
    let bodies = || {
        expo.messages_to(phone)
            .iter()
            .map(|m| m["body"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    eventually(WAIT, || {
        bodies()
            .iter()
            .any(|b| b == "cat: welcome to the ward")
            .then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("cat's push: {:?}", bodies()));
    // Past bob's retry: it was settled without reaching cat's phone.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let to_phone = bodies();
    assert_eq!(
        to_phone
            .iter()
            .filter(|b| *b == "bob: your results are in")
            .count(),
        1,
        "only the refused first attempt carried bob's message: {to_phone:?}"
    );
    // The phone stays cat's: a later push to cat still arrives.
    s.say(&ann, &to_cat, "cat: second").await;
    eventually(WAIT, || {
        bodies().iter().any(|b| b == "cat: second").then_some(())
    })
    .await
    .expect("cat's phone was not revoked");
    assert!(expo.errors().is_empty(), "{:?}", expo.errors());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_web_push_does_not_follow_the_browser_to_its_next_user() {
    let web = WebPushService::start(vapid_public()).await;
    let s = start(&web_vars(&web), &[("PUSH_COLLAPSE_SECONDS", "0")]).await;
    let ann = s.signup("ann@acme.test").await;
    let bob = s.add_member(&ann, "bob@acme.test").await;
    let cat = s.add_member(&ann, "cat@acme.test").await;
    let browser = web.browser();
    subscribe(&s, &bob, browser.subscription()).await;
    web.answer(&browser, &[(503, Some(2))]);
    let to_bob = s.direct_chat(&ann, &bob).await;
    s.say(&ann, &to_bob, "bob: your results are in").await;
    let tries = || {
        web.received()
            .into_iter()
            .filter(|p| browser.endpoint.ends_with(&p.browser))
            .count()
    };
    eventually(WAIT, || (tries() >= 1).then_some(()))
        .await
        .expect("first attempt");

    // The shared browser signs in as cat before bob's retry is due.
    subscribe(&s, &cat, browser.subscription()).await;
    let to_cat = s.direct_chat(&ann, &cat).await;
    s.say(&ann, &to_cat, "cat: welcome to the ward").await;
    let bodies = || {
        web.delivered_to(&browser)
            .iter()
            .map(|p| p["body"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    eventually(WAIT, || {
        bodies()
            .iter()
            .any(|b| b == "cat: welcome to the ward")
            .then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("cat's push: {:?}", bodies()));
    tokio::time::sleep(Duration::from_secs(4)).await;
    let shown = bodies();
    assert!(
        !shown.iter().any(|b| b == "bob: your results are in"),
        "bob's message reached cat's browser: {shown:?}"
    );
    assert!(web.errors().is_empty(), "{:?}", web.errors());
}
