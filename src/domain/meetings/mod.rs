//! Meetings (000): calendar invitations with RSVP. Here: what a meeting looks like to
//! its readers, who may see one, and the caller's lists (all, upcoming, today in their
//! zone); creating, changing and cancelling are in [`changes`], answering and
//! reminding in [`attendance`].

pub mod attendance;
pub mod changes;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use entity::enums::{RsvpStatus, UserRole};
use entity::{meeting_participants as mp, meetings};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::notify::Notifications;
use crate::domain::scheduler::Scheduler;
use crate::domain::{Actor, now};
use crate::error::{AppError, AppResult};
use crate::realtime::Hub;

/// Most meetings one list returns.
const LIST_MAX: u64 = 500;

/// The meetings service: meetings, invitations, answers and reminders. It holds what
/// it uses: the database, the publisher, notifications, the scheduler (reminders are
/// armed in the deciding transaction) and the calendar settings.
#[derive(Clone)]
pub struct Meetings {
    db: DatabaseConnection,
    hub: Hub,
    notifications: Notifications,
    scheduler: Arc<Scheduler>,
    calendar: CalendarSettings,
}

impl Meetings {
    pub fn new(
        db: DatabaseConnection,
        hub: Hub,
        notifications: Notifications,
        scheduler: Arc<Scheduler>,
        calendar: CalendarSettings,
    ) -> Self {
        Self {
            db,
            hub,
            notifications,
            scheduler,
            calendar,
        }
    }
}

/// How meetings and calls are timed on this server.
#[derive(Debug, Clone)]
pub struct CalendarSettings {
    /// A reminder notification this long before a meeting starts.
    pub reminder_before: std::time::Duration,
    /// "Today" for a user who has not chosen a time zone.
    pub default_zone: Tz,
    /// How long a call rings before it is missed.
    pub ring_timeout: std::time::Duration,
}

/// One invitee and their answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MeetingParticipantView {
    pub user_id: Uuid,
    /// pending | accepted | declined | tentative
    #[schema(value_type = String)]
    pub rsvp: RsvpStatus,
    pub responded_at: Option<DateTime<Utc>>,
}

/// A meeting as its readers see it (000's MeetingRead).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MeetingView {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub meeting_url: Option<String>,
    pub location: Option<String>,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    /// scheduled | cancelled
    pub status: std::borrow::Cow<'static, str>,
    pub organizer_id: Uuid,
    pub participants: Vec<MeetingParticipantView>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `scope=all`: every meeting of the organisation (admin and HR only).
#[derive(Debug, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeetingScope {
    /// `all` (admin/HR only); otherwise the caller's own meetings.
    pub scope: Option<String>,
}

impl Actor {
    /// Admins and HR see every meeting of their organisation.
    pub fn sees_all_meetings(&self) -> bool {
        matches!(self.role, UserRole::Admin | UserRole::Hr)
    }
}

fn status_of(m: &meetings::Model) -> &'static str {
    if m.cancelled_at.is_some() {
        "cancelled"
    } else {
        "scheduled"
    }
}

impl Meetings {
    /// Views of these meetings with their participants (one query for all).
    async fn meeting_views(&self, list: Vec<meetings::Model>) -> AppResult<Vec<MeetingView>> {
        let ids: Vec<Uuid> = list.iter().map(|m| m.id).collect();
        let mut by_meeting: HashMap<Uuid, Vec<MeetingParticipantView>> = HashMap::new();
        if !ids.is_empty() {
            for p in mp::Entity::find()
                .filter(mp::Column::MeetingId.is_in(ids))
                .order_by_asc(mp::Column::Id)
                .all(&self.db)
                .await?
            {
                by_meeting
                    .entry(p.meeting_id)
                    .or_default()
                    .push(MeetingParticipantView {
                        user_id: p.user_id,
                        rsvp: p.rsvp,
                        responded_at: p.responded_at,
                    });
            }
        }
        Ok(list
            .into_iter()
            .map(|m| MeetingView {
                participants: by_meeting.remove(&m.id).unwrap_or_default(),
                id: m.id,
                status: status_of(&m).into(),
                title: m.title,
                description: m.description,
                meeting_url: m.meeting_url,
                location: m.location,
                start_at: m.starts_at,
                end_at: m.ends_at,
                organizer_id: m.organizer_id,
                cancelled_at: m.cancelled_at,
                created_at: m.created_at,
                updated_at: m.updated_at,
            })
            .collect())
    }

    pub(crate) async fn meeting_view(&self, m: meetings::Model) -> AppResult<MeetingView> {
        Ok(self
            .meeting_views(vec![m])
            .await?
            .pop()
            .expect("one meeting in, one view out"))
    }

    /// The meeting if the caller may see it: organiser, participant, or admin/HR of
    /// its organisation (another organisation's is 404; a colleague's 403).
    pub(crate) async fn visible_meeting(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> AppResult<meetings::Model> {
        let m = meetings::Entity::find_by_id(id)
            .filter(meetings::Column::TenantId.eq(actor.tenant_id))
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("meeting"))?;
        if m.organizer_id == actor.user_id
            || actor.sees_all_meetings()
            || self.meeting_participant(id, actor.user_id).await?.is_some()
        {
            Ok(m)
        } else {
            Err(AppError::Forbidden(
                "not a participant of this meeting".into(),
            ))
        }
    }

