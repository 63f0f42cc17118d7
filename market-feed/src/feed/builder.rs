//! [`FeedBuilder`]: a feed's jobs, hub, store and timing settings, checked and put together.

use std::{sync::Arc, time::Duration as StdDuration};

use time::Duration;

use super::{Ctx, Feed, FeedStats, Job, job};
use crate::{clock::MarketClock, hub::Hub, store::SnapshotStore, universe::LiveUniverse};

/// Timing settings of a [`Feed`] (clock time unless noted).
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) eod_delay: Duration,
    pub(super) checkpoint_interval: Duration,
    pub(super) eod_retry_initial: Duration,
    pub(super) eod_retry_max: Duration,
    pub(super) credential_check: Duration,
    pub(super) shutdown_grace: StdDuration,
    /// Days of snapshots kept; `None`: never pruned.
    pub(super) retention_days: Option<u32>,
    /// Whether each job's source gets a deadline derived from the job's interval.
    pub(super) fetch_deadlines: bool,
    /// Sessions before this day are never snapshotted (a replay of one day).
    pub(super) first_day: Option<time::Date>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            eod_delay: Duration::minutes(1),
            checkpoint_interval: Duration::minutes(5),
            eod_retry_initial: Duration::seconds(10),
            eod_retry_max: Duration::minutes(5),
            credential_check: Duration::seconds(5),
            shutdown_grace: StdDuration::from_secs(5),
            retention_days: None,
            fetch_deadlines: true,
            first_day: None,
        }
    }
}

/// Builds a [`Feed`].
///
/// Durations follow the crate's rule (see the [crate docs](crate#durations)): spans of clock
/// time (intervals, delays, the lead) are [`time::Duration`]; real-time ones are
/// [`std::time::Duration`].
///
/// ```
/// # use std::sync::Arc;
/// # use market_feed::{clock::MarketClock, feed::Feed, hub::Hub, store::MemoryStore};
/// let feed = Feed::builder(MarketClock::system(), Hub::default(), Arc::new(MemoryStore::new()))
///     .eod_delay(time::Duration::minutes(2))
///     .checkpoint_interval(time::Duration::minutes(10))
///     .build();
/// # let _ = feed;
/// ```
#[derive(Debug)]
pub struct FeedBuilder {
    clock: MarketClock,
    hub: Hub,
    store: Arc<dyn SnapshotStore>,
    jobs: Vec<Job>,
    settings: Settings,
    universe: Option<LiveUniverse>,
    stream: Option<super::StreamJob>,
}

impl FeedBuilder {
    pub(super) fn new(clock: MarketClock, hub: Hub, store: Arc<dyn SnapshotStore>) -> Self {
        Self {
            clock,
            hub,
            store,
            jobs: Vec::new(),
            settings: Settings::default(),
            universe: None,
            stream: None,
        }
    }

    /// Adds a streaming source for some topics (at most one; a second replaces the first).
    /// The feed connects it only inside the service window, reconnects it, publishes its
    /// ticks as batches of changed instruments and reflects its state in `feed_status`; see
    /// [`StreamJob`](super::StreamJob) and `docs/sources.md`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use market_feed::{clock::MarketClock, feed::{Feed, StreamJob}, hub::Hub, model::Topic, store::MemoryStore};
    /// # use market_feed::source::{PriceStream, SourceError, TickStream};
    /// # #[derive(Debug)] struct Never;
    /// # #[async_trait::async_trait] impl PriceStream for Never {
    /// #     fn name(&self) -> &str { "never" }
    /// #     async fn connect(&self, _: &[market_feed::universe::Instrument]) -> Result<TickStream, SourceError> { Err(SourceError::Transient("x".into())) }
    /// # }
    /// let feed = Feed::builder(MarketClock::system(), Hub::default(), Arc::new(MemoryStore::new()))
    ///     .stream(StreamJob::new(Arc::new(Never), [Topic::Indices, Topic::Prices]))
    ///     .build();
    /// # let _ = feed;
    /// ```
    pub fn stream(mut self, job: super::StreamJob) -> Self {
        self.stream = Some(job);
        self
    }

    /// Adds a job. Jobs may use different sources; a topic should have one job.
    ///
    /// See [`Feed`] for an example.
    pub fn job(mut self, job: Job) -> Self {
        self.jobs.push(job);
        self
    }

    /// The service window's lead time before the open (default: the clock's, 2 minutes).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use market_feed::{clock::MarketClock, feed::Feed, hub::Hub, store::MemoryStore};
    /// let feed = Feed::builder(MarketClock::system(), Hub::default(), Arc::new(MemoryStore::new()))
    ///     .lead(time::Duration::minutes(5))
    ///     .build();
    /// assert_eq!(feed.clock().lead(), time::Duration::minutes(5));
    /// ```
    pub fn lead(mut self, lead: Duration) -> Self {
        self.clock = self.clock.with_lead(lead);
        self
    }

    /// How long after the close the end-of-day snapshot is taken (default 1 minute).
    ///
    /// See [`FeedBuilder`] for an example.
    pub fn eod_delay(mut self, delay: Duration) -> Self {
        self.settings.eod_delay = delay.max(Duration::ZERO);
        self
    }

