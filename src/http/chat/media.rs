//! `…/chat/media/*` (`003_…`): an upload URL for a file in a conversation, confirming
//! the upload (optionally onto a message), and a file's metadata with download URLs.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::Id;
use crate::app::AppState;
use crate::domain::media::{MediaView, UploadRequest, UploadTicket};
use crate::error::AppError;
use crate::http::extract::{ApiJson, AuthUser, OptionalJson};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_url))
        .routes(routes!(confirm))
        .routes(routes!(get_one))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadUrlBody {
    pub file_name: String,
    /// A MIME type the server accepts (`MEDIA_ALLOWED_TYPES`).
    pub content_type: String,
    /// Bytes; at most `MEDIA_MAX_BYTES` (413 beyond).
    pub size: i64,
    pub conversation_id: Uuid,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    /// One of your messages in the same conversation to attach the file to.
    pub message_id: Option<Uuid>,
}

/// A URL to `PUT` the file's bytes to, with the headers to send, until `expires_at`.
#[utoipa::path(post, path = "/media/upload-url", tag = "chat", request_body = UploadUrlBody,
    security(("bearer" = [])),
    responses((status = 200, body = UploadTicket), (status = 400), (status = 403), (status = 404), (status = 413)))]
async fn upload_url(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiJson(b): ApiJson<UploadUrlBody>,
) -> Result<Json<UploadTicket>, AppError> {
    let req = UploadRequest {
        file_name: b.file_name,
        content_type: b.content_type,
        size: b.size,
        conversation_id: b.conversation_id,
    };
    Ok(Json(s.domain.media().media_upload_url(&a, req).await?))
}

/// Checks the upload (size, type, an image really being one), records its SHA-256,
/// makes a thumbnail for images; with `message_id`, attaches it to that message.
/// Otherwise the id can go into a new message's `attachment_ids`.
#[utoipa::path(post, path = "/media/{id}/confirm", tag = "chat", params(("id" = Uuid, Path)),
    request_body(content = Option<ConfirmBody>), security(("bearer" = [])),
    responses((status = 200, body = MediaView), (status = 400), (status = 403), (status = 404), (status = 409)))]
async fn confirm(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    id: Id,
    OptionalJson(b): OptionalJson<ConfirmBody>,
) -> Result<Json<MediaView>, AppError> {
    Ok(Json(
        s.domain
            .messages()
            .confirm_media(&a, id.0, b.message_id)
            .await?,
    ))
}

/// A file's metadata and signed `cdn_url`/`thumbnail_url`; participants only.
#[utoipa::path(get, path = "/media/{id}", tag = "chat", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = MediaView), (status = 403), (status = 404)))]
async fn get_one(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    id: Id,
) -> Result<Json<MediaView>, AppError> {
    Ok(Json(s.domain.media().media_get(&a, id.0).await?))
}
