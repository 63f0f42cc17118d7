//! The market clock: exchange time, sessions, phases and the feed's service window.
//!
//! [`MarketClock`] joins a [`Calendar`] (which dates trade, and when) with a [`TimeSource`]
//! (where "now" comes from: the system clock, a manual clock for tests, or a scaled clock for
//! demos). Everything it answers about an instant is a pure function of the calendar, the lead
//! time and that instant (the `*_at` methods), so it is table- and property-tested; the methods
//! without `_at` just apply them to "now".
//!
//! ```
//! use market_feed::clock::{MarketClock, Phase};
//! use time::macros::datetime;
//!
//! let clock = MarketClock::system();
//! // Friday 2026-01-23 after the close: the next change is Tuesday's pre-open, because
//! // Monday 2026-01-26 is Republic Day.
//! let t = clock.next_transition_at(datetime!(2026-01-23 16:30 +05:30));
//! assert_eq!(t.at, datetime!(2026-01-27 09:00 +05:30));
//! assert_eq!(t.phase, Phase::PreOpen);
//! ```

mod broker_list;
mod calendar;
mod calendar_error;
mod calendar_file;
mod coverage;
mod daily;
mod exchange;
mod ist;
mod merge;
mod schedule;
mod session;
mod session_times;
mod shared;
mod status;
mod time_source;

use std::sync::Arc;

use time::{Date, Duration, OffsetDateTime};

pub use broker_list::{
    BrokerDay, BrokerDays, HolidayEntry, OpenWindow, SPECIAL_PRE_OPEN, parse_holiday_answer,
};
pub use calendar::{BUNDLED_CALENDAR, Calendar, Coverage};
pub use calendar_error::CalendarError;
pub use coverage::{
    CoverageLine, CoverageReport, HORIZON, NEXT_HOLIDAYS, Severity, UpcomingHoliday,
    coverage_report, date_number,
};
pub use daily::{REFRESH_AT, next_daily_at};
pub use exchange::Exchange;
pub use ist::{IST, at_ist, from_ms, ist_date, ist_time, to_ms};
pub use merge::CalendarDifference;
pub use schedule::{Leg, Schedule, ScheduleError};
pub use session::{DayKind, Phase, ServiceWindow, Session, SessionKind};
pub use session_times::SessionTimes;
pub(crate) use status::deserialize_date;
pub use status::{MarketStatus, format_date, parse_date};
pub use time_source::{ClockSpec, ClockSpecError, ManualTime, TimeSource};

/// The default lead time: the service window opens 2 minutes before the session's open.
pub const DEFAULT_LEAD: Duration = Duration::minutes(2);

/// A clock operation that this kind of clock cannot do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// Only a manual clock ([`MarketClock::fixed`]) can be moved by hand.
    #[error(
        "this clock follows {0}: only a manual clock (MarketClock::fixed) can be moved by hand"
    )]
    NotManual(&'static str),
}

/// A phase change: when, and to which phase.
///
/// ```
/// use market_feed::clock::{MarketClock, Phase};
/// use time::macros::datetime;
/// let t = MarketClock::system().next_transition_at(datetime!(2026-01-29 09:12:59.999 +05:30));
/// assert_eq!((t.at, t.phase), (datetime!(2026-01-29 09:15 +05:30), Phase::Open));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The instant of the change.
    pub at: OffsetDateTime,
    /// The phase from that instant on.
    pub phase: Phase,
}

#[derive(Debug)]
struct Inner {
    calendar: Arc<shared::CalendarCell>,
    time: TimeSource,
    lead: Duration,
}

/// Exchange time: a calendar, a time source and the service window's lead time.
///
/// Cheap to clone (an `Arc` inside); share one per process. The calendar can be replaced while
/// the clock is shared ([`MarketClock::set_calendar`], e.g. when the broker's holiday list
/// arrives): every clone sees the new one, and sleepers that wait for the next transition with
/// [`MarketClock::sleep_until_or_calendar_change`] wake up to recompute.
///
/// ```
/// use market_feed::clock::{MarketClock, Phase};
/// use time::macros::datetime;
///
/// let clock = MarketClock::fixed(datetime!(2026-01-26 11:00 +05:30));
/// let status = clock.status();
/// assert_eq!(status.phase, Phase::Closed);
/// assert_eq!(status.reason.as_deref(), Some("holiday: Republic Day"));
/// ```
#[derive(Debug, Clone)]
pub struct MarketClock {
    inner: Arc<Inner>,
}

