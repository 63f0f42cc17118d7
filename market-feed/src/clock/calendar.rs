//! [`Calendar`]: which dates have a session and when, for one exchange, loaded from a data file.
//!
//! The bundled file (`market-feed/data/calendar.toml`) covers NSE and BSE for 2025 and 2026.
//! Users replace or extend it with their own file (`--calendar PATH` on the server), without
//! recompiling. A year the calendar does not cover is treated as "every weekday is a regular
//! trading day", and a warning says so once per year: never silently.

use std::{
    collections::{BTreeMap, BTreeSet, HashSet},
    fmt,
    path::Path,
    str::FromStr,
    sync::{Arc, Mutex},
};

use serde::{Deserialize, Serialize};
use time::{Date, Time, Weekday, macros::format_description};

use super::session::{DayKind, Session, SessionKind};

/// The bundled NSE/BSE calendar file.
pub const BUNDLED_CALENDAR: &str = include_str!("../../data/calendar.toml");

/// An exchange whose equity segment the clock follows.
///
/// ```
/// use market_feed::clock::Exchange;
/// assert_eq!("BSE".parse::<Exchange>().unwrap(), Exchange::Bse);
/// assert_eq!(Exchange::Nse.to_string(), "NSE");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Exchange {
    /// National Stock Exchange of India.
    #[default]
    #[serde(rename = "NSE")]
    Nse,
    /// BSE (Bombay Stock Exchange).
    #[serde(rename = "BSE")]
    Bse,
}

impl Exchange {
    /// The exchange's code, as on the wire.
    ///
    /// ```
    /// # use market_feed::clock::Exchange;
    /// assert_eq!(Exchange::Bse.as_str(), "BSE");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Exchange::Nse => "NSE",
            Exchange::Bse => "BSE",
        }
    }
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Exchange {
    type Err = CalendarError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "NSE" => Ok(Exchange::Nse),
            "BSE" => Ok(Exchange::Bse),
            other => Err(CalendarError::UnknownExchange(other.to_owned())),
        }
    }
}

/// A calendar file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// The file could not be read.
    #[error("cannot read calendar file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid calendar TOML.
    #[error("calendar {origin} is invalid: {message}")]
    Parse {
        /// The file, or "bundled calendar".
        origin: String,
        /// What is wrong, with the line where TOML says.
        message: String,
    },
    /// An exchange other than NSE or BSE.
    #[error("unknown exchange {0:?}: use \"NSE\" or \"BSE\"")]
    UnknownExchange(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    #[serde(default)]
    extends: Option<String>,
    #[serde(default)]
    years: Vec<i32>,
    #[serde(default)]
    regular: Option<RegularFile>,
    #[serde(default)]
    holiday: Vec<HolidayFile>,
    #[serde(default)]
    special_session: Vec<SpecialFile>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RegularFile {
    pre_open: String,
    open: String,
    close: String,
    post_close_end: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayFile {
    date: String,
    name: String,
    #[serde(default)]
    exchanges: Option<Vec<Exchange>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecialFile {
    date: String,
    name: String,
    pre_open: String,
    open: String,
    close: String,
    #[serde(default)]
    post_close_end: Option<String>,
    #[serde(default)]
    exchanges: Option<Vec<Exchange>>,
}

/// The IST wall-clock times of one session: pre-open, open, close and the end of post-close.
///
/// ```
/// use market_feed::clock::SessionTimes;
/// let t = SessionTimes::REGULAR;
/// assert!(t.pre_open < t.open && t.open < t.close && t.close <= t.post_close_end);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimes {
    /// Pre-open order entry starts (09:00 on a normal day).
    pub pre_open: Time,
    /// Continuous trading starts (09:15).
    pub open: Time,
    /// Continuous trading ends (15:30).
    pub close: Time,
    /// The post-close session ends (16:00); equal to `close` when there is none.
    pub post_close_end: Time,
}

impl SessionTimes {
    /// The regular NSE/BSE equity session: 09:00 / 09:15 / 15:30 / 16:00 IST.
    pub const REGULAR: SessionTimes = SessionTimes {
        pre_open: time::macros::time!(09:00),
        open: time::macros::time!(09:15),
        close: time::macros::time!(15:30),
        post_close_end: time::macros::time!(16:00),
    };

    fn validate(self, what: &str) -> Result<Self, String> {
        if self.pre_open <= self.open && self.open < self.close && self.close <= self.post_close_end
        {
            Ok(self)
        } else {
            Err(format!(
                "{what}: times must satisfy pre_open <= open < close <= post_close_end"
            ))
        }
    }
}

#[derive(Debug, Clone)]
struct Holiday {
    name: Arc<str>,
}

#[derive(Debug, Clone)]
struct Special {
    name: Arc<str>,
    times: SessionTimes,
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
    exchange: Exchange,
    regular: SessionTimes,
    years: BTreeSet<i32>,
    holidays: BTreeMap<Date, Holiday>,
    specials: BTreeMap<Date, Special>,
    warned_years: Mutex<HashSet<i32>>,
}

impl fmt::Debug for Calendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Calendar")
            .field("exchange", &self.exchange)
            .field("years", &self.years)
            .field("holidays", &self.holidays.len())
            .field("special_sessions", &self.specials.len())
            .finish()
    }
}

