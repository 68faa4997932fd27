//! A push service for load runs: takes every Web Push POSTed to `/push/{browser}`,
//! answers 201 and counts them, remembering when each arrived. It does not decrypt
//! (the integration tests do that); it measures how fast the server's outbox drains.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;

/// Arrival times of the pushes taken so far.
#[derive(Clone, Default)]
pub struct PushSink {
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl PushSink {
    /// Serves on `addr` (e.g. `127.0.0.1:3901`) in the background.
    pub async fn start(addr: &str) -> std::io::Result<Self> {
        let sink = Self::default();
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let arrivals = sink.arrivals.clone();
        let router = Router::new().route(
            "/push/{browser}",
            post(move || {
                let arrivals = arrivals.clone();
                async move {
                    arrivals.lock().unwrap().push(Instant::now());
                    StatusCode::CREATED
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, router).await });
        Ok(sink)
    }

    pub fn count(&self) -> usize {
        self.arrivals.lock().unwrap().len()
    }

    pub fn last(&self) -> Option<Instant> {
        self.arrivals.lock().unwrap().last().copied()
    }
}
