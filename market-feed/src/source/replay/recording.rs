//! [`Recording`]: a trading day of OHLCV bars per stock, and the price path inside each bar.

use std::{collections::HashMap, io::Read, sync::Arc, sync::OnceLock};

use flate2::read::GzDecoder;
use time::{Date, macros::date};

use crate::model::InstrumentKey;

/// The shipped recording: 15-minute bars of 1,402 NSE stocks on Thursday 2026-01-29 (gzip of
/// the CSV `instrument_key,symbol,prev_close,time,open,high,low,close,volume`).
///
/// ```
/// assert_eq!(&market_feed::source::replay::BUNDLED_BARS_GZ[..2], &[0x1f, 0x8b]); // gzip
/// ```
pub const BUNDLED_BARS_GZ: &[u8] = include_bytes!("../../../data/bars-15m-2026-01-29.csv.gz");

/// One bar: its start (minutes after IST midnight), prices and volume.
#[derive(Debug, Clone, Copy, PartialEq)]
///
/// ```
/// # use market_feed::source::replay::Recording;
/// let rec = Recording::bundled().unwrap();
/// let first = rec.keys().next().and_then(|k| rec.series(k)).unwrap().bars[0];
/// assert!(first.low <= first.open && first.open <= first.high);
/// ```
pub struct Bar {
    /// The bar's start, in minutes after midnight IST (09:15 → 555).
    pub start: u16,
    /// Open.
    pub open: f64,
    /// High.
    pub high: f64,
    /// Low.
    pub low: f64,
    /// Close.
    pub close: f64,
    /// Shares traded in the bar.
    pub volume: u64,
}

/// One stock's recorded day.
#[derive(Debug, Clone, PartialEq)]
///
/// ```
/// # use market_feed::{model::InstrumentKey, source::replay::Recording};
/// let rec = Recording::bundled().unwrap();
/// let s = rec.series(&InstrumentKey::new("NSE_EQ|INE144J01027").unwrap()).unwrap();
/// assert_eq!(s.bars.len(), 25);
/// ```
pub struct Series {
    /// The symbol in the recording.
    pub symbol: Arc<str>,
    /// The previous session's close.
    pub prev_close: f64,
    /// The bars, in time order.
    pub bars: Vec<Bar>,
}

/// The state of a stock at one time of day, as far as the recording tells.
#[derive(Debug, Clone, Copy, PartialEq)]
///
/// ```
/// # use market_feed::{model::InstrumentKey, source::replay::Recording};
/// let rec = Recording::bundled().unwrap();
/// let p = rec.point(&InstrumentKey::new("NSE_EQ|INE144J01027").unwrap(), 600.0).unwrap();
/// assert!(p.low.unwrap() <= p.ltp && p.ltp <= p.high.unwrap());
/// ```
pub struct Point {
    /// The price at that time.
    pub ltp: f64,
    /// The day's open (`None` before the first bar).
    pub open: Option<f64>,
    /// The day's high so far.
    pub high: Option<f64>,
    /// The day's low so far.
    pub low: Option<f64>,
    /// Shares traded so far.
    pub volume: u64,
}

/// A recorded trading day: bars per instrument key.
///
/// ```
/// use market_feed::{model::InstrumentKey, source::replay::Recording};
///
/// let rec = Recording::bundled().expect("the shipped recording parses");
/// assert_eq!(rec.len(), 1402);
/// let s = rec.series(&InstrumentKey::new("NSE_EQ|INE144J01027")?).unwrap();
/// assert_eq!((&*s.symbol, s.prev_close, s.bars.len()), ("20MICRONS", 178.24, 25));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Recording {
    day: Date,
    bar_minutes: u16,
    series: HashMap<InstrumentKey, Series>,
}

