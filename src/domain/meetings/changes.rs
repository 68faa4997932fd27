//! Changing meetings: create (the organiser accepted, invitees pending), edit and
//! reschedule (organiser), cancel (organiser or admin), answer (participants), and the
//! reminder the scheduler fires once before the start. Each change is one
//! transaction, then its events (`meeting_created` / `meeting_updated` /
//! `meeting_deleted` / `meeting_rsvp_updated`) and notifications.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use entity::enums::RsvpStatus;
use entity::{meeting_participants as mp, meetings, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    Set,
};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::MeetingView;
use super::Meetings;
use crate::domain::events::Payload;
use crate::domain::notify::{Category, NewNotification};
use crate::domain::scheduler::JobKind;
use crate::domain::{Actor, limits, now, validate};
use crate::error::{AppError, AppResult};
use crate::realtime::{Audience, RealtimeEvent};

/// A new meeting (000's field names were lost; these are the written ones, with
/// aliases).
#[derive(Debug, Deserialize, ToSchema)]
pub struct MeetingInput {
    pub title: String,
    /// ISO-8601 UTC.
    #[serde(alias = "starts_at", alias = "start_time")]
    pub start_at: DateTime<Utc>,
    #[serde(alias = "ends_at", alias = "end_time")]
    pub end_at: DateTime<Utc>,
    /// Invitees (user ids of the organisation, active).
    #[serde(default, alias = "participants", alias = "invitee_ids")]
    pub participant_ids: Vec<Uuid>,
    #[serde(alias = "agenda")]
    pub description: Option<String>,
    #[serde(alias = "video_url")]
    pub meeting_url: Option<String>,
    pub location: Option<String>,
}

/// An edit by the organiser: only what is given changes; `participant_ids` is the
/// new set of invitees.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingPatch {
    pub title: Option<String>,
    #[serde(alias = "starts_at")]
    pub start_at: Option<DateTime<Utc>>,
    #[serde(alias = "ends_at")]
    pub end_at: Option<DateTime<Utc>>,
    pub participant_ids: Option<Vec<Uuid>>,
    #[serde(default, with = "validate::double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, with = "validate::double_option")]
    #[schema(value_type = Option<String>)]
    pub meeting_url: Option<Option<String>>,
    #[serde(default, with = "validate::double_option")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
}

fn optional(field: &str, v: Option<&str>, url: bool) -> AppResult<Option<String>> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if url => Ok(Some(validate::url(field, v)?)),
        Some(v) => Ok(Some(validate::text(field, v, limits::DESCRIPTION)?)),
    }
}

fn times(start: DateTime<Utc>, end: DateTime<Utc>) -> AppResult<()> {
    if end <= start {
        return Err(AppError::validation("end_at", "must be after start_at"));
    }
    if end - start > chrono::Duration::days(31) {
        return Err(AppError::validation(
            "end_at",
            "a meeting lasts at most 31 days",
        ));
    }
    Ok(())
}

impl Meetings {
    /// Invitees must be active users of the organisation (400 naming the field).
    async fn check_invitees(&self, actor: &Actor, ids: &[Uuid]) -> AppResult<BTreeSet<Uuid>> {
        let set: BTreeSet<Uuid> = ids
            .iter()
            .copied()
            .filter(|u| *u != actor.user_id)
            .collect();
        if set.len() > limits::MAX_INVITEES {
            return Err(AppError::validation(
                "participant_ids",
                format!("at most {} people", limits::MAX_INVITEES),
            ));
        }
        if set.is_empty() {
            return Ok(set);
        }
        let found = users::Entity::find()
            .filter(users::Column::Id.is_in(set.iter().copied()))
            .filter(users::Column::TenantId.eq(actor.tenant_id))
            .filter(users::Column::IsActive.eq(true))
            .count(&self.db)
            .await?;
        if found != set.len() as u64 {
            return Err(AppError::validation(
                "participant_ids",
                "every participant must be an active user of your organisation",
            ));
        }
        Ok(set)
    }

    async fn invite(
        txn: &DatabaseTransaction,
        meeting: Uuid,
        user: Uuid,
        rsvp: RsvpStatus,
    ) -> AppResult<()> {
        mp::ActiveModel {
            id: Set(Uuid::now_v7()),
            meeting_id: Set(meeting),
            user_id: Set(user),
            rsvp: Set(rsvp),
            responded_at: Set((rsvp == RsvpStatus::Accepted).then(now)),
        }
        .insert(txn)
        .await?;
        Ok(())
    }

