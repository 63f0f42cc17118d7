//! [`HubStats`]: the hub's counters for the server's metrics, kept in relaxed atomics so that
//! counting never slows publishing down.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A point-in-time copy of the hub's counters (all monotonic except `subscribers`).
///
/// ```
/// use market_feed::hub::{Hub, HubConfig};
/// use market_feed::model::Topic;
///
/// let hub = Hub::new(HubConfig::default());
/// let _sub = hub.subscribe(&[Topic::Prices], None);
/// hub.publish(Topic::Prices, vec![])?;
/// let stats = hub.stats();
/// assert_eq!((stats.subscribers, stats.frames_published), (1, 1));
/// # Ok::<(), market_feed::hub::HubError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct HubStats {
    /// Live subscriptions now (a gauge).
    pub subscribers: u64,
    /// Frames published to the ring (batches, market and feed statuses), each counted once.
    pub frames_published: u64,
    /// Bytes of those frames, each counted once however many subscribers receive it.
    pub bytes_published: u64,
    /// Filtered `prices_batch` frames built (once per distinct shared filter and batch).
    pub filtered_frames_built: u64,
    /// `snapshot` frames handed to subscribers (after subscribing and after lagging).
    pub snapshots_sent: u64,
    /// Of those, the snapshots that replaced a lagging subscriber's discarded backlog.
    pub laggard_snapshots: u64,
    /// Times a subscriber fell more than the buffer behind and was resynchronized.
    pub lagged: u64,
    /// Frames discarded from lagging subscribers' backlogs.
    pub frames_discarded: u64,
    /// Resumes served from the kept batches (instead of a snapshot).
    pub resumes: u64,
    /// Resumes that fell back to a snapshot (the batches after the client's `seq` were no
    /// longer all kept, or the `seq` was unknown); a resume with another epoch is not counted.
    pub resume_fallbacks: u64,
    /// Batch frames handed out by resumes.
    pub batches_replayed: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) subscribers: AtomicU64,
    pub(crate) frames_published: AtomicU64,
    pub(crate) bytes_published: AtomicU64,
    pub(crate) filtered_frames_built: AtomicU64,
    pub(crate) snapshots_sent: AtomicU64,
    pub(crate) laggard_snapshots: AtomicU64,
    pub(crate) lagged: AtomicU64,
    pub(crate) frames_discarded: AtomicU64,
    pub(crate) resumes: AtomicU64,
    pub(crate) resume_fallbacks: AtomicU64,
    pub(crate) batches_replayed: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub(crate) fn published(&self, bytes: usize) {
        Self::add(&self.frames_published, 1);
        Self::add(&self.bytes_published, bytes as u64);
    }

    pub(crate) fn snapshot(&self) -> HubStats {
        HubStats {
            subscribers: self.subscribers.load(Relaxed),
            frames_published: self.frames_published.load(Relaxed),
            bytes_published: self.bytes_published.load(Relaxed),
            filtered_frames_built: self.filtered_frames_built.load(Relaxed),
            snapshots_sent: self.snapshots_sent.load(Relaxed),
            laggard_snapshots: self.laggard_snapshots.load(Relaxed),
            lagged: self.lagged.load(Relaxed),
            frames_discarded: self.frames_discarded.load(Relaxed),
            resumes: self.resumes.load(Relaxed),
            resume_fallbacks: self.resume_fallbacks.load(Relaxed),
            batches_replayed: self.batches_replayed.load(Relaxed),
        }
    }
}
