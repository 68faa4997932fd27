//! PATCH (switchboard): the packet queue between a socket's senders and its transport.
//!
//! It replaces a `tokio::sync::mpsc` channel, which allocates its first block of 32 slots
//! (32 × a ~170-byte `PacketBuf`, ~5.4 KB) and its shared state when the socket is made,
//! whatever the capacity and whether a packet is ever sent. This queue lives inline in the
//! socket and holds no heap memory while it is empty: the WebSocket writer takes all
//! queued packets at once ([`PacketQueue::poll_take_all`]), leaving an empty `VecDeque`
//! behind. Semantics follow the bounded channel it replaces: a capacity counting queued
//! packets and outstanding permits, `try_send`/`try_reserve` failing with `Full` or
//! `Closed`, one receiver at a time (the transport holding the socket's `internal_rx`
//! lock), packets queued before [`PacketQueue::close`] still received, then `None`. It
//! also holds the socket's volatile slot (was a `watch` channel, ~0.5 KB per socket): the
//! latest volatile group, outside the capacity, received after the buffered ones.

use std::{
    collections::VecDeque,
    future::poll_fn,
    sync::Mutex,
    task::{Context, Poll},
};

use engineioxide_core::PacketBuf;
use futures_util::task::AtomicWaker;
use tokio::sync::{Notify, mpsc::error::TrySendError};

#[derive(Debug, Default)]
struct State {
    packets: VecDeque<PacketBuf>,
    /// The latest volatile group, sent after the buffered ones; a newer one replaces it.
    volatile: Option<PacketBuf>,
    /// Permits handed out and not yet used or dropped.
    reserved: usize,
    closed: bool,
}

/// A bounded multi-producer, single-consumer queue of packet groups.
#[derive(Debug)]
pub(crate) struct PacketQueue {
    state: Mutex<State>,
    capacity: usize,
    /// The receiver waiting for a packet (the transport task or polling request).
    rx_waker: AtomicWaker,
    /// Tasks waiting in [`PacketQueue::closed`].
    closed_waiters: Notify,
}

impl PacketQueue {
    pub(crate) fn new(capacity: usize) -> Self {
        assert!(
            capacity > 0,
            "the packet queue needs a capacity of at least 1"
        );
        Self {
            state: Mutex::new(State::default()),
            capacity,
            rx_waker: AtomicWaker::new(),
            closed_waiters: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // No code path panics while holding the lock; a poisoned lock still holds a
        // consistent state.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a group of packets, or gives it back when the queue is full or closed.
    pub(crate) fn try_send(&self, packets: PacketBuf) -> Result<(), TrySendError<PacketBuf>> {
        {
            let mut state = self.lock();
            if state.closed {
                return Err(TrySendError::Closed(packets));
            }
            if state.packets.len() + state.reserved >= self.capacity {
                return Err(TrySendError::Full(packets));
            }
            state.packets.push_back(packets);
        }
        self.rx_waker.wake();
        Ok(())
    }

    /// Holds a place in the queue for one group of packets.
    pub(crate) fn try_reserve(&self) -> Result<QueuePermit<'_>, TrySendError<()>> {
        let mut state = self.lock();
        if state.closed {
            return Err(TrySendError::Closed(()));
        }
        if state.packets.len() + state.reserved >= self.capacity {
            return Err(TrySendError::Full(()));
        }
        state.reserved += 1;
        Ok(QueuePermit { queue: self })
    }

    /// Puts a volatile group in the slot, replacing one not yet sent; `false` (dropped)
    /// once the queue is closed.
    pub(crate) fn send_volatile(&self, packets: PacketBuf) -> bool {
        {
            let mut state = self.lock();
            if state.closed {
                return false;
            }
            state.volatile = Some(packets);
        }
        self.rx_waker.wake();
        true
    }

    /// No more packets can be queued (the session is closed).
    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Resolves once the queue is closed.
    pub(crate) async fn closed(&self) {
        let notified = self.closed_waiters.notified();
        tokio::pin!(notified);
        // Registered before the check, so a close between the two is not missed.
        notified.as_mut().enable();
        if self.is_closed() {
            return;
        }
        notified.await;
    }

    /// Refuses new packets; those already queued can still be received.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.closed_waiters.notify_waiters();
        self.rx_waker.wake();
    }

    /// The next group of packets; `None` once the queue is closed and empty.
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<PacketBuf>> {
        self.poll_with(cx, |state| {
            state.packets.pop_front().or_else(|| state.volatile.take())
        })
    }

