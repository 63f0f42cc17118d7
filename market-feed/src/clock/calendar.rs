//! [`Calendar`]: which dates have a session and when, for one exchange, loaded from a data file.
//!
//! The bundled file (`market-feed/data/calendar.toml`) covers NSE and BSE for 2025 and 2026,
//! and 2027 provisionally (see [`Coverage`]). Users replace or extend it with their own file
//! ([`Calendar::from_toml_str`], `--calendar PATH` on the server) and the broker's holiday list
//! is merged over it ([`Calendar::merged_with`]), without recompiling. A year the calendar does
//! not cover is treated as "every weekday is a regular trading day": sessions of such a year
//! say so ([`Session::is_assumed`]) and a warning is logged once per year: never silently.

use std::{
    collections::{BTreeMap, BTreeSet, HashSet},
    fmt,
    sync::{Arc, Mutex},
};

use time::{Date, Weekday};

use super::{
    exchange::Exchange,
    session::{DayKind, Session, SessionKind},
};

use super::session_times::SessionTimes;

/// The bundled NSE/BSE calendar file.
pub const BUNDLED_CALENDAR: &str = include_str!("../../data/calendar.toml");

#[derive(Debug, Clone)]
pub(super) struct Holiday {
    pub(super) name: Arc<str>,
    /// From a provisional list (the exchange had not published the year yet).
    pub(super) provisional: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Special {
    pub(super) name: Arc<str>,
    pub(super) times: SessionTimes,
}

/// How well the calendar knows a year.
///
/// ```
/// use market_feed::clock::{Calendar, Coverage, Exchange};
/// let cal = Calendar::bundled(Exchange::Nse);
/// assert_eq!(cal.coverage(2026), Coverage::Confirmed);
/// assert_eq!(cal.coverage(2027), Coverage::Provisional);
/// assert_eq!(cal.coverage(2031), Coverage::None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coverage {
    /// The exchange's published holiday list (or the broker's) describes the year.
    Confirmed,
    /// Only a provisional list: fixed-date holidays and computed festival dates, not yet
    /// confirmed by the exchange.
    Provisional,
    /// Nothing describes the year: every weekday is assumed to be a regular trading day.
    None,
}

/// One exchange's trading calendar: the regular week, named holidays and special sessions.
///
/// Cheap to share behind an `Arc`; every query is a pure function of the calendar and a date,
/// except for the once-per-year warning about uncovered years.
///
/// ```
/// use market_feed::clock::{Calendar, Exchange};
/// use time::macros::date;
///
/// let cal = Calendar::bundled(Exchange::Nse);
/// assert!(cal.is_trading_day(date!(2026-01-29)));
/// assert_eq!(cal.holiday_name(date!(2026-01-26)), Some("Republic Day"));
/// assert!(cal.is_trading_day(date!(2026-02-01))); // Budget Sunday
/// ```
pub struct Calendar {
    pub(super) exchange: Exchange,
    pub(super) regular: SessionTimes,
    /// Years described by a confirmed list.
    pub(super) years: BTreeSet<i32>,
    /// Years described only by a provisional list.
    pub(super) provisional_years: BTreeSet<i32>,
    pub(super) holidays: BTreeMap<Date, Holiday>,
    pub(super) specials: BTreeMap<Date, Special>,
    warned_years: Mutex<HashSet<i32>>,
}

impl Clone for Calendar {
    fn clone(&self) -> Self {
        Self {
            exchange: self.exchange,
            regular: self.regular,
            years: self.years.clone(),
            provisional_years: self.provisional_years.clone(),
            holidays: self.holidays.clone(),
            specials: self.specials.clone(),
            warned_years: Mutex::new(HashSet::new()),
        }
    }
}

impl fmt::Debug for Calendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Calendar")
            .field("exchange", &self.exchange)
            .field("years", &self.years)
            .field("provisional_years", &self.provisional_years)
            .field("holidays", &self.holidays.len())
            .field("special_sessions", &self.specials.len())
            .finish()
    }
}