fn parse_date(s: &str, what: &str) -> Result<Date, String> {
    Date::parse(s, format_description!("[year]-[month]-[day]"))
        .map_err(|_| format!("{what}: date {s:?} is not YYYY-MM-DD"))
}

fn parse_time(s: &str, what: &str) -> Result<Time, String> {
    Time::parse(s, format_description!("[hour]:[minute]"))
        .or_else(|_| Time::parse(s, format_description!("[hour]:[minute]:[second]")))
        .map_err(|_| format!("{what}: time {s:?} is not HH:MM (IST)"))
}

fn applies(exchanges: &Option<Vec<Exchange>>, exchange: Exchange) -> bool {
    exchanges
        .as_ref()
        .is_none_or(|list| list.contains(&exchange))
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
            holidays: BTreeMap::new(),
            specials: BTreeMap::new(),
            warned_years: Mutex::new(HashSet::new()),
        }
    }

    /// Parses a calendar file. A file with `extends = "bundled"` is merged into the bundled
    /// calendar (its entries win on the same date); otherwise it replaces it. `origin` names the
    /// file in error messages.
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// # use time::macros::date;
    /// let extra = r#"
    ///     extends = "bundled"
    ///     [[holiday]]
    ///     date = "2026-12-31"
    ///     name = "Year-end drill"
    /// "#;
    /// let cal = Calendar::from_toml_str(extra, "extra.toml", Exchange::Nse)?;
    /// assert_eq!(cal.holiday_name(date!(2026-12-31)), Some("Year-end drill"));
    /// assert_eq!(cal.holiday_name(date!(2026-01-26)), Some("Republic Day"));
    /// # Ok::<(), market_feed::clock::CalendarError>(())
    /// ```
    pub fn from_toml_str(
        text: &str,
        origin: &str,
        exchange: Exchange,
    ) -> Result<Self, CalendarError> {
        let parse_err = |message: String| CalendarError::Parse {
            origin: origin.to_owned(),
            message,
        };
        let file: CalendarFile = toml::from_str(text).map_err(|e| {
            // One line, with the line number: TOML's own rendering spans several lines.
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            let message = e.message().replace('\n', " ");
            parse_err(match line {
                Some(line) => format!("line {line}: {message}"),
                None => message,
            })
        })?;
        let mut cal = match file.extends.as_deref() {
            None => Self::weekdays_only(exchange),
            Some("bundled") => Self::from_toml_str(BUNDLED_CALENDAR, "bundled calendar", exchange)?,
            Some(other) => {
                return Err(parse_err(format!(
                    "extends = {other:?}: the only base a file can extend is \"bundled\""
                )));
            }
        };
        if let Some(r) = file.regular {
            let times = SessionTimes {
                pre_open: parse_time(&r.pre_open, "[regular] pre_open").map_err(parse_err)?,
                open: parse_time(&r.open, "[regular] open").map_err(parse_err)?,
                close: parse_time(&r.close, "[regular] close").map_err(parse_err)?,
                post_close_end: parse_time(&r.post_close_end, "[regular] post_close_end")
                    .map_err(parse_err)?,
            };
            cal.regular = times.validate("[regular]").map_err(parse_err)?;
        }
        cal.years.extend(file.years);
        for (i, h) in file.holiday.into_iter().enumerate() {
            let what = format!("holiday #{} ({:?})", i + 1, h.name);
            let date = parse_date(&h.date, &what).map_err(parse_err)?;
            if h.name.trim().is_empty() {
                return Err(parse_err(format!("{what}: name must not be empty")));
            }
            if applies(&h.exchanges, exchange) {
                cal.holidays.insert(
                    date,
                    Holiday {
                        name: h.name.into(),
                    },
                );
            }
        }
        for (i, s) in file.special_session.into_iter().enumerate() {
            let what = format!("special_session #{} ({:?})", i + 1, s.name);
            let date = parse_date(&s.date, &what).map_err(parse_err)?;
            let close = parse_time(&s.close, &what).map_err(parse_err)?;
            let times = SessionTimes {
                pre_open: parse_time(&s.pre_open, &what).map_err(parse_err)?,
                open: parse_time(&s.open, &what).map_err(parse_err)?,
                close,
                post_close_end: match &s.post_close_end {
                    Some(t) => parse_time(t, &what).map_err(parse_err)?,
                    None => close,
                },
            }
            .validate(&what)
            .map_err(parse_err)?;
            if applies(&s.exchanges, exchange) {
                cal.specials.insert(
                    date,
                    Special {
                        name: s.name.into(),
                        times,
                    },
                );
            }
        }
        Ok(cal)
    }

    /// Reads a calendar file (see [`Calendar::from_toml_str`]). Blocking file I/O: call it at
    /// start-up, before the runtime is busy, or from `spawn_blocking`.
    ///
    /// ```no_run
    /// # use market_feed::clock::{Calendar, Exchange};
    /// let cal = Calendar::from_path("my-calendar.toml".as_ref(), Exchange::Nse)?;
    /// # Ok::<(), market_feed::clock::CalendarError>(())
    /// ```
    pub fn from_path(path: &Path, exchange: Exchange) -> Result<Self, CalendarError> {
        let text = std::fs::read_to_string(path).map_err(|source| CalendarError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml_str(&text, &path.display().to_string(), exchange)
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

    /// Whether the calendar describes `year` (its holidays are known).
    ///
    /// ```
    /// # use market_feed::clock::{Calendar, Exchange};
    /// assert!(!Calendar::bundled(Exchange::Nse).covers_year(2031));
    /// ```
    pub fn covers_year(&self, year: i32) -> bool {
        self.years.contains(&year)
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
        if !self.covers_year(date.year()) {
            self.warn_uncovered(date.year());
        }
        DayKind::Trading(Session::new(date, self.regular, SessionKind::Regular))
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
                "the trading calendar does not cover {year}: treating every weekday as a trading \
                 day; load a calendar file for {year} with --calendar"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, time};

    #[test]
    fn bundled_calendar_parses_and_has_2026_holidays() {
        let cal = Calendar::from_toml_str(BUNDLED_CALENDAR, "bundled", Exchange::Nse).unwrap();
        let holidays_2026: Vec<_> = cal.holidays.keys().filter(|d| d.year() == 2026).collect();
        assert_eq!(
            holidays_2026.len(),
            17,
            "16 weekday holidays + Diwali Sunday"
        );
        assert_eq!(cal.holidays.keys().filter(|d| d.year() == 2025).count(), 14);
        assert!(cal.covers_year(2025) && cal.covers_year(2026));
    }

    #[test]
    fn every_2026_weekday_holiday_is_closed_with_its_name() {
        let cal = Calendar::bundled(Exchange::Nse);
        let expected = [
            (
                date!(2026 - 01 - 15),
                "Municipal Corporation Elections, Maharashtra",
            ),
            (date!(2026 - 01 - 26), "Republic Day"),
            (date!(2026 - 03 - 03), "Holi"),
            (date!(2026 - 03 - 26), "Shri Ram Navami"),
            (date!(2026 - 03 - 31), "Shri Mahavir Jayanti"),
            (date!(2026 - 04 - 03), "Good Friday"),
            (date!(2026 - 04 - 14), "Dr. Baba Saheb Ambedkar Jayanti"),
            (date!(2026 - 05 - 01), "Maharashtra Day"),
            (date!(2026 - 05 - 28), "Bakri Id"),
            (date!(2026 - 06 - 26), "Muharram"),
            (date!(2026 - 09 - 14), "Ganesh Chaturthi"),
            (date!(2026 - 10 - 02), "Mahatma Gandhi Jayanti"),
            (date!(2026 - 10 - 20), "Dussehra"),
            (date!(2026 - 11 - 10), "Diwali Balipratipada"),
            (date!(2026 - 11 - 24), "Prakash Gurpurb Sri Guru Nanak Dev"),
            (date!(2026 - 12 - 25), "Christmas"),
        ];
        for (d, name) in expected {
            assert!(
                !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday),
                "{d}"
            );
            match cal.day(d) {
                DayKind::Holiday { name: n } => assert_eq!(&*n, name, "{d}"),
                other => panic!("{d} should be a holiday, got {other:?}"),
            }
        }
    }

    #[test]
    fn muhurat_is_a_holiday_with_a_special_session() {
        let cal = Calendar::bundled(Exchange::Nse);
        let s = cal.session(date!(2025 - 10 - 21)).unwrap();
        assert_eq!(s.times.open, time!(13:45));
        assert_eq!(s.times.close, time!(14:45));
        match &s.kind {
            SessionKind::Special { holiday, .. } => {
                assert_eq!(holiday.as_deref(), Some("Diwali Laxmi Pujan"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_files_name_the_problem() {
        let cases = [
            (
                "years = [2026]\n[[holiday]]\ndate = \"2026-13-01\"\nname = \"x\"",
                "not YYYY-MM-DD",
            ),
            (
                "[[holiday]]\ndate = \"2026-01-01\"\nname = \"\"",
                "name must not be empty",
            ),
            (
                "[[holiday]]\ndate = \"2026-01-01\"\nnaem = \"x\"",
                "line 3: unknown field",
            ),
            ("extends = \"nyse\"", "extends"),
            (
                "[[special_session]]\ndate = \"2026-11-08\"\nname = \"M\"\npre_open = \"13:30\"\nopen = \"14:45\"\nclose = \"13:45\"",
                "pre_open <= open < close",
            ),
            (
                "[[special_session]]\ndate = \"2026-11-08\"\nname = \"M\"\npre_open = \"1:3\"\nopen = \"x\"\nclose = \"y\"",
                "HH:MM",
            ),
        ];
        for (text, needle) in cases {
            let err = Calendar::from_toml_str(text, "my.toml", Exchange::Nse)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("my.toml") && err.contains(needle) && !err.contains('\n'),
                "{err}"
            );
        }
    }

    #[test]
    fn exchange_specific_entries() {
        let text = "[[holiday]]\ndate = \"2026-07-01\"\nname = \"BSE only\"\nexchanges = [\"BSE\"]";
        let nse = Calendar::from_toml_str(text, "t", Exchange::Nse).unwrap();
        let bse = Calendar::from_toml_str(text, "t", Exchange::Bse).unwrap();
        assert!(nse.is_trading_day(date!(2026 - 07 - 01)));
        assert!(!bse.is_trading_day(date!(2026 - 07 - 01)));
    }

    #[test]
    fn uncovered_year_trades_on_weekdays() {
        let cal = Calendar::bundled(Exchange::Nse);
        assert!(cal.is_trading_day(date!(2031 - 01 - 01)));
        assert!(!cal.is_trading_day(date!(2031 - 01 - 04))); // Saturday
        assert!(cal.warned_years.lock().unwrap().contains(&2031));
    }
}
