//! The hand-over from replay to live delivery for one connection. A connection
//! joins its rooms with its gate closed: live events are held. Its transport then
//! writes the replay at the pace the client reads it, and opens the gate: the held
//! events newer than the last replayed one follow, then live ones as they come, each
//! sent at most once and in log order.

use std::sync::Mutex;

use super::log::Position;

/// Live events a closed gate holds at most; a connection whose replay takes so long
/// that more arrive is cut, and resumes from its offset.
const MAX_HELD: usize = 4096;

pub struct Gate<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    open: bool,
    /// More than `MAX_HELD` arrived while closed: the connection must be cut.
    overflowed: bool,
    /// The newest position sent; older or equal ones are duplicates.
    last: Option<Position>,
    held: Vec<(Option<Position>, T)>,
}

/// The gate held more than it may while the replay was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflowed;

impl<T> Default for Gate<T> {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                open: false,
                overflowed: false,
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
        if s.open {
            if s.fresh(pos) {
                send(item);
            }
        } else if s.held.len() < MAX_HELD {
            s.held.push((pos, item));
        } else {
            s.overflowed = true;
        }
    }

    /// The replay up to `replayed` has been written: sends the held events newer than
    /// it, in order (under the gate's lock, so no live event overtakes them), and opens
    /// once all are sent: `Ok(true)`. An event `send` gives back (the client's buffer
    /// is full) stays held with the ones after it and the gate stays closed:
    /// `Ok(false)`, to be called again once the client has read some.
    pub fn try_open(
        &self,
        replayed: Option<Position>,
        mut send: impl FnMut(T) -> Result<(), T>,
    ) -> Result<bool, Overflowed> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.overflowed {
            s.held.clear();
            return Err(Overflowed);
        }
        s.last = s.last.max(replayed);
        let mut held = std::mem::take(&mut s.held).into_iter();
        while let Some((pos, item)) = held.next() {
            let before = s.last;
            if !s.fresh(pos) {
                continue;
            }
            if let Err(item) = send(item) {
                s.last = before;
                s.held = std::iter::once((pos, item)).chain(held).collect();
                return Ok(false);
            }
        }
        s.open = true;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(seq: u64) -> Position {
        Position { ms: 0, seq }
    }

    #[test]
    fn held_events_follow_the_replay_once_each_in_order() {
        let gate = Gate::default();
        let out = std::cell::RefCell::new(Vec::new());
        let push = |i| out.borrow_mut().push(i);
        let send = |i| {
            push(i);
            Ok(())
        };
        gate.live(Some(p(3)), 3, push);
        gate.live(Some(p(4)), 4, push);
        assert!(out.borrow().is_empty(), "closed: held");
        // The replay went up to 3; the held 3 is a duplicate, 4 is not.
        assert_eq!(gate.try_open(Some(p(3)), send), Ok(true));
        gate.live(Some(p(4)), 4, push);
        gate.live(Some(p(5)), 5, push);
        gate.live(None, 9, push);
        assert_eq!(*out.borrow(), vec![4, 5, 9]);
    }

    #[test]
    fn a_gate_that_held_too_much_says_so() {
        let gate = Gate::default();
        for i in 0..=MAX_HELD as u64 {
            gate.live(Some(p(i + 1)), i, |_| {});
        }
        assert_eq!(gate.try_open(None, |_| Ok(())), Err(Overflowed));
    }

    #[test]
    fn a_full_buffer_keeps_the_rest_held_and_the_gate_closed() {
        let gate = Gate::default();
        let out = std::cell::RefCell::new(Vec::new());
        for i in 1..=3 {
            gate.live(Some(p(i)), i, |_| unreachable!("closed"));
        }
        // Room for one: 1 goes, 2 is given back, 3 waits behind it.
        let mut room = 1;
        let send = |i| {
            if room == 0 {
                return Err(i);
            }
            room -= 1;
            out.borrow_mut().push(i);
            Ok(())
        };
        assert_eq!(gate.try_open(None, send), Ok(false));
        gate.live(Some(p(4)), 4, |_| unreachable!("still closed"));
        let send_all = |i| {
            out.borrow_mut().push(i);
            Ok(())
        };
        assert_eq!(gate.try_open(None, send_all), Ok(true));
        gate.live(Some(p(4)), 4, |_| unreachable!("a duplicate"));
        assert_eq!(*out.borrow(), vec![1, 2, 3, 4]);
    }
}
