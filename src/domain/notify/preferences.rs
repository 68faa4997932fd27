//! Notification preferences: 000's email and push switches, plus a switch per
//! category × channel (in_app, email, web_push, mobile_push). Stored in
//! `notification_preferences`; the category × channel switches that are off are kept
//! in its `muted_kinds` list as `"category:channel"`. A user without a row has the
//! defaults: everything on except email.

use std::collections::BTreeMap;

use entity::notification_preferences as prefs;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Category;
use super::Notifications;
use crate::domain::{Actor, now};
use crate::error::{AppError, AppResult};

/// How a notification can reach its user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    InApp,
    Email,
    WebPush,
    MobilePush,
}

impl Channel {
    const ALL: [Channel; 4] = [Self::InApp, Self::Email, Self::WebPush, Self::MobilePush];

    fn as_str(self) -> &'static str {
        match self {
            Self::InApp => "in_app",
            Self::Email => "email",
            Self::WebPush => "web_push",
            Self::MobilePush => "mobile_push",
        }
    }
}

/// One category's switches.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ChannelSwitches {
    pub in_app: bool,
    pub email: bool,
    pub web_push: bool,
    pub mobile_push: bool,
}

/// A user's preferences as 000's client reads them, plus the per-category matrix.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Preferences {
    pub user_id: Uuid,
    pub email_enabled: bool,
    pub push_enabled: bool,
    pub in_app_enabled: bool,
    /// message | mention | meeting | announcement | call | system → switches.
    #[schema(value_type = Object)]
    pub categories: BTreeMap<String, ChannelSwitches>,
}

impl Preferences {
    /// Whether a notification of `category` may go out on `channel`.
    pub fn allows(&self, category: Category, channel: Channel) -> bool {
        let master = match channel {
            Channel::InApp => self.in_app_enabled,
            Channel::Email => self.email_enabled,
            Channel::WebPush | Channel::MobilePush => self.push_enabled,
        };
        let own = self
            .categories
            .get(category.as_str())
            .is_none_or(|s| match channel {
                Channel::InApp => s.in_app,
                Channel::Email => s.email,
                Channel::WebPush => s.web_push,
                Channel::MobilePush => s.mobile_push,
            });
        master && own
    }
}

/// A partial change: only the given fields change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesPatch {
    pub email_enabled: Option<bool>,
    pub push_enabled: Option<bool>,
    pub in_app_enabled: Option<bool>,
    /// Per category, the switches to change, e.g. `{"mention": {"email": true}}`.
    #[schema(value_type = Option<Object>)]
    pub categories: Option<BTreeMap<String, BTreeMap<String, bool>>>,
}

fn view(user: Uuid, row: Option<prefs::Model>) -> Preferences {
    let muted: Vec<String> = row
        .as_ref()
        .and_then(|r| serde_json::from_value(r.muted_kinds.clone()).ok())
        .unwrap_or_default();
    let on = |c: Category, ch: Channel| !muted.contains(&format!("{}:{}", c.as_str(), ch.as_str()));
    let categories = Category::ALL
        .into_iter()
        .map(|c| {
            (
                c.as_str().to_string(),
                ChannelSwitches {
                    in_app: on(c, Channel::InApp),
                    email: on(c, Channel::Email),
                    web_push: on(c, Channel::WebPush),
                    mobile_push: on(c, Channel::MobilePush),
                },
            )
        })
        .collect();
    Preferences {
        user_id: user,
        email_enabled: row.as_ref().is_some_and(|r| r.email_enabled),
        push_enabled: row.as_ref().is_none_or(|r| r.push_enabled),
        in_app_enabled: row.as_ref().is_none_or(|r| r.in_app_enabled),
        categories,
    }
}

impl Notifications {
    pub(crate) async fn preferences_of(&self, user: Uuid) -> AppResult<Preferences> {
        self.preferences_in(&self.db, user).await
    }

    /// The same, read on `db` (a transaction that is about to notify `user`).
    pub(crate) async fn preferences_in(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        user: Uuid,
    ) -> AppResult<Preferences> {
        let row = prefs::Entity::find_by_id(user).one(db).await?;
        Ok(view(user, row))
    }

    pub async fn preferences(&self, actor: &Actor) -> AppResult<Preferences> {
        self.preferences_of(actor.user_id).await
    }

    /// Changes only the given switches; unknown categories or channels are 400.
    pub async fn update_preferences(
        &self,
        actor: &Actor,
        patch: PreferencesPatch,
    ) -> AppResult<Preferences> {
        let row = prefs::Entity::find_by_id(actor.user_id)
            .one(&self.db)
            .await?;
        let mut muted: Vec<String> = row
            .as_ref()
            .and_then(|r| serde_json::from_value(r.muted_kinds.clone()).ok())
            .unwrap_or_default();
        for (category, switches) in patch.categories.unwrap_or_default() {
            if !Category::ALL.iter().any(|c| c.as_str() == category) {
                return Err(AppError::validation(
                    "categories",
                    format!("unknown category `{category}`"),
                ));
            }
            for (channel, on) in switches {
                if !Channel::ALL.iter().any(|c| c.as_str() == channel) {
                    return Err(AppError::validation(
                        "categories",
                        format!("unknown channel `{channel}`"),
                    ));
                }
                let key = format!("{category}:{channel}");
                muted.retain(|k| *k != key);
                if !on {
                    muted.push(key);
                }
            }
        }
        muted.sort();
        let current = view(actor.user_id, row.clone());
        let am = prefs::ActiveModel {
            user_id: Set(actor.user_id),
            in_app_enabled: Set(patch.in_app_enabled.unwrap_or(current.in_app_enabled)),
            push_enabled: Set(patch.push_enabled.unwrap_or(current.push_enabled)),
            email_enabled: Set(patch.email_enabled.unwrap_or(current.email_enabled)),
            muted_kinds: Set(serde_json::json!(muted)),
            quiet_hours_start: Set(row.as_ref().and_then(|r| r.quiet_hours_start.clone())),
            quiet_hours_end: Set(row.as_ref().and_then(|r| r.quiet_hours_end.clone())),
            updated_at: Set(now()),
        };
        let saved = if row.is_some() {
            am.update(&self.db).await?
        } else {
            am.insert(&self.db).await?
        };
        Ok(view(actor.user_id, Some(saved)))
    }
}
