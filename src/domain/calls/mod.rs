//! Calls (000 names only the events; the rest is what WebRTC apps expect): a member of
//! a conversation rings the others (`call_incoming`, an urgent push to who is not
//! connected); the first device to accept wins (`call_accepted` to everyone, naming
//! who answered and on which device, so the others stop ringing); a decline in a
//! direct chat ends it (`call_declined`); no answer within the ring timeout is
//! `call_missed` and a missed-call notification (the scheduler fires it); either side
//! ends it (`call_ended` with the duration). Signalling (`call_signal`: offer, answer,
//! ICE candidates) is relayed to the addressed member's devices only, never stored
//! ([`signals`]).

mod history;
mod signals;

pub use signals::SignalInput;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::calls;
use entity::enums::{CallKind, CallStatus, ConversationKind};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::access::Access;
use crate::domain::events::{CallDeclined, Payload};
use crate::domain::notify::Notifications;
use crate::domain::notify::{Category, NewNotification};
use crate::domain::presence::Presence;
use crate::domain::scheduler::{JobKind, Scheduler};
use crate::domain::{Actor, limits, now};
use crate::error::{AppError, AppResult};
use crate::realtime::{Audience, Hub, RealtimeEvent};

/// The calls service: ringing, answering, ending, signalling. It holds what it uses:
/// the database, the publisher, the access rule, notifications (a missed call),
/// presence (who is connected to ring), the scheduler (the ring timeout) and how long
/// a call rings.
#[derive(Clone)]
pub struct Calls {
    db: DatabaseConnection,
    hub: Hub,
    access: Access,
    notifications: Notifications,
    presence: Arc<Presence>,
    scheduler: Arc<Scheduler>,
    ring_timeout: std::time::Duration,
}

impl Calls {
    pub fn new(
        db: DatabaseConnection,
        hub: Hub,
        access: Access,
        notifications: Notifications,
        presence: Arc<Presence>,
        scheduler: Arc<Scheduler>,
        ring_timeout: std::time::Duration,
    ) -> Self {
        Self {
            db,
            hub,
            access,
            notifications,
            presence,
            scheduler,
            ring_timeout,
        }
    }
}

/// Most calls one history page returns.
const HISTORY_MAX: u64 = 100;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CallInput {
    pub conversation_id: Uuid,
    /// audio | video
    #[serde(alias = "type", alias = "kind")]
    pub media: String,
}

/// Which device answered (optional): the caller's other devices compare it with
/// their own to know the call was answered elsewhere.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AnswerInput {
    pub device_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CallView {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub initiator_id: Uuid,
    /// audio | video
    #[schema(value_type = String)]
    pub media: CallKind,
    /// ringing | active | ended | missed | declined
    #[schema(value_type = String)]
    pub status: CallStatus,
    pub started_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub answered_by: Option<Uuid>,
    /// The device that answered, when it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_by: Option<Uuid>,
    /// From answer to end, for a call that was answered and has ended.
    pub duration_seconds: Option<i64>,
}

impl From<calls::Model> for CallView {
    fn from(c: calls::Model) -> Self {
        Self {
            duration_seconds: match (c.answered_at, c.ended_at) {
                (Some(a), Some(e)) => Some((e - a).num_seconds().max(0)),
                _ => None,
            },
            id: c.id,
            conversation_id: c.conversation_id,
            initiator_id: c.initiator_id,
            media: c.kind,
            status: c.status,
            started_at: c.started_at,
            answered_at: c.answered_at,
            answered_by: c.answered_by,
            device_id: None,
            ended_at: c.ended_at,
            ended_by: c.ended_by,
        }
    }
}

/// A call's history filter.
#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallHistoryQuery {
    pub conversation_id: Uuid,
}

impl Calls {
    /// `by`: who made this happen (none for the ring timeout).
    async fn publish_call(
        &self,
        kind: fn(CallView) -> Payload,
        view: &CallView,
        to: Vec<Uuid>,
        by: Option<Uuid>,
    ) {
        let mut event = RealtimeEvent::new(kind(view.clone()))
            .entity("call", view.id)
            .conversation(view.conversation_id);
        if let Some(by) = by {
            event = event.actor(by);
        }
        self.hub.publish(event, Audience::users(to)).await;
    }

