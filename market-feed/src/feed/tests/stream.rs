//! The feed driving a streaming source: connect in the window, coalesced batches, paused
//! index polls, reconnects with backoff, the stall watchdog only while the market is open,
//! `unauthorized`, and no connection outside the window.

use std::collections::VecDeque;

use futures::StreamExt;
use tokio::sync::mpsc;

use super::*;
use crate::{
    hub::FrameKind,
    source::{PriceStream, StreamEvent, TickStream},
};
use time::macros::datetime;

#[derive(Debug, Clone, Copy)]
enum Plan {
    Open,
    Fail,
    Refuse,
}

type Sender = mpsc::UnboundedSender<Result<StreamEvent, SourceError>>;

/// A `PriceStream` whose connections the test feeds through channels.
#[derive(Debug)]
struct Scripted {
    clock: MarketClock,
    connects: Mutex<Vec<OffsetDateTime>>,
    plans: Mutex<VecDeque<Plan>>,
    senders: Mutex<Vec<Sender>>,
    usable: AtomicBool,
}

impl Scripted {
    fn new(clock: &MarketClock) -> Arc<Self> {
        Arc::new(Self {
            clock: clock.clone(),
            connects: Mutex::default(),
            plans: Mutex::default(),
            senders: Mutex::default(),
            usable: AtomicBool::new(false),
        })
    }

    fn connects(&self) -> usize {
        self.connects.lock().unwrap().len()
    }

    fn plan(&self, plans: impl IntoIterator<Item = Plan>) {
        self.plans.lock().unwrap().extend(plans);
    }

    /// The newest connection's sender.
    fn current(&self) -> Sender {
        self.senders
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("connected")
    }

    /// Ends the newest connection as a broker closing it would.
    fn close_current(&self) {
        self.senders.lock().unwrap().clear();
    }

    fn tick(&self, quotes: Vec<Quote>) {
        let _ = self.current().send(Ok(StreamEvent::Ticks(quotes)));
    }
}

#[async_trait]
impl PriceStream for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }

    async fn connect(&self, instruments: &[Instrument]) -> Result<TickStream, SourceError> {
        assert_eq!(instruments.len(), 9 + 50, "every instrument of both topics");
        self.connects.lock().unwrap().push(self.clock.now());
        let plan = self.plans.lock().unwrap().pop_front().unwrap_or(Plan::Open);
        match plan {
            Plan::Fail => Err(SourceError::Transient("handshake refused: HTTP 403".into())),
            Plan::Refuse => Err(SourceError::Unauthorized("HTTP 401".into())),
            Plan::Open => {
                let (tx, rx) = mpsc::unbounded_channel();
                self.senders.lock().unwrap().push(tx);
                Ok(tokio_stream::wrappers::UnboundedReceiverStream::new(rx).boxed())
            }
        }
    }

    async fn credentials_usable(&self) -> bool {
        self.usable.load(SeqCst)
    }
}

/// A watchdog that never fires within a test (the scripted streams are quiet).
const QUIET_OK: Duration = Duration::hours(12);

struct StreamRig {
    rig: Rig,
    stream: Arc<Scripted>,
}

async fn start(
    at: OffsetDateTime,
    script: fn(OffsetDateTime) -> Act,
    stall: Duration,
) -> StreamRig {
    let clock = clock_at(at);
    let stream = Scripted::new(&clock);
    let indices = Counting::new(&clock, script);
    let prices = Counting::new(&clock, script);
    let hub = Arc::new(Hub::default());
    let store = Arc::new(MemoryStore::new());
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
        .stream(StreamJob {
            stall_after: stall,
            ..StreamJob::new(stream.clone(), [Topic::Indices, Topic::Prices])
                .pause_polls([Topic::Indices])
        })
        .build();
    let stats = feed.stats();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(feed.run(shutdown.clone()));
    let rig = Rig {
        clock,
        hub,
        store,
        indices,
        prices,
        stats,
        shutdown,
        task,
    };
    StreamRig { rig, stream }
}

fn stk(n: usize, ltp: f64) -> Quote {
    let i = &instruments("STK", 50)[n];
    Quote::new(i.key.clone(), i.symbol.clone(), ltp, 0).with_prev_close(Some(99.0))
}

fn state(rig: &Rig, topic: Topic) -> FeedState {
    rig.hub.feed_status(topic).state
}

