//! What every HTTP and WebSocket handler can reach.

use std::sync::Arc;

use crate::config::Config;
use crate::domain::Services;

#[derive(Clone)]
pub struct AppState {
    pub domain: Services,
    pub config: Arc<Config>,
    /// This node's plain-WebSocket sessions.
    pub sessions: Arc<crate::ws::Sessions>,
    /// Fired when the server drains: `/readyz` is 503 and new connections are refused.
    pub draining: tokio_util::sync::CancellationToken,
    /// Every task the server starts is on it (a WebSocket session's too).
    pub tasks: tokio_util::task::TaskTracker,
    /// The embedded media store, whose signed file URLs this server serves.
    pub local_media: Option<Arc<crate::infra::media::local::LocalMediaStore>>,
}
