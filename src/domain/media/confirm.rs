//! Confirming an upload: the uploaded object is moved to a key no upload URL can
//! write (`MediaStore::seal`), then must have the declared size and type; its SHA-256 is recorded, an image is checked to really be the declared
//! format and gets a thumbnail. A lying upload is deleted and the row stays pending,
//! so the client can upload again while its URL works.

use entity::enums::MediaStatus;
use entity::media;
use futures::StreamExt;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Media;
use super::thumbnails::{self, ImageProblem};
use crate::domain::{Actor, now};
use crate::error::{AppError, AppResult};

impl Media {
    /// The uploader confirms an upload (again: nothing more happens); the confirmed row.
    pub async fn confirm(&self, actor: &Actor, id: Uuid) -> AppResult<media::Model> {
        let row = self.media_row(actor, id).await?;
        if row.uploader_id != actor.user_id {
            return Err(AppError::NotFound("media"));
        }
        let conversation = row.conversation_id.ok_or(AppError::NotFound("media"))?;
        self.access.check(actor, conversation).await?;
        match row.status {
            MediaStatus::Confirmed => Ok(row),
            MediaStatus::Pending => self.check_upload(row).await,
        }
    }

    async fn check_upload(&self, row: media::Model) -> AppResult<media::Model> {
        let store = &self.media.store;
        // What is checked is first moved where no upload URL reaches: the bytes that
        // are hashed, thumbnailed and served can never be replaced afterwards.
        let sealed = format!("{}.stored", row.storage_key);
        let key = sealed.as_str();
        let nothing =
            || AppError::Conflict("nothing has been uploaded to this file's upload_url yet".into());
        if !store.seal(&row.storage_key, key).await? {
            // Or a concurrent confirm sealed it first.
            return match media::Entity::find_by_id(row.id).one(&self.db).await? {
                Some(now) if now.status == MediaStatus::Confirmed => Ok(now),
                _ => Err(nothing()),
            };
        }
        let Some(object) = store.head(key).await? else {
            return Err(nothing());
        };
        let declared = row.size_bytes as u64;
        if object.size != declared {
            return self
                .refuse_upload(
                    key,
                    "size",
                    format!(
                        "the upload is {} bytes, not the declared {declared}",
                        object.size
                    ),
                )
                .await;
        }
        if let Some(stored) = &object.content_type {
            let essence = stored.split(';').next().unwrap_or_default().trim();
            if !essence.eq_ignore_ascii_case(&row.content_type) {
                return self
                    .refuse_upload(
                        key,
                        "content_type",
                        format!(
                            "the upload is {essence}, not the declared {}",
                            row.content_type
                        ),
                    )
                    .await;
            }
        }
        let image = thumbnails::is_thumbnailable(&row.content_type);
        let mut bytes = store.read(key).await?;
        let mut hasher = Sha256::new();
        let mut kept = Vec::new();
        let mut read = 0u64;
        while let Some(chunk) = bytes.next().await {
            let chunk = chunk?;
            read += chunk.len() as u64;
            if read > declared {
                break;
            }
            hasher.update(&chunk);
            if image {
                kept.extend_from_slice(&chunk);
            }
        }
        if read != declared {
            return self
                .refuse_upload(
                    key,
                    "size",
                    format!("the upload is not the declared {declared} bytes"),
                )
                .await;
        }
        let checksum = hex::encode(hasher.finalize());
        let mut thumbnail = None;
        if image {
            let (width, height) = match thumbnails::dimensions(&kept, &row.content_type) {
                Ok(d) => d,
                Err(p @ ImageProblem::WrongFormat { .. }) => {
                    return self.refuse_upload(key, "content_type", p.to_string()).await;
                }
                Err(p @ ImageProblem::Unreadable(_)) => {
                    return self.refuse_upload(key, "file", p.to_string()).await;
                }
            };
            let max = self.media.policy.max_image_pixels;
            if u64::from(width) * u64::from(height) > max {
                let why = format!("the image is {width} × {height}, more than {max} pixels");
                return self.refuse_upload(key, "file", why).await;
            }
            let _share = thumbnails::decode_share(width, height).await;
            let content_type = row.content_type.clone();
            let px = self.media.policy.thumbnail_px;
            let made =
                tokio::task::spawn_blocking(move || thumbnails::make(&kept, &content_type, px))
                    .await
                    .map_err(AppError::internal)?;
            match made {
                Ok(t) => thumbnail = Some(t),
                Err(p @ ImageProblem::WrongFormat { .. }) => {
                    return self.refuse_upload(key, "content_type", p.to_string()).await;
                }
                Err(p @ ImageProblem::Unreadable(_)) => {
                    return self.refuse_upload(key, "file", p.to_string()).await;
                }
            }
        }
        let mut update = media::Entity::update_many()
            .col_expr(media::Column::Status, Expr::value(MediaStatus::Confirmed))
            .col_expr(media::Column::StorageKey, Expr::value(sealed.clone()))
            .col_expr(media::Column::ChecksumSha256, Expr::value(checksum))
            .col_expr(media::Column::ConfirmedAt, Expr::value(now()));
        if let Some(t) = thumbnail {
            let thumb_key = format!("{key}.thumb.{}", t.extension);
            store
                .put(&thumb_key, t.bytes.into(), t.content_type)
                .await?;
            update = update
                .col_expr(media::Column::ThumbnailKey, Expr::value(thumb_key))
                .col_expr(media::Column::Width, Expr::value(t.width as i32))
                .col_expr(media::Column::Height, Expr::value(t.height as i32));
        }
        update
            .filter(media::Column::Id.eq(row.id))
            .filter(media::Column::Status.eq(MediaStatus::Pending))
            .exec(&self.db)
            .await?;
        // Confirmed now, by this call or by a concurrent one.
        media::Entity::find_by_id(row.id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("media"))
    }

    /// Deletes what was uploaded and refuses it; the row stays pending.
    async fn refuse_upload<T>(&self, key: &str, field: &str, why: String) -> AppResult<T> {
        if let Err(e) = self.media.store.delete(key).await {
            tracing::warn!(key, error = %e, "could not delete a refused upload");
        }
        Err(AppError::validation(field, why))
    }
}