#[tokio::test(start_paused = true)]
async fn ticks_are_published_once_per_interval_as_the_changed_instruments_and_index_polls_pause() {
    let StreamRig { rig, stream } =
        start(datetime!(2026-01-29 09:10 +05:30), answer, QUIET_OK).await;
    rig.until(datetime!(2026-01-29 09:12:59 +05:30)).await;
    assert_eq!(stream.connects(), 0, "no connection before the window");
    rig.until(datetime!(2026-01-29 09:13:30 +05:30)).await;
    assert_eq!(stream.connects(), 1);
    assert!(rig.stats.stream.connected.load(SeqCst));
    let window_start = datetime!(2026-01-29 09:13 +05:30);
    let in_window =
        |calls: Vec<OffsetDateTime>| calls.into_iter().filter(|t| *t >= window_start).count();
    let polls = in_window(rig.indices.calls());
    assert!(
        polls <= 1,
        "at most the poll at the window's start: {:?}",
        rig.indices.calls()
    );

    let mut sub = rig.hub.subscribe(&[Topic::Prices], None);
    assert_eq!(sub.next().await.unwrap().kind(), FrameKind::Snapshot);
    let seq = rig.hub.seq(Topic::Prices);
    stream.tick(vec![stk(1, 100.5), stk(2, 101.0)]);
    stream.tick(vec![stk(1, 100.75)]);
    rig.until(datetime!(2026-01-29 09:13:30.2 +05:30)).await;
    assert_eq!(
        rig.hub.quote_by_key(&stk(1, 0.0).key).map(|q| q.ltp),
        Some(100.75),
        "at once"
    );
    assert_eq!(rig.hub.seq(Topic::Prices), seq, "not published yet");
    rig.until(datetime!(2026-01-29 09:13:31.1 +05:30)).await;
    let batch = sub.next().await.unwrap();
    assert_eq!(
        (batch.kind(), batch.seq()),
        (FrameKind::PricesBatch, Some(seq + 1))
    );
    let text = String::from_utf8_lossy(batch.bytes()).into_owned();
    assert_eq!(
        text.matches(r#""key":"#).count(),
        2,
        "only the changed instruments: {text}"
    );
    assert!(text.contains(r#""ltp":100.75"#));

    rig.until(datetime!(2026-01-29 09:20 +05:30)).await;
    assert_eq!(
        in_window(rig.indices.calls()),
        polls,
        "no index poll while the stream is up"
    );
    let price_polls = in_window(rig.prices.calls()) as u64;
    assert!(price_polls >= 3, "the stock poll keeps running");
    // One streamed batch; the polls at 09:13 (before the subscription) and after it.
    assert_eq!(
        rig.hub.seq(Topic::Prices) - seq,
        price_polls,
        "no empty streamed batches"
    );
    assert_eq!(state(&rig, Topic::Prices), FeedState::Ok);
    rig.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_lost_stream_degrades_the_topics_resumes_index_polls_and_reconnects_with_backoff() {
    let StreamRig { rig, stream } =
        start(datetime!(2026-01-29 09:59 +05:30), answer, QUIET_OK).await;
    rig.until(datetime!(2026-01-29 10:00 +05:30)).await;
    assert_eq!(stream.connects(), 1);
    let polls = rig.indices.calls().len();
    stream.plan([Plan::Fail, Plan::Fail, Plan::Fail, Plan::Fail]);
    stream.close_current();
    rig.until(datetime!(2026-01-29 10:00:00.1 +05:30)).await;
    for topic in [Topic::Indices, Topic::Prices] {
        let s = rig.hub.feed_status(topic);
        assert_eq!(s.state, FeedState::Degraded, "{topic}");
        assert!(s.detail.contains("stream is down"), "{}", s.detail);
    }
    assert!(!rig.stats.stream.connected.load(SeqCst));
    rig.until(datetime!(2026-01-29 10:01 +05:30)).await;
    assert_eq!(stream.connects(), 6, "four failures, then connected");
    let times = stream.connects.lock().unwrap().clone();
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    // Backoff: half to all of 1, 2, 4, 8, 16 s (the first gap includes the close).
    for (n, gap) in gaps.iter().enumerate().skip(1) {
        let full = Duration::seconds(1 << n);
        assert!(
            *gap >= full / 2 && *gap <= full + Duration::milliseconds(50),
            "gap {n}: {gap}"
        );
    }
    assert!(
        rig.indices.calls().len() > polls,
        "index polls ran while the stream was down"
    );
    assert_eq!(state(&rig, Topic::Prices), FeedState::Ok);
    assert_eq!(rig.stats.stream.disconnects.load(SeqCst), 5);
    let polls = rig.indices.calls().len();
    rig.until(datetime!(2026-01-29 10:02 +05:30)).await;
    assert_eq!(rig.indices.calls().len(), polls, "paused again");
    rig.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_watchdog_reconnects_a_silent_stream_only_while_the_market_is_open() {
    let StreamRig { rig, stream } = start(
        datetime!(2026-01-29 09:12 +05:30),
        answer,
        Duration::seconds(10),
    )
    .await;
    rig.until(datetime!(2026-01-29 09:14:59 +05:30)).await;
    assert_eq!(stream.connects(), 1, "silence before the open is fine");
    rig.until(datetime!(2026-01-29 09:15:09 +05:30)).await;
    assert_eq!(stream.connects(), 1, "silence counts from the open");
    rig.until(datetime!(2026-01-29 09:15:11 +05:30)).await;
    assert_eq!(
        stream.connects(),
        2,
        "10 s of silence after the open: reconnected"
    );
    // Data keeps the connection.
    for s in 0..30 {
        stream.tick(vec![stk(3, 100.0 + f64::from(s))]);
        rig.until(datetime!(2026-01-29 09:15:12 +05:30) + Duration::seconds(i64::from(s) * 2 + 2))
            .await;
    }
    assert_eq!(stream.connects(), 2);
    // After the close (15:30) the window ends and the connection with it; none after.
    rig.until(datetime!(2026-01-29 15:31 +05:30)).await;
    let connects = stream.connects();
    assert!(
        stream.senders.lock().unwrap().iter().all(|s| s.is_closed()),
        "dropped at the window's end"
    );
    rig.until(datetime!(2026-01-29 23:00 +05:30)).await;
    assert_eq!(
        stream.connects(),
        connects,
        "no connection outside the window"
    );
    assert!(!rig.stats.stream.connected.load(SeqCst));
    assert_eq!(state(&rig, Topic::Prices), FeedState::Ok);
    rig.stop().await;
}

/// The polls are refused from 10:00 to 10:05 (the token expired for everything, and was
/// replaced at 10:05).
fn refuse_from_ten(t: OffsetDateTime) -> Act {
    let refused = datetime!(2026-01-29 10:00 +05:30)..datetime!(2026-01-29 10:05 +05:30);
    if refused.contains(&t) {
        Act::Refuse
    } else {
        Act::Answer
    }
}

#[tokio::test(start_paused = true)]
async fn a_refused_token_makes_the_topics_unauthorized_until_it_changes() {
    let StreamRig { rig, stream } = start(
        datetime!(2026-01-29 09:59 +05:30),
        refuse_from_ten,
        QUIET_OK,
    )
    .await;
    rig.until(datetime!(2026-01-29 10:00 +05:30)).await;
    stream.plan([Plan::Refuse]);
    stream.close_current();
    rig.until(datetime!(2026-01-29 10:05 +05:30)).await;
    assert_eq!(state(&rig, Topic::Prices), FeedState::Unauthorized);
    assert_eq!(state(&rig, Topic::Indices), FeedState::Unauthorized);
    assert_eq!(stream.connects(), 2, "no connection on a refused token");
    stream.usable.store(true, SeqCst);
    rig.indices.token_changed.store(true, SeqCst);
    rig.prices.token_changed.store(true, SeqCst);
    rig.until(datetime!(2026-01-29 10:06 +05:30)).await;
    assert_eq!(stream.connects(), 3);
    assert_eq!(state(&rig, Topic::Prices), FeedState::Ok);
    rig.stop().await;
}

/// A flush with changes in both topics publishes the index update first, and the prices once
/// every subscriber has taken it: one whose task takes it 10 ms late holds them up 10 ms.
#[tokio::test(start_paused = true)]
async fn a_flush_of_both_topics_publishes_the_prices_once_the_index_update_is_out() {
    let StreamRig { rig, stream } =
        start(datetime!(2026-01-29 09:13:20 +05:30), answer, QUIET_OK).await;
    rig.until(datetime!(2026-01-29 09:13:30.2 +05:30)).await;
    let mut late = rig.hub.subscribe(&[Topic::Indices], None);
    let mut watcher = rig.hub.subscribe(&[Topic::Prices, Topic::Indices], None);
    assert_eq!(late.next().await.unwrap().kind(), FrameKind::Snapshot);
    for _ in Topic::ALL {
        assert_eq!(watcher.next().await.unwrap().kind(), FrameKind::Snapshot);
    }
    let prices_seq = rig.hub.seq(Topic::Prices);
    let idx = &instruments("IDX", 9)[0];
    let index = Quote::new(idx.key.clone(), idx.symbol.clone(), 25_000.5, 0);
    stream.tick(vec![stk(1, 100.5), index]);
    let update = loop {
        let frame = watcher.next().await.unwrap();
        if frame.kind() != FrameKind::MarketStatus {
            break frame;
        }
    };
    assert_eq!(update.kind(), FrameKind::IndicesUpdate, "the indices first");
    let index_at = tokio::time::Instant::now();
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    assert_eq!(
        rig.hub.seq(Topic::Prices),
        prices_seq,
        "published too early"
    );
    assert_eq!(late.next().await.unwrap().seq(), update.seq());
    let prices = watcher.next().await.unwrap();
    assert_eq!(prices.kind(), FrameKind::PricesBatch);
    let waited = index_at.elapsed().as_millis();
    assert!(
        (10..15).contains(&waited),
        "the prices came {waited} ms after"
    );
    drop((late, watcher));
    rig.stop().await;
}
