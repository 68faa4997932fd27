//! Where uploaded files live: `local.rs` (a directory, URLs signed and served by
//! Switchboard) and `s3.rs` (an S3-compatible bucket with presigned URLs); `open`
//! picks one from the configuration.

pub mod local;
pub mod s3;

use std::sync::Arc;

use crate::config::{Config, MediaBackend};
use crate::domain::media::store::MediaStore;

/// The configured store, and the local one again when it is that (its file routes
/// are served by `crate::http::media_files`).
pub struct Opened {
    pub store: Arc<dyn MediaStore>,
    pub local: Option<Arc<local::LocalMediaStore>>,
}

pub fn open(config: &Config) -> Result<Opened, String> {
    match &config.media.backend {
        MediaBackend::Local { dir } => {
            let store = Arc::new(
                local::LocalMediaStore::new(dir, &config.jwt_secret)
                    .map_err(|e| format!("MEDIA_DIR {}: {e}", dir.display()))?,
            );
            tracing::info!(dir = %dir.display(), "media files in a local directory");
            Ok(Opened {
                store: store.clone(),
                local: Some(store),
            })
        }
        MediaBackend::S3(s3) => {
            let store = s3::S3MediaStore::new(s3).map_err(|e| format!("MEDIA_S3_*: {e}"))?;
            tracing::info!(bucket = %s3.bucket, endpoint = ?s3.endpoint, "media files in S3");
            Ok(Opened {
                store: Arc::new(store),
                local: None,
            })
        }
    }
}