impl Recording {
    /// The shipped recording of 2026-01-29, decompressed and parsed once per process on first
    /// use (about 35,000 bars).
    ///
    /// ```
    /// # use market_feed::source::replay::Recording;
    /// assert_eq!(Recording::bundled().unwrap().bar_minutes(), 15);
    /// ```
    pub fn bundled() -> Result<&'static Recording, String> {
        static BUNDLED: OnceLock<Result<Recording, String>> = OnceLock::new();
        BUNDLED
            .get_or_init(|| {
                Recording::from_csv(
                    "<bundled bars-15m-2026-01-29.csv.gz>",
                    BUNDLED_BARS_GZ,
                    date!(2026 - 01 - 29),
                    15,
                )
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Parses bars in the shipped CSV format (plain or gzipped): columns
    /// `instrument_key,symbol,prev_close,time,open,high,low,close,volume`, `time` the bar's
    /// start as `HH:MM` IST. `label` names the input in errors.
    ///
    /// ```
    /// # use market_feed::source::replay::Recording;
    /// let csv = "instrument_key,symbol,prev_close,time,open,high,low,close,volume\n\
    ///            NSE_EQ|X1,X,10,09:15,10,11,9,10.5,100\n";
    /// let rec = Recording::from_csv("x.csv", csv.as_bytes(), time::macros::date!(2026-01-29), 15)?;
    /// assert_eq!(rec.len(), 1);
    /// # Ok::<(), String>(())
    /// ```
    pub fn from_csv(
        label: &str,
        bytes: &[u8],
        day: Date,
        bar_minutes: u16,
    ) -> Result<Self, String> {
        let mut plain = Vec::new();
        let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
            GzDecoder::new(bytes)
                .read_to_end(&mut plain)
                .map_err(|e| format!("{label}: cannot decompress: {e}"))?;
            &plain[..]
        } else {
            bytes
        };
        let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
        let mut series: HashMap<InstrumentKey, Series> = HashMap::new();
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(format!("{label}: {e}")),
            }
            let line = record.position().map_or(0, |p| p.line());
            let bad = |what: &str| format!("{label}:{line}: bad {what}");
            let f = |i: usize| record.get(i).unwrap_or("");
            let num = |i: usize, what: &str| f(i).parse::<f64>().map_err(|_| bad(what));
            let key = InstrumentKey::new(f(0)).map_err(|e| format!("{label}:{line}: {e}"))?;
            let (h, m) = f(3).split_once(':').ok_or_else(|| bad("time"))?;
            let start = h.parse::<u16>().map_err(|_| bad("time"))? * 60
                + m.parse::<u16>().map_err(|_| bad("time"))?;
            let bar = Bar {
                start,
                open: num(4, "open")?,
                high: num(5, "high")?,
                low: num(6, "low")?,
                close: num(7, "close")?,
                volume: num(8, "volume")?.max(0.0) as u64,
            };
            let prev_close = num(2, "prev_close")?;
            series
                .entry(key)
                .or_insert_with(|| Series {
                    symbol: Arc::from(f(1)),
                    prev_close,
                    bars: Vec::new(),
                })
                .bars
                .push(bar);
        }
        if series.is_empty() {
            return Err(format!("{label}: no bars"));
        }
        for s in series.values_mut() {
            s.bars.sort_by_key(|b| b.start);
        }
        Ok(Self {
            day,
            bar_minutes: bar_minutes.max(1),
            series,
        })
    }

    /// The recorded trading day.
    ///
    /// ```
    /// # use market_feed::source::replay::Recording;
    /// assert_eq!(Recording::bundled().unwrap().day(), time::macros::date!(2026-01-29));
    /// ```
    pub fn day(&self) -> Date {
        self.day
    }

    /// The length of one bar, in minutes.
    ///
    /// ```
    /// # use market_feed::source::replay::Recording;
    /// assert_eq!(Recording::bundled().unwrap().bar_minutes(), 15);
    /// ```
    pub fn bar_minutes(&self) -> u16 {
        self.bar_minutes
    }

    /// The number of recorded instruments.
    ///
    /// ```
    /// # use market_feed::source::replay::Recording;
    /// assert!(!Recording::bundled().unwrap().is_empty());
    /// ```
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// True when nothing is recorded.
    ///
    /// ```
    /// # use market_feed::source::replay::Recording;
    /// assert!(!Recording::bundled().unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// The recorded instrument keys, in no particular order.
    ///
    /// ```
    /// # use market_feed::source::replay::Recording;
    /// assert_eq!(Recording::bundled().unwrap().keys().count(), 1402);
    /// ```
    pub fn keys(&self) -> impl Iterator<Item = &InstrumentKey> + '_ {
        self.series.keys()
    }

    /// One instrument's recorded day.
    ///
    /// ```
    /// # use market_feed::{model::InstrumentKey, source::replay::Recording};
    /// let rec = Recording::bundled().unwrap();
    /// assert!(rec.series(&InstrumentKey::new("NSE_INDEX|Nifty 50").unwrap()).is_none());
    /// ```
    pub fn series(&self, key: &InstrumentKey) -> Option<&Series> {
        self.series.get(key)
    }

    /// An instrument at `minute` (minutes after IST midnight, fractions allowed).
    ///
    /// ```
    /// # use market_feed::{model::InstrumentKey, source::replay::Recording};
    /// let rec = Recording::bundled().unwrap();
    /// let key = InstrumentKey::new("NSE_EQ|INE144J01027").unwrap();
    /// let close = rec.point(&key, 15.0 * 60.0 + 30.0).unwrap();
    /// assert_eq!(close.ltp, rec.series(&key).unwrap().bars.last().unwrap().close);
    /// ```
    pub fn point(&self, key: &InstrumentKey, minute: f64) -> Option<Point> {
        self.series
            .get(key)
            .and_then(|s| s.point_at(minute, f64::from(self.bar_minutes)))
    }
}

