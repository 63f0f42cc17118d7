//! `GET /metrics`: the OpenMetrics exposition of what the parts count, through
//! [`prometheus-client`](prometheus_client).
//!
//! The hub, the feed and the WebSocket endpoint keep their counts in plain atomics (the library
//! depends on no metrics crate, and recording costs one relaxed atomic add on the hot path).
//! [`MetricsCollector`] reads them at scrape time and hands them to `prometheus-client`'s
//! encoder, which writes the names, help texts, label escaping and histogram buckets. An
//! application that mounts the service can register the same collector in its own
//! [`Registry`]. Every metric is listed with its meaning in `docs/operations.md`.

use market_feed::{clock::Phase, feed::DURATION_BUCKETS, hub::FeedState, model::Topic};
use prometheus_client::{collector::Collector, encoding::DescriptorEncoder, registry::Registry};

mod cluster;
mod families;
mod reference;

use families::{Counter, Gauge};

use crate::{
    state::AppState,
    stats::{CloseReason, Event, Rejection},
};

/// The `Content-Type` of [`render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every metric of a running service, read at scrape time: register it in a
/// [`Registry`] (the reference server's own, or an embedding application's).
///
/// ```
/// use market_feed_server::{metrics::MetricsCollector, state::AppState};
/// use prometheus_client::{encoding::text::encode, registry::Registry};
/// let state = AppState::for_tests(market_feed::clock::MarketClock::system());
/// let mut registry = Registry::default();
/// registry.register_collector(Box::new(MetricsCollector::new(state)));
/// let mut text = String::new();
/// encode(&mut text, &registry).unwrap();
/// assert!(text.contains("market_feed_ws_connections 0"));
/// ```
#[derive(Clone)]
pub struct MetricsCollector {
    state: AppState,
}

impl std::fmt::Debug for MetricsCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsCollector").finish_non_exhaustive()
    }
}

impl MetricsCollector {
    /// A collector over `state`'s counters (cheap: `AppState` is shared).
    ///
    /// ```
    /// use market_feed_server::{metrics::MetricsCollector, state::AppState};
    /// let _ = MetricsCollector::new(AppState::for_tests(market_feed::clock::MarketClock::system()));
    /// ```
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl Collector for MetricsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let (state, enc) = (&self.state, &mut encoder);
        websocket(enc, state)?;
        hub(enc, state)?;
        source(enc, state)?;
        end_of_day(enc, state)?;
        stream(enc, state)?;
        reference::calendar(enc, state)?;
        reference::universe(enc, state)?;
        market(enc, state)?;
        cluster::cluster(enc, state)?;
        reference::http(enc, state)
    }
}

/// Renders every metric as OpenMetrics text (serve it with [`CONTENT_TYPE`]).
///
/// ```
/// use market_feed_server::{metrics::render, state::AppState};
/// let text = render(&AppState::for_tests(market_feed::clock::MarketClock::system()));
/// assert!(text.contains("market_feed_ws_connections 0"));
/// assert!(text.contains("# TYPE market_feed_source_latency_seconds histogram"));
/// assert!(text.ends_with("# EOF\n"));
/// ```
pub fn render(state: &AppState) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(MetricsCollector::new(state.clone())));
    let mut text = String::with_capacity(12 * 1024);
    // Writing into a `String` cannot fail, and the collector's only errors are the writer's.
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &registry) {
        tracing::error!(error = %e, "encoding /metrics failed");
    }
    text
}

