//! Conversations: finding or creating direct chats, listing a user's chats with
//! unread counts and last message, read markers, typing.

use std::collections::HashMap;

use entity::enums::{ConversationKind, ParticipantRole};
use entity::{conversation_participants as cp, conversations, messages, users};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, ExprTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Conversations;
use super::search::contains_ci;
use crate::domain::events::{ConversationChange, Payload, Typing};
use crate::domain::unique::is_unique_violation;
use crate::domain::views::{ChatView, MessageView, ParticipantView, ReadReceipt};
use crate::domain::{Actor, limits, now, validate};
use crate::error::{AppError, AppResult};
use crate::realtime::{Audience, RealtimeEvent};

/// Filters for listing the caller's conversations.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ChatQuery {
    #[serde(rename = "type")]
    #[schema(value_type = Option<String>)]
    pub kind: Option<ConversationKind>,
    pub search: Option<String>,
    #[serde(default)]
    pub unread_only: bool,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

impl Conversations {
    /// Finds or creates the one direct conversation between the caller and `other`.
    /// Returns it and whether it was created now.
    pub async fn open_direct(&self, actor: &Actor, other: Uuid) -> AppResult<(ChatView, bool)> {
        if other == actor.user_id {
            return Err(AppError::validation(
                "receiver_id",
                "cannot open a chat with yourself",
            ));
        }
        let peer = self
            .accounts
            .user_in_tenant(actor, other)
            .await
            .map_err(|_| AppError::NotFound("user"))?;
        if !peer.is_active {
            return Err(AppError::NotFound("user"));
        }
        self.access.ensure_not_blocked(actor.user_id, other).await?;
        let key = direct_key(actor.user_id, other);
        if let Some(c) = self.direct_by_key(&key).await? {
            return Ok((self.chat_view(actor, c.id).await?, false));
        }
        let at = now();
        let id = Uuid::now_v7();
        let tx = crate::domain::begin_write(&self.db).await?;
        let inserted = new_conversation(
            actor,
            id,
            ConversationKind::Direct,
            None,
            None,
            Some(key.clone()),
            at,
        )
        .insert(&tx)
        .await;
        match inserted {
            Ok(_) => {
                for user in [actor.user_id, other] {
                    new_participant(id, user, ParticipantRole::Member, at)
                        .insert(&tx)
                        .await?;
                }
                tx.commit().await?;
            }
            Err(e) if is_unique_violation(&e) => {
                // Someone created the same pair concurrently: use theirs.
                drop(tx);
                let c = self
                    .direct_by_key(&key)
                    .await?
                    .ok_or(AppError::NotFound("conversation"))?;
                return Ok((self.chat_view(actor, c.id).await?, false));
            }
            Err(e) => return Err(e.into()),
        }
        let view = self.chat_view(actor, id).await?;
        // The peer hears of it in its own view (its title is the caller's name, its
        // unread count its own), not the caller's.
        let peer_view = self
            .chat_view(&crate::domain::accounts::users::actor_of(peer)?, id)
            .await?;
        self.hub
            .publish(
                RealtimeEvent::new(Payload::ConversationUpdated(ConversationChange::View(
                    Box::new(peer_view.clone()),
                )))
                .actor(actor.user_id)
                .conversation(id)
                .entity("conversation", id),
                Audience::users([other]),
            )
            .await;
        Ok((view, true))
    }

    async fn direct_by_key(&self, key: &str) -> AppResult<Option<conversations::Model>> {
        Ok(conversations::Entity::find()
            .filter(conversations::Column::DirectKey.eq(key))
            .filter(conversations::Column::DeletedAt.is_null())
            .one(&self.db)
            .await?)
    }

    /// Every chat a client asks for at once (Worknation's `get_chats`: "all chat
    /// sessions"): the largest page, most recently active first.
    pub async fn recent_chats(&self, actor: &Actor) -> AppResult<Vec<ChatView>> {
        let q = ChatQuery {
            limit: Some(limits::PAGE.1),
            ..ChatQuery::default()
        };
        self.list_chats(actor, q).await
    }

    /// One conversation as the caller sees it.
    pub async fn chat_view(&self, actor: &Actor, id: Uuid) -> AppResult<ChatView> {
        let (conv, part) = self.access.check(actor, id).await?;
        let mut views = self.chat_views(actor, vec![(conv, part)]).await?;
        Ok(views.remove(0))
    }