impl Series {
    /// The stock at `minute` when bars last `bar_minutes`. Before the first bar: the previous
    /// close, no open/high/low, no volume. Inside a bar: a piecewise-linear path through the
    /// open, the extreme nearer the open, the other extreme and the close (equal thirds of the
    /// bar), so the price stays within the bar's range. After a bar's end (gaps, after the
    /// close): that bar's close. `None` when there are no bars.
    ///
    /// ```
    /// # use market_feed::{model::InstrumentKey, source::replay::Recording};
    /// let rec = Recording::bundled().unwrap();
    /// let s = rec.series(&InstrumentKey::new("NSE_EQ|INE144J01027").unwrap()).unwrap();
    /// assert_eq!(s.point_at(540.0, 15.0).unwrap().ltp, s.prev_close); // 09:00
    /// ```
    pub fn point_at(&self, minute: f64, bar_minutes: f64) -> Option<Point> {
        let first = self.bars.first()?;
        if minute < f64::from(first.start) {
            return Some(Point {
                ltp: self.prev_close,
                open: None,
                high: None,
                low: None,
                volume: 0,
            });
        }
        let current = self
            .bars
            .partition_point(|b| f64::from(b.start) <= minute)
            .saturating_sub(1);
        let (mut high, mut low, mut volume) = (f64::MIN, f64::MAX, 0u64);
        for b in &self.bars[..current] {
            high = high.max(b.high);
            low = low.min(b.low);
            volume += b.volume;
        }
        let bar = self.bars[current];
        let frac = ((minute - f64::from(bar.start)) / bar_minutes).clamp(0.0, 1.0);
        let (ltp, path_high, path_low) = bar.path(frac);
        volume += (bar.volume as f64 * frac).floor() as u64;
        Some(Point {
            ltp,
            open: Some(first.open),
            high: Some(crate::model::round2(high.max(path_high))),
            low: Some(crate::model::round2(low.min(path_low))),
            volume,
        })
    }
}

