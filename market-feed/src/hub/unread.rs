//! [`Unread`]: how many subscribers have yet to read one batch event of the ring.
//!
//! Set when the batch is sent (the ring's receivers at that moment), counted down by each
//! subscription as it reads the event, skips past it or is dropped with it unread. The count is
//! what [`Hub::fanned_out`](super::Hub::fanned_out) follows.

use std::sync::atomic::{AtomicIsize, Ordering};

/// The subscribers that have not read one event yet.
#[derive(Debug, Default)]
pub(crate) struct Unread(AtomicIsize);

impl Unread {
    /// A count of `readers`.
    pub(crate) fn new(readers: usize) -> Self {
        Self(AtomicIsize::new(
            isize::try_from(readers).unwrap_or(isize::MAX),
        ))
    }

    /// One reader has read it. A subscriber that joined between the count and the send reads
    /// an event it was not counted for: the count may go below zero, which reads as "all".
    pub(crate) fn read_one(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }

    /// How many have not read it (0 when all have).
    pub(crate) fn left(&self) -> usize {
        usize::try_from(self.0.load(Ordering::Relaxed)).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_reads_as_zero_once_everyone_and_more_have_read() {
        let unread = Unread::new(2);
        unread.read_one();
        assert_eq!(unread.left(), 1);
        unread.read_one();
        unread.read_one();
        assert_eq!(unread.left(), 0);
    }
}