    /// The caller's conversations, most recently active first.
    pub async fn list_chats(&self, actor: &Actor, q: ChatQuery) -> AppResult<Vec<ChatView>> {
        let limit = validate::page_limit(q.limit, limits::PAGE)?;
        let mut mine = Query::select();
        mine.column((cp::Entity, cp::Column::ConversationId))
            .from(cp::Entity)
            .and_where(Expr::col((cp::Entity, cp::Column::UserId)).eq(actor.user_id))
            .and_where(Expr::col((cp::Entity, cp::Column::LeftAt)).is_null());
        if q.unread_only {
            mine.and_where(
                Expr::col((cp::Entity, cp::Column::LastReadSeq)).lt(Expr::col((
                    conversations::Entity,
                    conversations::Column::LastSeq,
                ))),
            );
        }
        let mut find = conversations::Entity::find()
            .filter(conversations::Column::TenantId.eq(actor.tenant_id))
            .filter(conversations::Column::DeletedAt.is_null())
            .filter(conversations::Column::Id.in_subquery(mine.to_owned()));
        if let Some(kind) = q.kind {
            find = find.filter(conversations::Column::Kind.eq(kind));
        }
        if let Some(search) = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let search = validate::text("search", search, limits::LIST_SEARCH)?;
            // A direct chat's title is the other person's name, which is not stored.
            let mut peers = Query::select();
            peers
                .column((cp::Entity, cp::Column::ConversationId))
                .from(cp::Entity)
                .inner_join(
                    users::Entity,
                    Expr::col((users::Entity, users::Column::Id))
                        .equals((cp::Entity, cp::Column::UserId)),
                )
                .and_where(Expr::col((cp::Entity, cp::Column::UserId)).ne(actor.user_id))
                .and_where(contains_ci(
                    (users::Entity, users::Column::DisplayName),
                    &search,
                ));
            find = find.filter(
                Condition::any()
                    .add(contains_ci(
                        (conversations::Entity, conversations::Column::Title),
                        &search,
                    ))
                    .add(
                        Condition::all()
                            .add(conversations::Column::Kind.eq(ConversationKind::Direct))
                            .add(conversations::Column::Title.is_null())
                            .add(conversations::Column::Id.in_subquery(peers.to_owned())),
                    ),
            );
        }
        let convs = find
            .order_by_desc(conversations::Column::UpdatedAt)
            .order_by_desc(conversations::Column::Id)
            .offset(validate::offset(q.offset)?)
            .limit(limit)
            .all(&self.db)
            .await?;
        let ids: Vec<Uuid> = convs.iter().map(|c| c.id).collect();
        let parts: HashMap<Uuid, cp::Model> = cp::Entity::find()
            .filter(cp::Column::ConversationId.is_in(ids))
            .filter(cp::Column::UserId.eq(actor.user_id))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| (p.conversation_id, p))
            .collect();
        let pairs = convs
            .into_iter()
            .filter_map(|c| parts.get(&c.id).cloned().map(|p| (c, p)))
            .collect();
        self.chat_views(actor, pairs).await
    }

    /// Builds views for many conversations in a fixed number of queries.
    async fn chat_views(
        &self,
        actor: &Actor,
        convs: Vec<(conversations::Model, cp::Model)>,
    ) -> AppResult<Vec<ChatView>> {
        if convs.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = convs.iter().map(|(c, _)| c.id).collect();
        let members = cp::Entity::find()
            .filter(cp::Column::ConversationId.is_in(ids.clone()))
            .filter(cp::Column::LeftAt.is_null())
            .order_by_asc(cp::Column::JoinedAt)
            .all(&self.db)
            .await?;
        let user_ids: Vec<Uuid> = members.iter().map(|m| m.user_id).collect();
        let people: HashMap<Uuid, users::Model> = users::Entity::find()
            .filter(users::Column::Id.is_in(user_ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        let mut last = Condition::any();
        for (c, _) in convs.iter().filter(|(c, _)| c.last_seq > 0) {
            last = last.add(
                messages::Column::ConversationId
                    .eq(c.id)
                    .and(messages::Column::Seq.eq(c.last_seq)),
            );
        }
        let last_messages: HashMap<Uuid, messages::Model> =
            if convs.iter().any(|(c, _)| c.last_seq > 0) {
                messages::Entity::find()
                    .filter(last)
                    .all(&self.db)
                    .await?
                    .into_iter()
                    .map(|m| (m.conversation_id, m))
                    .collect()
            } else {
                HashMap::new()
            };
        let mut by_conv: HashMap<Uuid, Vec<ParticipantView>> = HashMap::new();
        for m in members {
            let Some(u) = people.get(&m.user_id) else {
                continue;
            };
            by_conv
                .entry(m.conversation_id)
                .or_default()
                .push(ParticipantView {
                    user_id: m.user_id,
                    display_name: u.display_name.clone(),
                    avatar_url: u.avatar_url.clone(),
                    role: m.role,
                    last_read_seq: m.last_read_seq,
                    last_delivered_seq: m.last_delivered_seq,
                });
        }
        let mut chats: Vec<ChatView> = convs
            .into_iter()
            .map(|(c, me)| {
                let participants = by_conv.remove(&c.id).unwrap_or_default();
                let last_message = last_messages
                    .get(&c.id)
                    .filter(|m| m.seq > me.cleared_before_seq)
                    .map(|m| {
                        let ids: Vec<Uuid> = participants.iter().map(|p| p.user_id).collect();
                        let receiver = direct_receiver(&c, &ids, m.sender_id);
                        MessageView::from_model(m.clone(), receiver)
                    });
                let read_floor = Ord::max(me.last_read_seq, me.cleared_before_seq);
                let title = c.title.clone().or_else(|| {
                    (c.kind == ConversationKind::Direct)
                        .then(|| {
                            participants
                                .iter()
                                .find(|p| p.user_id != actor.user_id)
                                .map(|p| p.display_name.clone())
                        })
                        .flatten()
                });
                ChatView {
                    id: c.id,
                    chat_id: c.id,
                    kind: c.kind,
                    name: title.clone(),
                    title,
                    description: c.description,
                    participants,
                    last_message,
                    unread_count: Ord::max(c.last_seq - read_floor, 0),
                    last_seq: c.last_seq,
                    last_read_seq: me.last_read_seq,
                    muted: me.muted,
                    archived: me.archived,
                    created_at: c.created_at,
                    updated_at: c.updated_at,
                }
            })
            .collect();
        self.media
            .fill_attachments(chats.iter_mut().filter_map(|c| c.last_message.as_mut()))
            .await?;
        Ok(chats)
    }

    /// Moves the caller's read marker forward to `seq` (default: the latest message).
    /// Never moves it backwards. Tells every participant's devices.
    pub async fn mark_read(
        &self,
        actor: &Actor,
        conversation_id: Uuid,
        seq: Option<i64>,
    ) -> AppResult<ReadReceipt> {
        let (conv, part) = self.access.check(actor, conversation_id).await?;
        let target = match seq {
            Some(s) if s < 0 => return Err(AppError::validation("seq", "must not be negative")),
            Some(s) => Ord::min(s, conv.last_seq),
            None => conv.last_seq,
        };
        let mut receipt = ReadReceipt {
            conversation_id,
            chat_id: conversation_id,
            user_id: actor.user_id,
            last_read_seq: part.last_read_seq,
        };
        if target <= part.last_read_seq {
            return Ok(receipt);
        }
        let res = cp::Entity::update_many()
            .col_expr(cp::Column::LastReadSeq, Expr::value(target))
            .filter(cp::Column::Id.eq(part.id))
            .filter(cp::Column::LastReadSeq.lt(target))
            .exec(&self.db)
            .await?;
        if res.rows_affected == 0 {
            // A concurrent call moved it further already.
            return Ok(receipt);
        }
        receipt.last_read_seq = target;
        let audience = Audience::users(self.access.participant_ids(conversation_id).await?);
        self.hub
            .publish(
                RealtimeEvent::new(Payload::ConversationRead(receipt.clone()))
                    .actor(actor.user_id)
                    .conversation(conversation_id),
                audience,
            )
            .await;
        Ok(receipt)
    }

    /// Tells the other participants the caller is typing (nothing is stored).
    pub async fn typing(&self, actor: &Actor, conversation_id: Uuid) -> AppResult<()> {
        self.access.check(actor, conversation_id).await?;
        let audience = Audience::users(self.access.participant_ids(conversation_id).await?)
            .except(actor.user_id);
        let payload = Payload::Typing(Typing {
            chat_id: conversation_id,
            conversation_id,
            user_id: actor.user_id,
        });
        self.hub
            .publish(
                RealtimeEvent::new(payload)
                    .actor(actor.user_id)
                    .conversation(conversation_id),
                audience,
            )
            .await;
        Ok(())
    }
}

/// The canonical key of a user pair: the same whichever side opens the chat.
pub fn direct_key(a: Uuid, b: Uuid) -> String {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    format!("{lo}:{hi}")
}

/// In a direct conversation, the participant who is not the sender.
pub(crate) fn direct_receiver(
    conv: &conversations::Model,
    participants: &[Uuid],
    sender: Uuid,
) -> Option<Uuid> {
    (conv.kind == ConversationKind::Direct)
        .then(|| participants.iter().copied().find(|u| *u != sender))
        .flatten()
}

/// A new conversation row created by `actor`, with no messages yet.
pub(crate) fn new_conversation(
    actor: &Actor,
    id: Uuid,
    kind: ConversationKind,
    title: Option<String>,
    description: Option<String>,
    direct_key: Option<String>,
    at: chrono::DateTime<chrono::Utc>,
) -> conversations::ActiveModel {
    conversations::ActiveModel {
        id: Set(id),
        tenant_id: Set(actor.tenant_id),
        kind: Set(kind),
        title: Set(title),
        description: Set(description),
        context_type: Set(None),
        context_id: Set(None),
        direct_key: Set(direct_key),
        created_by: Set(Some(actor.user_id)),
        last_seq: Set(0),
        last_message_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    }
}

pub(crate) fn new_participant(
    conversation_id: Uuid,
    user_id: Uuid,
    role: ParticipantRole,
    at: chrono::DateTime<chrono::Utc>,
) -> cp::ActiveModel {
    cp::ActiveModel {
        id: Set(Uuid::now_v7()),
        conversation_id: Set(conversation_id),
        user_id: Set(user_id),
        role: Set(role),
        last_read_seq: Set(0),
        last_delivered_seq: Set(0),
        muted: Set(false),
        archived: Set(false),
        cleared_before_seq: Set(0),
        joined_at: Set(at),
        left_at: Set(None),
    }
}
