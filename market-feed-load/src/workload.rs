//! The benchmark workload: a realistic universe of 9 indices and ~2,100 stocks whose prices walk
//! randomly, serialized exactly as `market-feed` puts them on the wire (`docs/protocol.md` §1, §3).
//!
//! The floor server publishes these frames; the peers in `benches/peers/` generate the same shape
//! (same fields, similar symbol and number lengths) so every server moves the same bytes.

use std::time::{SystemTime, UNIX_EPOCH};

use market_feed::model::{InstrumentKey, Quote};
use rand::{Rng, SeedableRng, rngs::SmallRng};

/// The index names published in every `indices_update` (9 quotes, as the real universe has).
pub const INDICES: [(&str, &str); 9] = [
    ("NSE_INDEX|Nifty 50", "NIFTY 50"),
    ("NSE_INDEX|Nifty Bank", "NIFTY BANK"),
    ("NSE_INDEX|Nifty IT", "NIFTY IT"),
    ("NSE_INDEX|Nifty Next 50", "NIFTY NEXT 50"),
    ("NSE_INDEX|Nifty Midcap 100", "NIFTY MIDCAP 100"),
    ("NSE_INDEX|Nifty Fin Service", "NIFTY FIN SERVICE"),
    ("NSE_INDEX|India VIX", "INDIA VIX"),
    ("BSE_INDEX|SENSEX", "SENSEX"),
    ("BSE_INDEX|BANKEX", "BANKEX"),
];

/// The default number of stocks in a `prices_batch`, about the NSE equity universe.
pub const DEFAULT_STOCKS: usize = 2100;

/// Milliseconds since the Unix epoch on the system clock (0 if the clock is before 1970).
///
/// ```
/// assert!(market_feed_load::workload::now_ms() > 1_700_000_000_000);
/// ```
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// One topic's instruments and their current prices, advanced by a seeded random walk.
///
/// ```
/// use market_feed_load::workload::Universe;
/// let mut u = Universe::stocks(10, 7);
/// let frame = u.tick_frame("prices_batch", 1, 1_769_680_800_123);
/// let text = std::str::from_utf8(&frame).unwrap();
/// assert!(text.starts_with(r#"{"event":"prices_batch","seq":1,"data":[{"key":"NSE_EQ|INE"#));
/// assert_eq!(text.matches(r#""ts":1769680800123"#).count(), 10);
/// ```
#[derive(Debug, Clone)]
pub struct Universe {
    quotes: Vec<Quote>,
    rng: SmallRng,
}

impl Universe {
    /// The 9 indices of [`INDICES`], seeded with `seed`.
    ///
    /// ```
    /// assert_eq!(market_feed_load::workload::Universe::indices(1).len(), 9);
    /// ```
    pub fn indices(seed: u64) -> Self {
        let mut rng = SmallRng::seed_from_u64(seed);
        let quotes = INDICES
            .iter()
            .filter_map(|(key, symbol)| {
                let key = InstrumentKey::new(key).ok()?;
                let prev = rng.gen_range(5_000.0..80_000.0);
                Some(initial_quote(&mut rng, key, symbol, prev, None))
            })
            .collect();
        Self { quotes, rng }
    }

    /// `count` stocks with realistic keys (`NSE_EQ|INE...`), symbols of 4-10 letters, prices
    /// between 20 and 5,000 and volumes, seeded with `seed`.
    ///
    /// ```
    /// assert_eq!(market_feed_load::workload::Universe::stocks(2100, 1).len(), 2100);
    /// ```
    pub fn stocks(count: usize, seed: u64) -> Self {
        let mut rng = SmallRng::seed_from_u64(seed);
        let quotes = (0..count)
            .filter_map(|i| {
                let key = format!("NSE_EQ|INE{:03}A01{:03}", i / 1000, i % 1000);
                let key = InstrumentKey::new(&key).ok()?;
                let len = rng.gen_range(4..=10);
                let symbol: String = (0..len)
                    .map(|_| char::from(b'A' + rng.gen_range(0..26u8)))
                    .collect();
                let prev = rng.gen_range(20.0..5_000.0);
                let volume = rng.gen_range(1_000..10_000_000u64);
                Some(initial_quote(&mut rng, key, &symbol, prev, Some(volume)))
            })
            .collect();
        Self { quotes, rng }
    }

