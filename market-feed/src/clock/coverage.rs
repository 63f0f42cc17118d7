//! [`CoverageReport`]: how far ahead the clock's calendar is known, and the next holidays, as
//! lines a person can act on (the server's start-up and daily warnings, `check`, metrics).

use std::fmt;

use time::{Date, Duration, Month};

use super::{MarketClock, calendar::Coverage};

/// How far ahead the covered horizon must be confirmed before the report warns.
pub const HORIZON: Duration = Duration::days(30);

/// How many upcoming holidays a report lists.
pub const NEXT_HOLIDAYS: usize = 5;

/// How serious a [`CoverageLine`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Information.
    Info,
    /// Something the operator should act on.
    Warn,
}

/// One line of a [`CoverageReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageLine {
    /// Info or warning.
    pub severity: Severity,
    /// The sentence.
    pub text: String,
}

/// A holiday ahead, as listed by a [`CoverageReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpcomingHoliday {
    /// The date.
    pub date: Date,
    /// The name.
    pub name: String,
    /// From a provisional list.
    pub provisional: bool,
}

/// The calendar's coverage seen from `today`: the last date covered (confirmed or
/// provisionally), the last confirmed date, the next holidays, and lines to log or print.
///
/// ```
/// use market_feed::clock::{MarketClock, coverage_report};
/// use time::macros::{date, datetime};
/// let clock = MarketClock::fixed(datetime!(2026-12-15 10:00 +05:30));
/// let report = coverage_report(&clock, date!(2026-12-15));
/// assert_eq!(report.covered_until, Some(date!(2027-12-31)));
/// assert_eq!(report.confirmed_until, Some(date!(2026-12-31)));
/// assert_eq!(report.next_holidays[0].name, "Christmas");
/// assert!(report.warnings().next().is_some()); // 2027 is only provisional within 30 days
/// println!("{report}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageReport {
    /// The exchange.
    pub exchange: super::Exchange,
    /// The day the report is for.
    pub today: Date,
    /// The last day of the run of covered years starting with today's year (none: today's
    /// year is not covered).
    pub covered_until: Option<Date>,
    /// The last day of the run of confirmed years starting with today's year.
    pub confirmed_until: Option<Date>,
    /// The next holidays from today on.
    pub next_holidays: Vec<UpcomingHoliday>,
    /// Lines to log or print, in order.
    pub lines: Vec<CoverageLine>,
}

impl CoverageReport {
    /// The warning lines.
    ///
    /// ```
    /// # use market_feed::clock::{MarketClock, coverage_report};
    /// # use time::macros::{date, datetime};
    /// let clock = MarketClock::fixed(datetime!(2026-06-01 10:00 +05:30));
    /// assert_eq!(coverage_report(&clock, date!(2026-06-01)).warnings().count(), 0);
    /// ```
    pub fn warnings(&self) -> impl Iterator<Item = &CoverageLine> {
        self.lines.iter().filter(|l| l.severity == Severity::Warn)
    }
}

impl fmt::Display for CoverageReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let tag = match line.severity {
                Severity::Info => "ok",
                Severity::Warn => "WARN",
            };
            write!(f, "{tag}: {}", line.text)?;
        }
        Ok(())
    }
}

fn last_day(year: i32) -> Option<Date> {
    Date::from_calendar_date(year, Month::December, 31).ok()
}

/// The last day of the run of years from `from` on that `ok` accepts.
fn run_until(from: i32, ok: impl Fn(i32) -> bool) -> Option<Date> {
    let mut year = from;
    while ok(year) && year < from + 100 {
        year += 1;
    }
    (year > from).then(|| last_day(year - 1)).flatten()
}

