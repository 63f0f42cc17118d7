//! Daily schedules for reference-data refreshers: "every day at 08:00 IST" on the market clock.
//!
//! The clock may be shifted and scaled (`--clock at:...x60`), so a refresher never sleeps a
//! fixed real duration: it asks for the next instant with the wanted IST time of day and
//! sleeps until the clock reads it.
//!
//! ```
//! use market_feed::refresh::{next_daily_at, REFERENCE_REFRESH_AT};
//! use time::macros::datetime;
//!
//! let next = next_daily_at(datetime!(2026-01-29 07:59 +05:30), REFERENCE_REFRESH_AT);
//! assert_eq!(next, datetime!(2026-01-29 08:00 +05:30));
//! let next = next_daily_at(datetime!(2026-01-29 08:00 +05:30), REFERENCE_REFRESH_AT);
//! assert_eq!(next, datetime!(2026-01-30 08:00 +05:30));
//! ```

use time::{Duration, OffsetDateTime, Time, macros::time};
use tokio_util::sync::CancellationToken;

use crate::clock::{MarketClock, at_ist, ist_date};

/// When reference data (the instrument file, the holiday list) is fetched each day, IST: after
/// the broker publishes the day's files (around 06:00) and before the pre-open.
pub const REFERENCE_REFRESH_AT: Time = time!(08:00);

/// The first instant strictly after `now` whose IST time of day is `at`.
///
/// See the [module docs](self) for an example.
pub fn next_daily_at(now: OffsetDateTime, at: Time) -> OffsetDateTime {
    let today = at_ist(ist_date(now), at);
    if today > now {
        today
    } else {
        at_ist(ist_date(now) + Duration::days(1), at)
    }
}

/// Sleeps until the clock reaches the next `at` (IST); returns that instant, or `None` when
/// `shutdown` came first.
///
/// ```
/// use market_feed::{clock::MarketClock, refresh::{daily_at, REFERENCE_REFRESH_AT}};
/// use time::macros::datetime;
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let clock = MarketClock::scaled(datetime!(2026-01-29 07:59 +05:30), 60.0);
/// let shutdown = tokio_util::sync::CancellationToken::new();
/// let at = daily_at(&clock, REFERENCE_REFRESH_AT, &shutdown).await;
/// assert_eq!(at, Some(datetime!(2026-01-29 08:00 +05:30)));
/// # }
/// ```
pub async fn daily_at(
    clock: &MarketClock,
    at: Time,
    shutdown: &CancellationToken,
) -> Option<OffsetDateTime> {
    let next = next_daily_at(clock.now(), at);
    tokio::select! {
        biased;
        () = shutdown.cancelled() => None,
        () = clock.sleep_until(next) => Some(next),
    }
}
