//! The feed: the scheduler that runs the daily cycle.
//!
//! A [`Feed`] owns *jobs* (a topic, its instruments, a refresh interval and a
//! [`PriceSource`]) and runs them only inside the clock's service window, publishing each
//! refresh to the [`Hub`]. After the close it takes the end-of-day snapshot and saves it
//! through the [`SnapshotStore`]. It tracks each topic's source health and publishes the
//! market status whenever the phase or `live` changes. All times are clock times, so a scaled
//! clock runs a whole day in seconds.
//!
//! ```text
//!  start-up ── load latest closes (+ today's checkpoint) into the hub, publish market status,
//!      │       take a missed end-of-day snapshot (the only call allowed outside the window)
//!      v
//!  ┌─ sleep until the next service window (zero source calls meanwhile)
//!  │   window 09:13-15:30 IST: indices every 5 s, prices every 120 s, checkpoints every 5 min;
//!  │   a refresh that overruns is not queued behind itself (next tick after it ends)
//!  │   close + 1 min: end-of-day refresh of every job → hub → store (retried until stored)
//!  └───────────────────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! ```
//! use std::sync::Arc;
//! use market_feed::{
//!     clock::MarketClock, feed::{Feed, Job}, hub::Hub, source::SimulatedSource,
//!     store::MemoryStore, universe::Universe,
//! };
//! use time::{macros::datetime, Duration};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let clock = MarketClock::fixed(datetime!(2026-01-31 10:00 +05:30)); // a Saturday
//! let universe = Universe::bundled();
//! let source = Arc::new(SimulatedSource::new(universe.clone(), 7, clock.clone()));
//! let feed = Feed::builder(clock, Hub::default(), Arc::new(MemoryStore::new()))
//!     .job(Job::new(market_feed::model::Topic::Indices, universe.indices().to_vec(), Duration::seconds(5), source))
//!     .build();
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! shutdown.cancel();
//! feed.run(shutdown).await;
//! # }
//! ```
//!
//! See `docs/feed.md` for the timeline of one day.

mod builder;
mod eod;
mod health;
mod job;
mod retention;
mod running;
mod stats;
mod status;
mod stream;
mod tick;
mod universe;

use std::sync::Arc;

use time::Duration;
use tokio_util::sync::CancellationToken;

use crate::{
    clock::{MarketClock, ist_date},
    hub::{Hub, SnapshotMeta, Source},
    model::Topic,
    source::PriceSource,
    store::SnapshotStore,
    universe::{Instrument, LiveUniverse},
};

use builder::Settings;

pub use builder::FeedBuilder;
pub use health::{Health, STALE_AFTER_INTERVALS};
pub use running::RunningFeed;
pub use stats::{DURATION_BUCKETS, FeedStats, Histogram, StreamStats, TopicStats};
pub use status::describe_status;
pub use stream::StreamJob;

/// One refresh job: a topic, its instruments, how often, and from where.
///
/// ```
/// use std::sync::Arc;
/// use market_feed::{clock::MarketClock, feed::Job, model::Topic, source::SimulatedSource, universe::Universe};
/// let u = Universe::bundled();
/// let src = Arc::new(SimulatedSource::new(u.clone(), 1, MarketClock::system()));
/// let job = Job::new(Topic::Prices, u.prices().to_vec(), time::Duration::minutes(2), src);
/// assert_eq!(job.topic, Topic::Prices);
/// ```
#[derive(Debug, Clone)]
pub struct Job {
    /// The topic the job publishes.
    pub topic: Topic,
    /// The instruments it refreshes.
    pub instruments: Arc<[Instrument]>,
    /// The refresh period, in clock time.
    pub interval: Duration,
    /// Where the quotes come from.
    pub source: Arc<dyn PriceSource>,
}

impl Job {
    /// A job; an interval under 1 ms counts as 1 ms.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use market_feed::{clock::MarketClock, feed::Job, model::Topic, source::SimulatedSource, universe::Universe};
    /// # let u = Universe::bundled();
    /// # let src = Arc::new(SimulatedSource::new(u.clone(), 1, MarketClock::system()));
    /// let job = Job::new(Topic::Indices, u.indices().to_vec(), time::Duration::ZERO, src);
    /// assert_eq!(job.interval, time::Duration::milliseconds(1));
    /// ```
    pub fn new(
        topic: Topic,
        instruments: impl Into<Arc<[Instrument]>>,
        interval: Duration,
        source: Arc<dyn PriceSource>,
    ) -> Self {
        Self {
            topic,
            instruments: instruments.into(),
            interval: interval.max(Duration::milliseconds(1)),
            source,
        }
    }
}

