//! The reference data and connection gauges: the calendar's coverage, the universe served,
//! and the HTTP connections of the accept loop.

use market_feed::model::Topic;
use prometheus_client::encoding::DescriptorEncoder;

use super::families::{Counter, Gauge};
use crate::state::AppState;

/// The calendar's coverage: the last date covered (confirmed or provisional) and the last
/// confirmed one, as `YYYYMMDD` (0: today's year is not covered).
pub(super) fn calendar(enc: &mut DescriptorEncoder<'_>, state: &AppState) -> std::fmt::Result {
    let clock = state.clock();
    let report =
        market_feed::clock::coverage_report(clock, market_feed::clock::ist_date(clock.now()));
    Gauge::new(
        "market_feed_calendar_covered_until",
        "Last date the trading calendar covers (confirmed or provisional), as YYYYMMDD; 0: today's year is not covered and every weekday is assumed to trade.",
    )
    .value(enc, market_feed::clock::date_number(report.covered_until))?;
    Gauge::new(
        "market_feed_calendar_confirmed_until",
        "Last date the trading calendar covers with a confirmed (exchange or broker) list, as YYYYMMDD; 0: none.",
    )
    .value(enc, market_feed::clock::date_number(report.confirmed_until))
}

/// The universe: size per topic, where it came from, its age, staged changes, refresh health.
pub(super) fn universe(enc: &mut DescriptorEncoder<'_>, state: &AppState) -> std::fmt::Result {
    let report = state.live_universe().report();
    Gauge::new(
        "market_feed_universe_instruments",
        "Instruments served, by topic.",
    )
    .by(
        enc,
        "topic",
        [
            (Topic::Indices.as_str(), report.indices as u64),
            (Topic::Prices.as_str(), report.stocks as u64),
        ],
    )?;
    Gauge::new(
        "market_feed_universe_source",
        "1 for where the served universe came from: bundled, file, stored (the last good instrument file, from the store) or upstox (fetched by this process).",
    )
    .by(
        enc,
        "source",
        market_feed::universe::UniverseOrigin::ALL
            .iter()
            .map(|&o| (o.as_str(), u64::from(o == report.origin))),
    )?;
    if let Some(at) = report.fetched_at {
        let age = (state.clock().now_ms() - at).max(0) / 1000;
        Gauge::new(
            "market_feed_universe_age_seconds",
            "Clock seconds since the served universe was fetched (absent for the bundled list or a file).",
        )
        .value(enc, age)?;
    }
    let pending = report
        .pending
        .as_ref()
        .map_or(0, |d| d.listed.len() + d.delisted.len());
    Gauge::new(
        "market_feed_universe_pending_changes",
        "Listings plus delistings staged for the next session.",
    )
    .value(enc, pending)?;
    Gauge::new(
        "market_feed_universe_refresh_failed",
        "1 when the last download of the instrument file failed or was refused (the last good universe is served).",
    )
    .value(enc, u64::from(report.last_error.is_some()))
}

/// HTTP connections open now and refused.
pub(super) fn http(enc: &mut DescriptorEncoder<'_>, state: &AppState) -> std::fmt::Result {
    let (http, limit) = (state.http_stats(), state.http().max_connections);
    let open = limit.saturating_sub(state.http_connections().available_permits());
    Gauge::new(
        "market_feed_http_connections",
        "HTTP connections open now, before any WebSocket upgrade.",
    )
    .value(enc, open)?;
    Gauge::new(
        "market_feed_http_connections_max",
        "HTTP connections allowed at once before their upgrade (--max-http-connections).",
    )
    .value(enc, limit)?;
    Counter::new(
        "market_feed_http_refused_total",
        "HTTP connections refused or closed: over_limit (503), header_timeout (no complete request head in time).",
    )
    .by(
        enc,
        "reason",
        [
            ("over_limit", http.over_limit()),
            ("header_timeout", http.header_timeouts()),
        ],
    )
}
