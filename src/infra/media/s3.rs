//! The production media store: any S3-compatible bucket through `object_store`.
//! Clients upload and download with presigned URLs (SigV4; the upload's
//! `Content-Type` is part of its signature); the server reads objects to confirm
//! them and writes thumbnails with its own credentials.

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::signer::{SignedUrlOptions, Signer};
use object_store::{
    Attribute, Attributes, GetOptions, ObjectStore, ObjectStoreExt, PutOptions, PutPayload,
};

use crate::config::S3Settings;
use crate::domain::media::store::{MediaStore, StoredObject, UploadTarget};
use crate::error::{AppError, AppResult};

pub struct S3MediaStore {
    s3: AmazonS3,
}

impl S3MediaStore {
    /// A client for the configured bucket (credentials from the settings, else the
    /// usual `AWS_*` variables). Path-style requests when an endpoint is given.
    pub fn new(settings: &S3Settings) -> Result<Self, object_store::Error> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        if let Some(id) = &settings.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        Ok(Self {
            s3: builder.build()?,
        })
    }
}

fn unavailable(e: object_store::Error) -> AppError {
    AppError::unavailable("object storage", e)
}

/// Time left until `at` in whole seconds (rounded up, at least one).
fn until(at: DateTime<Utc>) -> std::time::Duration {
    let ms = (at - Utc::now()).num_milliseconds().max(1000);
    std::time::Duration::from_secs((ms as u64).div_ceil(1000))
}

#[async_trait]
impl MediaStore for S3MediaStore {
    async fn upload_target(
        &self,
        key: &str,
        content_type: &str,
        _size: u64,
        expires_at: DateTime<Utc>,
    ) -> AppResult<UploadTarget> {
        let value = http::HeaderValue::from_str(content_type).map_err(AppError::internal)?;
        let options = SignedUrlOptions::new().with_signed_header(http::header::CONTENT_TYPE, value);
        let url = self
            .s3
            .signed_url_opts(
                http::Method::PUT,
                &Path::from(key),
                until(expires_at),
                &options,
            )
            .await
            .map_err(unavailable)?;
        Ok(UploadTarget {
            url: url.to_string(),
            headers: [("Content-Type".to_string(), content_type.to_string())].into(),
        })
    }

    async fn download_url(
        &self,
        key: &str,
        _file_name: &str,
        expires_at: DateTime<Utc>,
    ) -> AppResult<String> {
        let url = self
            .s3
            .signed_url(http::Method::GET, &Path::from(key), until(expires_at))
            .await
            .map_err(unavailable)?;
        Ok(url.to_string())
    }

    async fn head(&self, key: &str) -> AppResult<Option<StoredObject>> {
        let options = GetOptions {
            head: true,
            ..Default::default()
        };
        match self.s3.get_opts(&Path::from(key), options).await {
            Ok(got) => Ok(Some(StoredObject {
                size: got.meta.size,
                content_type: got
                    .attributes
                    .get(&Attribute::ContentType)
                    .map(|v| v.to_string()),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn read(&self, key: &str) -> AppResult<BoxStream<'static, AppResult<Bytes>>> {
        let got = self.s3.get(&Path::from(key)).await.map_err(unavailable)?;
        Ok(got.into_stream().map(|c| c.map_err(unavailable)).boxed())
    }

    async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> AppResult<()> {
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::ContentType, content_type.to_string().into());
        let options = PutOptions {
            attributes,
            ..Default::default()
        };
        self.s3
            .put_opts(&Path::from(key), PutPayload::from(bytes), options)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn seal(&self, from: &str, to: &str) -> AppResult<bool> {
        // A server-side copy keeps the object's Content-Type; the upload key is then
        // removed (a presigned URL cannot be revoked: a later PUT there lands in an
        // object nothing reads, swept with abandoned uploads).
        match self.s3.copy(&Path::from(from), &Path::from(to)).await {
            Ok(()) => {}
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(unavailable(e)),
        }
        self.delete(from).await?;
        Ok(true)
    }

    async fn delete(&self, key: &str) -> AppResult<()> {
        match self.s3.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}