    pub(crate) async fn meeting_participant(
        &self,
        meeting: Uuid,
        user: Uuid,
    ) -> AppResult<Option<mp::Model>> {
        Ok(mp::Entity::find()
            .filter(mp::Column::MeetingId.eq(meeting))
            .filter(mp::Column::UserId.eq(user))
            .one(&self.db)
            .await?)
    }

    /// Everyone on the meeting (the organiser is a participant).
    pub(crate) async fn meeting_people(&self, meeting: Uuid) -> AppResult<Vec<mp::Model>> {
        Ok(mp::Entity::find()
            .filter(mp::Column::MeetingId.eq(meeting))
            .all(&self.db)
            .await?)
    }

    /// `scope=all` is for admins and HR; anything else is 400.
    pub(crate) fn all_scope(actor: &Actor, q: &MeetingScope) -> AppResult<bool> {
        match q.scope.as_deref() {
            None | Some("") | Some("mine") => Ok(false),
            Some("all") if actor.sees_all_meetings() => Ok(true),
            Some("all") => Err(AppError::Forbidden("scope=all is for admins and HR".into())),
            Some(_) => Err(AppError::validation("scope", "must be all")),
        }
    }

    /// Meetings of the caller (or, `all`, of their organisation) matching `filter`,
    /// by start time.
    async fn meetings_where(
        &self,
        actor: &Actor,
        all: bool,
        filter: sea_orm::Condition,
    ) -> AppResult<Vec<MeetingView>> {
        let mut find = meetings::Entity::find()
            .filter(meetings::Column::TenantId.eq(actor.tenant_id))
            .filter(filter);
        if !all {
            let mine: Vec<Uuid> = mp::Entity::find()
                .select_only()
                .column(mp::Column::MeetingId)
                .filter(mp::Column::UserId.eq(actor.user_id))
                .into_tuple()
                .all(&self.db)
                .await?;
            find = find.filter(meetings::Column::Id.is_in(mine));
        }
        let list = find
            .order_by_asc(meetings::Column::StartsAt)
            .order_by_asc(meetings::Column::Id)
            .limit(LIST_MAX)
            .all(&self.db)
            .await?;
        self.meeting_views(list).await
    }

    /// 000: meetings the caller organises or is invited to; `scope=all` for admin/HR.
    pub async fn list_meetings(
        &self,
        actor: &Actor,
        q: MeetingScope,
    ) -> AppResult<Vec<MeetingView>> {
        let all = Self::all_scope(actor, &q)?;
        self.meetings_where(actor, all, sea_orm::Condition::all())
            .await
    }

    /// 000: the caller's scheduled meetings that have not started, soonest first.
    pub async fn upcoming_meetings(&self, actor: &Actor) -> AppResult<Vec<MeetingView>> {
        let filter = sea_orm::Condition::all()
            .add(meetings::Column::CancelledAt.is_null())
            .add(meetings::Column::StartsAt.gte(now()));
        self.meetings_where(actor, false, filter).await
    }

    /// 000: scheduled meetings starting today in the caller's time zone (the default
    /// zone when they have not chosen one); `scope=all` for admin/HR.
    pub async fn todays_meetings(
        &self,
        actor: &Actor,
        q: MeetingScope,
    ) -> AppResult<Vec<MeetingView>> {
        let all = Self::all_scope(actor, &q)?;
        let user = crate::domain::accounts::sessions::user_by_id(&self.db, actor.user_id).await?;
        let zone: Tz = match (user.timezone_set, user.timezone.parse::<Tz>()) {
            (true, Ok(z)) => z,
            _ => self.calendar.default_zone,
        };
        let (from, to) = day_in(zone, now());
        let filter = sea_orm::Condition::all()
            .add(meetings::Column::CancelledAt.is_null())
            .add(meetings::Column::StartsAt.gte(from))
            .add(meetings::Column::StartsAt.lt(to));
        self.meetings_where(actor, all, filter).await
    }

    pub async fn get_meeting(&self, actor: &Actor, id: Uuid) -> AppResult<MeetingView> {
        let m = self.visible_meeting(actor, id).await?;
        self.meeting_view(m).await
    }
}

/// The UTC bounds of the local day in `zone` that contains `at`.
fn day_in(zone: Tz, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let local = at.with_timezone(&zone).date_naive();
    let start = |d: chrono::NaiveDate| {
        let midnight = d.and_hms_opt(0, 0, 0).expect("midnight exists");
        // A zone that skips midnight (DST at 00:00) starts the day at the first
        // instant that exists.
        zone.from_local_datetime(&midnight)
            .earliest()
            .unwrap_or_else(|| zone.from_utc_datetime(&midnight))
            .with_timezone(&Utc)
    };
    (start(local), start(local.succ_opt().expect("a next day")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_the_local_day() {
        let karachi: Tz = "Asia/Karachi".parse().unwrap();
        // 20:30 UTC is 01:30 the next day in Karachi (UTC+5).
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 20, 30, 0).unwrap();
        let (from, to) = day_in(karachi, at);
        assert_eq!(from, Utc.with_ymd_and_hms(2026, 11, 24, 19, 0, 0).unwrap());
        assert_eq!(to, Utc.with_ymd_and_hms(2026, 11, 25, 19, 0, 0).unwrap());
    }
}