impl MarketClock {
    /// A clock over `calendar` reading `time`, with the default 2-minute lead.
    ///
    /// ```
    /// use market_feed::clock::{Calendar, Exchange, MarketClock, TimeSource};
    /// use std::sync::Arc;
    /// let clock = MarketClock::new(Arc::new(Calendar::bundled(Exchange::Bse)), TimeSource::System);
    /// assert_eq!(clock.calendar().exchange(), Exchange::Bse);
    /// ```
    pub fn new(calendar: Arc<Calendar>, time: TimeSource) -> Self {
        Self {
            inner: Arc::new(Inner {
                calendar: Arc::new(shared::CalendarCell::new(calendar)),
                time,
                lead: DEFAULT_LEAD,
            }),
        }
    }

    /// The same clock with another lead time (negative values count as zero).
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// # use time::{macros::{date, datetime}, Duration};
    /// let clock = MarketClock::system().with_lead(Duration::minutes(5));
    /// assert_eq!(clock.service_window(date!(2026-01-29)).unwrap().start, datetime!(2026-01-29 09:10 +05:30));
    /// ```
    pub fn with_lead(self, lead: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                calendar: self.inner.calendar.clone(),
                time: self.inner.time.clone(),
                lead: lead.max(Duration::ZERO),
            }),
        }
    }

    /// A clock on the bundled NSE calendar that runs as `spec` says (`real`, or
    /// `at:<RFC3339>[x<SPEED>]` as a command line gives it).
    ///
    /// ```
    /// # use market_feed::clock::{ClockSpec, MarketClock, Phase};
    /// let spec: ClockSpec = "at:2026-01-29T10:00:00+05:30x10".parse()?;
    /// assert_eq!(MarketClock::from_spec(spec).status().phase, Phase::Open);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_spec(spec: ClockSpec) -> Self {
        Self::new(
            Arc::new(Calendar::bundled(Exchange::Nse)),
            TimeSource::from_spec(spec),
        )
    }

    /// The bundled NSE calendar on the system clock.
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// assert!(MarketClock::system().now_ms() > 0);
    /// ```
    pub fn system() -> Self {
        Self::new(
            Arc::new(Calendar::bundled(Exchange::Nse)),
            TimeSource::System,
        )
    }

    /// The bundled NSE calendar on a manual clock that stands at `at` until moved with
    /// [`MarketClock::advance`] or [`MarketClock::set`].
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// # use time::macros::datetime;
    /// let clock = MarketClock::fixed(datetime!(2026-01-29 10:00 +05:30));
    /// assert_eq!(clock.now(), datetime!(2026-01-29 10:00 +05:30));
    /// ```
    pub fn fixed(at: OffsetDateTime) -> Self {
        let (time, _) = TimeSource::manual(at);
        Self::new(Arc::new(Calendar::bundled(Exchange::Nse)), time)
    }

    /// The bundled NSE calendar on a clock that starts at `start` and runs `speed` times faster
    /// than tokio's clock.
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// # use time::macros::datetime;
    /// let clock = MarketClock::scaled(datetime!(2026-01-29 09:12 +05:30), 60.0);
    /// assert!(clock.now() >= datetime!(2026-01-29 09:12 +05:30));
    /// ```
    pub fn scaled(start: OffsetDateTime, speed: f64) -> Self {
        Self::new(
            Arc::new(Calendar::bundled(Exchange::Nse)),
            TimeSource::scaled(start, speed),
        )
    }

    /// The current calendar: a snapshot that stays valid (and unchanged) while the clock's
    /// calendar is replaced.
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// assert!(MarketClock::system().calendar().covers_year(2026));
    /// ```
    pub fn calendar(&self) -> Arc<Calendar> {
        self.inner.calendar.get()
    }

    /// The time source.
    ///
    /// ```
    /// # use market_feed::clock::{MarketClock, TimeSource};
    /// assert!(matches!(MarketClock::system().time_source(), TimeSource::System));
    /// ```
    pub fn time_source(&self) -> &TimeSource {
        &self.inner.time
    }

    /// The service window's lead time.
    ///
    /// ```
    /// # use market_feed::clock::{MarketClock, DEFAULT_LEAD};
    /// assert_eq!(MarketClock::system().lead(), DEFAULT_LEAD);
    /// ```
    pub fn lead(&self) -> Duration {
        self.inner.lead
    }

    /// The current instant, in UTC.
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// # use time::macros::datetime;
    /// assert_eq!(MarketClock::fixed(datetime!(2026-01-29 10:00 UTC)).now(), datetime!(2026-01-29 10:00 UTC));
    /// ```
    pub fn now(&self) -> OffsetDateTime {
        self.inner.time.now()
    }

    /// The current instant in ms since the epoch (the wire's `ts` and `server_time`).
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// # use time::macros::datetime;
    /// assert_eq!(MarketClock::fixed(datetime!(1970-01-01 00:00:01 UTC)).now_ms(), 1000);
    /// ```
    pub fn now_ms(&self) -> i64 {
        to_ms(self.now())
    }

    /// Moves a manual clock forward.
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// # use time::{macros::datetime, Duration};
    /// let clock = MarketClock::fixed(datetime!(2026-01-29 10:00 UTC));
    /// clock.advance(Duration::minutes(1))?;
    /// assert_eq!(clock.now(), datetime!(2026-01-29 10:01 UTC));
    /// assert!(MarketClock::system().advance(Duration::minutes(1)).is_err());
    /// # Ok::<(), market_feed::clock::ClockError>(())
    /// ```
    pub fn advance(&self, by: Duration) -> Result<(), ClockError> {
        self.manual()?.advance(by);
        Ok(())
    }

    /// Sets a manual clock to an instant.
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// # use time::macros::datetime;
    /// let clock = MarketClock::fixed(datetime!(2026-01-29 10:00 UTC));
    /// clock.set(datetime!(2026-02-02 10:00 UTC))?;
    /// assert_eq!(clock.now(), datetime!(2026-02-02 10:00 UTC));
    /// # Ok::<(), market_feed::clock::ClockError>(())
    /// ```
    pub fn set(&self, to: OffsetDateTime) -> Result<(), ClockError> {
        self.manual()?.set(to);
        Ok(())
    }

    fn manual(&self) -> Result<&ManualTime, ClockError> {
        match &self.inner.time {
            TimeSource::Manual(m) => Ok(m),
            TimeSource::System => Err(ClockError::NotManual("the system clock")),
            TimeSource::Scaled { .. } => Err(ClockError::NotManual("a scaled clock")),
            TimeSource::Scheduled { .. } => Err(ClockError::NotManual("a scheduled clock")),
        }
    }

    /// Waits until the clock reads `deadline`, honouring its scale (see
    /// [`TimeSource::sleep_until`]).
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// # use time::macros::datetime;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let clock = MarketClock::fixed(datetime!(2026-01-29 10:00 UTC));
    /// clock.sleep_until(datetime!(2026-01-29 09:00 UTC)).await; // already past: returns at once
    /// # }
    /// ```
    pub async fn sleep_until(&self, deadline: OffsetDateTime) {
        self.inner.time.sleep_until(deadline).await
    }

    // ---- pure functions of (calendar, lead, instant) ------------------------------------

    /// The session of `date`, if it trades.
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// # use time::macros::date;
    /// assert!(MarketClock::system().session(date!(2026-01-31)).is_none()); // Saturday
    /// ```
    pub fn session(&self, date: Date) -> Option<Session> {
        self.calendar().session(date)
    }

    /// The service window of `date` (none on a day without a session).
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// # use time::macros::{date, datetime};
    /// let w = MarketClock::system().service_window(date!(2026-01-29)).unwrap();
    /// assert_eq!((w.start, w.end), (datetime!(2026-01-29 09:13 +05:30), datetime!(2026-01-29 15:30 +05:30)));
    /// ```
    pub fn service_window(&self, date: Date) -> Option<ServiceWindow> {
        self.session(date).map(|s| s.service_window(self.lead()))
    }

    /// The phase at `t`.
    ///
    /// ```
    /// # use market_feed::clock::{MarketClock, Phase};
    /// # use time::macros::datetime;
    /// assert_eq!(MarketClock::system().phase_at(datetime!(2026-01-29 09:05 +05:30)), Phase::PreOpen);
    /// ```
    pub fn phase_at(&self, t: OffsetDateTime) -> Phase {
        self.session(ist_date(t))
            .map_or(Phase::Closed, |s| s.phase_at(t))
    }

    /// Whether the service window is open at `t`.
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// # use time::macros::datetime;
    /// let clock = MarketClock::system();
    /// assert!(!clock.is_live_at(datetime!(2026-01-29 09:12:59.999 +05:30)));
    /// assert!(clock.is_live_at(datetime!(2026-01-29 09:13 +05:30)));
    /// ```
    pub fn is_live_at(&self, t: OffsetDateTime) -> bool {
        self.service_window(ist_date(t))
            .is_some_and(|w| w.contains(t))
    }

    /// Whether continuous trading is on at `t` (phase [`Phase::Open`]: 09:15-15:30 IST on a
    /// normal day). Not [`is_live_at`](Self::is_live_at), which answers for the feed's polling
    /// window (it opens a lead time before the open).
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// # use time::macros::datetime;
    /// let clock = MarketClock::system();
    /// assert!(!clock.is_trading_at(datetime!(2026-01-29 09:14 +05:30))); // live, not trading yet
    /// assert!(clock.is_live_at(datetime!(2026-01-29 09:14 +05:30)));
    /// assert!(clock.is_trading_at(datetime!(2026-01-29 09:15 +05:30)));
    /// assert!(!clock.is_trading_at(datetime!(2026-01-26 11:00 +05:30))); // Republic Day
    /// ```
    pub fn is_trading_at(&self, t: OffsetDateTime) -> bool {
        self.phase_at(t) == Phase::Open
    }

    /// Whether `date` has a session (a weekday that is no holiday, or a special session).
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// # use time::macros::date;
    /// assert!(!MarketClock::system().is_trading_day(date!(2026-01-26)));
    /// ```
    pub fn is_trading_day(&self, date: Date) -> bool {
        self.calendar().is_trading_day(date)
    }

    /// The first trading day after `date`. Past the calendar's data the session is a regular
    /// weekday whose [`Session::is_assumed`] is true (and whose text says so).
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// # use time::macros::date;
    /// let clock = MarketClock::system();
    /// let next = clock.next_trading_day(date!(2026-01-23)); // Friday; Monday is Republic Day
    /// assert_eq!(next.date, date!(2026-01-27));
    /// assert_eq!(next.to_string(), "Tue 2026-01-27 09:15-15:30 IST (pre-open 09:00, post-close until 16:00)");
    /// ```
    pub fn next_trading_day(&self, date: Date) -> Session {
        self.calendar().next_trading_day(date)
    }

    /// The last trading day before `date`, if there is one within a year.
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// # use time::macros::date;
    /// let prev = MarketClock::system().previous_trading_day(date!(2026-01-27)).unwrap();
    /// assert_eq!(prev.date, date!(2026-01-23));
    /// ```
    pub fn previous_trading_day(&self, date: Date) -> Option<Session> {
        self.calendar().previous_trading_day(date)
    }

    /// The service window that contains `t`, or else the next one to start after `t`.
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// # use time::macros::{date, datetime};
    /// let w = MarketClock::system().window_at_or_after(datetime!(2026-01-23 15:31 +05:30));
    /// assert_eq!(w.trading_day, date!(2026-01-27));
    /// ```
    pub fn window_at_or_after(&self, t: OffsetDateTime) -> ServiceWindow {
        let today = ist_date(t);
        if let Some(w) = self.service_window(today) {
            if t < w.end {
                return w;
            }
        }
        self.calendar()
            .next_trading_day(today)
            .service_window(self.lead())
    }

    /// The latest session whose close is at or before `t` (the session whose end-of-day
    /// snapshot is due by `t`).
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// # use time::macros::{date, datetime};
    /// let clock = MarketClock::system();
    /// assert_eq!(clock.last_closed_session_at(datetime!(2026-01-29 18:00 +05:30)).unwrap().date, date!(2026-01-29));
    /// assert_eq!(clock.last_closed_session_at(datetime!(2026-01-29 12:00 +05:30)).unwrap().date, date!(2026-01-28));
    /// ```
    pub fn last_closed_session_at(&self, t: OffsetDateTime) -> Option<Session> {
        let today = ist_date(t);
        match self.session(today) {
            Some(s) if s.close() <= t => Some(s),
            _ => self.calendar().previous_trading_day(today),
        }
    }

    /// The next phase change strictly after `t`, across weekends and holidays.
    ///
    /// ```
    /// # use market_feed::clock::{MarketClock, Phase};
    /// # use time::macros::datetime;
    /// let t = MarketClock::system().next_transition_at(datetime!(2026-01-29 15:30 +05:30));
    /// assert_eq!((t.at, t.phase), (datetime!(2026-01-29 16:00 +05:30), Phase::Closed));
    /// ```
    pub fn next_transition_at(&self, t: OffsetDateTime) -> Transition {
        let current = self.phase_at(t);
        let cal = self.calendar();
        let mut session = cal.trading_day_on_or_after(ist_date(t));
        loop {
            for b in session.boundaries() {
                if b > t {
                    let phase = session.phase_at(b);
                    if phase != current {
                        return Transition { at: b, phase };
                    }
                }
            }
            session = cal.next_trading_day(session.date);
        }
    }

    /// The next instant strictly after `t` at which the phase or `live` changes: when the
    /// market status next needs publishing.
    ///
    /// ```
    /// # use market_feed::clock::MarketClock;
    /// # use time::macros::datetime;
    /// let clock = MarketClock::system();
    /// assert_eq!(clock.next_status_change_at(datetime!(2026-01-29 09:05 +05:30)), datetime!(2026-01-29 09:13 +05:30));
    /// ```
    pub fn next_status_change_at(&self, t: OffsetDateTime) -> OffsetDateTime {
        let phase_change = self.next_transition_at(t).at;
        let w = self.window_at_or_after(t);
        let live_change = if w.contains(t) { w.end } else { w.start };
        phase_change.min(live_change)
    }

    /// The market status at `t` (docs/protocol.md §2).
    ///
    /// ```
    /// # use market_feed::clock::{MarketClock, Phase};
    /// # use time::macros::{date, datetime};
    /// let s = MarketClock::system().status_at(datetime!(2026-01-31 10:00 +05:30));
    /// assert_eq!(s.reason.as_deref(), Some("weekend"));
    /// assert_eq!(s.trading_day, date!(2026-02-01)); // the Budget Sunday session
    /// ```
    pub fn status_at(&self, t: OffsetDateTime) -> MarketStatus {
        let today = ist_date(t);
        let cal = self.calendar();
        let day = cal.day(today);
        let phase = match &day {
            DayKind::Trading(s) => s.phase_at(t),
            _ => Phase::Closed,
        };
        let next = self.next_transition_at(t);
        let (trading_day, reason) = match (&day, phase) {
            (DayKind::Trading(_), p) if p != Phase::Closed => (today, None),
            (DayKind::Trading(s), _) => {
                let before = t < s.pre_open();
                let trading_day = if before {
                    today
                } else {
                    cal.next_trading_day(today).date
                };
                let reason = match &s.kind {
                    SessionKind::Special {
                        holiday: Some(name),
                        ..
                    } => format!("holiday: {name}"),
                    _ if before => "before_hours".to_owned(),
                    _ => "after_hours".to_owned(),
                };
                (trading_day, Some(reason))
            }
            (DayKind::Weekend, _) => (cal.next_trading_day(today).date, Some("weekend".to_owned())),
            (DayKind::Holiday { name }, _) => (
                cal.next_trading_day(today).date,
                Some(format!("holiday: {name}")),
            ),
        };
        MarketStatus {
            exchange: cal.exchange(),
            phase,
            live: self.is_live_at(t),
            trading_day,
            next_change: to_ms(next.at),
            next_phase: next.phase,
            reason,
        }
    }

    /// The market status now.
    ///
    /// ```
    /// # use market_feed::clock::{MarketClock, Phase};
    /// # use time::macros::datetime;
    /// assert_eq!(MarketClock::fixed(datetime!(2026-01-29 10:00 +05:30)).status().phase, Phase::Open);
    /// ```
    pub fn status(&self) -> MarketStatus {
        self.status_at(self.now())
    }
}

#[cfg(test)]
mod tests;