/// What the feed's tasks share.
#[derive(Debug)]
struct Ctx {
    clock: MarketClock,
    hub: Hub,
    store: Arc<dyn SnapshotStore>,
    jobs: Vec<job::JobState>,
    settings: Settings,
    stats: Arc<FeedStats>,
    /// Whether start-up (loading the closes) has run.
    prepared: std::sync::atomic::AtomicBool,
    /// A universe that may change between sessions.
    universe: Option<LiveUniverse>,
    /// The streaming source, if any.
    stream: Option<stream::StreamState>,
}

/// The scheduler. Build it with [`Feed::builder`], run it with [`Feed::run`].
///
/// See the [module docs](self) for an example and the daily cycle.
#[derive(Debug, Clone)]
pub struct Feed {
    ctx: Arc<Ctx>,
}

impl Feed {
    /// Starts building a feed over a clock, a hub and a store.
    ///
    /// The hub is taken by value: [`Hub`] is a cheap handle (an `Arc` inside), so pass a clone
    /// and keep yours for subscribing. An `Arc<Hub>`, which earlier versions took, is still
    /// accepted (the hub is cloned out of it).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use market_feed::{clock::MarketClock, feed::Feed, hub::Hub, store::MemoryStore};
    /// let hub = Hub::default();
    /// let feed = Feed::builder(MarketClock::system(), hub.clone(), Arc::new(MemoryStore::new())).build();
    /// // Still accepted: an `Arc<Hub>`.
    /// let _ = Feed::builder(MarketClock::system(), Arc::new(hub), Arc::new(MemoryStore::new()));
    /// # let _ = feed;
    /// ```
    pub fn builder(
        clock: MarketClock,
        hub: impl Into<Hub>,
        store: Arc<dyn SnapshotStore>,
    ) -> FeedBuilder {
        FeedBuilder::new(clock, hub.into(), store)
    }

    /// The feed's counters (shared; they keep counting while the feed runs).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use market_feed::{clock::MarketClock, feed::Feed, hub::Hub, store::MemoryStore};
    /// let feed = Feed::builder(MarketClock::system(), Hub::default(), Arc::new(MemoryStore::new())).build();
    /// assert!(!feed.stats().is_ready());
    /// ```
    pub fn stats(&self) -> Arc<FeedStats> {
        self.ctx.stats.clone()
    }

    /// Start-up without running: loads the latest closes (and today's checkpoint) into the hub,
    /// so a server can do it before it accepts clients (a
    /// client connecting then gets the closes, not an empty snapshot). [`Feed::run`] does it
    /// itself if it was not done.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use market_feed::{clock::MarketClock, feed::Feed, hub::Hub, store::MemoryStore};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let feed = Feed::builder(MarketClock::system(), Hub::default(), Arc::new(MemoryStore::new())).build();
    /// feed.prepare().await;
    /// assert!(feed.stats().is_ready());
    /// # }
    /// ```
    pub async fn prepare(&self) {
        if !self
            .ctx
            .prepared
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            self.ctx.start_up().await;
        }
    }

    /// The clock the feed follows.
    ///
    /// See [`FeedBuilder::lead`] for an example.
    pub fn clock(&self) -> &MarketClock {
        &self.ctx.clock
    }

    /// Runs the daily cycle until `shutdown` is cancelled. On shutdown the in-flight refresh
    /// completes or is cancelled within 5 s, and an end-of-day snapshot that is due and not
    /// yet stored is stored first (a bounded attempt).
    ///
    /// See the [module docs](self) for an example.
    pub async fn run(self, shutdown: CancellationToken) {
        let ctx = self.ctx;
        let next_status = status::publish(&ctx);
        if !ctx.prepared.swap(true, std::sync::atomic::Ordering::SeqCst) {
            ctx.start_up().await;
        }
        let status = tokio::spawn(status::run(ctx.clone(), next_status, shutdown.clone()));
        let retention = ctx
            .settings
            .retention_days
            .map(|days| tokio::spawn(retention::run(ctx.clone(), days, shutdown.clone())));
        ctx.daily_loop(&shutdown).await;
        eod::on_shutdown(&ctx).await;
        if let Err(e) = status.await {
            tracing::error!(error = %e, "the market-status task failed");
        }
        if let Some(Err(e)) = match retention {
            Some(task) => Some(task.await),
            None => None,
        } {
            tracing::error!(error = %e, "the retention task failed");
        }
        ctx.stats.set_ready(false);
        tracing::info!("feed stopped");
    }
}

/// Whether a close of `day` lies ahead of the clock at `now` (IST date `today`): a later day,
/// or today before today's session has closed.
fn closes_after(
    day: &time::Date,
    today: time::Date,
    now: time::OffsetDateTime,
    clock: &MarketClock,
) -> bool {
    *day > today || (*day == today && clock.session(today).is_some_and(|s| now < s.close()))
}

