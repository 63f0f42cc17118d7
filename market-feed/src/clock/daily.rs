//! Daily jobs on the market clock: the next occurrence of an IST time of day
//! ([`next_daily_at`]) and a sleep until it ([`MarketClock::sleep_until_daily`]), shared by
//! the reference-data refreshers (holiday list, instrument universe) that run at 08:00 IST.
//!
//! Both follow the market clock, so a scaled or shifted clock (`at:...x60`) runs them at its
//! own pace in tests.

use time::{Duration, OffsetDateTime, Time};

use super::{
    MarketClock,
    ist::{at_ist, ist_date},
};

/// The time of day (IST) at which reference data is refreshed: 08:00, before the 09:00
/// pre-open.
pub const REFRESH_AT: Time = time::macros::time!(08:00);

/// The first instant strictly after `after` at which the IST wall clock reads `at`.
///
/// ```
/// use market_feed::clock::next_daily_at;
/// use time::macros::{datetime, time};
/// assert_eq!(next_daily_at(datetime!(2027-01-25 07:59 +05:30), time!(08:00)), datetime!(2027-01-25 08:00 +05:30));
/// assert_eq!(next_daily_at(datetime!(2027-01-25 08:00 +05:30), time!(08:00)), datetime!(2027-01-26 08:00 +05:30));
/// ```
pub fn next_daily_at(after: OffsetDateTime, at: Time) -> OffsetDateTime {
    let today = ist_date(after);
    let candidate = at_ist(today, at);
    if candidate > after {
        candidate
    } else {
        // IST has no daylight saving: the same wall-clock time is exactly a day later.
        candidate + Duration::days(1)
    }
}

impl MarketClock {
    /// Sleeps until the clock next reads `at` IST (strictly after now) and returns that
    /// instant.
    ///
    /// ```
    /// use market_feed::clock::{MarketClock, REFRESH_AT};
    /// use time::macros::datetime;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let clock = MarketClock::fixed(datetime!(2027-01-25 07:00 +05:30));
    /// let c = clock.clone();
    /// let wait = tokio::spawn(async move { c.sleep_until_daily(REFRESH_AT).await });
    /// tokio::task::yield_now().await; // the sleeper has taken 07:00 as "now"
    /// clock.set(datetime!(2027-01-25 08:00 +05:30)).unwrap();
    /// assert_eq!(wait.await.unwrap(), datetime!(2027-01-25 08:00 +05:30));
    /// # }
    /// ```
    pub async fn sleep_until_daily(&self, at: Time) -> OffsetDateTime {
        let when = next_daily_at(self.now(), at);
        self.sleep_until(when).await;
        when
    }
}