fn websocket(enc: &mut DescriptorEncoder<'_>, state: &AppState) -> std::fmt::Result {
    let ws = state.ws_stats();
    Gauge::new(
        "market_feed_ws_connections",
        "WebSocket connections open now.",
    )
    .value(enc, ws.open())?;
    Gauge::new(
        "market_feed_ws_connections_max",
        "WebSocket connections allowed at once (--max-connections); more get 503.",
    )
    .value(enc, state.ws().max_connections)?;
    Counter::new(
        "market_feed_ws_connections_accepted_total",
        "WebSocket connections accepted since start.",
    )
    .value(enc, ws.accepted())?;
    Counter::new(
        "market_feed_ws_rejected_total",
        "WebSocket upgrades refused, by reason.",
    )
    .by(
        enc,
        "reason",
        Rejection::ALL
            .iter()
            .map(|&r| (r.label(), ws.rejections(r))),
    )?;
    Counter::new(
        "market_feed_ws_closed_total",
        "WebSocket connections ended, by reason (slow_consumer: accepted no bytes for 30 s).",
    )
    .by(
        enc,
        "reason",
        CloseReason::ALL.iter().map(|&r| (r.label(), ws.closes(r))),
    )?;
    Counter::new(
        "market_feed_ws_frames_sent_total",
        "WebSocket messages sent, by event.",
    )
    .by(
        enc,
        "event",
        Event::ALL.iter().map(|&e| (e.name(), ws.frames(e))),
    )?;
    Counter::new(
        "market_feed_ws_bytes_sent_total",
        "WebSocket payload bytes sent, by event.",
    )
    .by(
        enc,
        "event",
        Event::ALL.iter().map(|&e| (e.name(), ws.bytes(e))),
    )?;
    Counter::new(
        "market_feed_ws_wire_bytes_sent_total",
        "WebSocket message bytes as written to the sockets (compressed for permessage-deflate clients), by event.",
    )
    .by(
        enc,
        "event",
        Event::ALL.iter().map(|&e| (e.name(), ws.wire_bytes(e))),
    )?;
    Gauge::new(
        "market_feed_ws_deflate_connections",
        "WebSocket connections open now that negotiated permessage-deflate.",
    )
    .value(enc, ws.deflate_open())?;
    Counter::new(
        "market_feed_ws_refused_messages_total",
        "Client messages answered with an error event.",
    )
    .value(enc, ws.refusals())
}

fn hub(enc: &mut DescriptorEncoder<'_>, state: &AppState) -> std::fmt::Result {
    let hub = state.hub().stats();
    Gauge::new("market_feed_hub_subscribers", "Hub subscriptions alive.")
        .value(enc, hub.subscribers)?;
    Counter::new(
        "market_feed_hub_frames_published_total",
        "Batches serialized once and published by the hub.",
    )
    .value(enc, hub.frames_published)?;
    Counter::new(
        "market_feed_hub_bytes_published_total",
        "Bytes of the batches published (each counted once, whatever the number of subscribers).",
    )
    .value(enc, hub.bytes_published)?;
    Counter::new(
        "market_feed_hub_resumes_total",
        "Resume requests in the server's epoch, by outcome (replayed: the missed batches were sent; snapshot: they were no longer all kept).",
    )
    .by(
        enc,
        "outcome",
        [
            ("replayed", hub.resumes),
            ("snapshot", hub.resume_fallbacks),
        ],
    )?;
    Counter::new(
        "market_feed_hub_batches_replayed_total",
        "Batch frames sent to resuming clients.",
    )
    .value(enc, hub.batches_replayed)?;
    Counter::new(
        "market_feed_slow_consumer_snapshots_total",
        "Snapshots sent to subscribers that fell behind (their backlog was discarded).",
    )
    .value(enc, hub.laggard_snapshots)
}

fn source(enc: &mut DescriptorEncoder<'_>, state: &AppState) -> std::fmt::Result {
    use std::sync::atomic::Ordering::Relaxed;
    let feed = state.feed();
    let per_topic = |read: fn(&market_feed::feed::TopicStats) -> u64| {
        Topic::ALL.map(|t| (t.as_str(), read(feed.topic(t))))
    };
    Counter::new(
        "market_feed_source_requests_total",
        "Source fetches (refreshes), by topic.",
    )
    .by(enc, "topic", per_topic(|s| s.fetches.load(Relaxed)))?;
    Counter::new(
        "market_feed_source_errors_total",
        "Fetches that failed in whole or in part, by topic.",
    )
    .by(enc, "topic", per_topic(|s| s.failures.load(Relaxed)))?;
    Counter::new(
        "market_feed_source_unauthorized_total",
        "Fetches refused for the access token, by topic.",
    )
    .by(enc, "topic", per_topic(|s| s.unauthorized.load(Relaxed)))?;
    Counter::new(
        "market_feed_refresh_overruns_total",
        "Refreshes that took longer than their interval, by topic.",
    )
    .by(enc, "topic", per_topic(|s| s.overruns.load(Relaxed)))?;
    families::histogram(
        enc,
        "market_feed_source_latency_seconds",
        "How long a refresh's fetch took (real time), by topic.",
        "topic",
        Topic::ALL.map(|t| {
            let (buckets, count, sum) = feed.topic(t).duration.snapshot();
            let buckets: Vec<(f64, u64)> = DURATION_BUCKETS
                .iter()
                .copied()
                .zip(buckets)
                .chain(std::iter::once((
                    f64::MAX,
                    count.saturating_sub(buckets.iter().sum()),
                )))
                .collect();
            (t.as_str(), buckets, count, sum)
        }),
    )?;
    let states = [
        FeedState::Ok,
        FeedState::Degraded,
        FeedState::Stale,
        FeedState::Unauthorized,
    ];
    Gauge::new(
        "market_feed_feed_state",
        "1 for the current source health of each topic.",
    )
    .by_pair(
        enc,
        ("topic", "state"),
        Topic::ALL.iter().flat_map(|&t| {
            let current = state.hub().feed_status(t).state;
            states
                .iter()
                .map(move |&s| ((t.as_str(), s.as_str()), u64::from(current == s)))
        }),
    )?;
    let missing = state.missing_instruments();
    Gauge::new(
        "market_feed_instruments_missing",
        "Instruments of the universe the broker cannot quote now, by reason (unknown: the broker does not know the key, held back until the next trading day; no_price: answered without a price or left out).",
    )
    .by(
        enc,
        "reason",
        market_feed::source::MissingReason::ALL.iter().map(|&r| {
            let n = missing.iter().filter(|m| m.reason == r).count();
            (r.label(), n as u64)
        }),
    )
}

