//! The one scheduler: everything that must happen at a time (a meeting's reminder, a
//! call that stops ringing, an announcement published later) is a row in
//! `scheduled_jobs`, one per (kind, subject), armed and re-armed by the domain call
//! that decides it. A worker on every node claims due rows (one node per row:
//! [`crate::domain::leases`], as the push outbox) and runs them; a restart misses
//! none, it only runs them late. No feature keeps timers of its own.

use std::time::Duration;

use entity::scheduled_jobs as jobs;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::domain::announcements::Announcements;
use crate::domain::calls::Calls;
use crate::domain::leases::{LeaseColumns, claim_due};
use crate::domain::meetings::Meetings;
use crate::domain::now;
use crate::error::AppResult;

/// What a job does when it falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    MeetingReminder,
    CallRingTimeout,
    AnnouncementPublish,
}

impl JobKind {
    const ALL: [JobKind; 3] = [
        Self::MeetingReminder,
        Self::CallRingTimeout,
        Self::AnnouncementPublish,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::MeetingReminder => "meeting_reminder",
            Self::CallRingTimeout => "call_ring_timeout",
            Self::AnnouncementPublish => "announcement_publish",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

mod state {
    pub const PENDING: &str = "pending";
    pub const RUNNING: &str = "running";
    pub const DONE: &str = "done";
    pub const CANCELLED: &str = "cancelled";
    pub const FAILED: &str = "failed";
}

/// Runs claimed per round.
pub const BATCH: u64 = 32;
/// Tries before a job is `failed`.
const MAX_ATTEMPTS: i32 = 5;
/// How long a claimed job belongs to its node.
const LEASE: Duration = Duration::from_secs(60);

/// The scheduler's bell: arming a job wakes the worker of this node.
#[derive(Default)]
pub struct Scheduler {
    wake: Notify,
    /// When this node last swept old rows (`crate::domain::retention`).
    pub(crate) last_sweep: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Scheduler {
    /// Arms (or re-arms) the job `kind` for `subject` at `due_at`, inside `db` (the
    /// caller's transaction, so the job exists exactly when its subject does).
    pub(crate) async fn arm(
        &self,
        db: &impl ConnectionTrait,
        kind: JobKind,
        subject: Uuid,
        due_at: chrono::DateTime<chrono::Utc>,
    ) -> AppResult<()> {
        let row = jobs::ActiveModel {
            id: Set(Uuid::now_v7()),
            kind: Set(kind.as_str().into()),
            subject_id: Set(subject),
            due_at: Set(due_at),
            status: Set(state::PENDING.into()),
            lease_until: Set(None),
            attempts: Set(0),
            last_error: Set(None),
            created_at: Set(now()),
        };
        jobs::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([jobs::Column::Kind, jobs::Column::SubjectId])
                    .update_columns([
                        jobs::Column::DueAt,
                        jobs::Column::Status,
                        jobs::Column::LeaseUntil,
                        jobs::Column::Attempts,
                        jobs::Column::LastError,
                    ])
                    .to_owned(),
            )
            .exec(db)
            .await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Cancels the job `kind` for `subject` if it has not run.
    pub(crate) async fn disarm(
        &self,
        db: &impl ConnectionTrait,
        kind: JobKind,
        subject: Uuid,
    ) -> AppResult<()> {
        jobs::Entity::update_many()
            .col_expr(jobs::Column::Status, Expr::value(state::CANCELLED))
            .filter(jobs::Column::Kind.eq(kind.as_str()))
            .filter(jobs::Column::SubjectId.eq(subject))
            .filter(jobs::Column::Status.eq(state::PENDING))
            .exec(db)
            .await?;
        Ok(())
    }

    /// Resolves when a job was armed on this node since the last call.
    pub async fn job_armed(&self) {
        self.wake.notified().await
    }
}

/// Runs due jobs: claims them and hands each to the area that owns its subject.
#[derive(Clone)]
pub struct JobRunner {
    db: DatabaseConnection,
    meetings: Meetings,
    calls: Calls,
    announcements: Announcements,
}

impl JobRunner {
    pub fn new(
        db: DatabaseConnection,
        meetings: Meetings,
        calls: Calls,
        announcements: Announcements,
    ) -> Self {
        Self {
            db,
            meetings,
            calls,
            announcements,
        }
    }

    /// One round: claims due jobs (or ones whose node died holding them) and runs
    /// each. Returns how many were claimed.
    pub async fn run_due_jobs(&self) -> AppResult<usize> {
        let at = now();
        let cols = LeaseColumns {
            id: jobs::Column::Id,
            status: jobs::Column::Status,
            due_at: jobs::Column::DueAt,
            lease_until: jobs::Column::LeaseUntil,
        };
        let lease = at + chrono::Duration::from_std(LEASE).unwrap_or_default();
        let claimed = claim_due::<jobs::Entity>(
            self.db.get_database_backend(),
            cols,
            (state::PENDING, state::RUNNING),
            BATCH,
            (at, lease),
        )
        .col_expr(
            jobs::Column::Attempts,
            sea_orm::sea_query::ExprTrait::add(Expr::col(jobs::Column::Attempts), 1),
        )
        .exec_with_returning(&self.db)
        .await?;
        for job in &claimed {
            let outcome = match JobKind::parse(&job.kind) {
                Some(kind) => self.run_job(kind, job.subject_id).await,
                None => Ok(()),
            };
            self.finish_job(job, outcome).await?;
        }
        Ok(claimed.len())
    }

    async fn run_job(&self, kind: JobKind, subject: Uuid) -> AppResult<()> {
        tracing::debug!(kind = kind.as_str(), %subject, "scheduled job due");
        match kind {
            JobKind::MeetingReminder => self.meetings.remind_meeting(subject).await,
            JobKind::CallRingTimeout => self.calls.ring_timed_out(subject).await,
            JobKind::AnnouncementPublish => self.announcements.publish_announcement(subject).await,
        }
    }

    /// Done, or back to pending a little later (failed after a few tries). A job
    /// re-armed while it ran (its due time moved) stays pending.
    async fn finish_job(&self, job: &jobs::Model, outcome: AppResult<()>) -> AppResult<()> {
        let mut update = jobs::Entity::update_many()
            .col_expr(
                jobs::Column::LeaseUntil,
                Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
            )
            .filter(jobs::Column::Id.eq(job.id))
            .filter(jobs::Column::Status.eq(state::RUNNING))
            .filter(jobs::Column::DueAt.eq(job.due_at));
        update = match outcome {
            Ok(()) => update.col_expr(jobs::Column::Status, Expr::value(state::DONE)),
            Err(e) => {
                e.log_hidden("scheduled job");
                let retry = now() + chrono::Duration::seconds(5 * i64::from(job.attempts));
                update
                    .col_expr(
                        jobs::Column::Status,
                        Expr::value(if job.attempts >= MAX_ATTEMPTS {
                            state::FAILED
                        } else {
                            state::PENDING
                        }),
                    )
                    .col_expr(jobs::Column::DueAt, Expr::value(retry))
                    .col_expr(jobs::Column::LastError, Expr::value(e.to_string()))
            }
        };
        update.exec(&self.db).await?;
        Ok(())
    }
}
