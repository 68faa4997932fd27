//! Participants of a conversation: listing, adding (same tenant, within the size
//! limit), removing or leaving, and each participant's own mute and archive flags.

use entity::enums::{ConversationKind, ParticipantRole};
use entity::{conversation_participants as cp, conversations};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Conversations;
use super::conversations::new_participant;
use crate::domain::access::require_manager;
use crate::domain::events::{ParticipantRemoved, ParticipantsAdded, Payload};
use crate::domain::views::ParticipantView;
use crate::domain::{Actor, limits, now};
use crate::error::{AppError, AppResult};
use crate::realtime::{Audience, RealtimeEvent};

/// The caller's flags on one conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantFlags {
    pub conversation_id: Uuid,
    pub muted: bool,
    pub archived: bool,
}

/// Which participant flag to set.
#[derive(Debug, Clone, Copy)]
pub enum Flag {
    Muted(bool),
    Archived(bool),
}

impl Conversations {
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
        let (conv, part) = self.access.check(actor, id).await?;
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
        if ids.is_empty() || ids.len() > limits::MAX_ADDED_AT_ONCE {
            return Err(AppError::validation(
                "user_ids",
                format!("give 1 to {} user ids", limits::MAX_ADDED_AT_ONCE),
            ));
        }
        let people = self.tenant_users(actor, &ids).await?;
        let existing = cp::Entity::find()
            .filter(cp::Column::ConversationId.eq(id))
            .filter(cp::Column::UserId.is_in(ids.clone()))
            .all(&self.db)
            .await?;
        let current = self.access.participant_ids(id).await?;
        if current.len() + ids.len() > limits::MAX_PARTICIPANTS {
            return Err(AppError::validation(
                "user_ids",
                format!("at most {} participants", limits::MAX_PARTICIPANTS),
            ));
        }
        let at = now();
        let tx = crate::domain::begin_write(&self.db).await?;
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
            let payload = Payload::ConversationParticipantsAdded(ParticipantsAdded {
                conversation_id: id,
                chat_id: id,
                user_ids: added.clone(),
                participants: participants.clone(),
            });
            self.hub
                .publish(
                    RealtimeEvent::new(payload)
                        .actor(actor.user_id)
                        .conversation(id),
                    Audience::users(self.access.participant_ids(id).await?),
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
        let (conv, part) = self.access.check(actor, id).await?;
        if conv.kind == ConversationKind::Direct {
            return Err(AppError::validation(
                "user_id",
                "cannot leave a direct conversation",
            ));
        }
        if user_id != actor.user_id {
            require_manager(&conv, &part)?;
        }
        let audience = Audience::users(self.access.participant_ids(id).await?);
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
        let payload = Payload::ParticipantRemoved(ParticipantRemoved {
            conversation_id: id,
            chat_id: id,
            user_id,
        });
        self.hub
            .publish(
                RealtimeEvent::new(payload)
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
        let (_, part) = self.access.check(actor, id).await?;
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
}
