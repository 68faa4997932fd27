//! Expo's push service: messages sent in requests of up to 100, each answered with a
//! ticket; receipts read later from the matching `getReceipts` endpoint.
//! `DeviceNotRegistered` in a ticket or receipt means the phone is gone.

use std::collections::HashMap;

use reqwest::header::{ACCEPT, AUTHORIZATION};
use serde::Deserialize;

use super::{http_outcome, retry_after};
use crate::domain::notify::delivery::ExpoMessage;
use crate::domain::notify::outbox::Outcome;

/// Where and as whom Expo is called.
pub struct ExpoSender {
    client: reqwest::Client,
    send_url: String,
    receipts_url: String,
    access_token: Option<String>,
}

/// A ticket or a receipt: `{status: ok, id?}` or `{status: error, message, details}`.
#[derive(Debug, Deserialize)]
struct Answer {
    status: String,
    id: Option<String>,
    message: Option<String>,
    details: Option<Details>,
}

#[derive(Debug, Deserialize)]
struct Details {
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Tickets {
    data: Option<Vec<Answer>>,
    errors: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Receipts {
    data: Option<HashMap<String, Answer>>,
    errors: Option<serde_json::Value>,
}

impl Answer {
    /// What an error ticket or receipt means for its row.
    fn error_outcome(&self) -> Outcome {
        let code = self
            .details
            .as_ref()
            .and_then(|d| d.error.clone())
            .unwrap_or_default();
        let text = format!(
            "expo: {code} {}",
            self.message.as_deref().unwrap_or_default()
        );
        match code.as_str() {
            "DeviceNotRegistered" => Outcome::Gone(text),
            "MessageRateExceeded" => Outcome::Retry {
                after: None,
                error: text,
            },
            _ => Outcome::Failed(text),
        }
    }
}

impl ExpoSender {
    /// `send_url` is the push endpoint; receipts are read from its `getReceipts`
    /// sibling.
    pub fn new(client: reqwest::Client, send_url: String, access_token: Option<String>) -> Self {
        let receipts_url = match send_url.strip_suffix("/send") {
            Some(base) => format!("{base}/getReceipts"),
            None => format!("{}/getReceipts", send_url.trim_end_matches('/')),
        };
        Self {
            client,
            send_url,
            receipts_url,
            access_token,
        }
    }

    fn post(&self, url: &str) -> reqwest::RequestBuilder {
        let req = self.client.post(url).header(ACCEPT, "application/json");
        match &self.access_token {
            Some(t) => req.header(AUTHORIZATION, format!("Bearer {t}")),
            None => req,
        }
    }

    /// Sends up to 100 messages; one outcome per message, in order.
    pub async fn send(&self, messages: &[ExpoMessage]) -> Vec<Outcome> {
        let all = |o: Outcome| vec![o; messages.len()];
        let res = match self.post(&self.send_url).json(messages).send().await {
            Ok(r) => r,
            Err(e) => {
                return all(Outcome::Retry {
                    after: None,
                    error: format!("expo unreachable: {e}"),
                });
            }
        };
        let status = res.status();
        if !status.is_success() {
            return all(http_outcome(status, retry_after(res.headers()), "expo"));
        }
        let tickets: Tickets = match res.json().await {
            Ok(t) => t,
            Err(e) => {
                return all(Outcome::Retry {
                    after: None,
                    error: format!("expo answered something unreadable: {e}"),
                });
            }
        };
        match tickets.data {
            Some(data) if data.len() == messages.len() => data
                .iter()
                .map(|t| match (t.status.as_str(), &t.id) {
                    ("ok", Some(id)) => Outcome::Ticketed(id.clone()),
                    ("ok", None) => Outcome::Delivered,
                    _ => t.error_outcome(),
                })
                .collect(),
            _ => all(Outcome::Failed(format!(
                "expo refused the request: {}",
                tickets.errors.unwrap_or_default()
            ))),
        }
    }

    /// The receipts Expo has for these tickets.
    pub async fn receipts(&self, tickets: &[String]) -> Result<HashMap<String, Outcome>, String> {
        let res = self
            .post(&self.receipts_url)
            .json(&serde_json::json!({ "ids": tickets }))
            .send()
            .await
            .map_err(|e| format!("expo unreachable: {e}"))?;
        if !res.status().is_success() {
            return Err(format!("expo answered {}", res.status()));
        }
        let receipts: Receipts = res
            .json()
            .await
            .map_err(|e| format!("expo answered something unreadable: {e}"))?;
        let Some(data) = receipts.data else {
            return Err(format!(
                "expo refused the request: {}",
                receipts.errors.unwrap_or_default()
            ));
        };
        Ok(data
            .into_iter()
            .map(|(id, r)| {
                let outcome = if r.status == "ok" {
                    Outcome::Delivered
                } else {
                    r.error_outcome()
                };
                (id, outcome)
            })
            .collect())
    }
}
