//! The hand-over from replay to live delivery for one connection. A connection
//! joins its rooms with its gate closed: live events are held. Once the replay is
//! read, the gate opens: the replayed events go first, then the held ones that are
//! newer than the last replayed, then live ones as they come, each sent at most
//! once and in log order.

use std::sync::Mutex;

use super::log::Position;

pub struct Gate<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    open: bool,
    /// The newest position sent; older or equal ones are duplicates.
    last: Option<Position>,
    held: Vec<(Option<Position>, T)>,
}

impl<T> Default for Gate<T> {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                open: false,
                last: None,
                held: Vec::new(),
            }),
        }
    }
}

impl<T> State<T> {
    /// Whether an item at `pos` is new to this connection (marks it sent).
    fn fresh(&mut self, pos: Option<Position>) -> bool {
        match (pos, self.last) {
            (Some(p), Some(last)) if p <= last => false,
            (Some(p), _) => {
                self.last = Some(p);
                true
            }
            // Not logged (the log was unreachable): live only, never a duplicate.
            (None, _) => true,
        }
    }
}

impl<T> Gate<T> {
    /// A live event: sent through `send` at once when the gate is open (unless it was
    /// sent already), held while it is closed.
    pub fn live(&self, pos: Option<Position>, item: T, send: impl FnOnce(T)) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !s.open {
            s.held.push((pos, item));
        } else if s.fresh(pos) {
            send(item);
        }
    }

    /// Sends `backlog` (in log order), calls `between`, then the held events not
    /// already sent, and opens the gate; all under the gate's lock, so no live event
    /// overtakes them.
    pub fn open(
        &self,
        backlog: impl IntoIterator<Item = (Position, T)>,
        between: impl FnOnce(),
        mut send: impl FnMut(T),
    ) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for (pos, item) in backlog {
            if s.fresh(Some(pos)) {
                send(item);
            }
        }
        between();
        for (pos, item) in std::mem::take(&mut s.held) {
            if s.fresh(pos) {
                send(item);
            }
        }
        s.open = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(seq: u64) -> Position {
        Position { ms: 0, seq }
    }

    #[test]
    fn held_events_follow_the_backlog_once_each_in_order() {
        let gate = Gate::default();
        let out = std::cell::RefCell::new(Vec::new());
        let push = |i| out.borrow_mut().push(i);
        gate.live(Some(p(3)), 3, push);
        gate.live(Some(p(4)), 4, push);
        assert!(out.borrow().is_empty(), "closed: held");
        gate.open([(p(2), 2), (p(3), 3)], || push(0), push);
        gate.live(Some(p(4)), 4, push);
        gate.live(Some(p(5)), 5, push);
        gate.live(None, 9, push);
        assert_eq!(*out.borrow(), vec![2, 3, 0, 4, 5, 9]);
    }
}
