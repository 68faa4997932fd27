//! The REST messaging surfaces (`/api/v1/messages`, `/api/v1/chat`) over the wire, by
//! area, and the helpers they share.

mod access;
mod hr;
mod live;
mod management;
mod message_changes;
mod sequences;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Session, TestServer};

pub(super) const WAIT: Duration = Duration::from_secs(15);

pub(super) async fn direct(s: &TestServer, a: &Session, b: &Session) -> String {
    let (st, chat) = s
        .post(
            "/api/v1/messages/conversations",
            Some(&a.access),
            json!({"type": "direct", "participant_ids": [b.user_id]}),
        )
        .await;
    assert!(st.is_success(), "{chat}");
    chat["id"].as_str().unwrap().to_string()
}

pub(super) async fn send(s: &TestServer, who: &Session, chat: &str, text: &str) -> Value {
    let (st, m) = s
        .post(
            "/api/v1/chat/messages/send",
            Some(&who.access),
            json!({"conversation_id": chat, "content": text}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{m}");
    m
}

/// The seqs of a history: the HR route's bare array or the chat route's page.
pub(super) fn seqs(page: &Value) -> Vec<i64> {
    page.as_array()
        .or_else(|| page["messages"].as_array())
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect()
}
