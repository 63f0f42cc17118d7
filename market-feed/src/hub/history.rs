//! [`History`]: the last published batches of one topic, kept so that a client that
//! reconnects within the window can *resume* (get the batches it missed, with their original
//! `seq`) instead of downloading a snapshot.
//!
//! The history holds the same `Arc<Event>`s the ring holds: a batch kept for resume is not a
//! copy, and replaying it to a filtered subscriber builds (or reuses) the batch's per-filter
//! frame exactly as live delivery does. It is bounded by a count of batches
//! ([`HubConfig::resume_window`](super::HubConfig::resume_window)) and by an estimate of the
//! memory they pin ([`HubConfig::resume_bytes`](super::HubConfig::resume_bytes)): each batch
//! counts twice its JSON size (the JSON and the quotes it was built from).

use std::{collections::VecDeque, sync::Arc};

use super::event::Event;

/// What a batch is counted as against the byte bound.
pub(crate) fn cost(json_len: usize) -> usize {
    json_len.saturating_mul(2)
}

/// The last batches of one topic, oldest first.
#[derive(Default)]
pub(crate) struct History {
    batches: VecDeque<(u64, Arc<Event>, usize)>,
    bytes: usize,
    /// The `seq` of the last batch pushed (kept or not).
    last_seq: u64,
    /// The smallest `seq` a client may resume from: every batch after it is still held.
    since: u64,
}

impl History {
    /// Keeps `event` (the batch `seq`, counted as `cost` bytes), then drops the oldest
    /// batches beyond `window` batches or `max_bytes`.
    pub(crate) fn push(
        &mut self,
        seq: u64,
        event: Arc<Event>,
        cost: usize,
        window: usize,
        max_bytes: usize,
    ) {
        self.last_seq = seq;
        self.batches.push_back((seq, event, cost));
        self.bytes += cost;
        while self.batches.len() > window || (self.bytes > max_bytes && !self.batches.is_empty()) {
            if let Some((old, _, c)) = self.batches.pop_front() {
                self.bytes -= c;
                self.since = old;
            }
        }
    }

    /// Forgets every batch: nobody can resume from before this point (the topic's instrument
    /// list changed, so old batches no longer describe it).
    pub(crate) fn clear(&mut self) {
        self.batches.clear();
        self.bytes = 0;
        self.since = self.last_seq + 1;
    }

    /// The batches after `seq`, in order, and the `seq` they end at; `None` when some of them
    /// are no longer held (or `seq` is newer than anything published).
    pub(crate) fn after(&self, seq: u64) -> Option<(Vec<Arc<Event>>, u64)> {
        if seq < self.since || seq > self.last_seq {
            return None;
        }
        let events = self
            .batches
            .iter()
            .filter(|(s, _, _)| *s > seq)
            .map(|(_, e, _)| e.clone())
            .collect();
        Some((events, self.last_seq))
    }

    /// How many batches are held, and their counted bytes.
    #[cfg(test)]
    pub(crate) fn size(&self) -> (usize, usize) {
        (self.batches.len(), self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev() -> Arc<Event> {
        Arc::new(Event::Closed)
    }

    fn seqs(h: &History, after: u64) -> Option<(usize, u64)> {
        h.after(after).map(|(e, last)| (e.len(), last))
    }

    #[test]
    fn keeps_the_window_and_knows_what_it_can_replay() {
        let mut h = History::default();
        // Nothing published: a client at 0 is up to date.
        assert_eq!(seqs(&h, 0), Some((0, 0)));
        assert_eq!(seqs(&h, 1), None, "a seq from the future");
        for s in 1..=10 {
            h.push(s, ev(), 10, 4, 1_000);
        }
        assert_eq!(h.size(), (4, 40));
        assert_eq!(seqs(&h, 10), Some((0, 10)), "up to date: nothing to send");
        assert_eq!(seqs(&h, 6), Some((4, 10)), "7..=10 are held");
        assert_eq!(seqs(&h, 5), None, "6 was dropped");
        assert_eq!(seqs(&h, 11), None);
    }

    #[test]
    fn the_byte_bound_drops_batches_too_and_clear_forgets_everything() {
        let mut h = History::default();
        for s in 1..=5 {
            h.push(s, ev(), 100, 64, 250);
        }
        assert_eq!(h.size(), (2, 200));
        assert_eq!(seqs(&h, 3), Some((2, 5)));
        assert_eq!(seqs(&h, 2), None);
        // A batch larger than the bound is not kept at all.
        h.push(6, ev(), 1_000, 64, 250);
        assert_eq!(h.size(), (0, 0));
        assert_eq!(seqs(&h, 6), Some((0, 6)));
        assert_eq!(seqs(&h, 5), None);
        h.push(7, ev(), 10, 64, 250);
        h.clear();
        assert_eq!(seqs(&h, 7), None);
        h.push(8, ev(), 10, 64, 250);
        assert_eq!(seqs(&h, 7), None, "the batches before the clear are gone");
        assert_eq!(seqs(&h, 8), Some((0, 8)));
        // A window of 0 keeps nothing, but a client at the latest seq is up to date.
        let mut h = History::default();
        h.push(1, ev(), 10, 0, 250);
        assert_eq!((seqs(&h, 1), seqs(&h, 0)), (Some((0, 1)), None));
    }
}
