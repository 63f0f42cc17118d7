//! One trading day's times ([`Session`]), what a date is ([`DayKind`]) and the market [`Phase`].

use std::{fmt, sync::Arc};

use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime};

use super::{ist::at_ist, session_times::SessionTimes};

/// The market phase of docs/protocol.md §2.
///
/// ```
/// use market_feed::clock::Phase;
/// assert_eq!(serde_json::to_string(&Phase::PreOpen).unwrap(), "\"pre_open\"");
/// assert_eq!(Phase::PostClose.to_string(), "post_close");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// No session is running.
    Closed,
    /// Pre-open order entry and matching (09:00-09:15 IST on a normal day).
    PreOpen,
    /// Continuous trading (09:15-15:30 IST on a normal day).
    Open,
    /// Closing price calculation and the closing session (15:30-16:00 IST).
    PostClose,
}

impl Phase {
    /// The wire name.
    ///
    /// ```
    /// # use market_feed::clock::Phase;
    /// assert_eq!(Phase::Open.as_str(), "open");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Closed => "closed",
            Phase::PreOpen => "pre_open",
            Phase::Open => "open",
            Phase::PostClose => "post_close",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a session is the regular one or a special one (Muhurat trading, a weekend session).
///
/// ```
/// use market_feed::clock::{Calendar, Exchange, SessionKind};
/// use time::macros::date;
/// let s = Calendar::bundled(Exchange::Nse).session(date!(2026-02-01)).unwrap();
/// assert!(matches!(s.kind, SessionKind::Special { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionKind {
    /// The regular weekday session.
    Regular,
    /// A special session.
    Special {
        /// Its name ("Muhurat trading (Samvat 2082)").
        name: Arc<str>,
        /// The holiday it falls on, if any: outside the session the market is closed for it.
        holiday: Option<Arc<str>>,
    },
}

/// One trading day's session, with its instants in UTC.
///
/// ```
/// use market_feed::clock::{Calendar, Exchange};
/// use time::macros::{date, datetime};
/// let s = Calendar::bundled(Exchange::Nse).session(date!(2026-01-29)).unwrap();
/// assert_eq!(s.open(), datetime!(2026-01-29 09:15 +05:30));
/// assert_eq!(s.close(), datetime!(2026-01-29 15:30 +05:30));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The IST date of the session.
    pub date: Date,
    /// Its IST wall-clock times.
    pub times: SessionTimes,
    /// Regular or special.
    pub kind: SessionKind,
    /// The calendar does not describe this date's year: the session is an assumption.
    assumed: bool,
}

impl fmt::Display for Session {
    /// The session in IST wall-clock words, e.g.
    /// `Thu 2026-01-29 09:15-15:30 IST (pre-open 09:00, post-close until 16:00)`, with the
    /// special session's name and, for a year no calendar covers, `assumed: ...`.
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// # use time::macros::date;
    /// let cal = Calendar::bundled(Exchange::Nse);
    /// let s = cal.session(date!(2026-01-29)).unwrap();
    /// assert_eq!(s.to_string(), "Thu 2026-01-29 09:15-15:30 IST (pre-open 09:00, post-close until 16:00)");
    /// assert!(cal.session(date!(2031-01-29)).unwrap().to_string().ends_with(
    ///     "assumed: no trading calendar covers 2031, so this weekday may be a holiday"
    /// ));
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hm = |t: time::Time| format!("{:02}:{:02}", t.hour(), t.minute());
        let weekday = &self.date.weekday().to_string()[..3];
        write!(
            f,
            "{weekday} {} {}-{} IST (pre-open {}",
            super::format_date(self.date),
            hm(self.times.open),
            hm(self.times.close),
            hm(self.times.pre_open),
        )?;
        if self.times.post_close_end > self.times.close {
            write!(f, ", post-close until {}", hm(self.times.post_close_end))?;
        }
        f.write_str(")")?;
        if let SessionKind::Special { name, .. } = &self.kind {
            write!(f, ", {name}")?;
        }
        if self.assumed {
            write!(
                f,
                ", assumed: no trading calendar covers {}, so this weekday may be a holiday",
                self.date.year()
            )?;
        }
        Ok(())
    }
}

/// The part of a day in which a feed polls its sources: from the session's open minus a lead
/// time until its close (09:13-15:30 IST on a normal day with the default 2-minute lead).
///
/// ```
/// use market_feed::clock::{Calendar, Exchange};
/// use time::{macros::{date, datetime}, Duration};
/// let s = Calendar::bundled(Exchange::Nse).session(date!(2026-01-29)).unwrap();
/// let w = s.service_window(Duration::minutes(2));
/// assert_eq!(w.start, datetime!(2026-01-29 09:13 +05:30));
/// assert_eq!(w.end, datetime!(2026-01-29 15:30 +05:30));
/// assert!(w.contains(datetime!(2026-01-29 09:13 +05:30)));
/// assert!(!w.contains(datetime!(2026-01-29 15:30 +05:30)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceWindow {
    /// The trading day the window belongs to.
    pub trading_day: Date,
    /// First instant inside the window.
    pub start: OffsetDateTime,
    /// First instant after the window (the session's close).
    pub end: OffsetDateTime,
}

