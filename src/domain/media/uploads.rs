//! Uploads nobody finished: a user's pending uploads are bounded in bytes
//! (`MEDIA_PENDING_QUOTA_BYTES`), and the retention sweep deletes pending uploads
//! whose URL expired, with whatever was stored for them, and the upload key of a
//! confirmed file once its URL expired (a later PUT through an S3 presigned URL,
//! which cannot be revoked, lands there and nothing reads it).

use entity::enums::MediaStatus;
use entity::media;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::Media;
use crate::domain::{Actor, now};
use crate::error::{AppError, AppResult};

/// Rows handled per sweep (the rest wait for the next one).
const SWEEP_BATCH: u64 = 500;

impl Media {
    /// Refuses an upload of `size` bytes that would take the caller's pending uploads
    /// past the quota (429, retry when the oldest one expires).
    pub(super) async fn within_pending_quota(&self, actor: &Actor, size: u64) -> AppResult<()> {
        let pending: Vec<(i64, Option<chrono::DateTime<chrono::Utc>>)> = media::Entity::find()
            .select_only()
            .column(media::Column::SizeBytes)
            .column(media::Column::UploadExpiresAt)
            .filter(media::Column::UploaderId.eq(actor.user_id))
            .filter(media::Column::Status.eq(MediaStatus::Pending))
            .filter(media::Column::UploadExpiresAt.gt(now()))
            .into_tuple()
            .all(&self.db)
            .await?;
        let held: u64 = pending.iter().map(|(b, _)| *b as u64).sum();
        if held.saturating_add(size) <= self.media.policy.pending_quota_bytes {
            return Ok(());
        }
        let soonest = pending.iter().filter_map(|(_, at)| *at).min();
        let wait = soonest.map(|at| (at - now()).num_seconds().max(1) as u64);
        tracing::info!(user_id = %actor.user_id, held, size, "pending upload quota reached");
        Err(AppError::RateLimited(wait))
    }

    /// Deletes abandoned uploads and dead upload keys; returns how many rows it
    /// handled.
    pub(crate) async fn sweep_uploads(&self) -> AppResult<u64> {
        let store = &self.media.store;
        let abandoned = media::Entity::find()
            .filter(media::Column::Status.eq(MediaStatus::Pending))
            .filter(media::Column::UploadExpiresAt.lt(now()))
            .limit(SWEEP_BATCH)
            .all(&self.db)
            .await?;
        for row in &abandoned {
            store.delete(&row.storage_key).await?;
            store.delete(&format!("{}.stored", row.storage_key)).await?;
            media::Entity::delete_by_id(row.id).exec(&self.db).await?;
        }
        let confirmed = media::Entity::find()
            .filter(media::Column::Status.eq(MediaStatus::Confirmed))
            .filter(media::Column::UploadExpiresAt.lt(now()))
            .limit(SWEEP_BATCH)
            .all(&self.db)
            .await?;
        for row in &confirmed {
            if let Some(upload_key) = row.storage_key.strip_suffix(".stored") {
                store.delete(upload_key).await?;
            }
            media::Entity::update_many()
                .col_expr(
                    media::Column::UploadExpiresAt,
                    Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
                )
                .filter(media::Column::Id.eq(row.id))
                .exec(&self.db)
                .await?;
        }
        let handled = (abandoned.len() + confirmed.len()) as u64;
        if handled > 0 {
            tracing::info!(
                abandoned = abandoned.len(),
                confirmed = confirmed.len(),
                "expired upload keys deleted"
            );
        }
        Ok(handled)
    }
}
