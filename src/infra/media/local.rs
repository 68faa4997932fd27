//! The embedded media store: files in a local directory, uploaded and downloaded
//! through URLs that Switchboard signs (HMAC-SHA256 over method, key, expiry and what
//! the upload may be) and serves itself (`crate::http::media_files`).

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use axum::body::Body;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

use crate::domain::media::store::{MediaStore, StoredObject, UploadTarget};
use crate::error::{AppError, AppResult};

/// Where the signed file URLs are served.
pub const FILES_PATH: &str = "/media/files";

/// The query of a signed URL.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Signed {
    pub expires: Option<i64>,
    pub sig: Option<String>,
    /// Upload: the content type and size it may be.
    #[serde(rename = "type")]
    pub content_type: Option<String>,
    pub size: Option<u64>,
    /// Download: the name to save it under.
    pub name: Option<String>,
}

/// A file ready to send.
pub struct Download {
    pub body: Body,
    pub size: u64,
    pub content_type: String,
    pub file_name: String,
    pub expires: i64,
}

pub struct LocalMediaStore {
    dir: PathBuf,
    key: Vec<u8>,
}

impl LocalMediaStore {
    /// Files under `dir` (created when missing); URL signatures keyed from `secret`.
    pub fn new(dir: &Path, secret: &str) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        mac.update(b"switchboard media URLs v1");
        Ok(Self {
            dir: dir.to_path_buf(),
            key: mac.finalize().into_bytes().to_vec(),
        })
    }

    fn sign(&self, parts: &[&str]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(parts.join("\n").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Checks the signature over `parts` and the expiry.
    fn verify(&self, parts: &[&str], q: &Signed) -> AppResult<()> {
        let (Some(expires), Some(sig)) = (q.expires, q.sig.as_deref()) else {
            return Err(AppError::Forbidden("this URL is not signed".into()));
        };
        let want = self.sign(parts);
        if !bool::from(want.as_bytes().ct_eq(sig.as_bytes())) {
            return Err(AppError::Forbidden(
                "this URL's signature is not valid".into(),
            ));
        }
        if expires < Utc::now().timestamp() {
            return Err(AppError::Forbidden("this URL has expired".into()));
        }
        Ok(())
    }

    /// The file of `key`; keys are ours (`tenant/id[.thumb.ext]`), anything else is refused.
    fn path(&self, key: &str) -> AppResult<PathBuf> {
        let ok = !key.is_empty()
            && key.len() <= 512
            && key
                .split('/')
                .all(|seg| !seg.is_empty() && !seg.starts_with('.'))
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
            && !key.ends_with(".type")
            && !key.contains(".part-");
        if !ok {
            return Err(AppError::NotFound("file"));
        }
        Ok(self.dir.join(key))
    }

    /// A signed upload: the `Content-Type` header must be the signed one and the body
    /// at most the signed size; it lands under a temporary name and is renamed into
    /// place whole, so a cut-off upload never shows as the file.
    pub async fn accept_upload(
        &self,
        key: &str,
        q: &Signed,
        content_type: Option<&str>,
        body: Body,
    ) -> AppResult<u64> {
        let expires = q.expires.unwrap_or_default().to_string();
        let signed_type = q.content_type.clone().unwrap_or_default();
        let size = q.size.unwrap_or_default();
        self.verify(&["PUT", key, &expires, &signed_type, &size.to_string()], q)?;
        if content_type != Some(signed_type.as_str()) {
            return Err(AppError::Forbidden(format!(
                "the upload must be sent with Content-Type: {signed_type}"
            )));
        }
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io_error)?;
        }
        let part = path.with_extension(format!("part-{}", uuid::Uuid::now_v7()));
        let written = write_limited(&part, body, size).await;
        let written = match written {
            Ok(n) => n,
            Err(e) => {
                let _ = tokio::fs::remove_file(&part).await;
                return Err(e);
            }
        };
        tokio::fs::write(type_path(&path), signed_type.as_bytes())
            .await
            .map_err(io_error)?;
        tokio::fs::rename(&part, &path).await.map_err(io_error)?;
        Ok(written)
    }

    /// A signed download.
    pub async fn open_download(&self, key: &str, q: &Signed) -> AppResult<Download> {
        let expires = q.expires.unwrap_or_default();
        let name = q.name.clone().unwrap_or_default();
        self.verify(&["GET", key, &expires.to_string(), &name], q)?;
        let path = self.path(key)?;
        let file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(AppError::NotFound("file"));
            }
            Err(e) => return Err(io_error(e)),
        };
        let size = file.metadata().await.map_err(io_error)?.len();
        let content_type = tokio::fs::read_to_string(type_path(&path))
            .await
            .unwrap_or_else(|_| "application/octet-stream".into());
        Ok(Download {
            body: Body::from_stream(ReaderStream::new(file)),
            size,
            content_type,
            file_name: name,
            expires,
        })
    }
}

