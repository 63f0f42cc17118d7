//! [`Instrument`]: one tradable thing a feed serves (a stock or an index), as clients see it in
//! `GET /api/v1/instruments` (docs/protocol.md §4).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::InstrumentKey;

/// One instrument: its broker key, the symbol users know it by, its name, ISIN and segment.
///
/// Serializes as `{"key","symbol","name","isin","segment"}` (docs/protocol.md §4). Cloning is cheap
/// (every string is reference-counted).
///
/// ```
/// use market_feed::{model::InstrumentKey, universe::Instrument};
///
/// let reliance = Instrument::new(
///     InstrumentKey::new("NSE_EQ|INE002A01018")?,
///     "RELIANCE",
///     "Reliance Industries Limited",
///     Some("INE002A01018"),
/// );
/// assert_eq!(&*reliance.segment, "NSE_EQ");
/// assert!(!reliance.is_index());
/// assert_eq!(
///     serde_json::to_string(&reliance)?,
///     r#"{"key":"NSE_EQ|INE002A01018","symbol":"RELIANCE","name":"Reliance Industries Limited","isin":"INE002A01018","segment":"NSE_EQ"}"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Instrument {
    /// The broker key (`NSE_EQ|INE002A01018`, `NSE_INDEX|Nifty 50`).
    pub key: InstrumentKey,
    /// The trading symbol or index name users know (`RELIANCE`, `NIFTY 50`).
    pub symbol: Arc<str>,
    /// The company or index name.
    pub name: Arc<str>,
    /// The ISIN, for instruments that have one (stocks; indices have none).
    pub isin: Option<Arc<str>>,
    /// The segment, always the part of `key` before `|` (`NSE_EQ`, `NSE_INDEX`).
    pub segment: Arc<str>,
}

impl Instrument {
    /// An instrument; its segment is taken from the key. An empty `isin` counts as none.
    ///
    /// ```
    /// # use market_feed::{model::InstrumentKey, universe::Instrument};
    /// let nifty = Instrument::new(InstrumentKey::new("NSE_INDEX|Nifty 50").unwrap(), "NIFTY 50", "Nifty 50", None);
    /// assert!(nifty.is_index());
    /// assert_eq!(nifty.isin, None);
    /// ```
    pub fn new(
        key: InstrumentKey,
        symbol: impl Into<Arc<str>>,
        name: impl Into<Arc<str>>,
        isin: Option<&str>,
    ) -> Self {
        let segment = Arc::from(key.segment());
        Self {
            key,
            symbol: symbol.into(),
            name: name.into(),
            isin: isin.filter(|s| !s.is_empty()).map(Arc::from),
            segment,
        }
    }

    /// True for index segments (`NSE_INDEX`, `BSE_INDEX`, `MCX_INDEX`, `GLOBAL_INDEX`, ...).
    ///
    /// ```
    /// # use market_feed::{model::InstrumentKey, universe::Instrument};
    /// let sensex = Instrument::new(InstrumentKey::new("BSE_INDEX|SENSEX").unwrap(), "SENSEX", "BSE SENSEX", None);
    /// assert!(sensex.is_index());
    /// ```
    pub fn is_index(&self) -> bool {
        is_index_segment(self.key.segment())
    }
}

/// True when a segment name denotes indices (it ends in `_INDEX`).
///
/// ```
/// use market_feed::universe::is_index_segment;
/// assert!(is_index_segment("NSE_INDEX"));
/// assert!(!is_index_segment("NSE_EQ"));
/// ```
pub fn is_index_segment(segment: &str) -> bool {
    segment.ends_with("_INDEX")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_segment_from_key() {
        let i = Instrument::new(
            InstrumentKey::new("BSE_INDEX|BANKEX").unwrap(),
            "BANKEX",
            "BSE BANKEX",
            Some(""),
        );
        assert_eq!(&*i.segment, "BSE_INDEX");
        assert_eq!(i.isin, None);
        let v: serde_json::Value = serde_json::to_value(&i).unwrap();
        assert!(v["isin"].is_null());
        let back: Instrument = serde_json::from_value(v).unwrap();
        assert_eq!(back, i);
    }
}
