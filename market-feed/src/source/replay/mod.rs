//! [`ReplaySource`]: plays a recorded trading day on the market clock.
//!
//! The clock's IST time of day is mapped onto the recorded day (the date is ignored), so a demo
//! clock that starts at 09:12 and runs 60 times faster plays the whole day of 2026-01-29 in
//! about six minutes. Inside each 15-minute bar the price follows a path through the bar's open,
//! high, low and close (see [`Series::point_at`]): a quote at 10:07 lies within the 10:00 bar's
//! range, and from 15:30 on every stock stands at its 15:15 bar's close, the day's close.
//!
//! Only stocks are recorded: index keys and stocks missing from the recording are answered as
//! `missing`. [`IndicesFromMembers`] derives indices from their members' replayed quotes, and
//! [`DemoDay`] puts the day together as `--demo` plays it (universe, clock, previous closes).
//! The recorded bars themselves are [`Recording::bundled`]'s, for any other use of the day.

mod demo;
mod indices;
mod members;
mod recording;
mod stream;

use std::sync::Arc;

use async_trait::async_trait;

use super::{Fetched, PriceSource, SourceError};
use crate::{
    clock::{MarketClock, ist_time},
    model::Quote,
    universe::Instrument,
};

pub use demo::{DEMO_PHASE_SECONDS, DemoDay};
pub use indices::IndicesFromMembers;
pub use members::{BUNDLED_MEMBERS, IndexDef, IndexMembers};
pub use recording::{BUNDLED_BARS_GZ, Bar, Point, Recording, Series};
pub use stream::ReplayStream;

/// Replays a [`Recording`] (by default the shipped day, 2026-01-29) on a [`MarketClock`].
///
/// ```
/// use market_feed::{clock::MarketClock, source::{PriceSource, ReplaySource}, universe::Universe};
/// use time::macros::datetime;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let clock = MarketClock::fixed(datetime!(2026-02-02 15:45 +05:30));
/// let source = ReplaySource::new(clock);
/// let u = Universe::bundled();
/// let f = source.fetch(&[u.by_symbol("20MICRONS").unwrap().clone()]).await?;
/// // After 15:30 the quote is the 15:15 bar's close.
/// assert_eq!(f.quotes[0].ltp, 174.46);
/// assert_eq!(f.quotes[0].prev_close, Some(178.24));
/// # Ok::<(), market_feed::source::SourceError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct ReplaySource {
    recording: Option<Arc<Recording>>,
    clock: MarketClock,
}

impl ReplaySource {
    /// Replays the shipped recording (parsed on the first fetch, then shared).
    ///
    /// ```
    /// # use market_feed::{clock::MarketClock, source::{PriceSource, ReplaySource}};
    /// assert_eq!(ReplaySource::new(MarketClock::system()).name(), "replay");
    /// ```
    pub fn new(clock: MarketClock) -> Self {
        Self {
            recording: None,
            clock,
        }
    }

    /// Replays another recording.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use market_feed::{clock::MarketClock, source::{ReplaySource, replay::Recording}};
    /// let csv = "instrument_key,symbol,prev_close,time,open,high,low,close,volume\nNSE_EQ|X1,X,10,09:15,10,11,9,10.5,100\n";
    /// let rec = Recording::from_csv("x.csv", csv.as_bytes(), time::macros::date!(2026-01-29), 15).unwrap();
    /// let _source = ReplaySource::with_recording(Arc::new(rec), MarketClock::system());
    /// ```
    pub fn with_recording(recording: Arc<Recording>, clock: MarketClock) -> Self {
        Self {
            recording: Some(recording),
            clock,
        }
    }

    fn recording(&self) -> Result<&Recording, SourceError> {
        match &self.recording {
            Some(r) => Ok(r),
            None => Recording::bundled().map_err(|e| SourceError::Config(e.into())),
        }
    }
}

#[async_trait]
impl PriceSource for ReplaySource {
    fn name(&self) -> &str {
        "replay"
    }

    async fn fetch(&self, instruments: &[Instrument]) -> Result<Fetched, SourceError> {
        let recording = self.recording()?;
        let now = self.clock.now();
        let ts = crate::clock::to_ms(now);
        let t = ist_time(now);
        let minute = f64::from(t.hour()) * 60.0
            + f64::from(t.minute())
            + (f64::from(t.second()) + f64::from(t.nanosecond()) / 1e9) / 60.0;
        let mut fetched = Fetched::default();
        let mut seen = std::collections::HashSet::with_capacity(instruments.len());
        for i in instruments {
            if !seen.insert(&i.key) {
                continue;
            }
            let prev = recording.series(&i.key).map(|s| s.prev_close);
            match recording.point(&i.key, minute) {
                Some(p) => fetched.quotes.push(
                    Quote::new(i.key.clone(), i.symbol.clone(), p.ltp, ts)
                        .with_prev_close(prev)
                        .with_ohlc(p.open, p.high, p.low)
                        .with_volume(Some(p.volume)),
                ),
                None => fetched.missing.push(i.key.clone()),
            }
        }
        Ok(fetched)
    }
}
