//! The feed on tokio's paused time and a scaled clock: whole trading days in milliseconds.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
};

use async_trait::async_trait;
use time::{Date, OffsetDateTime, macros::datetime};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::{
    clock::{Calendar, Exchange, TimeSource, at_ist},
    hub::{FeedState, Hub},
    model::{InstrumentKey, Quote},
    source::{Fetched, SourceError},
    store::MemoryStore,
};

/// What the double does on a call at a given clock instant.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Act {
    Answer,
    Fail,
    Refuse,
    /// Answer after this long (clock time).
    Slow(Duration),
}

type Script = dyn Fn(OffsetDateTime) -> Act + Send + Sync;

/// A `PriceSource` that records the clock instant of every call and follows a script.
struct Counting {
    clock: MarketClock,
    calls: Mutex<Vec<OffsetDateTime>>,
    ends: Mutex<Vec<OffsetDateTime>>,
    script: Box<Script>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    token_changed: AtomicBool,
}

impl std::fmt::Debug for Counting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Counting")
    }
}

impl Counting {
    fn new(
        clock: &MarketClock,
        script: impl Fn(OffsetDateTime) -> Act + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            clock: clock.clone(),
            calls: Mutex::new(Vec::new()),
            ends: Mutex::new(Vec::new()),
            script: Box::new(script),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            token_changed: AtomicBool::new(false),
        })
    }

    fn calls(&self) -> Vec<OffsetDateTime> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl PriceSource for Counting {
    fn name(&self) -> &str {
        "counting"
    }

    async fn fetch(&self, instruments: &[Instrument]) -> Result<Fetched, SourceError> {
        let now = self.clock.now();
        self.calls.lock().unwrap().push(now);
        let n = self.in_flight.fetch_add(1, SeqCst) + 1;
        self.max_in_flight.fetch_max(n, SeqCst);
        let act = (self.script)(now);
        if let Act::Slow(d) = act {
            self.clock.sleep_until(now + d).await;
        }
        self.in_flight.fetch_sub(1, SeqCst);
        self.ends.lock().unwrap().push(self.clock.now());
        match act {
            Act::Fail => Err(SourceError::Transient("HTTP 503".into())),
            Act::Refuse => Err(SourceError::Unauthorized("HTTP 401".into())),
            Act::Answer | Act::Slow(_) => {
                let ts = self.clock.now_ms();
                let quotes = instruments
                    .iter()
                    .map(|i| {
                        Quote::new(i.key.clone(), i.symbol.clone(), 100.0, ts)
                            .with_prev_close(Some(99.0))
                    })
                    .collect();
                Ok(Fetched {
                    quotes,
                    ..Fetched::default()
                })
            }
        }
    }

    async fn credentials_usable(&self) -> bool {
        self.token_changed.load(SeqCst)
    }
}

fn instruments(prefix: &str, n: usize) -> Vec<Instrument> {
    (0..n)
        .map(|i| {
            let key = InstrumentKey::new(&format!("NSE_EQ|{prefix}{i:04}")).unwrap();
            Instrument::new(key, format!("{prefix}{i}"), format!("{prefix} {i}"), None)
        })
        .collect()
}

/// A 1x clock starting at `start` (IST) on the bundled calendar; must be made inside the
/// (paused) runtime.
fn clock_at(start: OffsetDateTime) -> MarketClock {
    MarketClock::new(
        Arc::new(Calendar::bundled(Exchange::Nse)),
        TimeSource::scaled(start, 1.0),
    )
}

