//! Who comes: a participant's answer to an invitation (400 on a cancelled meeting;
//! the organiser hears `meeting_rsvp_updated`), and the reminder the scheduler fires
//! once before the start to everyone who has not declined.

use chrono::{DateTime, Utc};
use entity::enums::RsvpStatus;
use entity::{meeting_participants as mp, meetings};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Meetings;
use crate::domain::events::Payload;
use crate::domain::{Actor, now};
use crate::error::{AppError, AppResult};
use crate::realtime::{Audience, RealtimeEvent};

/// An answer to an invitation.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RsvpInput {
    /// accepted | declined | tentative
    #[serde(alias = "rsvp", alias = "response")]
    pub status: String,
}

/// The answer to an RSVP: the meeting, its (unchanged) status, and the caller's answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RsvpDone {
    pub id: Uuid,
    pub meeting_id: Uuid,
    /// The meeting's status (scheduled).
    pub status: std::borrow::Cow<'static, str>,
    pub user_id: Uuid,
    #[schema(value_type = String)]
    pub rsvp: RsvpStatus,
    pub responded_at: DateTime<Utc>,
}

impl Meetings {
    /// 000: a participant answers; 400 on a cancelled meeting; the organiser gets
    /// `meeting_rsvp_updated`.
    pub async fn respond_to_meeting(
        &self,
        actor: &Actor,
        id: Uuid,
        input: RsvpInput,
    ) -> AppResult<RsvpDone> {
        let m = self.visible_meeting(actor, id).await?;
        let Some(p) = self.meeting_participant(id, actor.user_id).await? else {
            return Err(AppError::Forbidden(
                "not a participant of this meeting".into(),
            ));
        };
        let rsvp = match input.status.as_str() {
            "accepted" => RsvpStatus::Accepted,
            "declined" => RsvpStatus::Declined,
            "tentative" => RsvpStatus::Tentative,
            _ => {
                return Err(AppError::validation(
                    "status",
                    "must be accepted, declined or tentative",
                ));
            }
        };
        if m.cancelled_at.is_some() {
            return Err(AppError::validation("meeting", "is cancelled"));
        }
        let at = now();
        let mut am: mp::ActiveModel = p.into();
        am.rsvp = Set(rsvp);
        am.responded_at = Set(Some(at));
        am.update(&self.db).await?;
        let done = RsvpDone {
            id,
            meeting_id: id,
            status: super::status_of(&m).into(),
            user_id: actor.user_id,
            rsvp,
            responded_at: at,
        };
        self.hub
            .publish(
                RealtimeEvent::new(Payload::MeetingRsvpUpdated(done.clone()))
                    .entity("meeting", id)
                    .actor(actor.user_id),
                Audience::users([m.organizer_id, actor.user_id]),
            )
            .await;
        Ok(done)
    }

    /// The scheduler's reminder: everyone who has not declined a meeting that is
    /// still on and has not started gets one notification.
    pub(crate) async fn remind_meeting(&self, id: Uuid) -> AppResult<()> {
        let Some(m) = meetings::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(());
        };
        if m.cancelled_at.is_some() || m.ends_at <= now() {
            return Ok(());
        }
        let minutes = ((m.starts_at - now()).num_seconds().max(0) + 59) / 60;
        let title = if minutes == 0 {
            "A meeting is starting".to_string()
        } else {
            format!("A meeting starts in {minutes} min")
        };
        let notes = self
            .meeting_people(id)
            .await?
            .into_iter()
            .filter(|p| p.rsvp != RsvpStatus::Declined)
            .map(|p| Self::meeting_note(&m, p.user_id, title.clone()))
            .collect();
        self.notifications.notify(m.tenant_id, notes).await
    }
}