    /// How many instruments the universe holds.
    ///
    /// ```
    /// assert_eq!(market_feed_load::workload::Universe::stocks(3, 1).len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        self.quotes.len()
    }

    /// True when the universe holds no instrument.
    ///
    /// ```
    /// assert!(market_feed_load::workload::Universe::stocks(0, 1).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.quotes.is_empty()
    }

    /// Moves every price one random step, stamps every quote with `ts`, and returns the frame
    /// `{"event":EVENT,"seq":SEQ,"data":[QUOTE,...]}` serialized once.
    ///
    /// ```
    /// let mut u = market_feed_load::workload::Universe::indices(3);
    /// let f = u.tick_frame("indices_update", 42, 5);
    /// let v: serde_json::Value = serde_json::from_slice(&f).unwrap();
    /// assert_eq!(v["seq"], 42);
    /// assert_eq!(v["data"].as_array().unwrap().len(), 9);
    /// ```
    pub fn tick_frame(&mut self, event: &str, seq: u64, ts: i64) -> Vec<u8> {
        for q in &mut self.quotes {
            let step = self.rng.gen_range(-0.002..0.002);
            let ltp = q.ltp * (1.0 + step);
            let high = q.high.map_or(ltp, |h| h.max(ltp));
            let low = q.low.map_or(ltp, |l| l.min(ltp));
            let volume = q.volume.map(|v| v + self.rng.gen_range(0..5_000u64));
            let next = Quote::new(q.key.clone(), q.symbol.clone(), ltp, ts)
                .with_prev_close(q.prev_close)
                .with_ohlc(q.open, Some(high), Some(low))
                .with_volume(volume);
            *q = next;
        }
        let mut out = Vec::with_capacity(64 + self.quotes.len() * 200);
        out.extend_from_slice(b"{\"event\":\"");
        out.extend_from_slice(event.as_bytes());
        out.extend_from_slice(b"\",\"seq\":");
        out.extend_from_slice(seq.to_string().as_bytes());
        out.extend_from_slice(b",\"data\":");
        // Serializing a slice of plain structs into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, &self.quotes);
        out.push(b'}');
        out
    }
}

fn initial_quote(
    rng: &mut SmallRng,
    key: InstrumentKey,
    symbol: &str,
    prev: f64,
    volume: Option<u64>,
) -> Quote {
    let open = prev * (1.0 + rng.gen_range(-0.01..0.01));
    let ltp = open * (1.0 + rng.gen_range(-0.01..0.01));
    Quote::new(key, symbol, ltp, 0)
        .with_prev_close(Some(prev))
        .with_ohlc(Some(open), Some(open.max(ltp)), Some(open.min(ltp)))
        .with_volume(volume)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prices_batch_of_the_default_universe_is_about_400_kb() {
        let mut u = Universe::stocks(DEFAULT_STOCKS, 1);
        let f = u.tick_frame("prices_batch", 1, 1_769_680_800_123);
        assert!((350_000..500_000).contains(&f.len()), "{} bytes", f.len());
        let v: serde_json::Value = serde_json::from_slice(&f).unwrap();
        assert_eq!(v["data"].as_array().unwrap().len(), DEFAULT_STOCKS);
        assert!(v["data"][0]["volume"].is_u64());
    }

    #[test]
    fn indices_have_no_volume_and_move_between_ticks() {
        let mut u = Universe::indices(1);
        let a: serde_json::Value = serde_json::from_slice(&u.tick_frame("x", 1, 1)).unwrap();
        let b: serde_json::Value = serde_json::from_slice(&u.tick_frame("x", 2, 2)).unwrap();
        assert!(a["data"][0]["volume"].is_null());
        assert_ne!(a["data"][0]["ltp"], b["data"][0]["ltp"]);
        assert_eq!(b["data"][8]["ts"], 2);
    }
}