impl ServiceWindow {
    /// Whether `t` lies in `[start, end)`.
    ///
    /// ```
    /// # use market_feed::clock::ServiceWindow;
    /// # use time::macros::{date, datetime};
    /// let w = ServiceWindow { trading_day: date!(2026-01-29), start: datetime!(2026-01-29 03:43 UTC), end: datetime!(2026-01-29 10:00 UTC) };
    /// assert!(w.contains(datetime!(2026-01-29 09:59:59.999 UTC)));
    /// ```
    pub fn contains(&self, t: OffsetDateTime) -> bool {
        self.start <= t && t < self.end
    }
}

impl Session {
    pub(crate) fn new(date: Date, times: SessionTimes, kind: SessionKind) -> Self {
        Self {
            date,
            times,
            kind,
            assumed: false,
        }
    }

    pub(crate) fn assumed_if(mut self, assumed: bool) -> Self {
        self.assumed = assumed;
        self
    }

    /// Whether this session is only assumed: no calendar (bundled, file or broker) describes
    /// its year, so it is a regular weekday session that may in fact be a holiday. An embedder
    /// without a log subscriber can check this instead of reading the calendar's warning.
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// # use time::macros::date;
    /// let cal = Calendar::bundled(Exchange::Nse);
    /// assert!(!cal.session(date!(2026-01-29)).unwrap().is_assumed());
    /// assert!(cal.session(date!(2031-01-29)).unwrap().is_assumed());
    /// ```
    pub fn is_assumed(&self) -> bool {
        self.assumed
    }

    /// When pre-open starts.
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// # use time::macros::{date, datetime};
    /// let s = Calendar::bundled(Exchange::Nse).session(date!(2026-01-29)).unwrap();
    /// assert_eq!(s.pre_open(), datetime!(2026-01-29 09:00 +05:30));
    /// ```
    pub fn pre_open(&self) -> OffsetDateTime {
        at_ist(self.date, self.times.pre_open)
    }

    /// When continuous trading starts.
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// # use time::macros::{date, datetime};
    /// let s = Calendar::bundled(Exchange::Nse).session(date!(2025-10-21)).unwrap();
    /// assert_eq!(s.open(), datetime!(2025-10-21 13:45 +05:30));
    /// ```
    pub fn open(&self) -> OffsetDateTime {
        at_ist(self.date, self.times.open)
    }

    /// When continuous trading ends.
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// # use time::macros::{date, datetime};
    /// let s = Calendar::bundled(Exchange::Nse).session(date!(2025-10-21)).unwrap();
    /// assert_eq!(s.close(), datetime!(2025-10-21 14:45 +05:30));
    /// ```
    pub fn close(&self) -> OffsetDateTime {
        at_ist(self.date, self.times.close)
    }

    /// When the post-close session ends (the close itself when there is none).
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// # use time::macros::{date, datetime};
    /// let s = Calendar::bundled(Exchange::Nse).session(date!(2026-01-29)).unwrap();
    /// assert_eq!(s.post_close_end(), datetime!(2026-01-29 16:00 +05:30));
    /// ```
    pub fn post_close_end(&self) -> OffsetDateTime {
        at_ist(self.date, self.times.post_close_end)
    }

    /// The session's phase at `t` ([`Phase::Closed`] before pre-open, after post-close, and
    /// on any other date).
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange, Phase};
    /// # use time::macros::{date, datetime};
    /// let s = Calendar::bundled(Exchange::Nse).session(date!(2026-01-29)).unwrap();
    /// assert_eq!(s.phase_at(datetime!(2026-01-29 15:30 +05:30)), Phase::PostClose);
    /// ```
    pub fn phase_at(&self, t: OffsetDateTime) -> Phase {
        if t < self.pre_open() || t >= self.post_close_end() {
            Phase::Closed
        } else if t < self.open() {
            Phase::PreOpen
        } else if t < self.close() {
            Phase::Open
        } else {
            Phase::PostClose
        }
    }

    /// The service window for a lead time, clamped so that it starts no earlier than the
    /// session's IST midnight (a window always lies inside its trading day).
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// # use time::{macros::{date, datetime}, Duration};
    /// let s = Calendar::bundled(Exchange::Nse).session(date!(2025-10-21)).unwrap();
    /// assert_eq!(s.service_window(Duration::minutes(2)).start, datetime!(2025-10-21 13:43 +05:30));
    /// ```
    pub fn service_window(&self, lead: Duration) -> ServiceWindow {
        let midnight = at_ist(self.date, time::Time::MIDNIGHT);
        let start = (self.open() - lead.max(Duration::ZERO)).max(midnight);
        ServiceWindow {
            trading_day: self.date,
            start,
            end: self.close(),
        }
    }

    /// The instants at which this session's phase changes, in order (zero-length phases
    /// included; callers skip those that change nothing).
    pub(crate) fn boundaries(&self) -> [OffsetDateTime; 4] {
        [
            self.pre_open(),
            self.open(),
            self.close(),
            self.post_close_end(),
        ]
    }
}

/// What kind of day a date is.
///
/// ```
/// use market_feed::clock::{Calendar, DayKind, Exchange};
/// use time::macros::date;
/// let kind = Calendar::bundled(Exchange::Nse).day(date!(2026-03-03));
/// assert!(matches!(kind, DayKind::Holiday { ref name } if &**name == "Holi"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayKind {
    /// A day with a session (regular or special).
    Trading(Session),
    /// Saturday or Sunday without a special session.
    Weekend,
    /// A named holiday without a special session.
    Holiday {
        /// The holiday's name.
        name: Arc<str>,
    },
}
