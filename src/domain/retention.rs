//! Retention: push outbox rows that are settled (`sent`, `failed`, `gone`) and
//! scheduler jobs that are over (`done`, `cancelled`, `failed`) are deleted once
//! older than `RETENTION_DAYS`; abandoned uploads once their URL expired
//! (`media/uploads.rs`). The scheduler's loop sweeps at start and hourly on
//! each node (a delete of old rows is the same whoever runs it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use entity::{push_outbox as outbox, scheduled_jobs as jobs};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::domain::media::Media;
use crate::domain::now;
use crate::domain::scheduler::Scheduler;
use crate::error::AppResult;

/// How often a node sweeps.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// The sweep of old rows: holds the database, media (abandoned uploads), the
/// scheduler (whose clock says when this node last swept) and the retention period.
#[derive(Clone)]
pub struct Retention {
    db: DatabaseConnection,
    media: Media,
    scheduler: Arc<Scheduler>,
    retention: Duration,
}

impl Retention {
    pub fn new(
        db: DatabaseConnection,
        media: Media,
        scheduler: Arc<Scheduler>,
        retention: Duration,
    ) -> Self {
        Self {
            db,
            media,
            scheduler,
            retention,
        }
    }

    /// Sweeps when this node has not for an hour; returns the rows deleted (outbox,
    /// jobs), or nothing when it was not due.
    pub async fn sweep_if_due(&self) -> AppResult<Option<(u64, u64)>> {
        {
            let mut last = self.scheduler.last_sweep.lock().expect("sweep clock");
            if last.is_some_and(|at| at.elapsed() < SWEEP_EVERY) {
                return Ok(None);
            }
            *last = Some(Instant::now());
        }
        let before = now() - chrono::Duration::from_std(self.retention).unwrap_or_default();
        let rows = outbox::Entity::delete_many()
            .filter(outbox::Column::Status.is_in(["sent", "failed", "gone"]))
            .filter(outbox::Column::CreatedAt.lt(before))
            .exec(&self.db)
            .await?
            .rows_affected;
        let finished = jobs::Entity::delete_many()
            .filter(jobs::Column::Status.is_in(["done", "cancelled", "failed"]))
            .filter(jobs::Column::DueAt.lt(before))
            .exec(&self.db)
            .await?
            .rows_affected;
        self.media.sweep_uploads().await?;
        if rows + finished > 0 {
            tracing::info!(outbox = rows, jobs = finished, "old settled rows deleted");
        }
        Ok(Some((rows, finished)))
    }
}
