//! The streaming source inside the service window: connect, read, reconnect, publish.
//!
//! ```text
//!  window opens ─► connect (the source authorizes and subscribes every instrument)
//!      │   ok: feed_status of the stream's topics back to ok; paused polls stop
//!      ▼
//!  read frames ──► ticks ─► Hub::tick (latest values at once)
//!      │            every `interval`: Hub::flush ─► one batch of the changed instruments
//!      │  closed / error / no data for `stall_after` while the market is open
//!      ▼
//!  down: feed_status degraded ("the stream is down ..."), paused polls run again,
//!        backoff 1 s doubling to 30 s (jitter), then connect again (a fresh authorization)
//!  401: the topics are unauthorized; no connection until the credentials change
//!  window ends ─► the connection is dropped; nothing until the next window
//! ```

use std::{
    collections::HashMap,
    sync::{Arc, atomic::AtomicBool, atomic::Ordering::Relaxed},
};

use futures::StreamExt;
use rand::Rng;
use time::Duration;
use tokio_util::sync::CancellationToken;

use super::{Ctx, Health, status::publish_status};
use crate::{
    clock::{Phase, ServiceWindow},
    hub::{FeedState, FeedStatus},
    model::{InstrumentKey, Quote, Topic},
    source::{PriceStream, SegmentStatus, SourceError, StreamEvent, TickStream},
    universe::Instrument,
};

/// A streaming source for some topics, and how the feed drives it. Times are clock times.
///
/// Each of its topics needs a [`Job`](super::Job) too: the job's instruments are what the
/// stream subscribes, the job's health is where the stream's state shows, and the job's polls
/// are the fallback while the stream is down (for the topics in
/// [`StreamJob::pause_polls`], *only* while it is down).
///
/// ```
/// # use std::sync::Arc;
/// # use market_feed::{feed::StreamJob, model::Topic};
/// # use market_feed::source::{PriceStream, SourceError, TickStream};
/// # #[derive(Debug)] struct Never;
/// # #[async_trait::async_trait] impl PriceStream for Never {
/// #     fn name(&self) -> &str { "never" }
/// #     async fn connect(&self, _: &[market_feed::universe::Instrument]) -> Result<TickStream, SourceError> { Err(SourceError::Transient("x".into())) }
/// # }
/// let job = StreamJob::new(Arc::new(Never), [Topic::Indices, Topic::Prices])
///     .interval(time::Duration::milliseconds(250))
///     .pause_polls([Topic::Indices]);
/// assert_eq!(job.stall_after, time::Duration::seconds(10));
/// ```
#[derive(Debug, Clone)]
pub struct StreamJob {
    /// The broker's stream.
    pub source: Arc<dyn PriceStream>,
    /// The topics it carries.
    pub topics: Vec<Topic>,
    /// At most one batch per topic per interval (default 1 s).
    pub interval: Duration,
    /// Topics whose poll runs only while the stream is down.
    pub pause_polls: Vec<Topic>,
    /// No data frame for this long while the market is open means a dead connection
    /// (default 10 s).
    pub stall_after: Duration,
    /// The first pause before reconnecting (default 1 s); it doubles on each failure.
    pub backoff_initial: Duration,
    /// The longest pause before reconnecting (default 30 s).
    pub backoff_max: Duration,
}

impl StreamJob {
    /// A stream for `topics` with the default timings.
    ///
    /// See [`StreamJob`] for an example.
    pub fn new(source: Arc<dyn PriceStream>, topics: impl IntoIterator<Item = Topic>) -> Self {
        Self {
            source,
            topics: topics.into_iter().collect(),
            interval: Duration::seconds(1),
            pause_polls: Vec::new(),
            stall_after: Duration::seconds(10),
            backoff_initial: Duration::seconds(1),
            backoff_max: Duration::seconds(30),
        }
    }

    /// Sets the publish interval (at least 1 ms).
    ///
    /// See [`StreamJob`] for an example.
    pub fn interval(mut self, every: Duration) -> Self {
        self.interval = every.max(Duration::milliseconds(1));
        self
    }

    /// Topics whose poll runs only while the stream is down.
    ///
    /// See [`StreamJob`] for an example.
    pub fn pause_polls(mut self, topics: impl IntoIterator<Item = Topic>) -> Self {
        self.pause_polls = topics.into_iter().collect();
        self
    }
}

/// A stream job and whether it is connected.
#[derive(Debug)]
pub(super) struct StreamState {
    job: StreamJob,
    up: AtomicBool,
}

impl StreamState {
    pub(super) fn new(job: StreamJob) -> Self {
        Self {
            job,
            up: AtomicBool::new(false),
        }
    }

    pub(super) fn job(&self) -> &StreamJob {
        &self.job
    }
}

impl Ctx {
    /// Whether `topic`'s poll waits because the stream carries it now.
    pub(super) fn poll_paused(&self, topic: Topic) -> bool {
        self.stream
            .as_ref()
            .is_some_and(|s| s.up.load(Relaxed) && s.job.pause_polls.contains(&topic))
    }

