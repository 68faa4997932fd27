//! A stand-in HTTP service on loopback that counts every request it gets (an
//! "internal service" an SSRF would reach, a host's JWKS endpoint).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use serde_json::Value;

/// Answers every request, after `delay`, with `body` as JSON, or 500 when `body` is
/// null; its base URL and the count of requests so far.
pub async fn counting_service(body: Value, delay: Duration) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counting = hits.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let app = Router::new().fallback(move || {
            counting.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            async move {
                tokio::time::sleep(delay).await;
                if body.is_null() {
                    Err(StatusCode::INTERNAL_SERVER_ERROR)
                } else {
                    Ok(axum::Json(body))
                }
            }
        });
        axum::serve(listener, app).await
    });
    (base, hits)
}
