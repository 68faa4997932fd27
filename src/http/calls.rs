//! `/api/v1/calls/*`: start a call in a conversation, answer, decline, end, relay a
//! WebRTC signal, one call, a conversation's call history.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery, AuthUser, OptionalJson};
use crate::domain::calls::{AnswerInput, CallHistoryQuery, CallInput, CallView, SignalInput};
use crate::error::AppError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(history, start))
        .routes(routes!(get_one))
        .routes(routes!(accept))
        .routes(routes!(decline))
        .routes(routes!(end))
        .routes(routes!(signal))
}

/// Rings every other member of the conversation (`call_incoming`; an urgent push to
/// who is not connected); 409 while another call rings or runs there.
#[utoipa::path(post, path = "", tag = "calls", request_body = CallInput, security(("bearer" = [])),
    responses((status = 201, body = CallView), (status = 400), (status = 403), (status = 404), (status = 409)))]
async fn start(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiJson(p): ApiJson<CallInput>,
) -> Result<(StatusCode, Json<CallView>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(s.domain.calls().start_call(&a, p).await?),
    ))
}

/// The calls of a conversation the caller is in, newest first.
#[utoipa::path(get, path = "", tag = "calls", params(CallHistoryQuery), security(("bearer" = [])),
    responses((status = 200, body = [CallView]), (status = 403), (status = 404)))]
async fn history(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiQuery(q): ApiQuery<CallHistoryQuery>,
) -> Result<Json<Vec<CallView>>, AppError> {
    Ok(Json(s.domain.calls().call_history(&a, q).await?))
}

/// One call of a conversation the caller is in.
#[utoipa::path(get, path = "/{id}", tag = "calls", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = CallView), (status = 404)))]
async fn get_one(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<CallView>, AppError> {
    Ok(Json(s.domain.calls().get_call(&a, id).await?))
}

/// Answers a ringing call; the first device wins (409 for the rest); everyone gets
/// `call_accepted` with `answered_by` and the `device_id` given here.
#[utoipa::path(post, path = "/{id}/accept", tag = "calls", params(("id" = Uuid, Path)),
    request_body = AnswerInput, security(("bearer" = [])),
    responses((status = 200, body = CallView), (status = 403), (status = 404), (status = 409)))]
async fn accept(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    OptionalJson(input): OptionalJson<AnswerInput>,
) -> Result<Json<CallView>, AppError> {
    Ok(Json(s.domain.calls().accept_call(&a, id, input).await?))
}

/// Declines a ringing call (`call_declined`; in a direct chat the call ends).
#[utoipa::path(post, path = "/{id}/decline", tag = "calls", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = CallView), (status = 403), (status = 404), (status = 409)))]
async fn decline(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<CallView>, AppError> {
    Ok(Json(s.domain.calls().decline_call(&a, id).await?))
}

/// Hangs up (`call_ended` with `duration_seconds`).
#[utoipa::path(post, path = "/{id}/end", tag = "calls", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = CallView), (status = 404), (status = 409)))]
async fn end(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<CallView>, AppError> {
    Ok(Json(s.domain.calls().end_call(&a, id).await?))
}

/// Relays a WebRTC signal to one member's devices (`call_signal`); never stored.
#[utoipa::path(post, path = "/{id}/signal", tag = "calls", params(("id" = Uuid, Path)),
    request_body = SignalBody, security(("bearer" = [])),
    responses((status = 202), (status = 400), (status = 404), (status = 409), (status = 413)))]
async fn signal(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(p): ApiJson<SignalBody>,
) -> Result<StatusCode, AppError> {
    s.domain
        .calls()
        .relay_signal(
            &a,
            SignalInput {
                call_id: id,
                to_user_id: p.to_user_id,
                signal: p.signal,
            },
        )
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// A signal for one member of the call in the path.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct SignalBody {
    pub to_user_id: Uuid,
    #[schema(value_type = Object)]
    pub signal: serde_json::Value,
}
