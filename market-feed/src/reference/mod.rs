//! Reference data that stays current by itself: the broker's holiday list merged into the
//! clock's calendar ([`CalendarRefresher`]), fetched through a [`CalendarSource`] such as
//! Upstox's holiday endpoint ([`UpstoxHolidays`]).
//!
//! An embedding application refreshes its clock the same way the server does:
//!
//! ```no_run
//! use std::sync::Arc;
//! use market_feed::{clock::MarketClock, reference::{CalendarRefresher, UpstoxHolidays}};
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = MarketClock::system();
//! let source = UpstoxHolidays::new("https://api.upstox.com", None)?;
//! let refresher = Arc::new(CalendarRefresher::new(clock.clone(), Some(Arc::new(source)), None));
//! refresher.start().await; // stored copy, then one fetch
//! tokio::spawn(refresher.run_daily(tokio_util::sync::CancellationToken::new())); // 08:00 IST
//! # Ok(()) }
//! ```

mod calendar;
mod upstox_holidays;

pub use calendar::{CALENDAR_DOC, CalendarRefresher, RefreshStats};
pub use upstox_holidays::{
    AnswerError, CalendarFetchError, CalendarSource, USER_AGENT, UpstoxHolidays,
};