    /// Every queued group, taking the queue's buffer with them so an idle socket keeps no
    /// memory; `None` once the queue is closed and empty.
    pub(crate) fn poll_take_all(&self, cx: &mut Context<'_>) -> Poll<Option<VecDeque<PacketBuf>>> {
        self.poll_with(cx, |state| {
            let volatile = state.volatile.take();
            if state.packets.is_empty() && volatile.is_none() {
                return None;
            }
            let mut all = std::mem::take(&mut state.packets);
            all.extend(volatile);
            Some(all)
        })
    }

    /// See [`PacketQueue::poll_recv`].
    #[cfg(any(test, feature = "__test_harness"))]
    pub(crate) async fn recv(&self) -> Option<PacketBuf> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// See [`PacketQueue::poll_take_all`].
    pub(crate) async fn take_all(&self) -> Option<VecDeque<PacketBuf>> {
        poll_fn(|cx| self.poll_take_all(cx)).await
    }

    fn poll_with<T>(
        &self,
        cx: &mut Context<'_>,
        mut take: impl FnMut(&mut State) -> Option<T>,
    ) -> Poll<Option<T>> {
        {
            let mut state = self.lock();
            if let Some(item) = take(&mut state) {
                return Poll::Ready(Some(item));
            }
        }
        // Registered before looking again, so a packet queued in between wakes us.
        self.rx_waker.register(cx.waker());
        let mut state = self.lock();
        if let Some(item) = take(&mut state) {
            return Poll::Ready(Some(item));
        }
        if state.closed {
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}

/// A place held in a [`PacketQueue`]; dropping it unused gives the place back.
pub(crate) struct QueuePermit<'a> {
    queue: &'a PacketQueue,
}

impl QueuePermit<'_> {
    /// Queues the packets in the held place (dropped if the queue closed meanwhile, as a
    /// channel's permit would send into a receiver that no longer reads).
    pub(crate) fn send(self, packets: PacketBuf) {
        let queue = self.queue;
        {
            let mut state = queue.lock();
            state.reserved -= 1;
            if !state.closed {
                state.packets.push_back(packets);
            }
        }
        std::mem::forget(self);
        queue.rx_waker.wake();
    }
}

impl Drop for QueuePermit<'_> {
    fn drop(&mut self) {
        self.queue.lock().reserved -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engineioxide_core::Packet;
    use smallvec::smallvec;

    fn msg(s: &'static str) -> PacketBuf {
        smallvec![Packet::Message(s.into())]
    }

    #[tokio::test]
    async fn bounded_by_queued_packets_and_permits() {
        let q = PacketQueue::new(2);
        q.try_send(msg("a")).unwrap();
        let permit = q.try_reserve().unwrap();
        assert!(matches!(q.try_send(msg("b")), Err(TrySendError::Full(_))));
        drop(permit);
        q.try_send(msg("b")).unwrap();
        assert!(matches!(q.try_reserve(), Err(TrySendError::Full(()))));
        let all = q.take_all().await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(q.state.lock().unwrap().packets.capacity(), 0);
        q.try_reserve().unwrap().send(msg("c"));
        assert!(matches!(q.recv().await.unwrap()[0], Packet::Message(ref m) if m.as_str() == "c"));
    }

    #[tokio::test]
    async fn close_keeps_queued_packets_then_ends() {
        let q = std::sync::Arc::new(PacketQueue::new(4));
        q.try_send(msg("a")).unwrap();
        let waiter = {
            let q = q.clone();
            tokio::spawn(async move { q.closed().await })
        };
        q.close();
        waiter.await.unwrap();
        assert!(q.is_closed());
        assert!(matches!(q.try_send(msg("b")), Err(TrySendError::Closed(_))));
        assert!(q.recv().await.is_some());
        assert!(q.recv().await.is_none());
        assert!(q.take_all().await.is_none());
    }

    #[tokio::test]
    async fn the_latest_volatile_group_goes_after_the_buffered_ones() {
        let q = PacketQueue::new(1);
        q.try_send(msg("a")).unwrap();
        assert!(q.send_volatile(msg("old")));
        assert!(q.send_volatile(msg("new")), "outside the capacity");
        let all = q.take_all().await.unwrap();
        let texts: Vec<_> = all
            .iter()
            .map(|g| match &g[0] {
                Packet::Message(m) => m.as_str().to_owned(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(texts, ["a", "new"]);
        assert!(q.send_volatile(msg("v")));
        assert!(matches!(q.recv().await.unwrap()[0], Packet::Message(ref m) if m.as_str() == "v"));
        q.close();
        assert!(!q.send_volatile(msg("late")), "dropped once closed");
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken() {
        let q = std::sync::Arc::new(PacketQueue::new(4));
        let rx = {
            let q = q.clone();
            tokio::spawn(async move { q.take_all().await.map(|all| all.len()) })
        };
        tokio::task::yield_now().await;
        q.try_send(msg("a")).unwrap();
        assert_eq!(rx.await.unwrap(), Some(1));
    }
}
