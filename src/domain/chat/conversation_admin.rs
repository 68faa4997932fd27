//! Creating conversations (a direct pair is never duplicated; group and channel
//! titles generated from names when omitted), renaming and describing them, and
//! deleting them for the caller or for everyone.

use entity::enums::{ConversationKind, ParticipantRole};
use entity::{conversation_participants as cp, conversations, users};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Conversations;
use super::conversations::{new_conversation, new_participant};
use crate::domain::access::require_manager;
use crate::domain::events::{ConversationChange, ConversationDeleted, Payload};
use crate::domain::views::ChatView;
use crate::domain::{Actor, limits, now, validate};
use crate::error::{AppError, AppResult};
use crate::realtime::{Audience, RealtimeEvent};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConversation {
    /// direct | group | channel
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: ConversationKind,
    pub participant_ids: Vec<Uuid>,
    /// `name` is accepted too (003's spelling).
    #[serde(alias = "name")]
    pub title: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationPatch {
    /// `name` is accepted too: 003 documents "update name or description".
    #[serde(alias = "name")]
    pub title: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeleteScope {
    ForMe,
    ForEveryone,
}

impl Conversations {
    /// Creates a conversation; a direct one with the same pair returns the existing one.
    /// Returns it and whether it is new.
    pub async fn create_conversation(
        &self,
        actor: &Actor,
        input: CreateConversation,
    ) -> AppResult<(ChatView, bool)> {
        let mut others: Vec<Uuid> = input.participant_ids.clone();
        others.sort();
        others.dedup();
        others.retain(|u| *u != actor.user_id);
        if input.kind == ConversationKind::Direct {
            return match others.as_slice() {
                [other] => self.open_direct(actor, *other).await,
                _ => Err(AppError::validation(
                    "participant_ids",
                    "a direct conversation needs exactly one other participant",
                )),
            };
        }
        if !matches!(
            input.kind,
            ConversationKind::Group | ConversationKind::Channel
        ) {
            return Err(AppError::validation(
                "type",
                "must be direct, group or channel",
            ));
        }
        if others.len() + 1 > limits::MAX_PARTICIPANTS {
            return Err(AppError::validation(
                "participant_ids",
                format!("at most {} participants", limits::MAX_PARTICIPANTS),
            ));
        }
        let people = self.tenant_users(actor, &others).await?;
        let title = match input.title.as_deref() {
            Some(t) => Some(validate::text("title", t, limits::TITLE)?),
            None => Some(auto_title(actor, &people, input.kind, self).await?),
        };
        let description = match input.description.as_deref() {
            Some(d) => Some(validate::text("description", d, limits::DESCRIPTION)?),
            None => None,
        };
        let at = now();
        let id = Uuid::now_v7();
        let tx = crate::domain::begin_write(&self.db).await?;
        new_conversation(actor, id, input.kind, title, description, None, at)
            .insert(&tx)
            .await?;
        new_participant(id, actor.user_id, ParticipantRole::Owner, at)
            .insert(&tx)
            .await?;
        for u in &people {
            new_participant(id, u.id, ParticipantRole::Member, at)
                .insert(&tx)
                .await?;
        }
        tx.commit().await?;
        let view = self.chat_view(actor, id).await?;
        let audience = Audience::users(people.iter().map(|u| u.id).chain([actor.user_id]));
        self.publish_conversation(actor, &view, audience).await;
        Ok((view, true))
    }

    /// Active users of the caller's tenant with these ids; any other id is a 400.
    pub(crate) async fn tenant_users(
        &self,
        actor: &Actor,
        ids: &[Uuid],
    ) -> AppResult<Vec<users::Model>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let found = users::Entity::find()
            .filter(users::Column::Id.is_in(ids.to_vec()))
            .filter(users::Column::TenantId.eq(actor.tenant_id))
            .filter(users::Column::IsActive.eq(true))
            .all(&self.db)
            .await?;
        if let Some(missing) = ids.iter().find(|id| !found.iter().any(|u| u.id == **id)) {
            return Err(AppError::validation(
                "participant_ids",
                format!("unknown user {missing}"),
            ));
        }
        Ok(found)
    }

    pub async fn update_conversation(
        &self,
        actor: &Actor,
        id: Uuid,
        patch: ConversationPatch,
    ) -> AppResult<ChatView> {
        let (conv, part) = self.access.check(actor, id).await?;
        if conv.kind == ConversationKind::Direct {
            return Err(AppError::validation(
                "title",
                "direct conversations cannot be renamed",
            ));
        }
        require_manager(&conv, &part)?;
        let mut am: conversations::ActiveModel = conv.into();
        if let Some(t) = patch.title.as_deref() {
            am.title = Set(Some(validate::text("title", t, limits::TITLE)?));
        }
        if let Some(d) = patch.description.as_deref() {
            am.description = Set(Some(validate::text("description", d, limits::DESCRIPTION)?));
        }
        am.updated_at = Set(now());
        am.update(&self.db).await?;
        let view = self.chat_view(actor, id).await?;
        let audience = Audience::users(self.access.participant_ids(id).await?);
        self.publish_conversation(actor, &view, audience).await;
        Ok(view)
    }

    /// `for_me` hides the history up to now for the caller; `for_everyone` (owners
    /// and admins) deletes the conversation.
    pub async fn delete_conversation(
        &self,
        actor: &Actor,
        id: Uuid,
        scope: DeleteScope,
    ) -> AppResult<()> {
        let (conv, part) = self.access.check(actor, id).await?;
        match scope {
            DeleteScope::ForMe => {
                cp::Entity::update_many()
                    .col_expr(cp::Column::ClearedBeforeSeq, Expr::value(conv.last_seq))
                    .col_expr(cp::Column::LastReadSeq, Expr::value(conv.last_seq))
                    .filter(cp::Column::Id.eq(part.id))
                    .exec(&self.db)
                    .await?;
            }
            DeleteScope::ForEveryone => {
                if part.role == ParticipantRole::Member {
                    return Err(AppError::Forbidden(
                        "only owners and admins may delete for everyone".into(),
                    ));
                }
                let audience = Audience::users(self.access.participant_ids(id).await?);
                let mut am: conversations::ActiveModel = conv.into();
                am.deleted_at = Set(Some(now()));
                am.updated_at = Set(now());
                am.update(&self.db).await?;
                let payload = Payload::ConversationUpdated(ConversationChange::Deleted(
                    ConversationDeleted {
                        id,
                        chat_id: id,
                        deleted: true,
                    },
                ));
                self.hub
                    .publish(
                        RealtimeEvent::new(payload.clone())
                            .actor(actor.user_id)
                            .conversation(id)
                            .entity("conversation", id),
                        audience,
                    )
                    .await;
            }
        }
        Ok(())
    }

    async fn publish_conversation(&self, actor: &Actor, view: &ChatView, audience: Audience) {
        self.hub
            .publish(
                RealtimeEvent::new(Payload::ConversationUpdated(ConversationChange::View(
                    Box::new(view.clone()),
                )))
                .actor(actor.user_id)
                .conversation(view.id)
                .entity("conversation", view.id),
                audience,
            )
            .await;
    }
}

/// "Ann, Bob, Carl" (and "+N" past three names), from the caller's point of view.
async fn auto_title(
    actor: &Actor,
    others: &[users::Model],
    kind: ConversationKind,
    conversations: &Conversations,
) -> AppResult<String> {
    let me = conversations.accounts.user(actor.user_id).await?;
    let mut names: Vec<&str> = std::iter::once(me.display_name.as_str())
        .chain(others.iter().map(|u| u.display_name.as_str()))
        .collect();
    let extra = names.len().saturating_sub(3);
    names.truncate(3);
    let mut title = names.join(", ");
    if extra > 0 {
        title.push_str(&format!(" +{extra}"));
    }
    if kind == ConversationKind::Channel {
        title = format!("#{title}");
    }
    Ok(title.chars().take(200).collect())
}
