//! Media configuration: where uploaded files live (a local directory, or an
//! S3-compatible bucket), how big and of which types they may be, how long their
//! signed URLs work.

use std::time::Duration;

use super::{ConfigError, list, parse, positive};

/// Where file bytes are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaBackend {
    /// `MEDIA_STORE=local` (default): files under `MEDIA_DIR`, served by Switchboard
    /// through HMAC-signed, expiring URLs.
    Local { dir: std::path::PathBuf },
    /// `MEDIA_STORE=s3`: an S3-compatible bucket, clients upload and download through
    /// presigned URLs.
    S3(S3Settings),
}

/// The bucket and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// `MEDIA_S3_BUCKET`, required with `MEDIA_STORE=s3`.
    pub bucket: String,
    /// `MEDIA_S3_ENDPOINT`: a non-AWS server (MinIO, moto, R2…); path-style requests.
    pub endpoint: Option<String>,
    /// `MEDIA_S3_REGION`, default `us-east-1`.
    pub region: String,
    /// `MEDIA_S3_ACCESS_KEY_ID` / `MEDIA_S3_SECRET_ACCESS_KEY`; unset: the usual
    /// `AWS_*` environment variables.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MediaConfig {
    pub backend: MediaBackend,
    /// `MEDIA_MAX_BYTES`, default 26 214 400 (25 MiB): the largest file.
    pub max_bytes: u64,
    /// `MEDIA_ALLOWED_TYPES`: comma-separated MIME types, `type/*` for a family.
    pub allowed_types: Vec<String>,
    /// `MEDIA_UPLOAD_URL_TTL_SECONDS`, default 900: how long an upload URL works.
    pub upload_ttl: Duration,
    /// `MEDIA_DOWNLOAD_URL_TTL_SECONDS`, default 3600: how long a download URL works.
    pub download_ttl: Duration,
    /// `MEDIA_THUMBNAIL_PX`, default 320: the longer side of an image's thumbnail.
    pub thumbnail_px: u32,
    /// `MEDIA_MAX_IMAGE_PIXELS`, default 40 000 000: an image with more pixels is
    /// refused at confirm without being decoded.
    pub max_image_pixels: u64,
    /// `MEDIA_PENDING_QUOTA_BYTES`, default 4 × `MEDIA_MAX_BYTES`: the bytes one user
    /// may have in uploads not yet confirmed (asked for, not expired).
    pub pending_quota_bytes: u64,
}

/// Images, video, audio, PDF, text and office documents.
const DEFAULT_TYPES: &str = "image/jpeg,image/png,image/gif,image/webp,video/mp4,video/webm,\
video/quicktime,audio/mpeg,audio/mp4,audio/ogg,audio/webm,audio/wav,application/pdf,text/plain,\
text/csv,application/zip,application/msword,\
application/vnd.openxmlformats-officedocument.wordprocessingml.document,\
application/vnd.ms-excel,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,\
application/vnd.ms-powerpoint,\
application/vnd.openxmlformats-officedocument.presentationml.presentation";

impl MediaConfig {
    pub(super) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let backend = match get("MEDIA_STORE").as_deref().map(str::trim) {
            None | Some("local") => MediaBackend::Local {
                dir: get("MEDIA_DIR").unwrap_or_else(|| "media".into()).into(),
            },
            Some("s3") => MediaBackend::S3(S3Settings {
                bucket: get("MEDIA_S3_BUCKET").ok_or_else(|| ConfigError {
                    var: "MEDIA_S3_BUCKET",
                    reason: "required when MEDIA_STORE=s3".into(),
                })?,
                endpoint: get("MEDIA_S3_ENDPOINT"),
                region: get("MEDIA_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
                access_key_id: get("MEDIA_S3_ACCESS_KEY_ID"),
                secret_access_key: get("MEDIA_S3_SECRET_ACCESS_KEY"),
            }),
            Some(other) => {
                return Err(ConfigError {
                    var: "MEDIA_STORE",
                    reason: format!("expected `local` or `s3`, got `{other}`"),
                });
            }
        };
        let allowed_types = list(get, "MEDIA_ALLOWED_TYPES").unwrap_or_else(|| {
            DEFAULT_TYPES
                .split(',')
                .map(|t| t.trim().to_string())
                .collect()
        });
        let max_bytes = positive(get, "MEDIA_MAX_BYTES", 25 * 1024 * 1024)?;
        Ok(Self {
            backend,
            max_bytes,
            allowed_types: allowed_types
                .into_iter()
                .map(|t| t.to_ascii_lowercase())
                .collect(),
            upload_ttl: Duration::from_secs(positive(get, "MEDIA_UPLOAD_URL_TTL_SECONDS", 900)?),
            download_ttl: Duration::from_secs(positive(
                get,
                "MEDIA_DOWNLOAD_URL_TTL_SECONDS",
                3600,
            )?),
            thumbnail_px: parse(get, "MEDIA_THUMBNAIL_PX", 320u32)?.clamp(16, 2048),
            max_image_pixels: positive(get, "MEDIA_MAX_IMAGE_PIXELS", 40_000_000)?,
            pending_quota_bytes: positive(
                get,
                "MEDIA_PENDING_QUOTA_BYTES",
                max_bytes.saturating_mul(4),
            )?,
        })
    }
}
