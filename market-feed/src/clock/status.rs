//! [`MarketStatus`]: the market status object of docs/protocol.md §2.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, macros::format_description};

use super::{exchange::Exchange, session::Phase};

/// The market status sent to clients (`GET /api/v1/market/status`, `welcome`, `market_status`).
///
/// ```
/// use market_feed::clock::MarketClock;
/// use time::macros::datetime;
///
/// let clock = MarketClock::fixed(datetime!(2026-01-29 10:00 +05:30));
/// let json = serde_json::to_value(clock.status()).unwrap();
/// assert_eq!(json["phase"], "open");
/// assert_eq!(json["live"], true);
/// assert_eq!(json["trading_day"], "2026-01-29");
/// assert_eq!(json["next_phase"], "post_close");
/// assert!(json["reason"].is_null());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketStatus {
    /// The exchange.
    pub exchange: Exchange,
    /// The phase now.
    pub phase: Phase,
    /// Whether the feed's service window is open (prices are being fetched).
    pub live: bool,
    /// The IST date of the current or, when closed, the next trading session.
    #[serde(
        serialize_with = "serialize_date",
        deserialize_with = "deserialize_date"
    )]
    pub trading_day: Date,
    /// When `phase` next changes, in ms since the epoch.
    pub next_change: i64,
    /// The phase it changes to.
    pub next_phase: Phase,
    /// Why the market is closed (`weekend`, `holiday: <name>`, `after_hours`, `before_hours`);
    /// `None` unless `phase` is `closed`.
    pub reason: Option<String>,
}

/// Serializes a date as `YYYY-MM-DD`, the form used on the wire.
///
/// ```
/// use market_feed::clock::format_date;
/// assert_eq!(format_date(time::macros::date!(2026-01-29)), "2026-01-29");
/// ```
pub fn format_date(d: Date) -> String {
    d.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_else(|_| d.to_string())
}

/// Parses a `YYYY-MM-DD` date.
///
/// ```
/// use market_feed::clock::parse_date;
/// assert_eq!(parse_date("2026-01-29"), Some(time::macros::date!(2026-01-29)));
/// assert_eq!(parse_date("2026-1-29"), None);
/// ```
pub fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s, format_description!("[year]-[month]-[day]")).ok()
}

fn serialize_date<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_date(*d))
}

/// Reads a `YYYY-MM-DD` date (the wire form).
pub(crate) fn deserialize_date<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    parse_date(&text).ok_or_else(|| {
        serde::de::Error::custom(format!("{text:?} is not a date in the form YYYY-MM-DD"))
    })
}
