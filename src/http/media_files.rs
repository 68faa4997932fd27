//! The embedded media store's file URLs (`/media/files/{key}`): a signed `PUT`
//! stores an upload, a signed `GET` serves a file. Only mounted when files live in a
//! local directory; an S3 store's URLs point at the bucket instead.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::put;

use crate::app::AppState;
use crate::error::AppError;
use crate::infra::media::local::{FILES_PATH, Signed};

pub fn router() -> Router<AppState> {
    Router::new().route(&format!("{FILES_PATH}/{{*key}}"), put(upload).get(download))
}

async fn upload(
    State(s): State<AppState>,
    Path(key): Path<String>,
    Query(q): Query<Signed>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, AppError> {
    let store = s.local_media.ok_or(AppError::NotFound("file"))?;
    s.domain.media().media_upload_open(&key).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    store.accept_upload(&key, &q, content_type, body).await?;
    Ok(StatusCode::OK)
}

async fn download(
    State(s): State<AppState>,
    Path(key): Path<String>,
    Query(q): Query<Signed>,
) -> Result<Response, AppError> {
    let store = s.local_media.ok_or(AppError::NotFound("file"))?;
    let file = store.open_download(&key, &q).await?;
    // Media plays in place; anything else downloads, so an uploaded page never runs
    // on this origin.
    let inline = ["image/", "video/", "audio/"]
        .iter()
        .any(|p| file.content_type.starts_with(p));
    let disposition = format!(
        "{}; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        percent_encode(&file.file_name)
    );
    let max_age = (file.expires - chrono::Utc::now().timestamp()).max(0);
    let mut response = file.body.into_response();
    let h = response.headers_mut();
    let value = |v: String| HeaderValue::from_str(&v).map_err(AppError::internal);
    h.insert(header::CONTENT_TYPE, value(file.content_type)?);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(file.size));
    h.insert(header::CONTENT_DISPOSITION, value(disposition)?);
    h.insert(
        header::CACHE_CONTROL,
        value(format!("private, max-age={max_age}"))?,
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    Ok(response)
}

/// RFC 5987 encoding of a file name.
fn percent_encode(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
