//! Prometheus metrics: the process-wide recorder (the `metrics` facade with
//! `metrics-exporter-prometheus`), the text exposition `/metrics` serves, and the names
//! of every metric with the one place each is recorded. README's "Metrics" lists them.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Open connections, by `transport` (`socketio`, `websocket`, `legacy_ws`).
pub const CONNECTIONS: &str = "switchboard_connections";
/// Events received from clients, by `transport` and `event`.
pub const EVENTS_IN: &str = "switchboard_events_in_total";
/// Events published (each once, on the node that published it), by `type`.
pub const EVENTS_PUBLISHED: &str = "switchboard_events_published_total";
/// Events handed to connections of this node, by `transport` (one per connection).
pub const DELIVERIES: &str = "switchboard_deliveries_total";
/// From publish to being handed to this node's connections.
pub const DELIVERY_LATENCY: &str = "switchboard_delivery_latency_seconds";
/// Messages per group commit of the message writer.
pub const WRITER_BATCH: &str = "switchboard_message_writer_batch_size";
/// One group commit, from begin to commit.
pub const WRITER_COMMIT: &str = "switchboard_message_writer_commit_seconds";
/// Push outbox rows not yet settled, and how long the oldest has waited.
pub const OUTBOX_DEPTH: &str = "switchboard_push_outbox_depth";
pub const OUTBOX_OLDEST: &str = "switchboard_push_outbox_oldest_seconds";
/// Push attempts by `provider` (`web_push`, `expo`, `email`) and `outcome`.
pub const PUSH_RESULTS: &str = "switchboard_push_results_total";
/// Redis commands that failed.
pub const REDIS_ERRORS: &str = "switchboard_redis_errors_total";
/// HTTP requests by `method`, `route` (the route template) and `status`.
pub const HTTP_REQUESTS: &str = "switchboard_http_requests_total";
pub const HTTP_DURATION: &str = "switchboard_http_request_duration_seconds";
/// Connections cut for not keeping up, by `transport`.
pub const SLOW_CUTS: &str = "switchboard_slow_clients_cut_total";
/// Connections caught up on joining, by `transport` and `recovered`.
pub const CATCH_UPS: &str = "switchboard_catch_ups_total";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once (several servers in one test process share
/// it) and returns its handle.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let seconds = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(WRITER_BATCH.into()),
                        &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0],
                    )
                })
                .expect("valid buckets")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            handle
        })
        .clone()
}

/// The exposition text.
pub fn render() -> String {
    install().render()
}

/// Drains histogram samples into buckets; run every few seconds so that an unscraped
/// server does not hold samples.
pub async fn upkeep(cancel: tokio_util::sync::CancellationToken) {
    let handle = install();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(5)) => handle.run_upkeep(),
        }
    }
}

/// A transport's open-connection gauge, decremented when dropped.
pub struct Connected(&'static str);

impl Connected {
    pub fn new(transport: &'static str) -> Self {
        metrics::gauge!(CONNECTIONS, "transport" => transport).increment(1.0);
        if transport == "socketio" {
            SOCKETIO_OPENED.fetch_add(1, Ordering::Relaxed);
        }
        Self(transport)
    }
}

impl Drop for Connected {
    fn drop(&mut self) {
        metrics::gauge!(CONNECTIONS, "transport" => self.0).decrement(1.0);
        if self.0 == "socketio" {
            SOCKETIO_CLOSED.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// An event received from a client (`EVENTS_IN`).
pub fn event_in(transport: &'static str, event: &'static str) {
    metrics::counter!(EVENTS_IN, "transport" => transport, "event" => event).increment(1);
    if transport == "socketio" {
        SOCKETIO_EVENTS_IN.fetch_add(1, Ordering::Relaxed);
    }
}

/// `n` connections of `transport` were handed one event (`DELIVERIES`).
pub fn delivered(transport: &'static str, n: u64) {
    metrics::counter!(DELIVERIES, "transport" => transport).increment(n);
    if transport == "socketio" {
        SOCKETIO_DELIVERIES.fetch_add(n, Ordering::Relaxed);
    }
}

static SOCKETIO_OPENED: AtomicU64 = AtomicU64::new(0);
static SOCKETIO_CLOSED: AtomicU64 = AtomicU64::new(0);
static SOCKETIO_EVENTS_IN: AtomicU64 = AtomicU64::new(0);
static SOCKETIO_DELIVERIES: AtomicU64 = AtomicU64::new(0);

/// This process's Socket.IO totals since it started, which the Admin UI's dashboard
/// charts as differences between two readings (the Prometheus recorder is write-only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketIoTotals {
    pub opened: u64,
    pub closed: u64,
    pub events_in: u64,
    pub deliveries: u64,
}

pub fn socketio_totals() -> SocketIoTotals {
    SocketIoTotals {
        opened: SOCKETIO_OPENED.load(Ordering::Relaxed),
        closed: SOCKETIO_CLOSED.load(Ordering::Relaxed),
        events_in: SOCKETIO_EVENTS_IN.load(Ordering::Relaxed),
        deliveries: SOCKETIO_DELIVERIES.load(Ordering::Relaxed),
    }
}
