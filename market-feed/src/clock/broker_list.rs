//! A broker's market-holiday list ([`HolidayEntry`], Upstox's `/v2/market/holidays` shape) and
//! what it says about one exchange ([`BrokerDays`]).
//!
//! The rules, per entry and exchange:
//! - the exchange in `open_exchanges`: it trades in that window that day. A weekday window with
//!   the regular open and close is a regular day (Upstox lists "New Year Day" as a
//!   `TRADING_HOLIDAY` with NSE open all day: not a holiday for NSE); any other window is a
//!   special session (Muhurat, weekend budget or DR sessions) with pre-open 15 minutes before
//!   the window's start and no post-close phase (a window with the regular open and close
//!   gets the regular pre-open and post-close). On a weekday `TRADING_HOLIDAY` the day is a
//!   holiday named by `description` outside that session;
//! - else the exchange in `closed_exchanges`: a holiday named by `description`;
//! - `SETTLEMENT_HOLIDAY` changes nothing; unknown `holiday_type` values and unknown exchanges
//!   are ignored (debug log).
//!
//! Every year with at least one entry counts as listed: the broker's list for that year is
//! complete, so provisional entries of that year are dropped when it is merged
//! ([`Calendar::merged_with`](super::Calendar::merged_with)).

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Time, Weekday};

use super::{
    exchange::Exchange,
    ist::{from_ms, ist_date, ist_time},
    session_times::SessionTimes,
};

/// How long before a special session's start its pre-open begins (the broker gives only the
/// trading window).
pub const SPECIAL_PRE_OPEN: Duration = Duration::minutes(15);

/// One entry of the broker's holiday list, as Upstox sends it (snake_case fields, times in ms).
///
/// ```
/// use market_feed::clock::HolidayEntry;
/// let e: HolidayEntry = serde_json::from_str(r#"{"date":"2024-01-26","description":"Republic Day",
///     "holiday_type":"TRADING_HOLIDAY","closed_exchanges":["NSE","BSE"],"open_exchanges":[]}"#)?;
/// assert_eq!(e.description, "Republic Day");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolidayEntry {
    /// The IST date.
    pub date: Date,
    /// The holiday's or session's name.
    pub description: String,
    /// `TRADING_HOLIDAY`, `SETTLEMENT_HOLIDAY` or `SPECIAL_TIMING`.
    pub holiday_type: String,
    /// Exchanges closed that day.
    pub closed_exchanges: Vec<String>,
    /// Exchanges open that day, with their windows.
    pub open_exchanges: Vec<OpenWindow>,
}

/// An exchange's trading window in a [`HolidayEntry`].
///
/// ```
/// use market_feed::clock::OpenWindow;
/// let w = OpenWindow { exchange: "NSE".into(), start_time: 1_705_722_300_000, end_time: 1_705_734_000_000 };
/// assert!(w.start_time < w.end_time);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenWindow {
    /// The exchange code (`NSE`, `BSE`, `MCX`, ...).
    pub exchange: String,
    /// Start, ms since the epoch.
    pub start_time: i64,
    /// End, ms since the epoch.
    pub end_time: i64,
}

/// What the broker's list says about one date, for one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerDay {
    /// Closed all day.
    Holiday {
        /// The holiday's name.
        name: Arc<str>,
    },
    /// A session in a window other than the regular weekday one.
    Special {
        /// The session's name.
        name: Arc<str>,
        /// Its times.
        times: SessionTimes,
        /// The holiday it falls on (a weekday trading holiday), if any.
        holiday: Option<Arc<str>>,
    },
    /// Explicitly open with the regular hours (not a holiday for this exchange).
    Regular,
}

/// The broker's list as it applies to one exchange: the years it lists and what it says about
/// each date it mentions.
///
/// ```
/// use market_feed::clock::{BrokerDay, BrokerDays, Exchange, HolidayEntry, SessionTimes};
/// use time::macros::date;
/// let list: Vec<HolidayEntry> = serde_json::from_str(r#"[{"date":"2027-01-26","description":"Republic Day",
///     "holiday_type":"TRADING_HOLIDAY","closed_exchanges":["NSE"],"open_exchanges":[]}]"#)?;
/// let days = BrokerDays::from_entries(&list, Exchange::Nse, SessionTimes::REGULAR);
/// assert!(days.lists_year(2027));
/// assert!(matches!(days.day(date!(2027-01-26)), Some(BrokerDay::Holiday { .. })));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerDays {
    pub(super) years: BTreeSet<i32>,
    pub(super) days: BTreeMap<Date, BrokerDay>,
}

const KNOWN_EXCHANGES: &[&str] = &["NSE", "BSE", "NFO", "BFO", "CDS", "BCD", "MCX", "NSCOM"];

impl BrokerDays {
    /// Applies the rules of this module to every entry, for `exchange` whose regular session
    /// is `regular`.
    ///
    /// ```
    /// # use market_feed::clock::{BrokerDays, Exchange, SessionTimes};
    /// assert!(BrokerDays::from_entries(&[], Exchange::Nse, SessionTimes::REGULAR).is_empty());
    /// ```
    pub fn from_entries(
        entries: &[HolidayEntry],
        exchange: Exchange,
        regular: SessionTimes,
    ) -> Self {
        let mut out = Self::default();
        for e in entries {
            out.years.insert(e.date.year());
            for code in e
                .closed_exchanges
                .iter()
                .chain(e.open_exchanges.iter().map(|w| &w.exchange))
            {
                if !KNOWN_EXCHANGES.contains(&code.as_str()) {
                    tracing::debug!(date = %e.date, exchange = %code, "holiday list: unknown exchange ignored");
                }
            }
            if let Some(day) = convert(e, exchange, regular) {
                out.days.insert(e.date, day);
            }
        }
        out
    }