    /// Applies `f` to the health of every job of the stream's topics and publishes changes.
    fn stream_health(&self, st: &StreamState, f: impl Fn(&mut Health) -> Option<FeedStatus>) {
        for state in self
            .jobs
            .iter()
            .filter(|j| st.job.topics.contains(&j.job.topic))
        {
            let change = f(&mut state.health());
            publish_status(self, change);
        }
    }
}

/// Runs the stream through one window (nothing without a stream job).
pub(super) async fn run(ctx: &Ctx, window: ServiceWindow, shutdown: &CancellationToken) {
    let Some(st) = &ctx.stream else { return };
    tokio::join!(
        flush_loop(ctx, st, window, shutdown),
        connect_loop(ctx, st, window, shutdown)
    );
    set_up(ctx, st, false);
}

fn set_up(ctx: &Ctx, st: &StreamState, up: bool) {
    st.up.store(up, Relaxed);
    ctx.stats.stream.connected.store(up, Relaxed);
}

/// The instruments to subscribe (each once) and the topic of each key.
fn subscription(ctx: &Ctx, st: &StreamState) -> (Vec<Instrument>, HashMap<InstrumentKey, Topic>) {
    let mut instruments = Vec::new();
    let mut topic_of = HashMap::new();
    for &topic in &st.job.topics {
        if let Some(state) = ctx.jobs.iter().find(|j| j.job.topic == topic) {
            for i in state.instruments().iter() {
                if topic_of.insert(i.key.clone(), topic).is_none() {
                    instruments.push(i.clone());
                }
            }
        }
    }
    (instruments, topic_of)
}

fn unauthorized(ctx: &Ctx, st: &StreamState) -> bool {
    ctx.jobs
        .iter()
        .filter(|j| st.job.topics.contains(&j.job.topic))
        .any(|j| j.health().state() == FeedState::Unauthorized)
}

/// A random pause between half and all of `min(initial × 2^attempt, max)`.
fn backoff(job: &StreamJob, attempt: u32) -> Duration {
    let exp = (job.backoff_initial * 2f64.powi(attempt.min(20) as i32)).min(job.backoff_max);
    let nanos = exp.whole_nanoseconds().max(2) as u64;
    Duration::nanoseconds(rand::thread_rng().gen_range(nanos / 2..=nanos) as i64)
}

async fn connect_loop(
    ctx: &Ctx,
    st: &StreamState,
    window: ServiceWindow,
    shutdown: &CancellationToken,
) {
    let name = st.job.source.name().to_owned();
    let mut attempt = 0u32;
    loop {
        let now = ctx.clock.now();
        if now >= window.end || shutdown.is_cancelled() {
            return;
        }
        if unauthorized(ctx, st) && !st.job.source.credentials_usable().await {
            let at = (now + ctx.settings.credential_check).min(window.end);
            if !ctx.sleep_until(at, shutdown).await {
                return;
            }
            continue;
        }
        let (instruments, topic_of) = subscription(ctx, st);
        let connected = tokio::select! {
            biased;
            () = shutdown.cancelled() => return,
            () = ctx.clock.sleep_until(window.end) => return,
            r = st.job.source.connect(&instruments) => r,
        };
        let why = match connected {
            Ok(ticks) => {
                ctx.stats.stream.connects.fetch_add(1, Relaxed);
                set_up(ctx, st, true);
                let now = ctx.clock.now();
                ctx.stream_health(st, |h| h.stream_up(now));
                tracing::info!(stream = %name, instruments = instruments.len(), "stream connected");
                attempt = 0;
                match read(ctx, st, ticks, &topic_of, window, shutdown).await {
                    Some(why) => why,
                    None => return,
                }
            }
            Err(SourceError::Unauthorized(detail)) => {
                set_up(ctx, st, false);
                ctx.stats.stream.disconnects.fetch_add(1, Relaxed);
                tracing::error!(stream = %name, %detail, "the broker refused the credentials for the stream; no connection until they change");
                let now = ctx.clock.now();
                ctx.stream_health(st, |h| h.unauthorized(now));
                continue;
            }
            Err(e) => crate::Report::new(&e).to_string(),
        };
        set_up(ctx, st, false);
        ctx.stats.stream.disconnects.fetch_add(1, Relaxed);
        let pause = backoff(&st.job, attempt);
        attempt = attempt.saturating_add(1);
        tracing::warn!(stream = %name, reason = %why, pause = %pause, "the stream is down; reconnecting after a pause");
        let detail = format!(
            "the {name} stream is down ({why}); reconnecting, prices come from polls meanwhile"
        );
        ctx.stream_health(st, |h| h.stream_down(&detail));
        let at = (ctx.clock.now() + pause).min(window.end);
        if !ctx.sleep_until(at, shutdown).await {
            return;
        }
    }
}

