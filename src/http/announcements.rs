//! `/api/v1/announcements`: admins and HR announce (now or at `publish_at`); everyone
//! lists what was published to them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::AppState;
use super::extract::{ApiJson, ApiQuery, AuthUser};
use crate::domain::announcements::{AnnouncementInput, AnnouncementView};
use crate::domain::meetings::MeetingScope;
use crate::error::AppError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create))
}

/// What was published to the caller, newest first; `scope=all` (admin/HR): every
/// announcement of the organisation, scheduled ones too.
#[utoipa::path(get, path = "", tag = "announcements", params(MeetingScope),
    security(("bearer" = [])), responses((status = 200, body = [AnnouncementView]), (status = 403)))]
async fn list(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiQuery(q): ApiQuery<MeetingScope>,
) -> Result<Json<Vec<AnnouncementView>>, AppError> {
    Ok(Json(
        s.domain.announcements().list_announcements(&a, q).await?,
    ))
}

/// Admins and HR announce to everyone, some roles or some people; published now
/// (`announcement_created` and notifications) or at `publish_at`.
#[utoipa::path(post, path = "", tag = "announcements", request_body = AnnouncementInput,
    security(("bearer" = [])),
    responses((status = 201, body = AnnouncementView), (status = 400), (status = 403)))]
async fn create(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiJson(p): ApiJson<AnnouncementInput>,
) -> Result<(StatusCode, Json<AnnouncementView>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(s.domain.announcements().create_announcement(&a, p).await?),
    ))
}
