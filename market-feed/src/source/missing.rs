//! [`MissingInstrument`]: an instrument of the universe that a source cannot quote, and why.
//!
//! Sources report these through [`PriceSource::missing`](super::PriceSource::missing); the
//! server lists them in `GET /api/v1/instruments/missing` and counts them in `/metrics`.

use serde::Serialize;

use crate::model::InstrumentKey;

/// Why an instrument has no quote.
///
/// ```
/// use market_feed::source::MissingReason;
/// assert_eq!(MissingReason::Unknown.as_str(), "unknown to the broker");
/// assert_eq!(MissingReason::NoPrice.label(), "no_price");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum MissingReason {
    /// The broker refuses the key (Upstox: HTTP 400 `UDAPI1087`). The source stops asking for
    /// it until the next trading day or a universe change.
    #[serde(rename = "unknown to the broker")]
    Unknown,
    /// The broker accepts the key but answers without a price, or leaves it out of its answer.
    #[serde(rename = "no price")]
    NoPrice,
}

impl MissingReason {
    /// Both reasons, for metrics.
    ///
    /// ```
    /// assert_eq!(market_feed::source::MissingReason::ALL.len(), 2);
    /// ```
    pub const ALL: [MissingReason; 2] = [MissingReason::Unknown, MissingReason::NoPrice];

    /// The words used in the API and in log lines.
    ///
    /// ```
    /// # use market_feed::source::MissingReason;
    /// assert_eq!(MissingReason::NoPrice.as_str(), "no price");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            MissingReason::Unknown => "unknown to the broker",
            MissingReason::NoPrice => "no price",
        }
    }

    /// A short label for metrics (`unknown`, `no_price`).
    ///
    /// ```
    /// # use market_feed::source::MissingReason;
    /// assert_eq!(MissingReason::Unknown.label(), "unknown");
    /// ```
    pub fn label(self) -> &'static str {
        match self {
            MissingReason::Unknown => "unknown",
            MissingReason::NoPrice => "no_price",
        }
    }
}

/// An instrument a source cannot quote at the moment.
///
/// ```
/// use market_feed::{model::InstrumentKey, source::{MissingInstrument, MissingReason}};
/// let m = MissingInstrument {
///     key: InstrumentKey::new("NSE_EQ|INE000X01010")?,
///     symbol: "GONE".into(),
///     reason: MissingReason::Unknown,
/// };
/// assert_eq!(
///     serde_json::to_string(&m)?,
///     r#"{"key":"NSE_EQ|INE000X01010","symbol":"GONE","reason":"unknown to the broker"}"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingInstrument {
    /// The instrument key.
    pub key: InstrumentKey,
    /// The universe's symbol for it.
    pub symbol: String,
    /// Why it has no quote.
    pub reason: MissingReason,
}