impl Bar {
    /// The price at `frac` (0 to 1) of the bar, with the path's high and low so far.
    fn path(&self, frac: f64) -> (f64, f64, f64) {
        let (lo, hi) = (self.low.min(self.high), self.high.max(self.low));
        let clamp = |p: f64| p.clamp(lo, hi);
        let (open, close) = (clamp(self.open), clamp(self.close));
        let (first, second) = if (hi - open) <= (open - lo) {
            (hi, lo)
        } else {
            (lo, hi)
        };
        let waypoints = [open, first, second, close];
        let scaled = frac * 3.0;
        let seg = (scaled.floor() as usize).min(2);
        let t = scaled - seg as f64;
        let price = waypoints[seg] + (waypoints[seg + 1] - waypoints[seg]) * t;
        let passed = &waypoints[..=seg];
        let max = passed.iter().copied().fold(price, f64::max);
        let min = passed.iter().copied().fold(price, f64::min);
        (crate::model::round2(price), max, min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(start: u16, o: f64, h: f64, l: f64, c: f64, v: u64) -> Bar {
        Bar {
            start,
            open: o,
            high: h,
            low: l,
            close: c,
            volume: v,
        }
    }

    fn series() -> Series {
        Series {
            symbol: Arc::from("X"),
            prev_close: 100.0,
            bars: vec![
                bar(555, 101.0, 104.0, 100.0, 103.0, 1000),
                bar(570, 103.0, 103.5, 99.0, 99.5, 500),
            ],
        }
    }

    #[test]
    fn path_goes_through_the_extremes_in_order() {
        // Open 101 is nearer the low (100) than the high (104): O → L → H → C.
        let b = series().bars[0];
        let at = |f: f64| b.path(f).0;
        assert_eq!(at(0.0), 101.0);
        assert_eq!(at(1.0 / 3.0), 100.0);
        assert_eq!(at(2.0 / 3.0), 104.0);
        assert_eq!(at(1.0), 103.0);
        for n in 0..=30 {
            let p = at(f64::from(n) / 30.0);
            assert!((100.0..=104.0).contains(&p), "{p}");
        }
    }

    #[test]
    fn points_across_the_day() {
        let s = series();
        // TC0: before the open: previous close, nothing else.
        let p = s.point_at(9.0 * 60.0, 15.0).unwrap();
        assert_eq!((p.ltp, p.open, p.volume), (100.0, None, 0));
        // TC1: a third into the first bar: at the low, low so far 100, high so far 101.
        let p = s.point_at(560.0, 15.0).unwrap();
        assert_eq!((p.ltp, p.high, p.low), (100.0, Some(101.0), Some(100.0)));
        assert_eq!(p.volume, 333);
        // TC2: mid second bar: first bar's extremes count, volume 1000 + 250.
        let p = s.point_at(577.5, 15.0).unwrap();
        assert_eq!(p.open, Some(101.0));
        assert_eq!(p.high, Some(104.0));
        assert_eq!(p.volume, 1250);
        assert!((99.0..=103.5).contains(&p.ltp));
        // TC3: after the last bar: its close and the whole volume.
        let p = s.point_at(16.0 * 60.0, 15.0).unwrap();
        assert_eq!((p.ltp, p.volume, p.low), (99.5, 1500, Some(99.0)));
    }

    #[test]
    fn bundled_recording_shape() {
        let rec = Recording::bundled().unwrap();
        assert_eq!(rec.len(), 1402);
        // Every stock's last bar starts at 15:15; 16 illiquid ones start after 09:15.
        assert!(
            rec.series
                .values()
                .all(|s| s.bars.last().map(|b| b.start) == Some(15 * 60 + 15))
        );
        let full = rec
            .series
            .values()
            .filter(|s| s.bars.len() == 25 && s.bars[0].start == 555)
            .count();
        assert_eq!(full, 1402 - 16);
    }
}