impl Calendar {
    /// The bundled NSE/BSE calendar (2025 and 2026) for one exchange.
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// assert!(Calendar::bundled(Exchange::Bse).covers_year(2026));
    /// ```
    pub fn bundled(exchange: Exchange) -> Self {
        // The bundled file is tested below; failing here would be a build defect, so fall back
        // to an empty (weekdays-only, warning) calendar rather than panicking in production.
        Self::from_toml_str(BUNDLED_CALENDAR, "bundled calendar", exchange).unwrap_or_else(|e| {
            tracing::error!(error = %e, "bundled calendar is invalid; using weekdays only");
            Self::weekdays_only(exchange)
        })
    }

    /// A calendar that knows no holidays and covers no year: every weekday trades.
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// let cal = Calendar::weekdays_only(Exchange::Nse);
    /// assert!(!cal.covers_year(2026));
    /// ```
    pub fn weekdays_only(exchange: Exchange) -> Self {
        Self {
            exchange,
            regular: SessionTimes::REGULAR,
            years: BTreeSet::new(),
            provisional_years: BTreeSet::new(),
            holidays: BTreeMap::new(),
            specials: BTreeMap::new(),
            warned_years: Mutex::new(HashSet::new()),
        }
    }

    /// The exchange this calendar is for.
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// assert_eq!(Calendar::bundled(Exchange::Bse).exchange(), Exchange::Bse);
    /// ```
    pub fn exchange(&self) -> Exchange {
        self.exchange
    }