struct Rig {
    clock: MarketClock,
    hub: Arc<Hub>,
    store: Arc<MemoryStore>,
    indices: Arc<Counting>,
    prices: Arc<Counting>,
    stats: Arc<FeedStats>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Rig {
    async fn start(
        clock: MarketClock,
        store: Arc<MemoryStore>,
        indices: Arc<Counting>,
        prices: Arc<Counting>,
    ) -> Self {
        let hub = Arc::new(Hub::default());
        let feed = Feed::builder(clock.clone(), hub.clone(), store.clone())
            .job(Job::new(
                Topic::Indices,
                instruments("IDX", 9),
                Duration::seconds(5),
                indices.clone(),
            ))
            .job(Job::new(
                Topic::Prices,
                instruments("STK", 50),
                Duration::seconds(120),
                prices.clone(),
            ))
            .build();
        let stats = feed.stats();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(feed.run(shutdown.clone()));
        Self {
            clock,
            hub,
            store,
            indices,
            prices,
            stats,
            shutdown,
            task,
        }
    }

    async fn until(&self, t: OffsetDateTime) {
        self.clock.sleep_until(t).await;
    }

    async fn stop(self) -> Self {
        self.shutdown.cancel();
        let mut this = self;
        (&mut this.task).await.unwrap();
        this
    }
}

fn answer(_: OffsetDateTime) -> Act {
    Act::Answer
}

async fn store_close(store: &MemoryStore, day: Date) {
    for (topic, prefix, n) in [(Topic::Indices, "IDX", 9), (Topic::Prices, "STK", 50)] {
        let ts = crate::clock::to_ms(at_ist(day, time::macros::time!(15:31)));
        let quotes: Vec<Quote> = instruments(prefix, n)
            .into_iter()
            .map(|i| Quote::new(i.key, i.symbol, 90.0, ts))
            .collect();
        store.save_close(topic, day, &quotes).await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_whole_trading_day() {
    let clock = clock_at(datetime!(2026-01-29 08:00 +05:30));
    let store = Arc::new(MemoryStore::new());
    store_close(&store, time::macros::date!(2026 - 01 - 28)).await;
    let rig = Rig::start(
        clock.clone(),
        store,
        Counting::new(&clock, answer),
        Counting::new(&clock, answer),
    )
    .await;
    rig.until(datetime!(2026-01-29 23:00 +05:30)).await;
    let rig = rig.stop().await;

    let open = datetime!(2026-01-29 09:13 +05:30);
    let close = datetime!(2026-01-29 15:30 +05:30);
    let eod = datetime!(2026-01-29 15:31 +05:30);
    for (source, interval, expected_in_window) in [(&rig.indices, 5, 4524), (&rig.prices, 120, 189)]
    {
        let calls = source.calls();
        let (window, after): (Vec<&OffsetDateTime>, Vec<&OffsetDateTime>) =
            calls.iter().partition(|t| **t < close);
        assert_eq!(
            window.len(),
            expected_in_window,
            "calls every {interval} s from 09:13 to 15:30"
        );
        assert!(
            window.iter().all(|t| **t >= open),
            "a call before 09:13: {:?}",
            window.first()
        );
        assert_eq!(after.len(), 1, "exactly one end-of-day refresh");
        assert!(
            *after[0] >= eod && *after[0] < eod + Duration::seconds(1),
            "{:?}",
            after[0]
        );
        // Every window call is on its tick (within the scaled clock's rounding).
        for (k, t) in window.iter().enumerate() {
            let tick = open + Duration::seconds(interval * k as i64);
            assert!(
                **t >= tick && **t - tick < Duration::milliseconds(50),
                "call {k} at {t}, tick {tick}"
            );
        }
    }
    let day = time::macros::date!(2026 - 01 - 29);
    for topic in [Topic::Indices, Topic::Prices] {
        let snap = rig
            .store
            .load_close(topic, day)
            .await
            .unwrap()
            .expect("the end-of-day snapshot is stored");
        assert_eq!(
            snap.quotes.len(),
            if topic == Topic::Indices { 9 } else { 50 }
        );
    }
    assert!(
        rig.stats.checkpoints.load(SeqCst) >= 75 * 2,
        "checkpoints every 5 minutes"
    );
    assert_eq!(rig.stats.topic(Topic::Indices).overruns.load(SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn holidays_and_weekends_make_no_calls() {
    // Republic Day (Monday 2026-01-26) then ... the Saturday 2026-01-31 and Sunday is the Budget
    // session, so check a plain weekend: 2026-02-07/08.
    for (from, to, last_session) in [
        (
            datetime!(2026-01-26 00:00 +05:30),
            datetime!(2026-01-26 23:59 +05:30),
            time::macros::date!(2026 - 01 - 23),
        ),
        (
            datetime!(2026-02-07 00:00 +05:30),
            datetime!(2026-02-08 23:59 +05:30),
            time::macros::date!(2026 - 02 - 06),
        ),
    ] {
        let clock = clock_at(from);
        let store = Arc::new(MemoryStore::new());
        store_close(&store, last_session).await;
        let rig = Rig::start(
            clock.clone(),
            store,
            Counting::new(&clock, answer),
            Counting::new(&clock, answer),
        )
        .await;
        rig.until(to).await;
        let rig = rig.stop().await;
        assert_eq!(
            rig.indices.calls().len() + rig.prices.calls().len(),
            0,
            "calls between {from} and {to}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn muhurat_calls_only_inside_its_window() {
    let clock = clock_at(datetime!(2025-10-21 00:00 +05:30));
    let store = Arc::new(MemoryStore::new());
    store_close(&store, time::macros::date!(2025 - 10 - 20)).await;
    let rig = Rig::start(
        clock.clone(),
        store,
        Counting::new(&clock, answer),
        Counting::new(&clock, answer),
    )
    .await;
    rig.until(datetime!(2025-10-21 23:00 +05:30)).await;
    let rig = rig.stop().await;
    let calls = rig.indices.calls();
    let (window, after): (Vec<&OffsetDateTime>, Vec<&OffsetDateTime>) = calls
        .iter()
        .partition(|t| **t < datetime!(2025-10-21 14:45 +05:30));
    assert_eq!(window.len(), 62 * 60 / 5, "13:43 to 14:45 every 5 s");
    assert!(
        window
            .iter()
            .all(|t| **t >= datetime!(2025-10-21 13:43 +05:30))
    );
    assert_eq!(after.len(), 1);
    assert!(*after[0] >= datetime!(2025-10-21 14:46 +05:30));
    assert!(
        rig.store
            .load_close(Topic::Indices, time::macros::date!(2025 - 10 - 21))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(start_paused = true)]
async fn a_restart_at_noon_shows_the_checkpoint_not_yesterdays_close() {
    let day = time::macros::date!(2026 - 01 - 29);
    let store = Arc::new(MemoryStore::new());
    store_close(&store, time::macros::date!(2026 - 01 - 28)).await;
    let ts = crate::clock::to_ms(datetime!(2026-01-29 11:55 +05:30));
    let cp: Vec<Quote> = instruments("STK", 50)
        .into_iter()
        .map(|i| Quote::new(i.key, i.symbol, 123.45, ts))
        .collect();
    store
        .save_checkpoint(Topic::Prices, day, &cp)
        .await
        .unwrap();

    let clock = clock_at(datetime!(2026-01-29 12:00 +05:30));
    // The sources are slow, so what the hub shows first is what start-up loaded.
    let slow = |_| Act::Slow(Duration::seconds(3));
    let rig = Rig::start(
        clock.clone(),
        store,
        Counting::new(&clock, slow),
        Counting::new(&clock, slow),
    )
    .await;
    rig.until(datetime!(2026-01-29 12:00:01 +05:30)).await;
    let view = rig.hub.view(Topic::Prices);
    assert_eq!(view.meta.source, crate::hub::Source::Checkpoint);
    assert_eq!(view.meta.trading_day, Some(day));
    assert!(view.data.iter().all(|q| q.ltp == 123.45));
    let indices = rig.hub.view(Topic::Indices);
    assert_eq!(
        indices.meta.source,
        crate::hub::Source::Close,
        "no checkpoint for indices: the close"
    );
    rig.until(datetime!(2026-01-29 12:00:05 +05:30)).await;
    assert_eq!(
        rig.hub.view(Topic::Prices).meta.source,
        crate::hub::Source::Live
    );
    rig.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_start_at_six_pm_takes_the_missed_snapshot_once() {
    let store = Arc::new(MemoryStore::new());
    store_close(&store, time::macros::date!(2026 - 01 - 28)).await;
    let clock = clock_at(datetime!(2026-01-29 18:00 +05:30));
    let rig = Rig::start(
        clock.clone(),
        store,
        Counting::new(&clock, answer),
        Counting::new(&clock, answer),
    )
    .await;
    rig.until(datetime!(2026-01-30 09:00 +05:30)).await;
    let rig = rig.stop().await;
    for source in [&rig.indices, &rig.prices] {
        let calls = source.calls();
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert!(calls[0] < datetime!(2026-01-29 18:00:01 +05:30));
    }
    let snap = rig
        .store
        .load_close(Topic::Prices, time::macros::date!(2026 - 01 - 29))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snap.quotes.len(), 50);
    // Clients now see that day's closes, labelled as such.
    let meta = rig.hub.meta(Topic::Prices);
    assert_eq!(meta.source, crate::hub::Source::Close);
    assert_eq!(meta.trading_day, Some(time::macros::date!(2026 - 01 - 29)));
}

#[tokio::test(start_paused = true)]
async fn unauthorized_stops_calls_until_the_token_changes() {
    let store = Arc::new(MemoryStore::new());
    store_close(&store, time::macros::date!(2026 - 01 - 28)).await;
    let clock = clock_at(datetime!(2026-01-29 10:59 +05:30));
    let refused = Arc::new(AtomicBool::new(false));
    let r = refused.clone();
    let indices = Counting::new(&clock, move |_| {
        if r.load(SeqCst) {
            Act::Refuse
        } else {
            Act::Answer
        }
    });
    let rig = Rig::start(clock.clone(), store, indices, Counting::new(&clock, answer)).await;
    rig.until(datetime!(2026-01-29 11:00:02 +05:30)).await;
    refused.store(true, SeqCst);
    rig.until(datetime!(2026-01-29 11:00:07 +05:30)).await;
    assert_eq!(
        rig.hub.feed_status(Topic::Indices).state,
        FeedState::Unauthorized
    );
    let before = rig.indices.calls().len();
    rig.until(datetime!(2026-01-29 11:30:02 +05:30)).await;
    assert_eq!(
        rig.indices.calls().len(),
        before,
        "no calls on a refused token"
    );
    // A new token arrives (the double's credentials_usable turns true).
    refused.store(false, SeqCst);
    rig.indices.token_changed.store(true, SeqCst);
    rig.until(datetime!(2026-01-29 11:30:08 +05:30)).await;
    assert_eq!(rig.hub.feed_status(Topic::Indices).state, FeedState::Ok);
    assert!(rig.indices.calls().len() > before);
    rig.until(datetime!(2026-01-29 11:31 +05:30)).await;
    assert!(
        rig.indices.calls().len() >= before + 10,
        "calls resumed every 5 s"
    );
    rig.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_slow_source_does_not_pile_up() {
    let store = Arc::new(MemoryStore::new());
    store_close(&store, time::macros::date!(2026 - 01 - 28)).await;
    let clock = clock_at(datetime!(2026-01-29 10:00 +05:30));
    let slow = Counting::new(&clock, |_| Act::Slow(Duration::seconds(7)));
    let rig = Rig::start(clock.clone(), store, slow, Counting::new(&clock, answer)).await;
    rig.until(datetime!(2026-01-29 10:10 +05:30)).await;
    let rig = rig.stop().await;
    let calls = rig.indices.calls();
    assert_eq!(
        rig.indices.max_in_flight.load(SeqCst),
        1,
        "never two refreshes at once"
    );
    let ends = rig.indices.ends.lock().unwrap().clone();
    for (i, end) in ends.iter().enumerate().take(calls.len() - 1) {
        assert!(
            calls[i + 1] >= *end,
            "call {} started before call {i} ended",
            i + 1
        );
    }
    // 7 s refreshes on a 5 s grid: one every 10 s.
    assert!((59..=61).contains(&calls.len()), "{} calls", calls.len());
    for pair in calls.windows(2) {
        assert!(pair[1] - pair[0] >= Duration::seconds(10) - Duration::milliseconds(50));
    }
    let overruns = rig.stats.topic(Topic::Indices).overruns.load(SeqCst);
    assert!(
        overruns as usize >= calls.len() - 1,
        "{overruns} overruns for {} calls",
        calls.len()
    );
}

#[tokio::test(start_paused = true)]
async fn three_failed_intervals_are_stale_then_ok_again() {
    let store = Arc::new(MemoryStore::new());
    store_close(&store, time::macros::date!(2026 - 01 - 28)).await;
    let clock = clock_at(datetime!(2026-01-29 10:00 +05:30));
    let failing = |t: OffsetDateTime| {
        if t >= datetime!(2026-01-29 10:01 +05:30) && t < datetime!(2026-01-29 10:01:15 +05:30) {
            Act::Fail
        } else {
            Act::Answer
        }
    };
    let rig = Rig::start(
        clock.clone(),
        store,
        Counting::new(&clock, failing),
        Counting::new(&clock, answer),
    )
    .await;
    // A subscriber that keeps up, collecting the feed-status events it receives.
    let mut sub = rig.hub.subscribe(&[Topic::Indices], None);
    let collector = tokio::spawn(async move {
        use futures::StreamExt;
        let mut states = Vec::new();
        while let Some(frame) = sub.next().await {
            if frame.kind() == crate::hub::FrameKind::FeedStatus {
                let v: serde_json::Value = serde_json::from_slice(frame.bytes()).unwrap();
                states.push(v["state"].as_str().unwrap().to_owned());
            }
        }
        states
    });
    rig.until(datetime!(2026-01-29 10:01:02 +05:30)).await;
    assert_eq!(
        rig.hub.feed_status(Topic::Indices).state,
        FeedState::Degraded
    );
    rig.until(datetime!(2026-01-29 10:01:12 +05:30)).await;
    assert_eq!(rig.hub.feed_status(Topic::Indices).state, FeedState::Stale);
    rig.until(datetime!(2026-01-29 10:01:17 +05:30)).await;
    assert_eq!(rig.hub.feed_status(Topic::Indices).state, FeedState::Ok);
    let rig = rig.stop().await;
    rig.hub.close();
    // The subscriber saw the three changes, in order.
    assert_eq!(collector.await.unwrap(), ["degraded", "stale", "ok"]);
}

#[tokio::test(start_paused = true)]
async fn a_first_start_mid_session_does_not_label_todays_prices_as_yesterdays_close() {
    let store = Arc::new(MemoryStore::new());
    let clock = clock_at(datetime!(2026-01-29 12:00 +05:30));
    let rig = Rig::start(
        clock.clone(),
        store,
        Counting::new(&clock, answer),
        Counting::new(&clock, answer),
    )
    .await;
    rig.until(datetime!(2026-01-29 12:00:32 +05:30)).await;
    let rig = rig.stop().await;
    let yesterday = time::macros::date!(2026 - 01 - 28);
    assert!(
        rig.store
            .load_close(Topic::Prices, yesterday)
            .await
            .unwrap()
            .is_none()
    );
    // Only window refreshes: 12:00:00 .. 12:00:30 every 5 s.
    assert_eq!(rig.indices.calls().len(), 7);
}

mod calendar_change;
mod stream;

/// When the indices and the prices fall due at the same instant (every 120 s here), the index
/// update is published first even when its source is the slower one, so it goes on the wire
/// ahead of the large prices batch. Ticks that are not shared are not held up.
#[tokio::test(start_paused = true)]
async fn at_a_shared_tick_the_small_batch_is_published_first() {
    use futures::StreamExt;

    let clock = clock_at(datetime!(2026-01-29 09:12:50 +05:30));
    let slow_indices = |_| Act::Slow(Duration::milliseconds(300));
    let rig = Rig::start(
        clock.clone(),
        Arc::new(MemoryStore::new()),
        Counting::new(&clock, slow_indices),
        Counting::new(&clock, answer),
    )
    .await;
    let mut sub = rig.hub.subscribe(&[Topic::Indices, Topic::Prices], None);
    let mut order = Vec::new();
    while order.len() < 2 + 27 {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(600), sub.next())
            .await
            .expect("frames keep coming")
            .expect("the hub is open");
        if let Some(topic) = frame
            .topic()
            .filter(|_| frame.kind() != crate::hub::FrameKind::Snapshot)
        {
            order.push((topic, frame.seq().unwrap_or(0), rig.clock.now()));
        }
    }
    let rig = rig.stop().await;
    // The start, 09:13:00 and 09:15:00 are shared ticks: the index batch first each time.
    let prices: Vec<usize> = order
        .iter()
        .enumerate()
        .filter(|(_, (t, _, _))| *t == Topic::Prices)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(prices.len(), 3, "{order:?}");
    for i in prices {
        assert!(i > 0 && order[i - 1].0 == Topic::Indices, "{order:?}");
        // Held for the index update only: published as soon as every subscriber has it
        // (the fan-out is looked at every millisecond).
        let held = order[i].2 - order[i - 1].2;
        assert!(held <= Duration::milliseconds(2), "{order:?}");
    }
    // The indices were never held: each 300 ms after its tick.
    assert!(rig.indices.calls().len() >= 25);
}

/// At a shared tick the prices batch is published once the index update has reached every
/// subscriber: one whose task takes it 10 ms late holds the prices up by those 10 ms. One that
/// does not read at all holds them up only until the others have stopped taking it (20 ms),
/// not for the whole wait.
#[tokio::test(start_paused = true)]
async fn at_a_shared_tick_the_prices_wait_until_every_subscriber_has_the_index_update() {
    use futures::StreamExt;

    use crate::hub::FrameKind;

    for late_by in [Some(10), None] {
        let clock = clock_at(datetime!(2026-01-29 09:12:50 +05:30));
        let rig = Rig::start(
            clock.clone(),
            Arc::new(MemoryStore::new()),
            Counting::new(&clock, answer),
            Counting::new(&clock, answer),
        )
        .await;
        rig.until(datetime!(2026-01-29 09:12:59 +05:30)).await;
        let mut late = rig.hub.subscribe(&[Topic::Indices], None);
        let mut watcher = rig.hub.subscribe(&[Topic::Indices, Topic::Prices], None);
        assert_eq!(late.next().await.unwrap().kind(), FrameKind::Snapshot);
        for _ in Topic::ALL {
            assert_eq!(watcher.next().await.unwrap().kind(), FrameKind::Snapshot);
        }
        let prices_seq = rig.hub.seq(Topic::Prices);
        // The 09:13:00 tick, shared by both jobs.
        let update = watcher.next().await.unwrap();
        assert_eq!(update.kind(), FrameKind::IndicesUpdate);
        let index_at = tokio::time::Instant::now();
        if let Some(ms) = late_by {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            assert_eq!(
                rig.hub.seq(Topic::Prices),
                prices_seq,
                "published too early"
            );
            assert_eq!(late.next().await.unwrap().seq(), update.seq());
        }
        let prices = loop {
            let frame = watcher.next().await.unwrap();
            if frame.kind() != FrameKind::MarketStatus {
                break frame;
            }
        };
        assert_eq!(prices.kind(), FrameKind::PricesBatch);
        let waited = index_at.elapsed();
        let expected = late_by.map_or(crate::hub::STALL.as_millis(), u128::from);
        assert!(
            (expected..expected + 5).contains(&waited.as_millis()),
            "{late_by:?}: the prices came {waited:?} after the index update"
        );
        drop((late, watcher));
        rig.stop().await;
    }
}