fn end_of_day(enc: &mut DescriptorEncoder<'_>, state: &AppState) -> std::fmt::Result {
    use std::sync::atomic::Ordering::Relaxed;
    let feed = state.feed();
    Counter::new(
        "market_feed_eod_snapshots_total",
        "End-of-day snapshots stored (one per topic and trading day).",
    )
    .value(enc, feed.eod_stored.load(Relaxed))?;
    Counter::new(
        "market_feed_eod_failures_total",
        "End-of-day attempts that failed and were retried.",
    )
    .value(enc, feed.eod_failures.load(Relaxed))?;
    Gauge::new(
        "market_feed_eod_last_trading_day",
        "Trading day of the last stored end-of-day snapshot, as YYYYMMDD (0: none since start).",
    )
    .value(enc, feed.eod_last_day.load(Relaxed))?;
    Counter::new(
        "market_feed_checkpoints_total",
        "Intraday checkpoints saved.",
    )
    .value(enc, feed.checkpoints.load(Relaxed))?;
    Counter::new(
        "market_feed_checkpoint_failures_total",
        "Intraday checkpoints that failed to save.",
    )
    .value(enc, feed.checkpoint_failures.load(Relaxed))
}

/// The streaming source (`--source upstox-stream`); all zero with a polled source.
fn stream(enc: &mut DescriptorEncoder<'_>, state: &AppState) -> std::fmt::Result {
    use std::sync::atomic::Ordering::Relaxed;
    let stream = &state.feed().stream;
    Gauge::new(
        "market_feed_stream_connected",
        "1 while the broker's market data stream is connected.",
    )
    .value(enc, u64::from(stream.connected.load(Relaxed)))?;
    Counter::new(
        "market_feed_stream_connects_total",
        "Stream connections opened (each after a fresh authorize call).",
    )
    .value(enc, stream.connects.load(Relaxed))?;
    Counter::new(
        "market_feed_stream_disconnects_total",
        "Stream connections lost or refused in the service window (each followed by a reconnect).",
    )
    .value(enc, stream.disconnects.load(Relaxed))?;
    Counter::new(
        "market_feed_stream_ticks_total",
        "Instrument ticks received from the stream.",
    )
    .value(enc, stream.ticks.load(Relaxed))?;
    Counter::new(
        "market_feed_stream_batches_total",
        "Batches of changed instruments published from the stream.",
    )
    .value(enc, stream.batches.load(Relaxed))
}

fn market(enc: &mut DescriptorEncoder<'_>, state: &AppState) -> std::fmt::Result {
    let status = state.clock().status();
    Gauge::new(
        "market_feed_market_phase",
        "1 for the current market phase.",
    )
    .by(
        enc,
        "phase",
        [Phase::Closed, Phase::PreOpen, Phase::Open, Phase::PostClose]
            .map(|p| (p.as_str(), u64::from(status.phase == p))),
    )?;
    Gauge::new(
        "market_feed_live",
        "1 while the service window is open and prices are fetched.",
    )
    .value(enc, u64::from(status.live))?;
    Gauge::new(
        "market_feed_ready",
        "1 once ready (as /readyz): the latest closes are loaded and the feed runs, or in a cluster the latest values are loaded.",
    )
    .value(enc, u64::from(state.is_ready()))
}
