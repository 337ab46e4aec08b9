//! Which seq may be acked, per channel, while turns finish out of order.
//!
//! A trigger is acked only once it is handled, and an ack moves a cursor past
//! everything below it, so the cursor may only reach a handled trigger with no
//! unhandled one before it. Triggers arrive in seq order per channel.

use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Default)]
pub struct AckTracker {
    channels: HashMap<String, Channel>,
}

#[derive(Debug, Default)]
struct Channel {
    in_flight: BTreeSet<u64>,
    /// Highest handled seq not yet acked.
    handled: u64,
    acked: u64,
}

impl AckTracker {
    /// A trigger at `seq` arrived; `false` if it is already in flight (a
    /// redelivery of a turn being handled).
    pub fn started(&mut self, channel: &str, seq: u64) -> bool {
        self.channels
            .entry(channel.to_owned())
            .or_default()
            .in_flight
            .insert(seq)
    }

    /// The trigger at `seq` is handled; returns the seq to ack now, if the
    /// cursor can move.
    pub fn finished(&mut self, channel: &str, seq: u64) -> Option<u64> {
        let c = self.channels.get_mut(channel)?;
        c.in_flight.remove(&seq);
        c.handled = c.handled.max(seq);
        let upto = match c.in_flight.first() {
            Some(&first) => c.handled.min(first.saturating_sub(1)),
            None => c.handled,
        };
        (upto > c.acked).then(|| {
            c.acked = upto;
            upto
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_waits_for_earlier_turns() {
        let mut t = AckTracker::default();
        assert!(t.started("c", 3));
        assert!(t.started("c", 5));
        assert!(!t.started("c", 5));
        assert!(t.started("c", 9));
        // 5 is done but 3 is not: only what lies before 3.
        assert_eq!(t.finished("c", 5), Some(2));
        // 3 done: up to 8 (9 still running), i.e. to the handled 5.
        assert_eq!(t.finished("c", 3), Some(5));
        assert_eq!(t.finished("c", 9), Some(9));
        assert!(t.started("d", 1));
        assert_eq!(t.finished("d", 1), Some(1));
    }
}