    /// How often the latest quotes are checkpointed in the window (default 5 minutes).
    ///
    /// See [`FeedBuilder`] for an example.
    pub fn checkpoint_interval(mut self, every: Duration) -> Self {
        self.settings.checkpoint_interval = every.max(Duration::seconds(1));
        self
    }

    /// A universe that can change (Upstox's daily instrument file): when a service window
    /// opens, a universe staged in it replaces the jobs' instruments of each topic, the hub's
    /// directories, and every subscriber gets a fresh snapshot. Changes never apply
    /// mid-session.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use market_feed::{clock::MarketClock, feed::Feed, hub::Hub, store::MemoryStore, universe::{LiveUniverse, Universe, UniverseOrigin}};
    /// let live = LiveUniverse::new(Universe::bundled(), UniverseOrigin::Bundled, None);
    /// let feed = Feed::builder(MarketClock::system(), Hub::default(), Arc::new(MemoryStore::new()))
    ///     .universe(live)
    ///     .build();
    /// # let _ = feed;
    /// ```
    pub fn universe(mut self, universe: LiveUniverse) -> Self {
        self.universe = Some(universe);
        self
    }

    /// Keeps `days` days of stored snapshots before today (IST): while it runs, the feed
    /// removes older closes and checkpoints ([`SnapshotStore::prune`]) at start and every 6
    /// hours. By default nothing is removed.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use market_feed::{clock::MarketClock, feed::Feed, hub::Hub, store::MemoryStore};
    /// let feed = Feed::builder(MarketClock::system(), Hub::default(), Arc::new(MemoryStore::new()))
    ///     .retention(30)
    ///     .build();
    /// # let _ = feed;
    /// ```
    pub fn retention(mut self, days: u32) -> Self {
        self.settings.retention_days = Some(days);
        self
    }

    /// Whether each job's fetches get a deadline derived from the job's interval (default
    /// `true`): 90 % of the interval in real time (the clock's speed taken into account), at
    /// least 500 ms, handed to the job's source through [`PriceSource::with_deadline`](crate::source::PriceSource::with_deadline) when the
    /// feed is built. So a refresh never outlives its interval and one source can serve jobs of
    /// different intervals. With `false` every source keeps its own deadline.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use market_feed::{clock::MarketClock, feed::Feed, hub::Hub, store::MemoryStore};
    /// let feed = Feed::builder(MarketClock::system(), Hub::default(), Arc::new(MemoryStore::new()))
    ///     .fetch_deadlines(false)
    ///     .build();
    /// # let _ = feed;
    /// ```
    pub fn fetch_deadlines(mut self, on: bool) -> Self {
        self.settings.fetch_deadlines = on;
        self
    }

    /// The first trading day the feed serves: no end-of-day snapshot is taken for an earlier
    /// session (by default the feed catches up a missed snapshot of the previous session at
    /// start-up). A replay of one recorded day uses it, so that nothing is stored for a day
    /// it did not play.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use market_feed::{clock::MarketClock, feed::Feed, hub::Hub, store::MemoryStore};
    /// let feed = Feed::builder(MarketClock::system(), Hub::default(), Arc::new(MemoryStore::new()))
    ///     .first_day(time::macros::date!(2026 - 01 - 29))
    ///     .build();
    /// # let _ = feed;
    /// ```
    pub fn first_day(mut self, day: time::Date) -> Self {
        self.settings.first_day = Some(day);
        self
    }

    /// Builds the feed.
    ///
    /// See [`FeedBuilder`] for an example.
    pub fn build(self) -> Feed {
        let speed = self.clock.time_source().speed().max(1.0);
        let deadlines = self.settings.fetch_deadlines;
        let jobs = self
            .jobs
            .into_iter()
            .map(|mut job| {
                if deadlines {
                    let deadline = fetch_deadline(job.interval, speed);
                    if let Some(bounded) = job.source.with_deadline(deadline) {
                        job.source = bounded;
                    }
                }
                job::JobState::new(job)
            })
            .collect::<Vec<_>>();
        // The hub knows the universe from now on: symbol filters resolve before the feed runs.
        for job in &jobs {
            self.hub.set_instruments(
                job.job.topic,
                job.instruments()
                    .iter()
                    .map(|i| (i.key.clone(), i.symbol.clone())),
            );
        }
        Feed {
            ctx: Arc::new(Ctx {
                clock: self.clock,
                hub: self.hub,
                store: self.store,
                jobs,
                settings: self.settings,
                stats: Arc::new(FeedStats::default()),
                prepared: std::sync::atomic::AtomicBool::new(false),
                universe: self.universe,
                stream: self.stream.map(super::stream::StreamState::new),
            }),
        }
    }
}

/// The real time a fetch of a job with `interval` (clock time) may take on a clock running
/// `speed` times real time: 90 % of the interval, at least 500 ms.
pub(super) fn fetch_deadline(interval: Duration, speed: f64) -> StdDuration {
    let real = interval.as_seconds_f64().max(0.0) / speed.max(1.0);
    StdDuration::from_secs_f64(real * 0.9).max(StdDuration::from_millis(500))
}
