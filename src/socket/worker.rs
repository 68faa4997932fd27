//! A socket's ordered event worker: one connection's events handled one at a time, in
//! the order they came, by a task that runs only while there is work. An idle socket
//! holds an empty queue and no task (a task and a channel per socket were ~1.4 KB of
//! each idle connection). The first step marks the device online; the last, queued when
//! the socket is gone, marks it offline, so a close never overtakes its open.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use governor::DefaultDirectRateLimiter;
use socketioxide::adapter::Adapter;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::SocketLimits;
use super::handlers::{Job, handle};
use super::overflow::Overflow;
use crate::app::Background;
use crate::domain::presence::Platform;
use crate::domain::{Actor, Services};
use crate::telemetry::metrics::Connected;

/// What a connection's worker does next.
enum Step<A: Adapter> {
    Open,
    Event(Box<Job<A>>),
    Close,
}

struct Queue<A: Adapter> {
    steps: VecDeque<Step<A>>,
    /// `Event` steps in `steps`, bounded by `SocketLimits::queue_depth`.
    events: usize,
    /// A task is draining `steps`.
    running: bool,
    /// A step panicked: later events are refused.
    broken: bool,
}

/// Why an event was not queued.
pub(super) enum Refused<A: Adapter> {
    /// `queue_depth` events are already waiting.
    Full(Box<Job<A>>),
    /// The server is stopping, or a step panicked.
    Stopped(Box<Job<A>>),
}

/// One Socket.IO connection's worker.
pub(super) struct Worker<A: Adapter> {
    queue: Mutex<Queue<A>>,
    domain: Services,
    actor: Actor,
    platform: Platform,
    conn_id: String,
    limits: SocketLimits,
    overflow: Overflow,
    tracker: TaskTracker,
    cancel: CancellationToken,
    /// The connection's event rate (`RATE_LIMIT_EVENTS_PER_SECOND`).
    pub(super) pace: DefaultDirectRateLimiter,
    _open: Connected,
}

impl<A: Adapter> Worker<A> {
    /// A worker whose first step marks the connection open; the returned guard queues
    /// the close when the last copy of it is dropped (with the socket's handlers).
    pub(super) fn start(
        sid: impl std::fmt::Display,
        actor: Actor,
        platform: Platform,
        domain: Services,
        limits: SocketLimits,
        overflow: Overflow,
        background: &Background,
    ) -> Arc<CloseOnDrop<A>> {
        let worker = Arc::new(Self {
            queue: Mutex::new(Queue {
                steps: VecDeque::new(),
                events: 0,
                running: false,
                broken: false,
            }),
            domain,
            actor,
            platform,
            conn_id: format!("sio:{sid}"),
            limits,
            overflow,
            tracker: background.tracker.clone(),
            cancel: background.cancel.clone(),
            pace: crate::realtime::pace::per_connection(limits.events_per_second),
            _open: Connected::new("socketio"),
        });
        worker.enqueue(Step::Open);
        Arc::new(CloseOnDrop(worker))
    }

    fn lock(&self) -> MutexGuard<'_, Queue<A>> {
        // Steps run outside the lock; a poisoned lock still holds a consistent queue.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a client's event behind the ones before it.
    pub(super) fn push(self: &Arc<Self>, job: Box<Job<A>>) -> Result<(), Refused<A>> {
        {
            let mut queue = self.lock();
            if queue.broken || self.cancel.is_cancelled() {
                return Err(Refused::Stopped(job));
            }
            if queue.events >= self.limits.queue_depth {
                return Err(Refused::Full(job));
            }
            queue.events += 1;
        }
        self.enqueue(Step::Event(job));
        Ok(())
    }

    /// Adds a step and starts a task to run the queue unless one is running.
    fn enqueue(self: &Arc<Self>, step: Step<A>) {
        let start = {
            let mut queue = self.lock();
            queue.steps.push_back(step);
            !std::mem::replace(&mut queue.running, true)
        };
        if start {
            self.spawn_run();
        }
    }

    fn spawn_run(self: &Arc<Self>) {
        let worker = self.clone();
        self.tracker.spawn(async move { worker.run().await });
    }

    /// Runs the queued steps until none is left; ends without holding the queue's buffer.
    async fn run(self: Arc<Self>) {
        let _running = Running(&self);
        loop {
            let step = {
                let mut queue = self.lock();
                match queue.steps.pop_front() {
                    Some(step) => {
                        if matches!(step, Step::Event(_)) {
                            queue.events -= 1;
                        }
                        step
                    }
                    None => {
                        queue.running = false;
                        queue.steps = VecDeque::new();
                        return;
                    }
                }
            };
            // Boxed: the task keeps a pointer, not room for the largest event's state.
            match step {
                Step::Open => {
                    Box::pin(self.domain.presence().connection_opened(
                        self.actor.user_id,
                        &self.conn_id,
                        self.platform,
                    ))
                    .await
                }
                // Once the server stops, waiting events are dropped unanswered.
                Step::Event(_) if self.cancel.is_cancelled() => {}
                Step::Event(job) => {
                    Box::pin(handle(
                        &self.domain,
                        &self.actor,
                        self.limits,
                        &self.overflow,
                        *job,
                    ))
                    .await
                }
                Step::Close => {
                    Box::pin(
                        self.domain
                            .presence()
                            .connection_closed(self.actor.user_id, &self.conn_id),
                    )
                    .await
                }
            }
        }
    }
}

/// Marks a worker broken when its task ends by a panic, so the client hears that its
/// events are refused instead of waiting on a queue nobody runs; a later close still
/// starts a task of its own.
struct Running<'a, A: Adapter>(&'a Arc<Worker<A>>);

impl<A: Adapter> Drop for Running<'_, A> {
    fn drop(&mut self) {
        // Only a panic: a task that ran out of steps, or was dropped as the runtime
        // stops, needs nothing.
        if !std::thread::panicking() {
            return;
        }
        let worker = self.0;
        let restart = {
            let mut queue = worker.lock();
            queue.broken = true;
            queue.steps.retain(|s| !matches!(s, Step::Event(_)));
            queue.events = 0;
            queue.running = !queue.steps.is_empty();
            queue.running
        };
        if restart {
            worker.spawn_run();
        }
    }
}

/// Owned by the socket's event handler: when the socket and its handlers are gone, the
/// connection's close is queued behind its last events.
pub(super) struct CloseOnDrop<A: Adapter>(pub(super) Arc<Worker<A>>);

impl<A: Adapter> Drop for CloseOnDrop<A> {
    fn drop(&mut self) {
        self.0.enqueue(Step::Close);
    }
}

/// At shutdown, every Socket.IO connection of this node is closed in presence (an idle
/// one has no task to notice the server stopping); a later close of the same one finds
/// nothing left to do.
pub fn close_all_on_shutdown(domain: Services, background: &Background) {
    let cancel = background.cancel.clone();
    background.tracker.spawn(async move {
        cancel.cancelled().await;
        domain.presence().close_local_connections("sio:").await;
    });
}
