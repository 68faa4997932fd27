//! The REST rate limits as a middleware: every request that matched a route (health
//! probes and `/metrics` aside) is counted for its client address and, with a valid
//! bearer token, for its user (`Services::admit_request`); over a limit it answers 429
//! `RATE_LIMITED` with `Retry-After`.

use axum::extract::{MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::extract::ClientIp;
use crate::auth::bearer_token;

pub async fn limit(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let exempt = req
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|p| matches!(p.as_str(), "/healthz" | "/readyz" | "/metrics"));
    if exempt {
        return next.run(req).await;
    }
    let (mut parts, body): (Parts, _) = req.into_parts();
    let ip =
        <ClientIp as axum::extract::FromRequestParts<AppState>>::from_request_parts(&mut parts, &s)
            .await
            .ok()
            .map(|ClientIp(ip)| ip);
    let user = bearer_token(&parts.headers).and_then(|t| s.domain.rate_limiter().token_subject(t));
    if let Err(e) = s.domain.rate_limiter().admit_request(user, ip).await {
        return e.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}