/// Streams `body` into `path`, refusing more than `max` bytes (413).
async fn write_limited(path: &Path, body: Body, max: u64) -> AppResult<u64> {
    let mut file = tokio::fs::File::create(path).await.map_err(io_error)?;
    let mut stream = body.into_data_stream();
    let mut written = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| AppError::validation("body", e.to_string()))?;
        written += chunk.len() as u64;
        if written > max {
            return Err(AppError::PayloadTooLarge(format!(
                "this upload may be at most {max} bytes"
            )));
        }
        file.write_all(&chunk).await.map_err(io_error)?;
    }
    file.sync_all().await.map_err(io_error)?;
    Ok(written)
}

/// The file that holds an object's content type.
fn type_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".type");
    PathBuf::from(p)
}

fn io_error(e: std::io::Error) -> AppError {
    AppError::Internal {
        detail: "media file i/o failed".into(),
        source: Some(Box::new(e)),
    }
}

/// `?expires=…&…&sig=…` for `parts` (after the method and key).
fn query(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[async_trait]
impl MediaStore for LocalMediaStore {
    async fn upload_target(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires_at: DateTime<Utc>,
    ) -> AppResult<UploadTarget> {
        self.path(key)?;
        let expires = expires_at.timestamp().to_string();
        let size = size.to_string();
        let sig = self.sign(&["PUT", key, &expires, content_type, &size]);
        let q = query(&[
            ("expires", &expires),
            ("type", content_type),
            ("size", &size),
            ("sig", &sig),
        ]);
        Ok(UploadTarget {
            url: format!("{FILES_PATH}/{key}?{q}"),
            headers: [("Content-Type".to_string(), content_type.to_string())].into(),
        })
    }

    async fn download_url(
        &self,
        key: &str,
        file_name: &str,
        expires_at: DateTime<Utc>,
    ) -> AppResult<String> {
        let expires = expires_at.timestamp().to_string();
        let sig = self.sign(&["GET", key, &expires, file_name]);
        let q = query(&[("expires", &expires), ("name", file_name), ("sig", &sig)]);
        Ok(format!("{FILES_PATH}/{key}?{q}"))
    }

    async fn head(&self, key: &str) -> AppResult<Option<StoredObject>> {
        let path = self.path(key)?;
        let meta = match tokio::fs::metadata(&path).await {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(e)),
        };
        Ok(Some(StoredObject {
            size: meta.len(),
            content_type: tokio::fs::read_to_string(type_path(&path)).await.ok(),
        }))
    }

    async fn read(&self, key: &str) -> AppResult<BoxStream<'static, AppResult<Bytes>>> {
        let file = tokio::fs::File::open(self.path(key)?)
            .await
            .map_err(io_error)?;
        Ok(ReaderStream::new(file).map(|c| c.map_err(io_error)).boxed())
    }

    async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> AppResult<()> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io_error)?;
        }
        tokio::fs::write(type_path(&path), content_type.as_bytes())
            .await
            .map_err(io_error)?;
        tokio::fs::write(&path, &bytes).await.map_err(io_error)
    }

    async fn seal(&self, from: &str, to: &str) -> AppResult<bool> {
        let (from, to) = (self.path(from)?, self.path(to)?);
        // The type first: a file without its type reads as octet-stream.
        match tokio::fs::rename(type_path(&from), type_path(&to)).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_error(e)),
        }
        match tokio::fs::rename(&from, &to).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error(e)),
        }
    }

    async fn delete(&self, key: &str) -> AppResult<()> {
        let path = self.path(key)?;
        for p in [type_path(&path), path] {
            match tokio::fs::remove_file(&p).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(e)),
            }
        }
        Ok(())
    }
}
