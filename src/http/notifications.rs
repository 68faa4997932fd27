//! `/api/v1/notifications/*`: the in-app inbox (000's list, unread count, read-all,
//! read one; Worknation's fetch all, mark-all-read, mark-read and stats), the
//! preferences, Web Push subscriptions (and `push/test`) and Expo device tokens.

use axum::Json;
use axum::extract::State;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery, AuthUser, OptionalJson};
use crate::domain::notify::delivery::PushTestResult;
use crate::domain::notify::device_tokens::{
    CurrentTokenInput, DeviceTokenInput, DeviceTokenRegistered, DeviceTokenRevoked,
};
use crate::domain::notify::preferences::{Preferences, PreferencesPatch};
use crate::domain::notify::web_push::{PushPublicKey, PushSubscriptionDone, PushSubscriptionInput};
use crate::domain::notify::{
    InboxQuery, InboxStats, NotificationView, ReadAll, ReadOne, UnreadCount,
};
use crate::error::AppError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(unread_count))
        .routes(routes!(read_all))
        .routes(routes!(mark_all_read))
        .routes(routes!(read_one))
        .routes(routes!(mark_read))
        .routes(routes!(stats))
        .routes(routes!(preferences, update_preferences))
        .routes(routes!(push_public_key))
        .routes(routes!(subscribe_push, unsubscribe_push))
        .routes(routes!(push_test))
        .routes(routes!(register_device_token))
        .routes(routes!(revoke_current_device_tokens))
        .routes(routes!(revoke_device_token))
}

/// Registers or refreshes the caller's Expo push token (a token another user had
/// registered moves to the caller).
#[utoipa::path(post, path = "/device-tokens", tag = "notifications",
    request_body = DeviceTokenInput, security(("bearer" = [])),
    responses((status = 200, body = DeviceTokenRegistered), (status = 400)))]
async fn register_device_token(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiJson(p): ApiJson<DeviceTokenInput>,
) -> Result<Json<DeviceTokenRegistered>, AppError> {
    Ok(Json(
        s.domain
            .notifications()
            .register_device_token(&a, p)
            .await?,
    ))
}

/// On logout: revokes the named token, or all of the caller's active tokens.
#[utoipa::path(delete, path = "/device-tokens/current", tag = "notifications",
    request_body = CurrentTokenInput, security(("bearer" = [])),
    responses((status = 200, body = DeviceTokenRevoked)))]
async fn revoke_current_device_tokens(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    // None (or an empty body) means every token of the caller.
    OptionalJson(input): OptionalJson<CurrentTokenInput>,
) -> Result<Json<DeviceTokenRevoked>, AppError> {
    Ok(Json(
        s.domain
            .notifications()
            .revoke_current_device_tokens(&a, input)
            .await?,
    ))
}

/// Revokes one of the caller's tokens by id.
#[utoipa::path(delete, path = "/device-tokens/{id}", tag = "notifications", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, body = DeviceTokenRevoked), (status = 404)))]
async fn revoke_device_token(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<DeviceTokenRevoked>, AppError> {
    Ok(Json(
        s.domain.notifications().revoke_device_token(&a, id).await?,
    ))
}

/// The server's VAPID public key for `pushManager.subscribe` (no auth; `null` and
/// `configured: false` when Web Push is not set up).
#[utoipa::path(get, path = "/push-public-key", tag = "notifications",
    responses((status = 200, body = PushPublicKey)))]
async fn push_public_key(State(s): State<AppState>) -> Json<PushPublicKey> {
    Json(s.domain.notifications().push_public_key())
}

/// Registers a browser's push subscription (updated in place for a known endpoint);
/// 503 without VAPID keys, 400 for an endpoint outside `WEB_PUSH_ALLOWED_ENDPOINTS`.
#[utoipa::path(post, path = "/push-subscriptions", tag = "notifications",
    request_body = PushSubscriptionInput, security(("bearer" = [])),
    responses((status = 200, body = PushSubscriptionDone), (status = 400), (status = 503)))]
async fn subscribe_push(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiJson(p): ApiJson<PushSubscriptionInput>,
) -> Result<Json<PushSubscriptionDone>, AppError> {
    Ok(Json(s.domain.notifications().subscribe_push(&a, p).await?))
}

