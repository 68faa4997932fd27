//! A host backend telling its users things: notifications through the one
//! notification path (scope `notifications`), its own events on every dialect
//! (`publish`), and ending a user's live sessions (`users`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Integration;
use super::api_keys::{Scope, ServiceActor};
use crate::domain::access::subscriptions::Channel;
use crate::domain::events::{Payload, Publication};
use crate::domain::notify::{Category, NewNotification};
use crate::domain::views::UserView;
use crate::domain::{limits, validate};
use crate::error::{AppError, AppResult};
use crate::realtime::{Audience, RealtimeEvent};

#[derive(Debug, Deserialize, ToSchema)]
pub struct ServiceNotificationInput {
    #[schema(value_type = Vec<String>)]
    pub user_ids: Vec<serde_json::Value>,
    pub title: String,
    pub body: Option<String>,
    /// message | mention | meeting | announcement | call | system (default system)
    pub category: Option<Category>,
    #[schema(value_type = Object)]
    pub data: Option<serde_json::Value>,
}

/// A host's own event for a channel (`conversation:<id>`, `user:<id>`) or users.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PublishInput {
    pub channel: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub user_ids: Vec<serde_json::Value>,
    /// The event's name on Socket.IO: lowercase letters, digits, `_ . : -`, not one of
    /// Switchboard's own.
    pub event: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Published {
    pub event_id: Uuid,
    /// Users it was addressed to.
    pub recipients: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceNotified {
    pub notified: usize,
}

impl Integration {
    /// Notifications from the host, through the one notification path (preferences,
    /// inbox, events, push).
    pub async fn service_notify(
        &self,
        sa: &ServiceActor,
        input: ServiceNotificationInput,
    ) -> AppResult<ServiceNotified> {
        sa.require(Scope::Notifications)?;
        let title = validate::text("title", &input.title, limits::TITLE)?;
        let body = match input.body.as_deref() {
            Some(b) => Some(validate::text("body", b, limits::ANNOUNCEMENT_BODY)?),
            None => None,
        };
        if input.user_ids.is_empty() || input.user_ids.len() > limits::MAX_AUDIENCE_USERS {
            return Err(AppError::validation("user_ids", "name 1–1000 users"));
        }
        let data = match input.data {
            None => serde_json::json!({}),
            Some(d) if d.is_object() && d.to_string().len() <= 4096 => d,
            Some(_) => return Err(AppError::validation("data", "an object of at most 4 KiB")),
        };
        validate::json_without_nul("data", &data)?;
        // Each user once, however often (and under whichever id) they are named.
        let mut asked = std::collections::HashSet::new();
        let mut users = std::collections::HashSet::new();
        let mut notes = Vec::new();
        for v in &input.user_ids {
            if !asked.insert(v.to_string()) {
                continue;
            }
            let u = self.tenant_user(sa.tenant_id, "user_ids", v).await?;
            if !users.insert(u.id) {
                continue;
            }
            notes.push(NewNotification {
                user_id: u.id,
                category: input.category.unwrap_or(Category::System),
                title: title.clone(),
                body: body.clone(),
                data: data.clone(),
                conversation_id: None,
                urgent: false,
            });
        }
        let notified = notes.len();
        self.notifications.notify(sa.tenant_id, notes).await?;
        Ok(ServiceNotified { notified })
    }

    /// Ends every live session of a user (their sockets are closed).
    pub async fn service_disconnect(&self, sa: &ServiceActor, user: &str) -> AppResult<UserView> {
        sa.require(Scope::Users)?;
        let u = self
            .tenant_user(sa.tenant_id, "id", &serde_json::Value::String(user.into()))
            .await?;
        self.accounts.end_sessions(u.id).await;
        Ok(u.into())
    }

    /// Publishes a host's own event (scope `publish`) to a conversation's members and
    /// subscribers, or to some users, on every dialect.
    pub async fn service_publish(
        &self,
        sa: &ServiceActor,
        input: PublishInput,
    ) -> AppResult<Published> {
        sa.require(Scope::Publish)?;
        let name = input.event.trim();
        let well_formed = !name.is_empty()
            && name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.:-".contains(c));
        if !well_formed {
            return Err(AppError::validation(
                "event",
                "1–64 of a-z 0-9 _ . : -, starting with a letter",
            ));
        }
        if crate::realtime::is_reserved_event_name(name) {
            return Err(AppError::validation(
                "event",
                "is reserved: Socket.IO's own names and Switchboard's events cannot be published",
            ));
        }
        if input.data.to_string().len() > limits::MAX_PUBLISH_BYTES {
            return Err(AppError::PayloadTooLarge(format!(
                "data is at most {} bytes",
                limits::MAX_PUBLISH_BYTES
            )));
        }
        let mut users: Vec<Uuid> = Vec::new();
        let mut conversation = None;
        if let Some(ch) = input.channel.as_deref() {
            match Channel::parse(ch)
                .map_err(|_| AppError::validation("channel", "conversation:<id> or user:<id>"))?
            {
                Channel::Conversation(c) => {
                    self.chat_member_of_tenant(sa.tenant_id, c).await?;
                    users.extend(self.access.participant_ids(c).await?);
                    conversation = Some(c);
                }
                Channel::User(u) => {
                    let user = self
                        .tenant_user(
                            sa.tenant_id,
                            "channel",
                            &serde_json::Value::String(u.to_string()),
                        )
                        .await?;
                    users.push(user.id);
                }
            }
        }
        for v in &input.user_ids {
            users.push(self.tenant_user(sa.tenant_id, "user_ids", v).await?.id);
        }
        users.sort();
        users.dedup();
        if users.is_empty() {
            return Err(AppError::validation(
                "channel",
                "name a channel or user_ids",
            ));
        }
        let event = RealtimeEvent::new(Payload::Publication(Publication {
            event: name.to_string(),
            channel: input.channel,
            data: input.data,
        }));
        let event_id = event.event_id;
        let mut audience = Audience::users(users.iter().copied());
        if let Some(c) = conversation {
            audience = audience.with_conversation(c);
        }
        self.hub.publish(event, audience).await;
        Ok(Published {
            event_id,
            recipients: users.len(),
        })
    }
}
