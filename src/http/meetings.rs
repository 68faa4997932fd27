//! `/api/v1/meetings/*` (000): the caller's meetings, upcoming and today's, one
//! meeting, creating, editing, cancelling and answering.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use crate::domain::meetings::attendance::{RsvpDone, RsvpInput};
use crate::domain::meetings::changes::{MeetingInput, MeetingPatch};
use crate::domain::meetings::{MeetingScope, MeetingView};
use crate::error::AppError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(upcoming))
        .routes(routes!(today))
        .routes(routes!(get_one, update))
        .routes(routes!(cancel))
        .routes(routes!(respond))
}

/// Meetings the caller organises or is invited to; `scope=all`: the organisation's
/// (admin and HR).
#[utoipa::path(get, path = "", tag = "meetings", params(MeetingScope), security(("bearer" = [])),
    responses((status = 200, body = [MeetingView]), (status = 403)))]
async fn list(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiQuery(q): ApiQuery<MeetingScope>,
) -> Result<Json<Vec<MeetingView>>, AppError> {
    Ok(Json(s.domain.meetings().list_meetings(&a, q).await?))
}

/// Creates a meeting; the organiser is an accepted participant; invitees get
/// `meeting_created` and a notification.
#[utoipa::path(post, path = "", tag = "meetings", request_body = MeetingInput,
    security(("bearer" = [])), responses((status = 201, body = MeetingView), (status = 400)))]
async fn create(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiJson(p): ApiJson<MeetingInput>,
) -> Result<(StatusCode, Json<MeetingView>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(s.domain.meetings().create_meeting(&a, p).await?),
    ))
}

/// The caller's scheduled meetings that have not started, soonest first.
#[utoipa::path(get, path = "/upcoming", tag = "meetings", security(("bearer" = [])),
    responses((status = 200, body = [MeetingView])))]
async fn upcoming(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
) -> Result<Json<Vec<MeetingView>>, AppError> {
    Ok(Json(s.domain.meetings().upcoming_meetings(&a).await?))
}

/// Scheduled meetings starting today in the caller's time zone (`DEFAULT_TIMEZONE`
/// when they chose none); `scope=all` for admin and HR.
#[utoipa::path(get, path = "/today", tag = "meetings", params(MeetingScope), security(("bearer" = [])),
    responses((status = 200, body = [MeetingView]), (status = 403)))]
async fn today(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiQuery(q): ApiQuery<MeetingScope>,
) -> Result<Json<Vec<MeetingView>>, AppError> {
    Ok(Json(s.domain.meetings().todays_meetings(&a, q).await?))
}

/// One meeting: organiser, participants, admin and HR.
#[utoipa::path(get, path = "/{id}", tag = "meetings", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = MeetingView), (status = 403), (status = 404)))]
async fn get_one(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<MeetingView>, AppError> {
    Ok(Json(s.domain.meetings().get_meeting(&a, id).await?))
}

/// The organiser edits, reschedules or changes who is invited.
#[utoipa::path(patch, path = "/{id}", tag = "meetings", params(("id" = Uuid, Path)),
    request_body = MeetingPatch, security(("bearer" = [])),
    responses((status = 200, body = MeetingView), (status = 400), (status = 403), (status = 404)))]
async fn update(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(p): ApiJson<MeetingPatch>,
) -> Result<Json<MeetingView>, AppError> {
    Ok(Json(s.domain.meetings().update_meeting(&a, id, p).await?))
}

/// The organiser or an admin cancels: status `cancelled`, `meeting_deleted` to all.
#[utoipa::path(post, path = "/{id}/cancel", tag = "meetings", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = MeetingView), (status = 403), (status = 404)))]
async fn cancel(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<MeetingView>, AppError> {
    Ok(Json(s.domain.meetings().cancel_meeting(&a, id).await?))
}

/// A participant answers (accepted | declined | tentative); 400 on a cancelled
/// meeting; the organiser gets `meeting_rsvp_updated`.
#[utoipa::path(post, path = "/{id}/respond", tag = "meetings", params(("id" = Uuid, Path)),
    request_body = RsvpInput, security(("bearer" = [])),
    responses((status = 200, body = RsvpDone), (status = 400), (status = 403), (status = 404)))]
async fn respond(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(p): ApiJson<RsvpInput>,
) -> Result<Json<RsvpDone>, AppError> {
    Ok(Json(
        s.domain.meetings().respond_to_meeting(&a, id, p).await?,
    ))
}
