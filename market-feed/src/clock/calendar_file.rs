//! The calendar file format (TOML): parsing a file into a [`Calendar`].
//!
//! See the header of `market-feed/data/calendar.toml` for the format.

use std::path::Path;

use serde::Deserialize;
use time::{Date, Time, macros::format_description};

use super::{
    calendar::{BUNDLED_CALENDAR, Calendar, Holiday, Special},
    calendar_error::CalendarError,
    exchange::Exchange,
    session_times::SessionTimes,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    #[serde(default)]
    extends: Option<String>,
    #[serde(default)]
    years: Vec<i32>,
    #[serde(default)]
    provisional_years: Vec<i32>,
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
    #[serde(default)]
    provisional: bool,
    #[serde(default)]
    reason: Option<String>,
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
        for year in file.years {
            cal.provisional_years.remove(&year);
            cal.years.insert(year);
        }
        for year in file.provisional_years {
            cal.years.remove(&year);
            cal.provisional_years.insert(year);
        }
        for (i, h) in file.holiday.into_iter().enumerate() {
            let what = format!("holiday #{} ({:?})", i + 1, h.name);
            let date = parse_date(&h.date, &what).map_err(parse_err)?;
            if h.name.trim().is_empty() {
                return Err(parse_err(format!("{what}: name must not be empty")));
            }
            if h.provisional && h.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                return Err(parse_err(format!(
                    "{what}: a provisional holiday needs a reason (why the date is not confirmed)"
                )));
            }
            if applies(&h.exchanges, exchange) {
                let provisional = h.provisional || cal.provisional_years.contains(&date.year());
                cal.holidays.insert(
                    date,
                    Holiday {
                        name: h.name.into(),
                        provisional,
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
}
