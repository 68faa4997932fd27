//! Media uploads: who may upload what (type and size bounds), the upload URL, the
//! metadata view with its signed download URLs, and who may read it. Confirming an
//! upload is `confirm.rs`, thumbnails `thumbnails.rs`, files on messages
//! `attachments.rs`; the bytes live behind the `MediaStore` trait (`store.rs`).

pub mod attachments;
mod confirm;
pub mod store;
mod thumbnails;
mod uploads;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use entity::enums::MediaStatus;
use entity::{conversation_participants as cp, media, message_attachments as ma};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use self::store::MediaStore;
use crate::domain::access::Access;
use crate::domain::{Actor, now, validate};
use crate::error::{AppError, AppResult};

/// What may be uploaded, and for how long URLs work.
#[derive(Debug, Clone)]
pub struct MediaPolicy {
    pub max_bytes: u64,
    /// Lower-case MIME types; `type/*` allows a family.
    pub allowed_types: Vec<String>,
    pub upload_ttl: Duration,
    pub download_ttl: Duration,
    pub thumbnail_px: u32,
    /// Images with more pixels are refused undecoded (`MEDIA_MAX_IMAGE_PIXELS`).
    pub max_image_pixels: u64,
    /// Bytes a user may hold in pending uploads (`MEDIA_PENDING_QUOTA_BYTES`).
    pub pending_quota_bytes: u64,
}

/// The media service: uploads, confirmation, downloads and the files messages carry.
/// It holds the database, the store with its policy, and the access rule.
#[derive(Clone)]
pub struct Media {
    db: DatabaseConnection,
    media: MediaFiles,
    access: Access,
}

impl Media {
    pub fn new(db: DatabaseConnection, media: MediaFiles, access: Access) -> Self {
        Self { db, media, access }
    }
}

/// The store and the policy, as the domain holds them.
#[derive(Clone)]
pub struct MediaFiles {
    pub store: Arc<dyn MediaStore>,
    pub policy: MediaPolicy,
}

/// What a client asks to upload.
#[derive(Debug, Clone)]
pub struct UploadRequest {
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub conversation_id: Uuid,
}

/// Where to upload: `PUT upload_url` with `headers`, before `expires_at`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UploadTicket {
    pub id: Uuid,
    pub upload_url: String,
    /// Always `PUT`.
    pub method: &'static str,
    pub expires_at: DateTime<Utc>,
    /// Headers the upload must carry exactly (`Content-Type`).
    pub headers: BTreeMap<String, String>,
}

/// A file's metadata. `cdn_url` and `thumbnail_url` are signed, expiring download
/// URLs (relative on the embedded store); both are null until the upload is confirmed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MediaView {
    pub id: Uuid,
    pub conversation_id: Option<Uuid>,
    /// The first message it was attached to.
    pub message_id: Option<Uuid>,
    pub uploader_id: Uuid,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    /// pending | confirmed
    #[schema(value_type = String, example = "confirmed")]
    pub status: MediaStatus,
    /// Hex SHA-256 of the stored bytes.
    pub checksum_sha256: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub cdn_url: Option<String>,
    pub thumbnail_url: Option<String>,
    /// Until when `cdn_url` and `thumbnail_url` work.
    pub urls_expire_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

impl Media {
    /// Whether the embedded store may take a `PUT` under `key`: only while that
    /// upload is pending (its URL's signature and expiry are the store's to check).
    /// A confirmed upload's bytes were moved away (`MediaStore::seal`) and its URL
    /// is dead.
    pub async fn media_upload_open(&self, key: &str) -> AppResult<()> {
        let id = key
            .rsplit('/')
            .next()
            .and_then(|id| Uuid::parse_str(id).ok());
        let row = match id {
            Some(id) => media::Entity::find_by_id(id).one(&self.db).await?,
            None => None,
        };
        match row {
            Some(r) if r.storage_key == key && r.status == MediaStatus::Pending => Ok(()),
            _ => Err(AppError::Forbidden(
                "this upload URL is closed: the file was confirmed or removed".into(),
            )),
        }
    }
    /// Records a pending upload in a conversation the caller takes part in and hands
    /// back a URL that accepts its bytes until `upload_ttl` from now.
    pub async fn media_upload_url(
        &self,
        actor: &Actor,
        req: UploadRequest,
    ) -> AppResult<UploadTicket> {
        let policy = &self.media.policy;
        let file_name = file_name(&req.file_name)?;
        let content_type = self.allowed_type(&req.content_type)?;
        if req.size <= 0 {
            return Err(AppError::validation("size", "must be at least 1 byte"));
        }
        if req.size as u64 > policy.max_bytes {
            return Err(AppError::PayloadTooLarge(format!(
                "size: files may be at most {} bytes",
                policy.max_bytes
            )));
        }
        let (conv, _) = self.access.check(actor, req.conversation_id).await?;
        self.within_pending_quota(actor, req.size as u64).await?;
        let id = Uuid::now_v7();
        let key = format!("{}/{}", actor.tenant_id, id);
        let created_at = now();
        let expires_at = created_at
            + chrono::Duration::from_std(policy.upload_ttl).unwrap_or(chrono::Duration::MAX);
        let target = self
            .media
            .store
            .upload_target(&key, &content_type, req.size as u64, expires_at)
            .await?;
        media::Model {
            id,
            tenant_id: actor.tenant_id,
            uploader_id: actor.user_id,
            conversation_id: Some(conv.id),
            message_id: None,
            file_name,
            content_type,
            size_bytes: req.size,
            storage_key: key,
            status: MediaStatus::Pending,
            created_at,
            checksum_sha256: None,
            thumbnail_key: None,
            width: None,
            height: None,
            upload_expires_at: Some(expires_at),
            confirmed_at: None,
        }
        .into_active_model()
        .reset_all()
        .insert(&self.db)
        .await?;
        Ok(UploadTicket {
            id,
            upload_url: target.url,
            method: "PUT",
            expires_at,
            headers: target.headers,
        })
    }

