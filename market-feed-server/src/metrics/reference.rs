//! The reference data and connection gauges: the calendar's coverage, the universe served,
//! and the HTTP connections of the accept loop.

use std::fmt::Write;

use market_feed::model::Topic;

use super::head;
use crate::state::AppState;

/// The calendar's coverage: the last date covered (confirmed or provisional) and the last
/// confirmed one, as `YYYYMMDD` (0: today's year is not covered).
pub(super) fn calendar(o: &mut String, state: &AppState) {
    let clock = state.clock();
    let report =
        market_feed::clock::coverage_report(clock, market_feed::clock::ist_date(clock.now()));
    head(
        o,
        "market_feed_calendar_covered_until",
        "gauge",
        "Last date the trading calendar covers (confirmed or provisional), as YYYYMMDD; 0: today's year is not covered and every weekday is assumed to trade.",
    );
    let _ = writeln!(
        o,
        "market_feed_calendar_covered_until {}",
        market_feed::clock::date_number(report.covered_until)
    );
    head(
        o,
        "market_feed_calendar_confirmed_until",
        "gauge",
        "Last date the trading calendar covers with a confirmed (exchange or broker) list, as YYYYMMDD; 0: none.",
    );
    let _ = writeln!(
        o,
        "market_feed_calendar_confirmed_until {}",
        market_feed::clock::date_number(report.confirmed_until)
    );
}

/// The universe: size per topic, where it came from, its age, staged changes, refresh health.
pub(super) fn universe(o: &mut String, state: &AppState) {
    let live = state.live_universe();
    let report = live.report();
    head(
        o,
        "market_feed_universe_instruments",
        "gauge",
        "Instruments served, by topic.",
    );
    for (topic, n) in [
        (Topic::Indices, report.indices),
        (Topic::Prices, report.stocks),
    ] {
        let _ = writeln!(
            o,
            "market_feed_universe_instruments{{topic=\"{topic}\"}} {n}"
        );
    }
    head(
        o,
        "market_feed_universe_source",
        "gauge",
        "1 for where the served universe came from: bundled, file, stored (the last good instrument file, from the store) or upstox (fetched by this process).",
    );
    for origin in market_feed::universe::UniverseOrigin::ALL {
        let _ = writeln!(
            o,
            "market_feed_universe_source{{source=\"{}\"}} {}",
            origin.as_str(),
            u8::from(origin == report.origin)
        );
    }
    if let Some(at) = report.fetched_at {
        head(
            o,
            "market_feed_universe_age_seconds",
            "gauge",
            "Clock seconds since the served universe was fetched (absent for the bundled list or a file).",
        );
        let age = (state.clock().now_ms() - at).max(0) / 1000;
        let _ = writeln!(o, "market_feed_universe_age_seconds {age}");
    }
    head(
        o,
        "market_feed_universe_pending_changes",
        "gauge",
        "Listings plus delistings staged for the next session.",
    );
    let pending = report
        .pending
        .as_ref()
        .map_or(0, |d| d.listed.len() + d.delisted.len());
    let _ = writeln!(o, "market_feed_universe_pending_changes {pending}");
    head(
        o,
        "market_feed_universe_refresh_failed",
        "gauge",
        "1 when the last download of the instrument file failed or was refused (the last good universe is served).",
    );
    let _ = writeln!(
        o,
        "market_feed_universe_refresh_failed {}",
        u8::from(report.last_error.is_some())
    );
}

/// HTTP connections open now and refused.
pub(super) fn http(o: &mut String, state: &AppState) {
    let (http, limit) = (state.http_stats(), state.http().max_connections);
    head(
        o,
        "market_feed_http_connections",
        "gauge",
        "HTTP connections open now, before any WebSocket upgrade.",
    );
    let open = limit.saturating_sub(state.http_connections().available_permits());
    let _ = writeln!(o, "market_feed_http_connections {open}");
    head(
        o,
        "market_feed_http_refused_total",
        "counter",
        "HTTP connections refused or closed: over_limit (503), header_timeout (no complete request head in time).",
    );
    let _ = writeln!(
        o,
        "market_feed_http_refused_total{{reason=\"over_limit\"}} {}",
        http.over_limit()
    );
    let _ = writeln!(
        o,
        "market_feed_http_refused_total{{reason=\"header_timeout\"}} {}",
        http.header_timeouts()
    );
}
