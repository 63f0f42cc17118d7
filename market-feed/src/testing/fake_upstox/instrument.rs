//! [`FakeInstrument`]: one instrument the fake serves, with its values.

use crate::{
    source::{bundled_prev_close, levels::unit},
    universe::Instrument,
};

/// One instrument the fake knows, with the values it serves.
///
/// ```
/// use market_feed::testing::FakeInstrument;
/// let i = FakeInstrument::stock("NSE_EQ|INE002A01018", "RELIANCE", 1391.2, 1402.9, 4_769_483);
/// assert_eq!(i.map_key, "NSE_EQ:RELIANCE");
/// assert_eq!((i.open, i.high, i.low), (1402.9, 1402.9, 1391.2));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FakeInstrument {
    /// The requested key (`NSE_EQ|INE002A01018`), served as `instrument_token`.
    pub key: String,
    /// The key of the entry in the response's `data` map (`NSE_EQ:RELIANCE`).
    pub map_key: String,
    /// `last_price`.
    pub last_price: f64,
    /// The previous close: `cp` in v3 LTP, `last_price - net_change` in the full quote.
    pub prev_close: f64,
    /// The day's volume.
    pub volume: u64,
    /// The day's open (full quote `ohlc.open`).
    pub open: f64,
    /// The day's high.
    pub high: f64,
    /// The day's low.
    pub low: f64,
}

impl FakeInstrument {
    /// A stock: map key `SEGMENT:SYMBOL`, open at the previous close.
    ///
    /// ```
    /// # use market_feed::testing::FakeInstrument;
    /// assert_eq!(FakeInstrument::stock("NSE_EQ|X1", "X", 10.0, 9.0, 5).high, 10.0);
    /// ```
    pub fn stock(key: &str, symbol: &str, last_price: f64, prev_close: f64, volume: u64) -> Self {
        let segment = key.split_once('|').map_or(key, |(s, _)| s);
        Self {
            key: key.to_owned(),
            map_key: format!("{segment}:{symbol}"),
            last_price,
            prev_close,
            volume,
            open: prev_close,
            high: prev_close.max(last_price),
            low: prev_close.min(last_price),
        }
    }

    /// An index: map key as Upstox spells it (`NSE_INDEX:Nifty 50`), no volume.
    ///
    /// ```
    /// # use market_feed::testing::FakeInstrument;
    /// assert_eq!(FakeInstrument::index("NSE_INDEX|Nifty 50", 25010.5, 25300.0).map_key, "NSE_INDEX:Nifty 50");
    /// ```
    pub fn index(key: &str, last_price: f64, prev_close: f64) -> Self {
        Self {
            map_key: key.replacen('|', ":", 1),
            volume: 0,
            ..Self::stock(key, "", last_price, prev_close, 0)
        }
    }

    /// A universe instrument with deterministic values: the bundled previous close and a
    /// change of up to ±3 % derived from the key.
    ///
    /// ```
    /// # use market_feed::{testing::FakeInstrument, universe::Universe};
    /// let u = Universe::bundled();
    /// let f = FakeInstrument::from_instrument(u.by_symbol("NIFTY 50").unwrap());
    /// assert_eq!((f.map_key.as_str(), f.prev_close), ("NSE_INDEX:Nifty 50", 25_300.0));
    /// ```
    pub fn from_instrument(i: &Instrument) -> Self {
        let prev = bundled_prev_close(i);
        let change = (unit(&format!("fake:{}", i.key)) - 0.5) * 0.06;
        let ltp = crate::model::round2(prev * (1.0 + change));
        if i.is_index() {
            Self::index(i.key.as_str(), ltp, prev)
        } else {
            let volume = 10_000 + (unit(&format!("fakevol:{}", i.key)) * 1e6) as u64;
            Self::stock(i.key.as_str(), &i.symbol, ltp, prev, volume)
        }
    }
}