    /// The regular session times.
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange, SessionTimes};
    /// assert_eq!(Calendar::bundled(Exchange::Nse).regular(), SessionTimes::REGULAR);
    /// ```
    pub fn regular(&self) -> SessionTimes {
        self.regular
    }

    /// Whether the calendar describes `year` (its holidays are known, at least provisionally).
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// assert!(!Calendar::bundled(Exchange::Nse).covers_year(2031));
    /// ```
    pub fn covers_year(&self, year: i32) -> bool {
        self.coverage(year) != Coverage::None
    }

    /// How well the calendar knows `year`.
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Coverage, Exchange};
    /// assert_eq!(Calendar::weekdays_only(Exchange::Nse).coverage(2026), Coverage::None);
    /// ```
    pub fn coverage(&self, year: i32) -> Coverage {
        if self.years.contains(&year) {
            Coverage::Confirmed
        } else if self.provisional_years.contains(&year) {
            Coverage::Provisional
        } else {
            Coverage::None
        }
    }

    /// Whether the holiday on `date` comes from a provisional list.
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// # use time::macros::date;
    /// let cal = Calendar::bundled(Exchange::Nse);
    /// assert!(cal.is_provisional_holiday(date!(2027-01-26)));
    /// assert!(!cal.is_provisional_holiday(date!(2026-01-26)));
    /// ```
    pub fn is_provisional_holiday(&self, date: Date) -> bool {
        self.holidays.get(&date).is_some_and(|h| h.provisional)
    }

    /// The holidays on or after `from`, in date order, with their names and whether each is
    /// provisional.
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// # use time::macros::date;
    /// let cal = Calendar::bundled(Exchange::Nse);
    /// let (date, name, _) = cal.holidays_from(date!(2026-12-01)).next().unwrap();
    /// assert_eq!((date, name), (date!(2026-12-25), "Christmas"));
    /// ```
    pub fn holidays_from(&self, from: Date) -> impl Iterator<Item = (Date, &str, bool)> + '_ {
        self.holidays
            .range(from..)
            .map(|(d, h)| (*d, &*h.name, h.provisional))
    }

    /// The special sessions on or after `from`, in date order: date, name, times.
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// # use time::macros::date;
    /// let cal = Calendar::bundled(Exchange::Nse);
    /// assert_eq!(cal.special_sessions_from(date!(2026-01-01)).next().unwrap().0, date!(2026-02-01));
    /// ```
    pub fn special_sessions_from(
        &self,
        from: Date,
    ) -> impl Iterator<Item = (Date, &str, SessionTimes)> + '_ {
        self.specials
            .range(from..)
            .map(|(d, s)| (*d, &*s.name, s.times))
    }

    /// The name of the holiday on `date`, if it is one.
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// # use time::macros::date;
    /// assert_eq!(Calendar::bundled(Exchange::Nse).holiday_name(date!(2026-12-25)), Some("Christmas"));
    /// ```
    pub fn holiday_name(&self, date: Date) -> Option<&str> {
        self.holidays.get(&date).map(|h| &*h.name)
    }

    /// What kind of day `date` is, and its session if it has one.
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, DayKind, Exchange};
    /// # use time::macros::date;
    /// let cal = Calendar::bundled(Exchange::Nse);
    /// assert!(matches!(cal.day(date!(2026-01-31)), DayKind::Weekend));
    /// assert!(matches!(cal.day(date!(2026-01-26)), DayKind::Holiday { .. }));
    /// assert!(matches!(cal.day(date!(2026-01-29)), DayKind::Trading(_)));
    /// ```
    pub fn day(&self, date: Date) -> DayKind {
        if let Some(s) = self.specials.get(&date) {
            return DayKind::Trading(Session::new(
                date,
                s.times,
                SessionKind::Special {
                    name: s.name.clone(),
                    holiday: self.holidays.get(&date).map(|h| h.name.clone()),
                },
            ));
        }
        if let Some(h) = self.holidays.get(&date) {
            return DayKind::Holiday {
                name: h.name.clone(),
            };
        }
        if matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) {
            return DayKind::Weekend;
        }
        let assumed = !self.covers_year(date.year());
        if assumed {
            self.warn_uncovered(date.year());
        }
        DayKind::Trading(Session::new(date, self.regular, SessionKind::Regular).assumed_if(assumed))
    }

    /// The session of `date`, if it is a trading day.
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// # use time::macros::date;
    /// assert!(Calendar::bundled(Exchange::Nse).session(date!(2026-01-26)).is_none());
    /// ```
    pub fn session(&self, date: Date) -> Option<Session> {
        match self.day(date) {
            DayKind::Trading(s) => Some(s),
            _ => None,
        }
    }

    /// Whether `date` has a session (regular or special).
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// # use time::macros::date;
    /// assert!(Calendar::bundled(Exchange::Nse).is_trading_day(date!(2025-10-21))); // Muhurat
    /// ```
    pub fn is_trading_day(&self, date: Date) -> bool {
        self.session(date).is_some()
    }

    /// The first trading day strictly after `date`.
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// # use time::macros::date;
    /// let cal = Calendar::bundled(Exchange::Nse);
    /// // Friday 2026-01-23 → Tuesday 2026-01-27 (Monday is Republic Day).
    /// assert_eq!(cal.next_trading_day(date!(2026-01-23)).date, date!(2026-01-27));
    /// ```
    pub fn next_trading_day(&self, date: Date) -> Session {
        let mut d = date;
        loop {
            // Every week outside a covered year has weekdays, and a covered year cannot list a
            // holiday on every day of the year ahead, so this ends within a few hundred steps.
            d = match d.next_day() {
                Some(n) => n,
                None => return Session::new(d, self.regular, SessionKind::Regular),
            };
            if let Some(s) = self.session(d) {
                return s;
            }
        }
    }

    /// The first trading day on or after `date`.
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// # use time::macros::date;
    /// let cal = Calendar::bundled(Exchange::Nse);
    /// assert_eq!(cal.trading_day_on_or_after(date!(2026-01-29)).date, date!(2026-01-29));
    /// ```
    pub fn trading_day_on_or_after(&self, date: Date) -> Session {
        self.session(date)
            .unwrap_or_else(|| self.next_trading_day(date))
    }

    /// The last trading day strictly before `date`, if the calendar can find one within a year.
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// # use time::macros::date;
    /// let cal = Calendar::bundled(Exchange::Nse);
    /// assert_eq!(cal.previous_trading_day(date!(2026-01-27)).unwrap().date, date!(2026-01-23));
    /// ```
    pub fn previous_trading_day(&self, date: Date) -> Option<Session> {
        let mut d = date;
        for _ in 0..366 {
            d = d.previous_day()?;
            if let Some(s) = self.session(d) {
                return Some(s);
            }
        }
        None
    }

    fn warn_uncovered(&self, year: i32) {
        let first = match self.warned_years.lock() {
            Ok(mut set) => set.insert(year),
            Err(poisoned) => poisoned.into_inner().insert(year),
        };
        if first {
            tracing::warn!(
                year,
                exchange = %self.exchange,
                "the trading calendar does not cover {year}: every weekday of {year} is treated as \
                 a trading day; give the clock {year}'s holiday list (the broker's holiday list, \
                 or a calendar file with years = [{year}] and its holidays)"
            );
        }
    }
}

#[cfg(test)]
mod tests;
