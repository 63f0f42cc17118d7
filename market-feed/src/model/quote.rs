//! [`Quote`]: one instrument's price at one instant, in the exact wire form of docs/protocol.md §1.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::InstrumentKey;

/// Rounds a price or percentage to 2 decimals, the precision of the wire format.
///
/// ```
/// use market_feed::model::round2;
/// assert_eq!(round2(1391.2049), 1391.2);
/// assert_eq!(round2(-0.8339), -0.83);
/// ```
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// One instrument's latest price, as sent to clients.
///
/// Its JSON form is exactly docs/protocol.md §1: `key`, `symbol`, `ltp` and `ts` are always present;
/// the other fields are `null` when the source does not know them. Build quotes with
/// [`Quote::new`] and the `with_*` setters: they round prices to 2 decimals and derive `change`
/// and `change_pct` from `prev_close`, so the invariants hold by construction.
///
/// ```
/// use market_feed::model::{InstrumentKey, Quote};
///
/// let q = Quote::new(InstrumentKey::new("NSE_EQ|INE002A01018")?, "RELIANCE", 1391.2, 1769680800123)
///     .with_prev_close(Some(1402.9))
///     .with_ohlc(Some(1402.9), Some(1402.9), Some(1384.0))
///     .with_volume(Some(4769483));
/// assert_eq!(q.change, Some(-11.7));
/// assert_eq!(q.change_pct, Some(-0.83));
/// assert_eq!(
///     serde_json::to_string(&q)?,
///     r#"{"key":"NSE_EQ|INE002A01018","symbol":"RELIANCE","ltp":1391.2,"prev_close":1402.9,"change":-11.7,"change_pct":-0.83,"open":1402.9,"high":1402.9,"low":1384.0,"volume":4769483,"ts":1769680800123}"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    /// The instrument key (`NSE_EQ|INE002A01018`).
    pub key: InstrumentKey,
    /// The trading symbol or index name (`RELIANCE`, `NIFTY 50`).
    pub symbol: Arc<str>,
    /// Last traded price (index level for indices).
    pub ltp: f64,
    /// The previous session's close, when known.
    pub prev_close: Option<f64>,
    /// `ltp - prev_close`, rounded to 2 decimals.
    pub change: Option<f64>,
    /// `100 * change / prev_close`, rounded to 2 decimals.
    pub change_pct: Option<f64>,
    /// The day's open.
    pub open: Option<f64>,
    /// The day's high.
    pub high: Option<f64>,
    /// The day's low.
    pub low: Option<f64>,
    /// The day's traded volume (indices have none).
    pub volume: Option<u64>,
    /// When the price was observed, in milliseconds since the Unix epoch.
    pub ts: i64,
}

impl Quote {
    /// A quote with only the always-present fields; `ltp` is rounded to 2 decimals.
    ///
    /// ```
    /// # use market_feed::model::{InstrumentKey, Quote};
    /// let q = Quote::new(InstrumentKey::new("NSE_INDEX|Nifty 50").unwrap(), "NIFTY 50", 25123.456, 0);
    /// assert_eq!(q.ltp, 25123.46);
    /// assert_eq!(q.change, None);
    /// ```
    pub fn new(key: InstrumentKey, symbol: impl Into<Arc<str>>, ltp: f64, ts: i64) -> Self {
        Self {
            key,
            symbol: symbol.into(),
            ltp: round2(ltp),
            prev_close: None,
            change: None,
            change_pct: None,
            open: None,
            high: None,
            low: None,
            volume: None,
            ts,
        }
    }

    /// Sets the previous close and derives `change` and `change_pct` from it.
    /// A zero or non-finite previous close leaves both `None`.
    ///
    /// ```
    /// # use market_feed::model::{InstrumentKey, Quote};
    /// let q = Quote::new(InstrumentKey::new("NSE_EQ|X1").unwrap(), "X", 110.0, 0)
    ///     .with_prev_close(Some(100.0));
    /// assert_eq!((q.change, q.change_pct), (Some(10.0), Some(10.0)));
    /// ```
    pub fn with_prev_close(mut self, prev_close: Option<f64>) -> Self {
        let prev = prev_close.filter(|p| p.is_finite()).map(round2);
        self.prev_close = prev;
        match prev {
            Some(p) if p != 0.0 => {
                let change = self.ltp - p;
                self.change = Some(round2(change));
                self.change_pct = Some(round2(100.0 * change / p));
            }
            _ => {
                self.change = None;
                self.change_pct = None;
            }
        }
        self
    }

    /// Sets the day's open, high and low (each rounded to 2 decimals).
    ///
    /// ```
    /// # use market_feed::model::{InstrumentKey, Quote};
    /// let q = Quote::new(InstrumentKey::new("NSE_EQ|X1").unwrap(), "X", 10.0, 0)
    ///     .with_ohlc(Some(9.5), Some(10.25), None);
    /// assert_eq!(q.high, Some(10.25));
    /// assert_eq!(q.low, None);
    /// ```
    pub fn with_ohlc(mut self, open: Option<f64>, high: Option<f64>, low: Option<f64>) -> Self {
        let r = |v: Option<f64>| v.filter(|p| p.is_finite()).map(round2);
        self.open = r(open);
        self.high = r(high);
        self.low = r(low);
        self
    }

    /// Sets the day's volume.
    ///
    /// ```
    /// # use market_feed::model::{InstrumentKey, Quote};
    /// let q = Quote::new(InstrumentKey::new("NSE_EQ|X1").unwrap(), "X", 10.0, 0).with_volume(Some(7));
    /// assert_eq!(q.volume, Some(7));
    /// ```
    pub fn with_volume(mut self, volume: Option<u64>) -> Self {
        self.volume = volume;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> InstrumentKey {
        InstrumentKey::new("NSE_INDEX|Nifty 50").unwrap()
    }

    #[test]
    fn nulls_are_explicit_on_the_wire() {
        let q = Quote::new(key(), "NIFTY 50", 25000.0, 5);
        let v: serde_json::Value = serde_json::to_value(&q).unwrap();
        for f in [
            "prev_close",
            "change",
            "change_pct",
            "open",
            "high",
            "low",
            "volume",
        ] {
            assert!(v[f].is_null(), "{f}");
        }
        assert_eq!(v["ltp"], 25000.0);
    }

    #[test]
    fn zero_prev_close_gives_no_change() {
        let q = Quote::new(key(), "NIFTY 50", 1.0, 0).with_prev_close(Some(0.0));
        assert_eq!((q.change, q.change_pct), (None, None));
        assert_eq!(q.prev_close, Some(0.0));
    }

    #[test]
    fn json_round_trip() {
        let q = Quote::new(key(), "NIFTY 50", 25010.55, 1)
            .with_prev_close(Some(24990.1))
            .with_ohlc(Some(25000.0), Some(25100.0), Some(24950.05));
        let back: Quote = serde_json::from_str(&serde_json::to_string(&q).unwrap()).unwrap();
        assert_eq!(back, q);
    }
}