/// The coverage of `clock`'s current calendar seen from `today` (see [`CoverageReport`]).
///
/// ```
/// use market_feed::clock::{Calendar, Exchange, MarketClock, TimeSource, coverage_report};
/// use std::sync::Arc;
/// use time::macros::date;
/// let clock = MarketClock::new(Arc::new(Calendar::weekdays_only(Exchange::Nse)), TimeSource::System);
/// let report = coverage_report(&clock, date!(2027-01-04));
/// assert_eq!(report.covered_until, None);
/// assert!(report.to_string().contains("does not cover 2027"));
/// ```
pub fn coverage_report(clock: &MarketClock, today: Date) -> CoverageReport {
    let cal = clock.calendar();
    let exchange = cal.exchange();
    let covered_until = run_until(today.year(), |y| cal.covers_year(y));
    let confirmed_until = run_until(today.year(), |y| cal.coverage(y) == Coverage::Confirmed);
    let next_holidays: Vec<UpcomingHoliday> = cal
        .holidays_from(today)
        .take(NEXT_HOLIDAYS)
        .map(|(date, name, provisional)| UpcomingHoliday {
            date,
            name: name.to_owned(),
            provisional,
        })
        .collect();
    let mut lines = Vec::new();
    let horizon_end = today + HORIZON;
    let mut push = |severity, text: String| lines.push(CoverageLine { severity, text });
    for year in today.year()..=horizon_end.year() {
        match cal.coverage(year) {
            Coverage::Confirmed => {}
            Coverage::Provisional => push(
                Severity::Warn,
                format!(
                    "the {exchange} calendar for {year} is provisional (fixed-date holidays and \
                     computed festival dates, not the exchange's list): load the exchange's or \
                     the broker's {year} list when it is published"
                ),
            ),
            Coverage::None => push(
                Severity::Warn,
                format!(
                    "the {exchange} calendar does not cover {year}: every weekday of {year} is \
                     treated as a trading day, holidays included; load {year}'s holiday list \
                     (the broker's list, or a calendar file with years = [{year}] and its \
                     holidays)"
                ),
            ),
        }
    }
    match (covered_until, confirmed_until) {
        (Some(c), Some(k)) if c == k => push(
            Severity::Info,
            format!("the {exchange} calendar is confirmed until {k}"),
        ),
        (Some(c), Some(k)) => push(
            Severity::Info,
            format!("the {exchange} calendar is confirmed until {k}, provisional until {c}"),
        ),
        (Some(c), None) => push(
            Severity::Info,
            format!("the {exchange} calendar is provisional until {c}"),
        ),
        (None, _) => {}
    }
    if !next_holidays.is_empty() {
        let list: Vec<String> = next_holidays
            .iter()
            .map(|h| {
                format!(
                    "{} {}{}",
                    h.date,
                    h.name,
                    if h.provisional { " (provisional)" } else { "" }
                )
            })
            .collect();
        push(
            Severity::Info,
            format!("next {exchange} holidays: {}", list.join(", ")),
        );
    }
    CoverageReport {
        exchange,
        today,
        covered_until,
        confirmed_until,
        next_holidays,
        lines,
    }
}

/// A date as the number `YYYYMMDD` (0 for none), for a gauge.
///
/// ```
/// use market_feed::clock::date_number;
/// use time::macros::date;
/// assert_eq!(date_number(Some(date!(2027-12-31))), 20271231);
/// assert_eq!(date_number(None), 0);
/// ```
pub fn date_number(d: Option<Date>) -> i64 {
    d.map_or(0, |d| {
        i64::from(d.year()) * 10_000 + i64::from(u8::from(d.month())) * 100 + i64::from(d.day())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Calendar, Exchange, TimeSource};
    use std::sync::Arc;
    use time::macros::date;

    #[test]
    fn provisional_horizon_warns_confirmed_does_not() {
        let clock = MarketClock::system();
        let june = coverage_report(&clock, date!(2026 - 06 - 01));
        assert_eq!(june.warnings().count(), 0, "{june}");
        let dec = coverage_report(&clock, date!(2026 - 12 - 15));
        let w: Vec<_> = dec.warnings().collect();
        assert_eq!(w.len(), 1, "{dec}");
        assert!(w[0].text.contains("2027 is provisional"), "{dec}");
        assert!(
            dec.to_string().contains(
                "next NSE holidays: 2026-12-25 Christmas, 2027-01-26 Republic Day (provisional)"
            ),
            "{dec}"
        );
    }

    #[test]
    fn an_uncovered_year_is_loud() {
        let clock = MarketClock::new(
            Arc::new(Calendar::bundled(Exchange::Nse)),
            TimeSource::System,
        );
        let r = coverage_report(&clock, date!(2028 - 01 - 03));
        assert_eq!(r.covered_until, None);
        assert_eq!(date_number(r.covered_until), 0);
        assert!(
            r.warnings().any(|l| l.text.contains("does not cover 2028")),
            "{r}"
        );
    }
}
