//! Realtime channel names (`conversation:<id>`, `user:<id>`) and who may subscribe.

use uuid::Uuid;

use super::Access;
use crate::domain::{Actor, limits};
use crate::error::{AppError, AppResult};

/// A channel a client may subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Conversation(Uuid),
    User(Uuid),
}

impl Channel {
    pub fn parse(name: &str) -> AppResult<Self> {
        let (kind, id) = name
            .split_once(':')
            .ok_or_else(|| AppError::SubscriptionFailed(format!("unknown channel `{name}`")))?;
        let id = Uuid::parse_str(id)
            .map_err(|_| AppError::SubscriptionFailed(format!("invalid id in channel `{name}`")))?;
        match kind {
            "conversation" => Ok(Self::Conversation(id)),
            "user" => Ok(Self::User(id)),
            _ => Err(AppError::SubscriptionFailed(format!(
                "unknown channel kind `{kind}`"
            ))),
        }
    }

    /// The room name transports use for this channel.
    pub fn room(&self) -> String {
        match self {
            Self::Conversation(id) => format!("conversation:{id}"),
            Self::User(id) => format!("user:{id}"),
        }
    }
}

impl Access {
    /// Checks that the caller may listen on `name`; returns the parsed channel.
    pub async fn authorize_channel(&self, actor: &Actor, name: &str) -> AppResult<Channel> {
        if name.len() > limits::CHANNEL_NAME_BYTES {
            return Err(AppError::SubscriptionFailed("channel name too long".into()));
        }
        let channel = Channel::parse(name)?;
        match channel {
            Channel::Conversation(id) => {
                self.check(actor, id).await?;
            }
            Channel::User(id) if id == actor.user_id => {}
            Channel::User(_) => {
                return Err(AppError::Forbidden(
                    "cannot subscribe to another user's channel".into(),
                ));
            }
        }
        Ok(channel)
    }
}
