//! The fake's market-holiday list: `GET /v2/market/holidays` in Upstox's shape, settable from
//! tests, with failure modes. Holiday requests are counted apart from the quote requests
//! ([`FakeUpstox::holiday_requests`]), so tests that count broker quote calls are unaffected.

use serde_json::{Value, json};

use super::{FakeUpstox, State};
use crate::clock::{HolidayEntry, OpenWindow, at_ist, to_ms};

/// How the fake answers `/v2/market/holidays`.
///
/// ```
/// use market_feed::testing::HolidayReply;
/// assert_ne!(HolidayReply::Normal, HolidayReply::Status(500));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum HolidayReply {
    /// `{"status":"success","data":[entries]}`.
    #[default]
    Normal,
    /// An Upstox error envelope with this HTTP status.
    Status(u16),
    /// An HTML error page (a proxy's) with this HTTP status.
    Html(u16),
    /// HTTP 200 with this body.
    Raw(String),
}

#[derive(Debug, Default)]
pub(super) struct Holidays {
    entries: Vec<HolidayEntry>,
    reply: HolidayReply,
    requests: Vec<Option<String>>,
}

/// A trading holiday for NSE and BSE (and the other exchanges), as Upstox lists it.
///
/// ```
/// use market_feed::testing::holiday_closed;
/// use time::macros::date;
/// let e = holiday_closed(date!(2027-01-26), "Republic Day");
/// assert!(e.closed_exchanges.contains(&"NSE".to_owned()));
/// ```
pub fn holiday_closed(date: time::Date, name: &str) -> HolidayEntry {
    HolidayEntry {
        date,
        description: name.to_owned(),
        holiday_type: "TRADING_HOLIDAY".into(),
        closed_exchanges: ["NFO", "CDS", "BSE", "BCD", "MCX", "NSE", "BFO"]
            .map(str::to_owned)
            .to_vec(),
        open_exchanges: vec![],
    }
}

/// A session of NSE and BSE on `date` from `open` to `close` IST, listed as Upstox lists a
/// weekend session ("Special DR Trading": a `TRADING_HOLIDAY` with the exchanges open).
///
/// ```
/// use market_feed::testing::special_session;
/// use time::macros::{date, time};
/// let e = special_session(date!(2027-02-06), "Special session", time!(10:00), time!(11:00));
/// assert_eq!(e.open_exchanges.len(), 2);
/// ```
pub fn special_session(
    date: time::Date,
    name: &str,
    open: time::Time,
    close: time::Time,
) -> HolidayEntry {
    let window = |exchange: &str| OpenWindow {
        exchange: exchange.to_owned(),
        start_time: to_ms(at_ist(date, open)),
        end_time: to_ms(at_ist(date, close)),
    };
    HolidayEntry {
        date,
        description: name.to_owned(),
        holiday_type: "TRADING_HOLIDAY".into(),
        closed_exchanges: ["MCX", "CDS", "BCD"].map(str::to_owned).to_vec(),
        open_exchanges: vec![window("NSE"), window("BSE")],
    }
}

impl FakeUpstox {
    /// Sets the holiday list the fake serves (empty until set).
    ///
    /// ```
    /// # use market_feed::testing::{FakeUpstox, holiday_closed};
    /// # use time::macros::date;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// fake.set_holidays(vec![holiday_closed(date!(2027-01-26), "Republic Day")]);
    /// # });
    /// ```
    pub fn set_holidays(&self, entries: Vec<HolidayEntry>) {
        self.lock().holidays.entries = entries;
    }

    /// How the holiday endpoint answers from now on.
    ///
    /// ```
    /// # use market_feed::testing::{FakeUpstox, HolidayReply};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeUpstox::start().await.unwrap();
    /// fake.holiday_reply(HolidayReply::Html(502));
    /// # });
    /// ```
    pub fn holiday_reply(&self, reply: HolidayReply) {
        self.lock().holidays.reply = reply;
    }

    /// The number of holiday-list requests so far.
    ///
    /// ```
    /// # use market_feed::testing::FakeUpstox;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// assert_eq!(FakeUpstox::start().await.unwrap().holiday_requests(), 0);
    /// # });
    /// ```
    pub fn holiday_requests(&self) -> usize {
        self.lock().holidays.requests.len()
    }

    /// The `User-Agent` of each holiday-list request so far.
    ///
    /// ```
    /// # use market_feed::testing::FakeUpstox;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// assert!(FakeUpstox::start().await.unwrap().holiday_user_agents().is_empty());
    /// # });
    /// ```
    pub fn holiday_user_agents(&self) -> Vec<Option<String>> {
        self.lock().holidays.requests.clone()
    }
}

/// Answers a holiday-list request: (status, content type, body).
pub(super) fn answer(state: &mut State, user_agent: Option<String>) -> (u16, &'static str, String) {
    let h = &mut state.holidays;
    h.requests.push(user_agent);
    match &h.reply {
        HolidayReply::Normal => {
            let data: Vec<Value> = h
                .entries
                .iter()
                .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
                .collect();
            (
                200,
                "application/json",
                json!({"status": "success", "data": data}).to_string(),
            )
        }
        HolidayReply::Status(status) => (
            *status,
            "application/json",
            json!({"status": "error", "errors": [{"errorCode": "UDAPI100500", "message": "Something went wrong"}]})
                .to_string(),
        ),
        HolidayReply::Html(status) => (
            *status,
            "text/html",
            format!("<!DOCTYPE html><html><body><h1>{status} Bad Gateway</h1></body></html>"),
        ),
        HolidayReply::Raw(body) => (200, "application/json", body.clone()),
    }
}
