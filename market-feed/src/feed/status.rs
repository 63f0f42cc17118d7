//! The market-status task: publishes the status at start-up and at every phase or `live`
//! change, and says in the log, in plain words, what the market is doing; and the one place
//! a topic's feed-status change is published.

use tokio_util::sync::CancellationToken;

use super::Ctx;
use crate::{
    clock::{MarketStatus, Phase, from_ms, ist_time},
    hub::FeedStatus,
};

/// One sentence about a market status, for the log.
///
/// ```
/// use market_feed::{clock::MarketClock, feed::describe_status};
/// use time::macros::datetime;
/// let clock = MarketClock::fixed(datetime!(2026-01-29 10:00 +05:30));
/// assert_eq!(describe_status(&clock.status()), "NSE is open for trading and the feed is live; post-close at 15:30 IST");
/// ```
pub fn describe_status(s: &MarketStatus) -> String {
    let when = ist_time(from_ms(s.next_change));
    let next = format!("{:02}:{:02} IST", when.hour(), when.minute());
    let next_day = crate::clock::ist_date(from_ms(s.next_change));
    let live = if s.live {
        "the feed is live"
    } else {
        "the feed is idle"
    };
    match s.phase {
        Phase::PreOpen => format!(
            "{} is in pre-open and {live}; trading opens at {next}",
            s.exchange
        ),
        Phase::Open => format!(
            "{} is open for trading and {live}; post-close at {next}",
            s.exchange
        ),
        Phase::PostClose => format!("{} has closed; post-close session until {next}", s.exchange),
        Phase::Closed => format!(
            "{} is closed ({}); next pre-open {} at {next}",
            s.exchange,
            s.reason.as_deref().unwrap_or("closed"),
            crate::clock::format_date(next_day),
        ),
    }
}

/// Publishes the current status; returns when it next changes.
pub(super) fn publish(ctx: &Ctx) -> time::OffsetDateTime {
    let now = ctx.clock.now();
    let status = ctx.clock.status_at(now);
    tracing::info!("{}", describe_status(&status));
    if let Err(e) = ctx.hub.publish_market_status(&status) {
        tracing::error!(error = %e, "cannot publish the market status");
    }
    ctx.clock.next_status_change_at(now)
}

/// Publishes the status at every change from `next` on (the start-up status is published by
/// the caller before any refresh, so the hub's `live` flag is right from the first snapshot).
pub(super) async fn run(
    ctx: std::sync::Arc<Ctx>,
    mut next: time::OffsetDateTime,
    shutdown: CancellationToken,
) {
    // A calendar change (a holiday learned from the broker) may change the status at once.
    let mut version = ctx.clock.calendar_version();
    while ctx.sleep_until_or_recalc(next, version, &shutdown).await {
        version = ctx.clock.calendar_version();
        next = publish(&ctx);
    }
}

/// Publishes a feed-status change, if there is one.
pub(super) fn publish_status(ctx: &Ctx, status: Option<FeedStatus>) {
    if let Some(status) = status {
        tracing::info!(topic = %status.topic, state = ?status.state, detail = %status.detail, "feed status changed");
        if let Err(e) = ctx.hub.publish_feed_status(status) {
            tracing::error!(error = %e, "cannot publish the feed status");
        }
    }
}