/// Reads one connection until it fails (`Some(why)`) or the window ends or shutdown
/// (`None`).
async fn read(
    ctx: &Ctx,
    st: &StreamState,
    mut ticks: TickStream,
    topic_of: &HashMap<InstrumentKey, Topic>,
    window: ServiceWindow,
    shutdown: &CancellationToken,
) -> Option<String> {
    let stall = st.job.stall_after;
    // The start of the current silence: the last data frame, or the moment the market was
    // seen opening (silence before the open does not count).
    let mut quiet_since = ctx.clock.now();
    let mut was_open = ctx.clock.phase_at(quiet_since) == Phase::Open;
    loop {
        let now = ctx.clock.now();
        let wake = (quiet_since + stall).min(ctx.clock.next_status_change_at(now));
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return None,
            () = ctx.clock.sleep_until(window.end) => return None,
            event = ticks.next() => match event {
                None => return Some("the broker closed the connection".into()),
                Some(Err(e)) => return Some(crate::Report::new(&e).to_string()),
                Some(Ok(StreamEvent::Ticks(quotes))) => {
                    quiet_since = ctx.clock.now();
                    apply(ctx, st, quotes, topic_of);
                }
                Some(Ok(StreamEvent::Segments(segments))) => {
                    quiet_since = ctx.clock.now();
                    compare_with_clock(ctx, &segments);
                }
            },
            () = ctx.clock.sleep_until(wake) => {
                // The watchdog runs only while the market is open: a quiet feed before the
                // open or after the close is no failure.
                let now = ctx.clock.now();
                let open = ctx.clock.phase_at(now) == Phase::Open;
                if !open || !was_open {
                    quiet_since = now;
                    was_open = open;
                    continue;
                }
                if now - quiet_since >= stall {
                    return Some(format!(
                        "no data from the broker for {} s while the market is open",
                        stall.whole_seconds()
                    ));
                }
            }
        }
    }
}

fn apply(
    ctx: &Ctx,
    st: &StreamState,
    quotes: Vec<Quote>,
    topic_of: &HashMap<InstrumentKey, Topic>,
) {
    if quotes.is_empty() {
        return;
    }
    ctx.stats
        .stream
        .ticks
        .fetch_add(quotes.len() as u64, Relaxed);
    let mut by_topic: [Vec<Quote>; 2] = [Vec::new(), Vec::new()];
    for q in quotes {
        if let Some(topic) = topic_of.get(&q.key) {
            by_topic[topic.index()].push(q);
        }
    }
    for &topic in &st.job.topics {
        let ticks = &by_topic[topic.index()];
        if !ticks.is_empty() {
            ctx.hub.tick(topic, ticks);
        }
    }
}

/// Logs the broker's market state when it disagrees with the market clock; the clock's
/// calendar stays in force.
fn compare_with_clock(ctx: &Ctx, segments: &[SegmentStatus]) {
    let now = ctx.clock.now();
    let phase = ctx.clock.phase_at(now);
    let open = phase == Phase::Open;
    for s in segments {
        if s.open != open {
            tracing::warn!(
                segment = %s.segment,
                broker = %s.status,
                clock = phase.as_str(),
                "the broker's market status disagrees with the market clock (a surprise holiday or an extended session?); the clock's calendar stays in force"
            );
        } else {
            tracing::debug!(segment = %s.segment, broker = %s.status, clock = phase.as_str(), "the broker's market status agrees with the clock");
        }
    }
}

/// Publishes each topic's changed instruments once per interval.
async fn flush_loop(
    ctx: &Ctx,
    st: &StreamState,
    window: ServiceWindow,
    shutdown: &CancellationToken,
) {
    let every = st.job.interval;
    let mut at = window.start.max(ctx.clock.now()) + every;
    while at < window.end {
        if !ctx.sleep_until(at, shutdown).await {
            return;
        }
        flush(ctx, st).await;
        at = super::tick::next_tick(window.start, every, at, ctx.clock.now());
    }
    // What ticked in the last partial interval.
    if ctx.sleep_until(window.end, shutdown).await {
        flush(ctx, st).await;
    }
}

/// The longest a streamed prices batch waits for the index update flushed with it to reach
/// every subscriber.
const SMALL_FIRST_WAIT: std::time::Duration = std::time::Duration::from_millis(250);

/// Publishes what ticked in each topic, the indices first: when both topics have changes, the
/// prices wait (at most [`SMALL_FIRST_WAIT`]) until every subscriber has the index update
/// ([`Hub::fanned_out`](crate::hub::Hub::fanned_out)), so it is never written behind a large
/// prices batch.
async fn flush(ctx: &Ctx, st: &StreamState) {
    let now = ctx.clock.now();
    let mut topics = st.job.topics.clone();
    topics.sort_by_key(|t| t.index());
    let mut published: Option<Topic> = None;
    for topic in topics {
        if let Some(small) = published.take() {
            let _ = tokio::time::timeout(SMALL_FIRST_WAIT, ctx.hub.fanned_out(small)).await;
        }
        match ctx.hub.flush(topic) {
            Ok(Some(_)) => {
                published = Some(topic);
                ctx.stats.stream.batches.fetch_add(1, Relaxed);
                for state in ctx.jobs.iter().filter(|j| j.job.topic == topic) {
                    state.health().stream_data(now);
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(%topic, error = %e, "cannot publish a batch of streamed ticks")
            }
        }
    }
}
