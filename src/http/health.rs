//! Liveness (`/healthz`) and readiness (`/readyz`, the database answers) probes.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::AppState;
use crate::error::AppError;

#[derive(Serialize, ToSchema)]
pub struct Health {
    status: &'static str,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The database is reachable, events reach every node, and the server is not draining.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = Health), (status = 503, description = "database or Redis unreachable, or draining")))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, AppError> {
    if state.draining.is_cancelled() {
        return Err(AppError::Unavailable {
            what: "server draining".into(),
            source: None,
        });
    }
    state.domain.ready().await?;
    Ok(Json(Health { status: "ready" }))
}