/// Revokes the caller's subscription with this endpoint (same body as registering).
#[utoipa::path(delete, path = "/push-subscriptions", tag = "notifications",
    request_body = PushSubscriptionInput, security(("bearer" = [])),
    responses((status = 200, body = PushSubscriptionDone), (status = 404)))]
async fn unsubscribe_push(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiJson(p): ApiJson<PushSubscriptionInput>,
) -> Result<Json<PushSubscriptionDone>, AppError> {
    Ok(Json(
        s.domain.notifications().unsubscribe_push(&a, p).await?,
    ))
}

/// Sends a test Web Push to every active browser of the caller now and counts the
/// outcome (a browser the push service says is gone is revoked).
#[utoipa::path(post, path = "/push/test", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = PushTestResult)))]
async fn push_test(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
) -> Result<Json<PushTestResult>, AppError> {
    Ok(Json(s.domain.notifications().push_test(&a).await?))
}

/// The caller's notifications, newest first (000: "Array of NotificationRead").
#[utoipa::path(get, path = "", tag = "notifications", params(InboxQuery),
    security(("bearer" = [])), responses((status = 200, body = [NotificationView])))]
async fn list(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> Result<Json<Vec<NotificationView>>, AppError> {
    Ok(Json(
        s.domain.notifications().list_notifications(&a, q).await?,
    ))
}

/// How many of the caller's notifications are unread.
#[utoipa::path(get, path = "/unread-count", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = UnreadCount)))]
async fn unread_count(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
) -> Result<Json<UnreadCount>, AppError> {
    Ok(Json(s.domain.notifications().notification_count(&a).await?))
}

/// Marks every notification read; the caller's devices get `notifications_count_updated`.
#[utoipa::path(patch, path = "/read-all", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = ReadAll)))]
async fn read_all(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
) -> Result<Json<ReadAll>, AppError> {
    Ok(Json(
        s.domain.notifications().read_all_notifications(&a).await?,
    ))
}

/// Worknation's "mark-all-read" (the same as `read-all`).
#[utoipa::path(patch, path = "/mark-all-read", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = ReadAll)))]
async fn mark_all_read(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
) -> Result<Json<ReadAll>, AppError> {
    Ok(Json(
        s.domain.notifications().read_all_notifications(&a).await?,
    ))
}

/// Marks one of the caller's notifications read (`notification_read` to their devices).
#[utoipa::path(patch, path = "/{id}/read", tag = "notifications", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, body = ReadOne), (status = 404)))]
async fn read_one(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ReadOne>, AppError> {
    Ok(Json(
        s.domain.notifications().read_notification(&a, id).await?,
    ))
}

/// Worknation's "mark-read" (the same as `{id}/read`).
#[utoipa::path(patch, path = "/{id}/mark-read", tag = "notifications", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, body = ReadOne), (status = 404)))]
async fn mark_read(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ReadOne>, AppError> {
    Ok(Json(
        s.domain.notifications().read_notification(&a, id).await?,
    ))
}

/// Worknation's "Get Stats": total, unread and read counts.
#[utoipa::path(get, path = "/stats", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = InboxStats)))]
async fn stats(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
) -> Result<Json<InboxStats>, AppError> {
    Ok(Json(s.domain.notifications().notification_stats(&a).await?))
}

/// The caller's preferences: email and push switches, and per category × channel.
#[utoipa::path(get, path = "/preferences", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = Preferences)))]
async fn preferences(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
) -> Result<Json<Preferences>, AppError> {
    Ok(Json(s.domain.notifications().preferences(&a).await?))
}

/// Changes only the given preferences.
#[utoipa::path(patch, path = "/preferences", tag = "notifications", request_body = PreferencesPatch,
    security(("bearer" = [])), responses((status = 200, body = Preferences)))]
async fn update_preferences(
    State(s): State<AppState>,
    AuthUser(a): AuthUser,
    ApiJson(p): ApiJson<PreferencesPatch>,
) -> Result<Json<Preferences>, AppError> {
    Ok(Json(
        s.domain.notifications().update_preferences(&a, p).await?,
    ))
}