impl Ctx {
    /// Loads the latest closes (and today's checkpoint) into the hub.
    async fn start_up(&self) {
        for job in &self.jobs {
            self.hub.set_instruments(
                job.job.topic,
                job.instruments()
                    .iter()
                    .map(|i| (i.key.clone(), i.symbol.clone())),
            );
        }
        let now = self.clock.now();
        let today = ist_date(now);
        let trading_today = self.clock.session(today).is_some();
        let mut loaded = true;
        for topic in self.topics() {
            match self.store.latest_closes(topic).await {
                Ok(Some(snap)) if closes_after(&snap.trading_day, today, now, &self.clock) => {
                    // A store written by a clock that ran ahead (a replayed day, a shifted
                    // test clock): never show a close the market has not made yet.
                    tracing::info!(%topic, trading_day = %snap.trading_day, "ignoring stored closing prices of a session that has not closed yet on this clock");
                }
                Ok(Some(mut snap)) => {
                    // Instruments delisted since then stay out of the snapshots.
                    universe::retain_listed(self, topic, &mut snap.quotes);
                    tracing::info!(%topic, trading_day = %snap.trading_day, quotes = snap.quotes.len(), "loaded the latest closing prices");
                    self.hub.load(
                        topic,
                        snap.quotes,
                        SnapshotMeta::new(Source::Close, snap.trading_day, snap.as_of),
                    );
                }
                Ok(None) => tracing::info!(%topic, "no closing prices stored yet"),
                Err(e) => {
                    loaded = false;
                    tracing::error!(%topic, error = %crate::Report::new(&e), "cannot load the latest closing prices; starting without them");
                }
            }
            if !trading_today {
                continue;
            }
            match self.store.load_checkpoint(topic).await {
                Ok(Some(mut cp)) if cp.trading_day == today => {
                    universe::retain_listed(self, topic, &mut cp.quotes);
                    tracing::info!(%topic, quotes = cp.quotes.len(), "restored today's checkpoint");
                    self.hub.load(
                        topic,
                        cp.quotes,
                        SnapshotMeta::new(Source::Checkpoint, today, cp.as_of),
                    );
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(%topic, error = %crate::Report::new(&e), "cannot load the checkpoint");
                }
            }
        }
        self.stats.set_ready(loaded);
    }

    fn topics(&self) -> Vec<Topic> {
        let mut topics: Vec<Topic> = self.jobs.iter().map(|j| j.job.topic).collect();
        topics.dedup();
        topics
    }

    /// Sleeps until `at` (clock time); false if shut down first (or already).
    async fn sleep_until(&self, at: time::OffsetDateTime, shutdown: &CancellationToken) -> bool {
        tokio::select! {
            // Shutdown wins over a deadline that is already due.
            biased;
            () = shutdown.cancelled() => false,
            () = self.clock.sleep_until(at) => true,
        }
    }

    /// Like [`Ctx::sleep_until`], but also returns (true) as soon as the clock's calendar is
    /// no longer at `version`, so the caller recomputes its deadline (a holiday learned at
    /// 08:00 takes effect at once).
    async fn sleep_until_or_recalc(
        &self,
        at: time::OffsetDateTime,
        version: u64,
        shutdown: &CancellationToken,
    ) -> bool {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => false,
            _ = self.clock.sleep_until_or_calendar_change(at, version) => true,
        }
    }

    /// The cycle: end-of-day snapshots when due, windows when open, sleep otherwise.
    async fn daily_loop(&self, shutdown: &CancellationToken) {
        let mut eod_done = None;
        while !shutdown.is_cancelled() {
            let version = self.clock.calendar_version();
            let now = self.clock.now();
            let mut wake = None;
            if let Some(session) = self.clock.last_closed_session_at(now) {
                if self
                    .settings
                    .first_day
                    .is_some_and(|first| session.date < first)
                {
                    // Before the first day served (a replay): nothing to snapshot.
                    eod_done = Some(session.date);
                }
                if eod_done != Some(session.date) {
                    let due = session.close() + self.settings.eod_delay;
                    if now >= due && !eod::due_and_current(self, &session, now) {
                        // Once the next session runs, a refresh gives its prices, not that
                        // day's close: too late to catch up.
                        if !eod::stored(self, session.date).await {
                            tracing::warn!(day = %session.date, "the end-of-day snapshot of {} was missed and the next session has started; it is not taken", session.date);
                        }
                        eod_done = Some(session.date);
                        continue;
                    }
                    if now >= due {
                        if eod::take(self, session.date, shutdown).await {
                            eod_done = Some(session.date);
                        }
                        continue;
                    }
                    wake = Some(due);
                }
            }
            let window = self.clock.window_at_or_after(now);
            if now < window.start {
                let at = wake.map_or(window.start, |w| w.min(window.start));
                self.sleep_until_or_recalc(at, version, shutdown).await;
                continue;
            }
            job::run_window(self, window, shutdown).await;
        }
    }
}

#[cfg(test)]
mod deadline_tests;
#[cfg(test)]
mod first_day_tests;
#[cfg(test)]
mod tests;