    /// Whether the list has entries for `year` (and so describes it completely).
    ///
    /// ```
    /// # use market_feed::clock::{BrokerDays, Exchange, SessionTimes};
    /// assert!(!BrokerDays::default().lists_year(2027));
    /// ```
    pub fn lists_year(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// What the list says about `date`, if it mentions it for this exchange.
    ///
    /// ```
    /// # use market_feed::clock::BrokerDays;
    /// # use time::macros::date;
    /// assert!(BrokerDays::default().day(date!(2027-01-26)).is_none());
    /// ```
    pub fn day(&self, date: Date) -> Option<&BrokerDay> {
        self.days.get(&date)
    }

    /// Whether the list lists no year at all.
    ///
    /// ```
    /// # use market_feed::clock::BrokerDays;
    /// assert!(BrokerDays::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.years.is_empty()
    }
}

/// One entry for one exchange (see the module's rules).
fn convert(e: &HolidayEntry, exchange: Exchange, regular: SessionTimes) -> Option<BrokerDay> {
    let trading_holiday = match e.holiday_type.as_str() {
        "TRADING_HOLIDAY" => true,
        "SPECIAL_TIMING" => false,
        "SETTLEMENT_HOLIDAY" => return None,
        other => {
            tracing::debug!(date = %e.date, holiday_type = other, "holiday list: unknown holiday_type ignored");
            return None;
        }
    };
    let code = exchange.as_str();
    let name: Arc<str> = e.description.trim().into();
    let closed = e.closed_exchanges.iter().any(|c| c == code);
    let weekday = !matches!(e.date.weekday(), Weekday::Saturday | Weekday::Sunday);
    if let Some(w) = e.open_exchanges.iter().find(|w| w.exchange == code) {
        let Some(times) = window_times(e.date, w, regular) else {
            tracing::debug!(date = %e.date, exchange = code, "holiday list: a window outside its date or with end <= start is ignored");
            return closed.then_some(BrokerDay::Holiday { name });
        };
        let regular_hours = times == regular;
        if weekday && !closed && regular_hours {
            return Some(BrokerDay::Regular);
        }
        let holiday = (closed || (weekday && trading_holiday)).then(|| name.clone());
        return Some(BrokerDay::Special {
            name,
            times,
            holiday,
        });
    }
    closed.then_some(BrokerDay::Holiday { name })
}

/// The session times of a window: the regular ones when the window has the regular open and
/// close, else pre-open [`SPECIAL_PRE_OPEN`] before the start and no post-close.
fn window_times(date: Date, w: &OpenWindow, regular: SessionTimes) -> Option<SessionTimes> {
    let (start, end) = (from_ms(w.start_time), from_ms(w.end_time));
    if ist_date(start) != date || ist_date(end) != date || end <= start {
        return None;
    }
    let (open, close) = (ist_time(start), ist_time(end));
    if open == regular.open && close == regular.close {
        return Some(regular);
    }
    let pre_open = if open >= Time::MIDNIGHT + SPECIAL_PRE_OPEN {
        open - SPECIAL_PRE_OPEN
    } else {
        Time::MIDNIGHT
    };
    Some(SessionTimes {
        pre_open,
        open,
        close,
        post_close_end: close,
    })
}

/// Parses the broker's answer: `{"status":"success","data":[HolidayEntry, ...]}`.
///
/// # Errors
///
/// A one-line description of what is wrong (not JSON, an error envelope, missing or
/// differently named fields); the body itself is not quoted beyond its first characters.
///
/// ```
/// use market_feed::clock::parse_holiday_answer;
/// assert!(parse_holiday_answer(br#"{"status":"success","data":[]}"#).unwrap().is_empty());
/// assert!(parse_holiday_answer(br#"{"status":"error","errors":[{"errorCode":"UDAPI100500"}]}"#).is_err());
/// assert!(parse_holiday_answer(b"<html>502</html>").is_err());
/// ```
pub fn parse_holiday_answer(body: &[u8]) -> Result<Vec<HolidayEntry>, String> {
    #[derive(Deserialize)]
    struct Envelope {
        status: Option<String>,
        data: Option<serde_json::Value>,
        errors: Option<serde_json::Value>,
    }
    let env: Envelope = serde_json::from_slice(body).map_err(|e| {
        let start: String = String::from_utf8_lossy(&body[..body.len().min(40)])
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        format!("the answer is not JSON ({e}); it starts with {start:?}")
    })?;
    if env.status.as_deref() != Some("success") {
        let codes = env
            .errors
            .map(|errs| {
                let mut codes = Vec::new();
                for err in errs.as_array().into_iter().flatten() {
                    if let Some(code) = err
                        .get("error_code")
                        .or_else(|| err.get("errorCode"))
                        .and_then(|c| c.as_str())
                    {
                        codes.push(code.to_owned());
                    }
                }
                codes.join(", ")
            })
            .unwrap_or_default();
        return Err(format!(
            "the broker answered status {:?} (error codes: [{codes}])",
            env.status.as_deref().unwrap_or("missing")
        ));
    }
    let data = env
        .data
        .ok_or_else(|| "the answer has no \"data\" list".to_owned())?;
    serde_json::from_value(data)
        .map_err(|e| format!("the holiday list has an unexpected shape: {e}"))
}

#[cfg(test)]
mod tests;