    /// A file's metadata: a pending upload only for its uploader, a confirmed one for
    /// participants of its conversation or of one a message carrying it reached.
    pub async fn media_get(&self, actor: &Actor, id: Uuid) -> AppResult<MediaView> {
        let row = self.media_row(actor, id).await?;
        if row.uploader_id != actor.user_id {
            if row.status != MediaStatus::Confirmed {
                return Err(AppError::NotFound("media"));
            }
            self.ensure_media_reader(actor, &row).await?;
        }
        self.media_view(row).await
    }

    /// The row, within the caller's tenant.
    pub(crate) async fn media_row(&self, actor: &Actor, id: Uuid) -> AppResult<media::Model> {
        media::Entity::find_by_id(id)
            .filter(media::Column::TenantId.eq(actor.tenant_id))
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("media"))
    }

    /// 403 unless the caller currently takes part in a conversation the file is in.
    async fn ensure_media_reader(&self, actor: &Actor, row: &media::Model) -> AppResult<()> {
        let mut conversations: Vec<Uuid> = ma::Entity::find()
            .filter(ma::Column::MediaId.eq(row.id))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|a| a.conversation_id)
            .collect();
        conversations.extend(row.conversation_id);
        let member = cp::Entity::find()
            .filter(cp::Column::ConversationId.is_in(conversations))
            .filter(cp::Column::UserId.eq(actor.user_id))
            .filter(cp::Column::LeftAt.is_null())
            .one(&self.db)
            .await?;
        match member {
            Some(_) => Ok(()),
            None => Err(AppError::Forbidden(
                "not a participant of this file's conversation".into(),
            )),
        }
    }

    /// The view, with download URLs signed for the current window.
    pub(crate) async fn media_view(&self, m: media::Model) -> AppResult<MediaView> {
        let confirmed = m.status == MediaStatus::Confirmed;
        let expires = self.download_expiry();
        let store = &self.media.store;
        let cdn_url = if confirmed {
            Some(
                store
                    .download_url(&m.storage_key, &m.file_name, expires)
                    .await?,
            )
        } else {
            None
        };
        let thumbnail_url = match (&m.thumbnail_key, confirmed) {
            (Some(key), true) => Some(store.download_url(key, &m.file_name, expires).await?),
            _ => None,
        };
        Ok(MediaView {
            id: m.id,
            conversation_id: m.conversation_id,
            message_id: m.message_id,
            uploader_id: m.uploader_id,
            file_name: m.file_name,
            content_type: m.content_type,
            size: m.size_bytes,
            status: m.status,
            checksum_sha256: m.checksum_sha256,
            width: m.width,
            height: m.height,
            urls_expire_at: cdn_url.as_ref().map(|_| expires),
            cdn_url,
            thumbnail_url,
            created_at: m.created_at,
            confirmed_at: m.confirmed_at,
        })
    }

    /// Download URLs expire at the end of a window of half their lifetime, so the same
    /// file gets the same URL for a while (clients and browsers can cache it) and
    /// every URL handed out still has at least half its lifetime left.
    fn download_expiry(&self) -> DateTime<Utc> {
        let ttl = self.media.policy.download_ttl.as_secs().max(2) as i64;
        let half = ttl / 2;
        let t = now().timestamp();
        let expires = t - t.rem_euclid(half) + ttl;
        Utc.timestamp_opt(expires, 0).single().unwrap_or_else(now)
    }

    /// The essence of a MIME type (`type/subtype`, lower case) when the policy allows it.
    fn allowed_type(&self, value: &str) -> AppResult<String> {
        let essence = value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let well_formed = essence.split_once('/').is_some_and(|(t, s)| {
            let token = |p: &str| {
                !p.is_empty()
                    && p.len() <= 100
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
            };
            token(t) && token(s)
        });
        if !well_formed {
            return Err(AppError::validation(
                "content_type",
                "must be a MIME type such as image/png",
            ));
        }
        let family = essence.split('/').next().unwrap_or_default();
        let allowed = self
            .media
            .policy
            .allowed_types
            .iter()
            .any(|a| *a == essence || a.strip_suffix("/*").is_some_and(|f| f == family));
        if !allowed {
            return Err(AppError::validation(
                "content_type",
                format!("{essence} files are not accepted here"),
            ));
        }
        Ok(essence)
    }
}

/// A display file name: no path, no control characters, 1–255 characters.
fn file_name(value: &str) -> AppResult<String> {
    let base = value.rsplit(['/', '\\']).next().unwrap_or_default();
    let name = validate::text("file_name", base, crate::domain::limits::FILE_NAME)?;
    if name == "." || name == ".." {
        return Err(AppError::validation("file_name", "must name a file"));
    }
    Ok(name)
}
