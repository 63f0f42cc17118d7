//! Counters and histograms the feed keeps for the server's metrics.
//!
//! All atomics: recording is a few relaxed increments, reading is a consistent-enough view
//! for Prometheus scraping.

use std::{
    sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed},
    time::Duration,
};

use crate::model::Topic;

/// Upper bounds (seconds) of the refresh-duration histogram buckets.
pub const DURATION_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// A fixed-bucket histogram of durations (Prometheus style: cumulative on export).
///
/// ```
/// use market_feed::feed::Histogram;
/// use std::time::Duration;
/// let h = Histogram::default();
/// h.observe(Duration::from_millis(30));
/// let (buckets, count, sum) = h.snapshot();
/// assert_eq!(count, 1);
/// assert_eq!(buckets[3], 1); // the 0.05 s bucket
/// assert!((sum - 0.03).abs() < 1e-9);
/// ```
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; DURATION_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one duration.
    ///
    /// ```
    /// # use market_feed::feed::Histogram;
    /// Histogram::default().observe(std::time::Duration::from_secs(1));
    /// ```
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = DURATION_BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_micros
            .fetch_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }

    /// Per-bucket counts (not cumulative; durations above the last bound are only in the
    /// count), the total count and the sum in seconds.
    ///
    /// ```
    /// # use market_feed::feed::Histogram;
    /// let (b, c, s) = Histogram::default().snapshot();
    /// assert_eq!((b.iter().sum::<u64>(), c, s), (0, 0, 0.0));
    /// ```
    pub fn snapshot(&self) -> ([u64; DURATION_BUCKETS.len()], u64, f64) {
        let mut out = [0; DURATION_BUCKETS.len()];
        for (o, b) in out.iter_mut().zip(&self.buckets) {
            *o = b.load(Relaxed);
        }
        (
            out,
            self.count.load(Relaxed),
            self.sum_micros.load(Relaxed) as f64 / 1e6,
        )
    }
}

/// One topic's refresh counters.
#[derive(Debug, Default)]
pub struct TopicStats {
    /// Fetches made (calls to the source), end-of-day refreshes included.
    pub fetches: AtomicU64,
    /// Fetches that failed entirely or in part.
    pub failures: AtomicU64,
    /// Fetches refused for the credentials.
    pub unauthorized: AtomicU64,
    /// Refreshes that took longer than their interval.
    pub overruns: AtomicU64,
    /// Quotes published.
    pub quotes: AtomicU64,
    /// How long fetches took (real time).
    pub duration: Histogram,
}

/// Everything the feed counts; shared with the server through [`Feed::stats`](super::Feed::stats).
///
/// ```
/// use market_feed::feed::FeedStats;
/// use market_feed::model::Topic;
/// let stats = FeedStats::default();
/// assert_eq!(stats.topic(Topic::Prices).fetches.load(std::sync::atomic::Ordering::Relaxed), 0);
/// assert!(!stats.is_ready());
/// ```
#[derive(Debug, Default)]
pub struct FeedStats {
    topics: [TopicStats; 2],
    /// End-of-day snapshots stored.
    pub eod_stored: AtomicU64,
    /// End-of-day attempts that failed (each is retried).
    pub eod_failures: AtomicU64,
    /// The trading day of the last stored end-of-day snapshot, as `YYYYMMDD` (0: none yet).
    pub eod_last_day: AtomicI64,
    /// Checkpoints saved.
    pub checkpoints: AtomicU64,
    /// Checkpoints that failed to save.
    pub checkpoint_failures: AtomicU64,
    /// The streaming source's counters (all zero without one).
    pub stream: StreamStats,
    ready: AtomicBool,
}

/// Counters of the feed's streaming source.
///
/// ```
/// use std::sync::atomic::Ordering::Relaxed;
/// let s = market_feed::feed::StreamStats::default();
/// assert!(!s.connected.load(Relaxed));
/// assert_eq!(s.ticks.load(Relaxed), 0);
/// ```
#[derive(Debug, Default)]
pub struct StreamStats {
    /// Whether the stream is connected now.
    pub connected: AtomicBool,
    /// Connections opened (each after a fresh authorization).
    pub connects: AtomicU64,
    /// Connections lost or refused in the window (each followed by a reconnect).
    pub disconnects: AtomicU64,
    /// Instrument ticks received.
    pub ticks: AtomicU64,
    /// Batches of changed instruments published.
    pub batches: AtomicU64,
}

impl FeedStats {
    /// The counters of one topic.
    ///
    /// ```
    /// # use market_feed::feed::FeedStats;
    /// # use market_feed::model::Topic;
    /// let _ = FeedStats::default().topic(Topic::Indices);
    /// ```
    pub fn topic(&self, topic: Topic) -> &TopicStats {
        &self.topics[topic.index()]
    }

    /// Whether start-up finished: the latest closes are loaded and the scheduler runs.
    ///
    /// ```
    /// # use market_feed::feed::FeedStats;
    /// assert!(!FeedStats::default().is_ready());
    /// ```
    pub fn is_ready(&self) -> bool {
        self.ready.load(Relaxed)
    }

    pub(crate) fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Relaxed);
    }
}
