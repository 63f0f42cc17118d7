//! The clock's replaceable calendar: [`MarketClock::set_calendar`] swaps it for every clone of
//! the clock, and a version counter wakes the sleepers that computed a deadline from the old
//! one ([`MarketClock::sleep_until_or_calendar_change`]), so a holiday learned at 08:00 takes
//! effect at once.

use std::sync::{Arc, RwLock};

use time::OffsetDateTime;
use tokio::sync::watch;

use super::{Calendar, MarketClock};

/// The replaceable calendar every clone of a clock shares, and a version counter that tells
/// sleepers it changed.
#[derive(Debug)]
pub(super) struct CalendarCell {
    current: RwLock<Arc<Calendar>>,
    version: watch::Sender<u64>,
}

impl CalendarCell {
    pub(super) fn new(calendar: Arc<Calendar>) -> Self {
        let (version, _) = watch::channel(0);
        Self {
            current: RwLock::new(calendar),
            version,
        }
    }

    pub(super) fn get(&self) -> Arc<Calendar> {
        match self.current.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl MarketClock {
    /// Replaces the calendar for every clone of this clock, and wakes every
    /// [`MarketClock::sleep_until_or_calendar_change`] sleeper.
    ///
    /// ```
    /// use market_feed::clock::{Calendar, Exchange, MarketClock};
    /// use std::sync::Arc;
    /// use time::macros::{date, datetime};
    /// let clock = MarketClock::fixed(datetime!(2031-01-01 10:00 +05:30));
    /// let shared = clock.clone();
    /// let extra = "years = [2031]\n[[holiday]]\ndate = \"2031-01-01\"\nname = \"New Year\"";
    /// clock.set_calendar(Arc::new(Calendar::from_toml_str(extra, "extra", Exchange::Nse)?));
    /// assert_eq!(shared.status().reason.as_deref(), Some("holiday: New Year"));
    /// assert_eq!(shared.calendar_version(), 1);
    /// # Ok::<(), market_feed::clock::CalendarError>(())
    /// ```
    pub fn set_calendar(&self, calendar: Arc<Calendar>) {
        match self.inner.calendar.current.write() {
            Ok(mut c) => *c = calendar,
            Err(poisoned) => *poisoned.into_inner() = calendar,
        }
        self.inner.calendar.version.send_modify(|v| *v += 1);
    }

    /// How many times the calendar was replaced: read it before computing a deadline from the
    /// calendar, and pass it to [`MarketClock::sleep_until_or_calendar_change`].
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// assert_eq!(MarketClock::system().calendar_version(), 0);
    /// ```
    pub fn calendar_version(&self) -> u64 {
        *self.inner.calendar.version.borrow()
    }

    /// Sleeps until the clock reads `deadline` (true) or until the calendar is no longer at
    /// `version` (false: recompute the deadline). A change between reading `version` and
    /// this call is not missed.
    ///
    /// ```
    /// use market_feed::clock::{Calendar, Exchange, MarketClock};
    /// use std::sync::Arc;
    /// use time::macros::datetime;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let clock = MarketClock::fixed(datetime!(2026-01-29 08:00 +05:30));
    /// let v = clock.calendar_version();
    /// clock.set_calendar(Arc::new(Calendar::bundled(Exchange::Nse)));
    /// assert!(!clock.sleep_until_or_calendar_change(datetime!(2026-01-29 09:13 +05:30), v).await);
    /// # }
    /// ```
    pub async fn sleep_until_or_calendar_change(
        &self,
        deadline: OffsetDateTime,
        version: u64,
    ) -> bool {
        let mut rx = self.inner.calendar.version.subscribe();
        tokio::select! {
            biased;
            _ = rx.wait_for(|v| *v != version) => false,
            () = self.sleep_until(deadline) => true,
        }
    }
}