    /// The reminder fires `reminder_before` the start (at once if that has passed),
    /// none for a meeting that has started.
    async fn arm_reminder(&self, txn: &DatabaseTransaction, m: &meetings::Model) -> AppResult<()> {
        if m.starts_at <= now() {
            return self
                .scheduler
                .disarm(txn, JobKind::MeetingReminder, m.id)
                .await;
        }
        let before = chrono::Duration::from_std(self.calendar.reminder_before).unwrap_or_default();
        let at = std::cmp::max(now(), m.starts_at - before);
        self.scheduler
            .arm(txn, JobKind::MeetingReminder, m.id, at)
            .await
    }

    async fn publish_meeting(
        &self,
        actor: &Actor,
        kind: fn(MeetingView) -> Payload,
        view: &MeetingView,
        to: impl IntoIterator<Item = Uuid>,
    ) {
        self.hub
            .publish(
                RealtimeEvent::new(kind(view.clone()))
                    .entity("meeting", view.id)
                    .actor(actor.user_id),
                Audience::users(to),
            )
            .await;
    }

    pub(super) fn meeting_note(m: &meetings::Model, user: Uuid, title: String) -> NewNotification {
        NewNotification {
            user_id: user,
            category: Category::Meeting,
            title,
            body: Some(m.title.clone()),
            data: serde_json::json!({"meeting_id": m.id, "start_at": m.starts_at}),
            conversation_id: None,
            urgent: false,
        }
    }

