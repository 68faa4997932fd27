//! The `MediaStore` trait: what the media rules need from wherever file bytes live
//! (a local directory or an S3-compatible bucket, `crate::infra::media`), and the
//! values it hands back.

use std::collections::BTreeMap;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;

use crate::error::AppResult;

/// Where and how a client uploads one file: `PUT url` with exactly these headers.
#[derive(Debug, Clone)]
pub struct UploadTarget {
    pub url: String,
    pub headers: BTreeMap<String, String>,
}

/// What the store knows of an uploaded object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub size: u64,
    /// The `Content-Type` it was uploaded with, when the store keeps one.
    pub content_type: Option<String>,
}

/// A store of file bytes under keys. Upload and download go straight between the
/// client and the store through signed URLs; the server itself only checks, reads
/// (checksum, thumbnail), writes thumbnails and deletes.
#[async_trait]
pub trait MediaStore: Send + Sync {
    /// A URL that accepts one `PUT` of `size` bytes of `content_type` until `expires_at`.
    async fn upload_target(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires_at: DateTime<Utc>,
    ) -> AppResult<UploadTarget>;

    /// A URL that serves the object until `expires_at` (`file_name` names a download).
    async fn download_url(
        &self,
        key: &str,
        file_name: &str,
        expires_at: DateTime<Utc>,
    ) -> AppResult<String>;

    /// The object's size and type, or `None` when nothing is stored under `key`.
    async fn head(&self, key: &str) -> AppResult<Option<StoredObject>>;

    /// The object's bytes, in chunks.
    async fn read(&self, key: &str) -> AppResult<BoxStream<'static, AppResult<Bytes>>>;

    /// Stores `bytes` under `key` (thumbnails the server makes).
    async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> AppResult<()>;

    /// Moves what was uploaded under `from` to `to`, a key no upload URL can write,
    /// so what is checked and served is immutable; false when nothing is at `from`.
    async fn seal(&self, from: &str, to: &str) -> AppResult<bool>;

    /// Removes the object; a missing one is not an error.
    async fn delete(&self, key: &str) -> AppResult<()>;
}
