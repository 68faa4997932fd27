//! Who may touch what: the conversation access rule every chat call starts with
//! (missing or another tenant's → 404, not a participant → 403), who manages a
//! conversation, blocks between two users, and who may subscribe to a realtime
//! channel ([`subscriptions`]).

pub mod subscriptions;

use entity::enums::{ConversationKind, ParticipantRole};
use entity::{blocks, conversation_participants as cp, conversations};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, ExprTrait, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use crate::domain::Actor;
use crate::error::{AppError, AppResult};

fn not_a_participant() -> AppError {
    AppError::Forbidden("not a participant of this conversation".into())
}

/// The access rules as a service: it holds the database only, and every area that
/// touches a conversation holds it.
#[derive(Clone)]
pub struct Access {
    db: DatabaseConnection,
}

impl Access {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

/// The caller's participation, as far as a send needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Membership {
    /// The participant row's id.
    pub id: Uuid,
    pub role: ParticipantRole,
}

impl Access {
    /// The conversation and the caller's participation. A conversation that does not
    /// exist, is deleted, or belongs to another tenant is 404; one the caller does not
    /// take part in is 403.
    pub async fn check(
        &self,
        actor: &Actor,
        conversation_id: Uuid,
    ) -> AppResult<(conversations::Model, cp::Model)> {
        let conv = self.visible_conversation(actor, conversation_id).await?;
        let part = cp::Entity::find()
            .filter(cp::Column::ConversationId.eq(conversation_id))
            .filter(cp::Column::UserId.eq(actor.user_id))
            .filter(cp::Column::LeftAt.is_null())
            .one(&self.db)
            .await?
            .ok_or_else(not_a_participant)?;
        Ok((conv, part))
    }

    /// The caller's tenant's conversation, unless it is deleted (404 otherwise, whether
    /// it is missing or another tenant's).
    async fn visible_conversation(
        &self,
        actor: &Actor,
        conversation_id: Uuid,
    ) -> AppResult<conversations::Model> {
        conversations::Entity::find_by_id(conversation_id)
            .filter(conversations::Column::TenantId.eq(actor.tenant_id))
            .filter(conversations::Column::DeletedAt.is_null())
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("conversation"))
    }

    /// [`Access::check`] and the current participants' user ids, in two reads instead of
    /// three (a send needs both): the caller's own participation is picked from the list.
    pub(crate) async fn access_with_members(
        &self,
        actor: &Actor,
        conversation_id: Uuid,
    ) -> AppResult<(conversations::Model, Membership, Vec<Uuid>)> {
        let conv = self.visible_conversation(actor, conversation_id).await?;
        let members: Vec<(Uuid, Uuid, ParticipantRole)> = cp::Entity::find()
            .select_only()
            .column(cp::Column::Id)
            .column(cp::Column::UserId)
            .column(cp::Column::Role)
            .filter(cp::Column::ConversationId.eq(conversation_id))
            .filter(cp::Column::LeftAt.is_null())
            .into_tuple()
            .all(&self.db)
            .await?;
        let own = members
            .iter()
            .find(|(_, user, _)| *user == actor.user_id)
            .map(|(id, _, role)| Membership {
                id: *id,
                role: *role,
            })
            .ok_or_else(not_a_participant)?;
        Ok((conv, own, members.into_iter().map(|(_, u, _)| u).collect()))
    }

    /// User ids of the current participants.
    pub async fn participant_ids(&self, conversation_id: Uuid) -> AppResult<Vec<Uuid>> {
        Ok(cp::Entity::find()
            .select_only()
            .column(cp::Column::UserId)
            .filter(cp::Column::ConversationId.eq(conversation_id))
            .filter(cp::Column::LeftAt.is_null())
            .into_tuple::<Uuid>()
            .all(&self.db)
            .await?)
    }

    /// Fails with 403 when either user has blocked the other.
    pub(crate) async fn ensure_not_blocked(&self, a: Uuid, b: Uuid) -> AppResult<()> {
        let blocked = blocks::Entity::find()
            .filter(
                Condition::any()
                    .add(
                        blocks::Column::BlockerId
                            .eq(a)
                            .and(blocks::Column::BlockedId.eq(b)),
                    )
                    .add(
                        blocks::Column::BlockerId
                            .eq(b)
                            .and(blocks::Column::BlockedId.eq(a)),
                    ),
            )
            .one(&self.db)
            .await?;
        match blocked {
            Some(_) => Err(AppError::Forbidden(
                "messaging between these users is blocked".into(),
            )),
            None => Ok(()),
        }
    }
}

/// Owners and admins manage a conversation; in a group every participant may.
pub(crate) fn require_manager(conv: &conversations::Model, part: &cp::Model) -> AppResult<()> {
    if conv.kind == ConversationKind::Group || part.role != ParticipantRole::Member {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only owners and admins may do this".into(),
        ))
    }
}