    /// 000: creates the meeting; the organiser is an accepted participant, invitees
    /// get `meeting_created` and a notification.
    pub async fn create_meeting(
        &self,
        actor: &Actor,
        input: MeetingInput,
    ) -> AppResult<MeetingView> {
        let title = validate::text("title", &input.title, limits::TITLE)?;
        times(input.start_at, input.end_at)?;
        let invitees = self.check_invitees(actor, &input.participant_ids).await?;
        let at = now();
        let row = meetings::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(actor.tenant_id),
            organizer_id: Set(actor.user_id),
            title: Set(title),
            description: Set(optional(
                "description",
                input.description.as_deref(),
                false,
            )?),
            location: Set(optional("location", input.location.as_deref(), false)?),
            meeting_url: Set(optional("meeting_url", input.meeting_url.as_deref(), true)?),
            starts_at: Set(input.start_at),
            ends_at: Set(input.end_at),
            timezone: Set("UTC".into()),
            conversation_id: Set(None),
            cancelled_at: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
        };
        let txn = crate::domain::begin_write(&self.db).await?;
        let m = row.insert(&txn).await?;
        Self::invite(&txn, m.id, actor.user_id, RsvpStatus::Accepted).await?;
        for u in &invitees {
            Self::invite(&txn, m.id, *u, RsvpStatus::Pending).await?;
        }
        self.arm_reminder(&txn, &m).await?;
        txn.commit().await?;
        let view = self.meeting_view(m.clone()).await?;
        let everyone = invitees.iter().copied().chain([actor.user_id]);
        self.publish_meeting(actor, Payload::MeetingCreated, &view, everyone)
            .await;
        let who = crate::domain::accounts::sessions::user_by_id(&self.db, actor.user_id)
            .await?
            .display_name;
        let notes = invitees
            .iter()
            .map(|u| Self::meeting_note(&m, *u, format!("{who} invited you to a meeting")))
            .collect();
        self.notifications.notify(actor.tenant_id, notes).await?;
        Ok(view)
    }

    /// Edits, reschedules or re-invites (the organiser only). Remaining participants
    /// get `meeting_updated`, new ones `meeting_created`, removed ones
    /// `meeting_deleted`; the reminder follows the start.
    pub async fn update_meeting(
        &self,
        actor: &Actor,
        id: Uuid,
        patch: MeetingPatch,
    ) -> AppResult<MeetingView> {
        let m = self.visible_meeting(actor, id).await?;
        if m.organizer_id != actor.user_id {
            return Err(AppError::Forbidden(
                "only the organiser edits a meeting".into(),
            ));
        }
        if m.cancelled_at.is_some() {
            return Err(AppError::validation("meeting", "is cancelled"));
        }
        let old_start = m.starts_at;
        let start = patch.start_at.unwrap_or(m.starts_at);
        let end = patch.end_at.unwrap_or(m.ends_at);
        times(start, end)?;
        let mut am: meetings::ActiveModel = m.clone().into();
        if let Some(t) = &patch.title {
            am.title = Set(validate::text("title", t, limits::TITLE)?);
        }
        if let Some(d) = &patch.description {
            am.description = Set(optional("description", d.as_deref(), false)?);
        }
        if let Some(l) = &patch.location {
            am.location = Set(optional("location", l.as_deref(), false)?);
        }
        if let Some(u) = &patch.meeting_url {
            am.meeting_url = Set(optional("meeting_url", u.as_deref(), true)?);
        }
        am.starts_at = Set(start);
        am.ends_at = Set(end);
        am.updated_at = Set(now());
        let before: BTreeSet<Uuid> = self
            .meeting_people(id)
            .await?
            .into_iter()
            .map(|p| p.user_id)
            .filter(|u| *u != actor.user_id)
            .collect();
        let after = match &patch.participant_ids {
            Some(ids) => self.check_invitees(actor, ids).await?,
            None => before.clone(),
        };
        let txn = crate::domain::begin_write(&self.db).await?;
        let m = am.update(&txn).await?;
        let removed: Vec<Uuid> = before.difference(&after).copied().collect();
        let added: Vec<Uuid> = after.difference(&before).copied().collect();
        if !removed.is_empty() {
            mp::Entity::delete_many()
                .filter(mp::Column::MeetingId.eq(id))
                .filter(mp::Column::UserId.is_in(removed.clone()))
                .exec(&txn)
                .await?;
        }
        for u in &added {
            Self::invite(&txn, id, *u, RsvpStatus::Pending).await?;
        }
        if start != old_start {
            // A moved meeting is reminded again; an edit of its title is not.
            self.arm_reminder(&txn, &m).await?;
        }
        txn.commit().await?;
        let view = self.meeting_view(m.clone()).await?;
        let stayed: Vec<Uuid> = after.intersection(&before).copied().collect();
        self.publish_meeting(
            actor,
            Payload::MeetingUpdated,
            &view,
            stayed.iter().copied().chain([actor.user_id]),
        )
        .await;
        self.publish_meeting(actor, Payload::MeetingCreated, &view, added.iter().copied())
            .await;
        self.publish_meeting(
            actor,
            Payload::MeetingDeleted,
            &view,
            removed.iter().copied(),
        )
        .await;
        let who = crate::domain::accounts::sessions::user_by_id(&self.db, actor.user_id)
            .await?
            .display_name;
        let notes =
            stayed
                .iter()
                .map(|u| Self::meeting_note(&m, *u, format!("{who} changed a meeting")))
                .chain(
                    added.iter().map(|u| {
                        Self::meeting_note(&m, *u, format!("{who} invited you to a meeting"))
                    }),
                )
                .chain(removed.iter().map(|u| {
                    Self::meeting_note(&m, *u, format!("{who} removed you from a meeting"))
                }))
                .collect();
        self.notifications.notify(actor.tenant_id, notes).await?;
        Ok(view)
    }

    /// 000: the organiser or an admin cancels; everyone gets `meeting_deleted` and a
    /// notification, and the reminder is dropped.
    pub async fn cancel_meeting(&self, actor: &Actor, id: Uuid) -> AppResult<MeetingView> {
        let m = self.visible_meeting(actor, id).await?;
        if m.organizer_id != actor.user_id && !actor.is_admin() {
            return Err(AppError::Forbidden(
                "only the organiser or an admin cancels a meeting".into(),
            ));
        }
        let m = match m.cancelled_at {
            Some(_) => m,
            None => {
                let txn = crate::domain::begin_write(&self.db).await?;
                let mut am: meetings::ActiveModel = m.into();
                am.cancelled_at = Set(Some(now()));
                am.updated_at = Set(now());
                let m = am.update(&txn).await?;
                self.scheduler
                    .disarm(&txn, JobKind::MeetingReminder, id)
                    .await?;
                txn.commit().await?;
                let people: Vec<Uuid> = self
                    .meeting_people(id)
                    .await?
                    .into_iter()
                    .map(|p| p.user_id)
                    .collect();
                let view = self.meeting_view(m.clone()).await?;
                self.publish_meeting(
                    actor,
                    Payload::MeetingDeleted,
                    &view,
                    people.iter().copied(),
                )
                .await;
                let who = crate::domain::accounts::sessions::user_by_id(&self.db, actor.user_id)
                    .await?
                    .display_name;
                let notes = people
                    .iter()
                    .filter(|u| **u != actor.user_id)
                    .map(|u| Self::meeting_note(&m, *u, format!("{who} cancelled a meeting")))
                    .collect();
                self.notifications.notify(actor.tenant_id, notes).await?;
                return Ok(view);
            }
        };
        self.meeting_view(m).await
    }
}