    /// Rings every other member of the conversation; one call at a time per
    /// conversation (409 while one rings or runs).
    pub async fn start_call(&self, actor: &Actor, input: CallInput) -> AppResult<CallView> {
        let media = match input.media.as_str() {
            "audio" => CallKind::Audio,
            "video" => CallKind::Video,
            _ => return Err(AppError::validation("media", "must be audio or video")),
        };
        let (conv, _) = self.access.check(actor, input.conversation_id).await?;
        let members = self.access.participant_ids(conv.id).await?;
        let callees: Vec<Uuid> = members
            .iter()
            .copied()
            .filter(|u| *u != actor.user_id)
            .collect();
        if callees.is_empty() {
            return Err(AppError::validation(
                "conversation_id",
                "nobody else to call",
            ));
        }
        if conv.kind == ConversationKind::Direct {
            // A block stops calls as it stops messages.
            for other in &callees {
                self.access
                    .ensure_not_blocked(actor.user_id, *other)
                    .await?;
            }
        }
        let busy = calls::Entity::find()
            .filter(calls::Column::ConversationId.eq(conv.id))
            .filter(calls::Column::Status.is_in([CallStatus::Ringing, CallStatus::Active]))
            .one(&self.db)
            .await?;
        if busy.is_some() {
            return Err(AppError::Conflict(
                "a call is already ringing or running in this conversation".into(),
            ));
        }
        let at = now();
        let ring = chrono::Duration::from_std(self.ring_timeout).unwrap_or_default();
        let txn = crate::domain::begin_write(&self.db).await?;
        let call = calls::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(actor.tenant_id),
            conversation_id: Set(conv.id),
            initiator_id: Set(actor.user_id),
            kind: Set(media),
            status: Set(CallStatus::Ringing),
            started_at: Set(at),
            answered_at: Set(None),
            ended_at: Set(None),
            answered_by: Set(None),
            ended_by: Set(None),
            ring_until: Set(Some(at + ring)),
        }
        .insert(&txn)
        .await
        .map_err(|e| {
            if crate::domain::unique::is_unique_violation(&e) {
                // Another call started in the same moment (the index holds one).
                AppError::Conflict(
                    "a call is already ringing or running in this conversation".into(),
                )
            } else {
                e.into()
            }
        })?;
        self.scheduler
            .arm(&txn, JobKind::CallRingTimeout, call.id, at + ring)
            .await?;
        txn.commit().await?;
        let view = CallView::from(call.clone());
        self.publish_call(Payload::CallIncoming, &view, members, Some(actor.user_id))
            .await;
        // Who has no live connection is rung by an urgent push.
        let caller = crate::domain::accounts::sessions::user_by_id(&self.db, actor.user_id)
            .await?
            .display_name;
        let mut notes = Vec::new();
        for u in callees {
            if !self.presence.has_live_connection(u).await? {
                notes.push(call_note(
                    &call,
                    u,
                    format!("Incoming call from {caller}"),
                    true,
                ));
            }
        }
        self.notifications.notify(actor.tenant_id, notes).await?;
        Ok(view)
    }

    /// The first callee to accept wins (409 for the later ones and for a call that
    /// is no longer ringing); everyone gets `call_accepted`.
    pub async fn accept_call(
        &self,
        actor: &Actor,
        id: Uuid,
        input: AnswerInput,
    ) -> AppResult<CallView> {
        let call = self.member_call(actor, id).await?;
        if call.initiator_id == actor.user_id {
            return Err(AppError::Forbidden(
                "the caller does not answer their own call".into(),
            ));
        }
        let device = match input.device_id.as_deref().map(str::trim) {
            Some(d) if !d.is_empty() => Some(crate::domain::validate::text(
                "device_id",
                d,
                limits::DEVICE_ID,
            )?),
            _ => None,
        };
        let at = now();
        let txn = crate::domain::begin_write(&self.db).await?;
        let won = calls::Entity::update_many()
            .col_expr(calls::Column::Status, Expr::value(CallStatus::Active))
            .col_expr(calls::Column::AnsweredAt, Expr::value(at))
            .col_expr(calls::Column::AnsweredBy, Expr::value(actor.user_id))
            .filter(calls::Column::Id.eq(id))
            .filter(calls::Column::Status.eq(CallStatus::Ringing))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if !won {
            txn.rollback().await?;
            return Err(AppError::Conflict(format!(
                "the call is {} (answered elsewhere or over)",
                call.status.to_value()
            )));
        }
        self.scheduler
            .disarm(&txn, JobKind::CallRingTimeout, id)
            .await?;
        txn.commit().await?;
        let mut view = self.call_view(id).await?;
        view.device_id = device;
        let members = self.access.participant_ids(call.conversation_id).await?;
        self.publish_call(Payload::CallAccepted, &view, members, Some(actor.user_id))
            .await;
        Ok(view)
    }

    /// A callee declines: in a direct chat that ends the call; in a group the others
    /// keep ringing. Everyone gets `call_declined` naming who declined.
    pub async fn decline_call(&self, actor: &Actor, id: Uuid) -> AppResult<CallView> {
        let call = self.member_call(actor, id).await?;
        if call.initiator_id == actor.user_id {
            return Err(AppError::Forbidden(
                "the caller ends, not declines, their call".into(),
            ));
        }
        if call.status != CallStatus::Ringing {
            return Err(AppError::Conflict("the call is not ringing".into()));
        }
        let (conv, _) = self.access.check(actor, call.conversation_id).await?;
        if conv.kind == ConversationKind::Direct {
            self.close_call(
                id,
                CallStatus::Declined,
                Some(actor.user_id),
                &[CallStatus::Ringing],
            )
            .await?;
        }
        let view = self.call_view(id).await?;
        let members = self.access.participant_ids(call.conversation_id).await?;
        let payload = Payload::CallDeclined(CallDeclined {
            call: view.clone(),
            declined_by: actor.user_id,
        });
        self.hub
            .publish(
                RealtimeEvent::new(payload)
                    .entity("call", id)
                    .actor(actor.user_id)
                    .conversation(call.conversation_id),
                Audience::users(members),
            )
            .await;
        Ok(view)
    }

    /// Either side hangs up (the caller may also while it rings): `call_ended` with
    /// the duration to everyone.
    pub async fn end_call(&self, actor: &Actor, id: Uuid) -> AppResult<CallView> {
        let call = self.member_call(actor, id).await?;
        if !matches!(call.status, CallStatus::Ringing | CallStatus::Active) {
            return Err(AppError::Conflict("the call is over".into()));
        }
        if call.status == CallStatus::Ringing && call.initiator_id != actor.user_id {
            return Err(AppError::Conflict(
                "a ringing call is declined, not ended, by the one called".into(),
            ));
        }
        self.close_call(
            id,
            CallStatus::Ended,
            Some(actor.user_id),
            &[CallStatus::Ringing, CallStatus::Active],
        )
        .await?;
        let view = self.call_view(id).await?;
        let members = self.access.participant_ids(call.conversation_id).await?;
        self.publish_call(Payload::CallEnded, &view, members, Some(actor.user_id))
            .await;
        Ok(view)
    }

    /// The scheduler's ring timeout: a call still ringing is missed; both sides hear
    /// `call_missed` and the callees get a missed-call notification.
    pub(crate) async fn ring_timed_out(&self, id: Uuid) -> AppResult<()> {
        if !self
            .close_call(id, CallStatus::Missed, None, &[CallStatus::Ringing])
            .await?
        {
            return Ok(());
        }
        let call = calls::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("call"))?;
        let view = CallView::from(call.clone());
        let members = self.access.participant_ids(call.conversation_id).await?;
        self.publish_call(Payload::CallMissed, &view, members.clone(), None)
            .await;
        let caller = crate::domain::accounts::sessions::user_by_id(&self.db, call.initiator_id)
            .await?
            .display_name;
        let notes = members
            .into_iter()
            .filter(|u| *u != call.initiator_id)
            .map(|u| call_note(&call, u, format!("Missed call from {caller}"), false))
            .collect();
        self.notifications.notify(call.tenant_id, notes).await
    }

    /// Ends a call that is in one of the `from` states as `to` (by `by`, when a person
    /// ended it), and drops its ring timeout; false when it was no longer in them.
    async fn close_call(
        &self,
        id: Uuid,
        to: CallStatus,
        by: Option<Uuid>,
        from: &[CallStatus],
    ) -> AppResult<bool> {
        let txn = crate::domain::begin_write(&self.db).await?;
        let closed = calls::Entity::update_many()
            .col_expr(calls::Column::Status, Expr::value(to))
            .col_expr(calls::Column::EndedAt, Expr::value(now()))
            .col_expr(calls::Column::EndedBy, Expr::value(by))
            .filter(calls::Column::Id.eq(id))
            .filter(calls::Column::Status.is_in(from.iter().copied()))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if closed {
            self.scheduler
                .disarm(&txn, JobKind::CallRingTimeout, id)
                .await?;
        }
        txn.commit().await?;
        Ok(closed)
    }
}

fn call_note(call: &calls::Model, user: Uuid, title: String, urgent: bool) -> NewNotification {
    NewNotification {
        user_id: user,
        category: Category::Call,
        title,
        body: None,
        data: serde_json::json!({"call_id": call.id, "conversation_id": call.conversation_id,
                                 "media": call.kind}),
        conversation_id: Some(call.conversation_id),
        urgent,
    }
}
