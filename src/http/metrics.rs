//! `GET /metrics` (Prometheus text exposition, `crate::telemetry::metrics`) and the
//! metrics every HTTP request records: count by method, route template and status,
//! and duration.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::telemetry::metrics::{HTTP_DURATION, HTTP_REQUESTS, render};

/// The exposition, in Prometheus text format 0.0.4.
pub async fn exposition() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        render(),
    )
}

/// Records one request (routes only: the template, never the raw path, so ids do not
/// become label values).
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    metrics::counter!(HTTP_REQUESTS, "method" => method.clone(), "route" => route.clone(),
        "status" => res.status().as_u16().to_string())
    .increment(1);
    metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    res
}
