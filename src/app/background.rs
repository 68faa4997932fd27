//! The server's background tasks and their lifecycle: every task is spawned on one
//! [`TaskTracker`] and watches one [`CancellationToken`], so shutdown can stop them
//! all and wait for each (the message writer first drains what it was given).

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::domain::Services;

/// Owner of every background task of one server.
#[derive(Clone, Default)]
pub struct Background {
    pub tracker: TaskTracker,
    pub cancel: CancellationToken,
    /// Fires when the server starts draining (SIGTERM): `/readyz` answers 503 and new
    /// connections are refused while open ones are sent elsewhere; `cancel` follows.
    pub drain: CancellationToken,
}

impl Background {
    /// Cancels every task and waits until all of them have finished.
    pub async fn stop(&self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// Refreshes this node's connections and publishes time-based presence changes.
pub fn presence_ticker(bg: &Background, domain: Services, every: Duration) {
    let cancel = bg.cancel.clone();
    bg.tracker.spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = domain.presence().presence_tick().await {
                tracing::warn!(error = %e, "presence sweep failed");
            }
        }
    });
}

/// Runs `round` again and again: straight on after a full one (it returns true),
/// else when `wake` rings or after `poll`. On shutdown the round in flight finishes.
fn rounds<R, W>(
    bg: &Background,
    poll: Duration,
    round: impl Fn() -> R + Send + 'static,
    wake: impl Fn() -> W + Send + 'static,
) where
    R: std::future::Future<Output = bool> + Send,
    W: std::future::Future<Output = ()> + Send,
{
    let cancel = bg.cancel.clone();
    bg.tracker.spawn(async move {
        loop {
            let full = round().await;
            if cancel.is_cancelled() {
                return;
            }
            if full {
                continue;
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = wake() => {}
                _ = tokio::time::sleep(poll) => {}
            }
        }
    });
}

/// Whether a round claimed a whole batch (more may be waiting); a failed round is
/// logged and waits for the next.
fn was_full(claimed: crate::error::AppResult<usize>, batch: u64, what: &str) -> bool {
    match claimed {
        Ok(n) => n as u64 == batch,
        Err(e) => {
            e.log_hidden(what);
            false
        }
    }
}

/// Sends what the push outbox holds: a round whenever a row is written on this node,
/// else every `poll` (rows other nodes wrote, retries that fell due). Rows claimed
/// but not settled at shutdown go back to the outbox when their lease runs out.
pub fn push_worker(bg: &Background, domain: Services, poll: Duration) {
    let waker = domain.clone();
    rounds(
        bg,
        poll,
        move || {
            let domain = domain.clone();
            async move {
                let full = was_full(
                    domain.notifications().deliver_due_pushes().await,
                    crate::domain::notify::delivery::BATCH,
                    "push outbox round",
                );
                if let Err(e) = domain.notifications().check_push_receipts().await {
                    e.log_hidden("expo receipts round");
                }
                if let Ok((depth, oldest)) = domain.notifications().outbox_backlog().await {
                    use crate::telemetry::metrics::{OUTBOX_DEPTH, OUTBOX_OLDEST};
                    let age = oldest.map_or(0.0, |t| {
                        (chrono::Utc::now() - t).num_milliseconds() as f64 / 1000.0
                    });
                    metrics::gauge!(OUTBOX_DEPTH).set(depth as f64);
                    metrics::gauge!(OUTBOX_OLDEST).set(age.max(0.0));
                }
                full
            }
        },
        move || {
            let waker = waker.clone();
            async move { waker.notifications().push_written().await }
        },
    );
}

/// Runs the scheduler's due jobs (meeting reminders, ring timeouts, scheduled
/// announcements) and, hourly, the retention sweep: a round
/// whenever a job is armed on this node, else every `poll`.
pub fn scheduler(bg: &Background, domain: Services, poll: Duration) {
    let waker = domain.clone();
    rounds(
        bg,
        poll,
        move || {
            let domain = domain.clone();
            async move {
                if let Err(e) = domain.retention().sweep_if_due().await {
                    e.log_hidden("retention sweep");
                }
                was_full(
                    domain.jobs().run_due_jobs().await,
                    crate::domain::scheduler::BATCH,
                    "scheduler round",
                )
            }
        },
        move || {
            let waker = waker.clone();
            async move { waker.scheduler().job_armed().await }
        },
    );
}
