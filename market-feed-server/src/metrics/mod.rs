//! `GET /metrics`: the Prometheus text exposition of what the parts count.
//!
//! Written by hand from the atomics the hub, the feed and the WebSocket endpoint already keep:
//! recording costs a relaxed atomic add on the hot path, and the exposition needs no registry.
//! Every metric is listed with its meaning in docs/operations.md.

use std::fmt::Write;

use market_feed::{clock::Phase, feed::DURATION_BUCKETS, hub::FeedState, model::Topic};

mod reference;

use crate::{
    state::AppState,
    stats::{CloseReason, Event, Rejection},
};

pub(crate) fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Renders every metric.
///
/// ```
/// use market_feed_server::{metrics::render, state::AppState};
/// let text = render(&AppState::for_tests(market_feed::clock::MarketClock::system()));
/// assert!(text.contains("market_feed_ws_connections 0"));
/// assert!(text.contains("# TYPE market_feed_source_latency_seconds histogram"));
/// ```
pub fn render(state: &AppState) -> String {
    let mut o = String::with_capacity(8 * 1024);
    let ws = state.ws_stats();
    head(
        &mut o,
        "market_feed_ws_connections",
        "gauge",
        "WebSocket connections open now.",
    );
    let _ = writeln!(o, "market_feed_ws_connections {}", ws.open());
    head(
        &mut o,
        "market_feed_ws_connections_accepted_total",
        "counter",
        "WebSocket connections accepted since start.",
    );
    let _ = writeln!(
        o,
        "market_feed_ws_connections_accepted_total {}",
        ws.accepted()
    );
    head(
        &mut o,
        "market_feed_ws_rejected_total",
        "counter",
        "WebSocket upgrades refused, by reason.",
    );
    for r in Rejection::ALL {
        let _ = writeln!(
            o,
            "market_feed_ws_rejected_total{{reason=\"{}\"}} {}",
            r.label(),
            ws.rejections(r)
        );
    }
    head(
        &mut o,
        "market_feed_ws_closed_total",
        "counter",
        "WebSocket connections ended, by reason (slow_consumer: accepted no bytes for 30 s).",
    );
    for r in CloseReason::ALL {
        let _ = writeln!(
            o,
            "market_feed_ws_closed_total{{reason=\"{}\"}} {}",
            r.label(),
            ws.closes(r)
        );
    }
    head(
        &mut o,
        "market_feed_ws_frames_sent_total",
        "counter",
        "WebSocket messages sent, by event.",
    );
    for e in Event::ALL {
        let _ = writeln!(
            o,
            "market_feed_ws_frames_sent_total{{event=\"{}\"}} {}",
            e.name(),
            ws.frames(e)
        );
    }
    head(
        &mut o,
        "market_feed_ws_bytes_sent_total",
        "counter",
        "WebSocket payload bytes sent, by event.",
    );
    for e in Event::ALL {
        let _ = writeln!(
            o,
            "market_feed_ws_bytes_sent_total{{event=\"{}\"}} {}",
            e.name(),
            ws.bytes(e)
        );
    }
    head(
        &mut o,
        "market_feed_ws_refused_messages_total",
        "counter",
        "Client messages answered with an error event.",
    );
    let _ = writeln!(o, "market_feed_ws_refused_messages_total {}", ws.refusals());

    let hub = state.hub().stats();
    head(
        &mut o,
        "market_feed_hub_subscribers",
        "gauge",
        "Hub subscriptions alive.",
    );
    let _ = writeln!(o, "market_feed_hub_subscribers {}", hub.subscribers);
    head(
        &mut o,
        "market_feed_hub_frames_published_total",
        "counter",
        "Batches serialized once and published by the hub.",
    );
    let _ = writeln!(
        o,
        "market_feed_hub_frames_published_total {}",
        hub.frames_published
    );
    head(
        &mut o,
        "market_feed_hub_bytes_published_total",
        "counter",
        "Bytes of the batches published (each counted once, whatever the number of subscribers).",
    );
    let _ = writeln!(
        o,
        "market_feed_hub_bytes_published_total {}",
        hub.bytes_published
    );
    head(
        &mut o,
        "market_feed_slow_consumer_snapshots_total",
        "counter",
        "Snapshots sent to subscribers that fell behind (their backlog was discarded).",
    );
    let _ = writeln!(
        o,
        "market_feed_slow_consumer_snapshots_total {}",
        hub.laggard_snapshots
    );

    let feed = state.feed();
    head(
        &mut o,
        "market_feed_source_requests_total",
        "counter",
        "Source fetches (refreshes), by topic.",
    );
    for t in Topic::ALL {
        let _ = writeln!(
            o,
            "market_feed_source_requests_total{{topic=\"{t}\"}} {}",
            feed.topic(t)
                .fetches
                .load(std::sync::atomic::Ordering::Relaxed)
        );
    }
    head(
        &mut o,
        "market_feed_source_errors_total",
        "counter",
        "Fetches that failed in whole or in part, by topic.",
    );
    for t in Topic::ALL {
        let _ = writeln!(
            o,
            "market_feed_source_errors_total{{topic=\"{t}\"}} {}",
            feed.topic(t)
                .failures
                .load(std::sync::atomic::Ordering::Relaxed)
        );
    }
    head(
        &mut o,
        "market_feed_source_unauthorized_total",
        "counter",
        "Fetches refused for the access token, by topic.",
    );
    for t in Topic::ALL {
        let _ = writeln!(
            o,
            "market_feed_source_unauthorized_total{{topic=\"{t}\"}} {}",
            feed.topic(t)
                .unauthorized
                .load(std::sync::atomic::Ordering::Relaxed)
        );
    }
    head(
        &mut o,
        "market_feed_refresh_overruns_total",
        "counter",
        "Refreshes that took longer than their interval, by topic.",
    );
    for t in Topic::ALL {
        let _ = writeln!(
            o,
            "market_feed_refresh_overruns_total{{topic=\"{t}\"}} {}",
            feed.topic(t)
                .overruns
                .load(std::sync::atomic::Ordering::Relaxed)
        );
    }
    head(
        &mut o,
        "market_feed_source_latency_seconds",
        "histogram",
        "How long a refresh's fetch took (real time), by topic.",
    );
    for t in Topic::ALL {
        let (buckets, count, sum) = feed.topic(t).duration.snapshot();
        let mut cumulative = 0;
        for (bound, n) in DURATION_BUCKETS.iter().zip(buckets) {
            cumulative += n;
            let _ = writeln!(
                o,
                "market_feed_source_latency_seconds_bucket{{topic=\"{t}\",le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            o,
            "market_feed_source_latency_seconds_bucket{{topic=\"{t}\",le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            o,
            "market_feed_source_latency_seconds_sum{{topic=\"{t}\"}} {sum}"
        );
        let _ = writeln!(
            o,
            "market_feed_source_latency_seconds_count{{topic=\"{t}\"}} {count}"
        );
    }
    head(
        &mut o,
        "market_feed_feed_state",
        "gauge",
        "1 for the current source health of each topic.",
    );
    for t in Topic::ALL {
        let current = state.hub().feed_status(t).state;
        for s in [
            FeedState::Ok,
            FeedState::Degraded,
            FeedState::Stale,
            FeedState::Unauthorized,
        ] {
            let name = serde_json::to_value(s)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "market_feed_feed_state{{topic=\"{t}\",state=\"{name}\"}} {}",
                u8::from(current == s)
            );
        }
    }
    let missing = state.missing_instruments();
    head(
        &mut o,
        "market_feed_instruments_missing",
        "gauge",
        "Instruments of the universe the broker cannot quote now, by reason (unknown: the broker does not know the key, held back until the next trading day; no_price: answered without a price or left out).",
    );
    for r in market_feed::source::MissingReason::ALL {
        let n = missing.iter().filter(|m| m.reason == r).count();
        let _ = writeln!(
            o,
            "market_feed_instruments_missing{{reason=\"{}\"}} {n}",
            r.label()
        );
    }
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    head(
        &mut o,
        "market_feed_eod_snapshots_total",
        "counter",
        "End-of-day snapshots stored (one per topic and trading day).",
    );
    let _ = writeln!(
        o,
        "market_feed_eod_snapshots_total {}",
        load(&feed.eod_stored)
    );
    head(
        &mut o,
        "market_feed_eod_failures_total",
        "counter",
        "End-of-day attempts that failed and were retried.",
    );
    let _ = writeln!(
        o,
        "market_feed_eod_failures_total {}",
        load(&feed.eod_failures)
    );
    head(
        &mut o,
        "market_feed_eod_last_trading_day",
        "gauge",
        "Trading day of the last stored end-of-day snapshot, as YYYYMMDD (0: none since start).",
    );
    let _ = writeln!(
        o,
        "market_feed_eod_last_trading_day {}",
        feed.eod_last_day.load(std::sync::atomic::Ordering::Relaxed)
    );
    head(
        &mut o,
        "market_feed_checkpoints_total",
        "counter",
        "Intraday checkpoints saved.",
    );
    let _ = writeln!(
        o,
        "market_feed_checkpoints_total {}",
        load(&feed.checkpoints)
    );
    head(
        &mut o,
        "market_feed_checkpoint_failures_total",
        "counter",
        "Intraday checkpoints that failed to save.",
    );
    let _ = writeln!(
        o,
        "market_feed_checkpoint_failures_total {}",
        load(&feed.checkpoint_failures)
    );

    reference::calendar(&mut o, state);
    reference::universe(&mut o, state);

    let status = state.clock().status();
    head(
        &mut o,
        "market_feed_market_phase",
        "gauge",
        "1 for the current market phase.",
    );
    for p in [Phase::Closed, Phase::PreOpen, Phase::Open, Phase::PostClose] {
        let _ = writeln!(
            o,
            "market_feed_market_phase{{phase=\"{p}\"}} {}",
            u8::from(status.phase == p)
        );
    }
    head(
        &mut o,
        "market_feed_live",
        "gauge",
        "1 while the service window is open and prices are fetched.",
    );
    let _ = writeln!(o, "market_feed_live {}", u8::from(status.live));
    head(
        &mut o,
        "market_feed_ready",
        "gauge",
        "1 once the store is open, the latest closes are loaded and the feed runs.",
    );
    let _ = writeln!(o, "market_feed_ready {}", u8::from(feed.is_ready()));
    reference::http(&mut o, state);
    o
}
