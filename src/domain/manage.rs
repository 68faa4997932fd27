//! Conversation management: creating groups and channels, renaming, deleting (for
//! the caller or for everyone), participants, mute/archive flags, unread summaries.

use entity::enums::{ConversationKind, ParticipantRole};
use entity::{conversation_participants as cp, conversations, users};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::conversations::{new_conversation, new_participant};
use super::views::{ChatView, ParticipantView};
use super::{Actor, Domain, now, validate};
use crate::error::{AppError, AppResult};
use crate::realtime::{Audience, EventType, RealtimeEvent};

/// Most participants a conversation may have.
pub const MAX_PARTICIPANTS: usize = 500;

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

/// The caller's flags on one conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantFlags {
    pub conversation_id: Uuid,
    pub muted: bool,
    pub archived: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadEntry {
    pub conversation_id: Uuid,
    pub unread_count: i64,
    pub last_seq: i64,
}

/// Which participant flag to set.
#[derive(Debug, Clone, Copy)]
pub enum Flag {
    Muted(bool),
    Archived(bool),
}

impl Domain {
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
        if others.len() + 1 > MAX_PARTICIPANTS {
            return Err(AppError::validation(
                "participant_ids",
                format!("at most {MAX_PARTICIPANTS} participants"),
            ));
        }
        let people = self.tenant_users(actor, &others).await?;
        let title = match input.title.as_deref() {
            Some(t) => Some(validate::text("title", t, 1, 200)?),
            None => Some(auto_title(actor, &people, input.kind, self).await?),
        };
        let description = match input.description.as_deref() {
            Some(d) => Some(validate::text("description", d, 0, 2000)?),
            None => None,
        };
        let at = now();
        let id = Uuid::now_v7();
        let tx = self.db.begin().await?;
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
    async fn tenant_users(&self, actor: &Actor, ids: &[Uuid]) -> AppResult<Vec<users::Model>> {
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
        let (conv, part) = self.access(actor, id).await?;
        if conv.kind == ConversationKind::Direct {
            return Err(AppError::validation(
                "title",
                "direct conversations cannot be renamed",
            ));
        }
        require_manager(&conv, &part)?;
        let mut am: conversations::ActiveModel = conv.into();
        if let Some(t) = patch.title.as_deref() {
            am.title = Set(Some(validate::text("title", t, 1, 200)?));
        }
        if let Some(d) = patch.description.as_deref() {
            am.description = Set(Some(validate::text("description", d, 0, 2000)?));
        }
        am.updated_at = Set(now());
        am.update(&self.db).await?;
        let view = self.chat_view(actor, id).await?;
        let audience = Audience::users(self.participant_ids(id).await?);
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
        let (conv, part) = self.access(actor, id).await?;
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
                let audience = Audience::users(self.participant_ids(id).await?);
                let mut am: conversations::ActiveModel = conv.into();
                am.deleted_at = Set(Some(now()));
                am.updated_at = Set(now());
                am.update(&self.db).await?;
                let payload = serde_json::json!({"id": id, "chat_id": id, "deleted": true});
                self.hub
                    .publish(
                        RealtimeEvent::new(EventType::ConversationUpdated, payload)
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

    pub async fn list_participants(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> AppResult<Vec<ParticipantView>> {
        // chat_view checks access itself.
        Ok(self.chat_view(actor, id).await?.participants)
    }

    /// Adds users to a group or channel (owners and admins). Already present users
    /// are left as they are.
    pub async fn add_participants(
        &self,
        actor: &Actor,
        id: Uuid,
        user_ids: Vec<Uuid>,
    ) -> AppResult<Vec<ParticipantView>> {
        let (conv, part) = self.access(actor, id).await?;
        if conv.kind == ConversationKind::Direct {
            return Err(AppError::validation(
                "user_ids",
                "direct conversations have two participants",
            ));
        }
        require_manager(&conv, &part)?;
        let mut ids = user_ids;
        ids.sort();
        ids.dedup();
        if ids.is_empty() || ids.len() > 100 {
            return Err(AppError::validation("user_ids", "give 1 to 100 user ids"));
        }
        let people = self.tenant_users(actor, &ids).await?;
        let existing = cp::Entity::find()
            .filter(cp::Column::ConversationId.eq(id))
            .filter(cp::Column::UserId.is_in(ids.clone()))
            .all(&self.db)
            .await?;
        let current = self.participant_ids(id).await?;
        if current.len() + ids.len() > MAX_PARTICIPANTS {
            return Err(AppError::validation(
                "user_ids",
                format!("at most {MAX_PARTICIPANTS} participants"),
            ));
        }
        let at = now();
        let tx = self.db.begin().await?;
        let mut added = Vec::new();
        for u in &people {
            match existing.iter().find(|p| p.user_id == u.id) {
                Some(p) if p.left_at.is_none() => continue,
                Some(p) => {
                    // Rejoining: history before now stays hidden from them.
                    let mut am: cp::ActiveModel = p.clone().into();
                    am.left_at = Set(None);
                    am.joined_at = Set(at);
                    am.role = Set(ParticipantRole::Member);
                    am.cleared_before_seq = Set(conv.last_seq);
                    am.last_read_seq = Set(conv.last_seq);
                    am.update(&tx).await?;
                }
                None => {
                    let mut am = new_participant(id, u.id, ParticipantRole::Member, at);
                    am.cleared_before_seq = Set(conv.last_seq);
                    am.last_read_seq = Set(conv.last_seq);
                    am.insert(&tx).await?;
                }
            }
            added.push(u.id);
        }
        conversations::Entity::update_many()
            .col_expr(conversations::Column::UpdatedAt, Expr::value(at))
            .filter(conversations::Column::Id.eq(id))
            .exec(&tx)
            .await?;
        tx.commit().await?;
        let participants = self.list_participants(actor, id).await?;
        if !added.is_empty() {
            let payload = serde_json::json!({"conversation_id": id, "chat_id": id, "user_ids": added,
                "participants": participants});
            self.hub
                .publish(
                    RealtimeEvent::new(EventType::ConversationParticipantsAdded, payload)
                        .actor(actor.user_id)
                        .conversation(id),
                    Audience::users(self.participant_ids(id).await?),
                )
                .await;
        }
        Ok(participants)
    }

    /// Removes a participant: owners/admins remove others; anyone may leave.
    pub async fn remove_participant(
        &self,
        actor: &Actor,
        id: Uuid,
        user_id: Uuid,
    ) -> AppResult<()> {
        let (conv, part) = self.access(actor, id).await?;
        if conv.kind == ConversationKind::Direct {
            return Err(AppError::validation(
                "user_id",
                "cannot leave a direct conversation",
            ));
        }
        if user_id != actor.user_id {
            require_manager(&conv, &part)?;
        }
        let audience = Audience::users(self.participant_ids(id).await?);
        let res = cp::Entity::update_many()
            .col_expr(cp::Column::LeftAt, Expr::value(now()))
            .filter(cp::Column::ConversationId.eq(id))
            .filter(cp::Column::UserId.eq(user_id))
            .filter(cp::Column::LeftAt.is_null())
            .exec(&self.db)
            .await?;
        if res.rows_affected == 0 {
            return Err(AppError::NotFound("participant"));
        }
        let payload = serde_json::json!({"conversation_id": id, "chat_id": id, "user_id": user_id});
        self.hub
            .publish(
                RealtimeEvent::new(EventType::ParticipantRemoved, payload)
                    .actor(actor.user_id)
                    .conversation(id),
                audience,
            )
            .await;
        Ok(())
    }

    pub async fn set_flag(
        &self,
        actor: &Actor,
        id: Uuid,
        flag: Flag,
    ) -> AppResult<ParticipantFlags> {
        let (_, part) = self.access(actor, id).await?;
        let mut am: cp::ActiveModel = part.into();
        match flag {
            Flag::Muted(v) => am.muted = Set(v),
            Flag::Archived(v) => am.archived = Set(v),
        }
        let p = am.update(&self.db).await?;
        Ok(ParticipantFlags {
            conversation_id: id,
            muted: p.muted,
            archived: p.archived,
        })
    }

    /// Conversations with unread messages for the caller.
    pub async fn unread_by_conversation(&self, actor: &Actor) -> AppResult<Vec<UnreadEntry>> {
        let parts = cp::Entity::find()
            .filter(cp::Column::UserId.eq(actor.user_id))
            .filter(cp::Column::LeftAt.is_null())
            .all(&self.db)
            .await?;
        let ids: Vec<Uuid> = parts.iter().map(|p| p.conversation_id).collect();
        let convs = conversations::Entity::find()
            .filter(conversations::Column::Id.is_in(ids))
            .filter(conversations::Column::DeletedAt.is_null())
            .all(&self.db)
            .await?;
        Ok(convs
            .into_iter()
            .filter_map(|c| {
                let p = parts.iter().find(|p| p.conversation_id == c.id)?;
                let unread = c.last_seq - Ord::max(p.last_read_seq, p.cleared_before_seq);
                (unread > 0).then_some(UnreadEntry {
                    conversation_id: c.id,
                    unread_count: unread,
                    last_seq: c.last_seq,
                })
            })
            .collect())
    }

    async fn publish_conversation(&self, actor: &Actor, view: &ChatView, audience: Audience) {
        self.hub
            .publish(
                RealtimeEvent::new(EventType::ConversationUpdated, view)
                    .actor(actor.user_id)
                    .conversation(view.id)
                    .entity("conversation", view.id),
                audience,
            )
            .await;
    }
}

/// Owners and admins manage a conversation; in a group every participant may.
fn require_manager(conv: &conversations::Model, part: &cp::Model) -> AppResult<()> {
    if conv.kind == ConversationKind::Group || part.role != ParticipantRole::Member {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only owners and admins may do this".into(),
        ))
    }
}

/// "Ann, Bob, Carl" (and "+N" past three names), from the caller's point of view.
async fn auto_title(
    actor: &Actor,
    others: &[users::Model],
    kind: ConversationKind,
    domain: &Domain,
) -> AppResult<String> {
    let me = domain.user(actor.user_id).await?;
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
