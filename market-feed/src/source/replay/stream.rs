//! [`ReplayStream`]: the recorded day played as a stream, so `--demo` shows the streaming
//! path (ticks, coalesced deltas) without a broker.
//!
//! Each tick asks the replay for the prices at the market clock's current instant, which lie
//! on a path through each 15-minute bar's open, high, low and close (see
//! [`Series::point_at`](super::Series::point_at)): the ticks are interpolated between the
//! recorded bars. Every index ticks each time; the stocks tick in turns (a quarter of them per
//! tick by default), as a real feed delivers only what traded, so a batch carries the
//! instruments that changed, not the whole market.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use futures::StreamExt;

use crate::{
    source::{PriceSource, PriceStream, SourceError, StreamEvent, TickStream},
    universe::Instrument,
};

/// Plays poll sources (by default the demo's replayed stocks and derived indices) as a
/// [`PriceStream`]: one tick every [`ReplayStream::every`] of real (tokio) time, each with
/// every index and one of [`ReplayStream::turns`] slices of the stocks.
///
/// ```
/// use futures::StreamExt;
/// use market_feed::{
///     clock::MarketClock,
///     source::{PriceStream, StreamEvent, replay::{DemoDay, ReplayStream}},
///     universe::Universe,
/// };
/// use time::macros::datetime;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let demo = DemoDay::bundled()?;
/// let universe = demo.universe(&Universe::bundled());
/// let clock = MarketClock::fixed(datetime!(2026-01-29 10:07 +05:30));
/// let (indices, stocks) = demo.sources(&universe, &clock);
/// let stream = ReplayStream::new(indices, stocks);
/// let all: Vec<_> = universe.iter().map(|(_, i)| i.clone()).collect();
/// let mut ticks = stream.connect(&all).await.unwrap();
/// let Some(Ok(StreamEvent::Ticks(first))) = ticks.next().await else { panic!() };
/// // Every index, and a quarter of the stocks.
/// assert_eq!(first.len(), universe.indices().len() + universe.prices().len().div_ceil(4));
/// # Ok::<(), String>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct ReplayStream {
    indices: Arc<dyn PriceSource>,
    stocks: Arc<dyn PriceSource>,
    every: Duration,
    turns: usize,
}

impl ReplayStream {
    /// A stream of `indices` and `stocks` ticking every 500 ms, stocks in 4 turns.
    ///
    /// See [`ReplayStream`] for an example.
    pub fn new(indices: Arc<dyn PriceSource>, stocks: Arc<dyn PriceSource>) -> Self {
        Self {
            indices,
            stocks,
            every: Duration::from_millis(500),
            turns: 4,
        }
    }

    /// Ticks this often, in real (tokio) time, whatever the market clock's speed.
    ///
    /// ```
    /// # use market_feed::{clock::MarketClock, source::{SimulatedSource, replay::ReplayStream}, universe::Universe};
    /// # use std::{sync::Arc, time::Duration};
    /// let sim = Arc::new(SimulatedSource::new(Universe::bundled(), 1, MarketClock::system()));
    /// let stream = ReplayStream::new(sim.clone(), sim).every(Duration::from_millis(250));
    /// assert_eq!(stream.tick_period(), Duration::from_millis(250));
    /// ```
    pub fn every(mut self, period: Duration) -> Self {
        self.every = period.max(Duration::from_millis(10));
        self
    }

    /// Each stock ticks once every `turns` ticks (at least 1: every stock every tick).
    ///
    /// ```
    /// # use market_feed::{clock::MarketClock, source::{SimulatedSource, replay::ReplayStream}, universe::Universe};
    /// # use std::sync::Arc;
    /// let sim = Arc::new(SimulatedSource::new(Universe::bundled(), 1, MarketClock::system()));
    /// let _every_stock_every_tick = ReplayStream::new(sim.clone(), sim).turns(1);
    /// ```
    pub fn turns(mut self, turns: usize) -> Self {
        self.turns = turns.max(1);
        self
    }

    /// The real time between two ticks.
    ///
    /// See [`ReplayStream::every`] for an example.
    pub fn tick_period(&self) -> Duration {
        self.every
    }
}

/// What one connection plays: the instruments split by kind, and where the turns are.
struct Playing {
    stream: ReplayStream,
    indices: Vec<Instrument>,
    stocks: Vec<Instrument>,
    turn: usize,
    interval: tokio::time::Interval,
}

impl Playing {
    async fn tick(mut self) -> Option<(Result<StreamEvent, SourceError>, Self)> {
        self.interval.tick().await;
        let turns = self.stream.turns;
        let slice: Vec<Instrument> = self
            .stocks
            .iter()
            .enumerate()
            .filter(|(i, _)| i % turns == self.turn % turns)
            .map(|(_, s)| s.clone())
            .collect();
        self.turn = self.turn.wrapping_add(1);
        let mut quotes = Vec::with_capacity(self.indices.len() + slice.len());
        let sources = [
            (self.stream.indices.clone(), &self.indices),
            (self.stream.stocks.clone(), &slice),
        ];
        let mut failed = None;
        for (source, list) in sources {
            if list.is_empty() {
                continue;
            }
            match source.fetch(list).await {
                Ok(fetched) => quotes.extend(fetched.quotes),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        // A failed fetch fails the connection; the feed reconnects as it would to a broker.
        if let Some(e) = failed {
            return Some((Err(e), self));
        }
        Some((Ok(StreamEvent::Ticks(quotes)), self))
    }
}

#[async_trait]
impl PriceStream for ReplayStream {
    fn name(&self) -> &str {
        "replay-stream"
    }

    async fn connect(&self, instruments: &[Instrument]) -> Result<TickStream, SourceError> {
        let (indices, stocks) = instruments.iter().cloned().partition(Instrument::is_index);
        let mut interval = tokio::time::interval(self.every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let playing = Playing {
            stream: self.clone(),
            indices,
            stocks,
            turn: 0,
            interval,
        };
        Ok(futures::stream::unfold(playing, Playing::tick).boxed())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use time::macros::datetime;

    use super::*;
    use crate::{
        clock::MarketClock,
        source::replay::DemoDay,
        universe::{Instrument, Universe},
    };

    fn demo(at: time::OffsetDateTime) -> (ReplayStream, Vec<Instrument>, Universe) {
        let demo = DemoDay::bundled().unwrap();
        let universe = demo.universe(&Universe::bundled());
        let (indices, stocks) = demo.sources(&universe, &MarketClock::fixed(at));
        let all = universe.iter().map(|(_, i)| i.clone()).collect();
        (ReplayStream::new(indices, stocks), all, universe)
    }

    #[tokio::test(start_paused = true)]
    async fn every_stock_ticks_once_per_round_of_turns_and_indices_every_tick() {
        let (stream, all, universe) = demo(datetime!(2026-01-29 11:40 +05:30));
        let mut ticks = stream.connect(&all).await.unwrap();
        let start = tokio::time::Instant::now();
        let mut stocks_seen = HashSet::new();
        for _ in 0..4 {
            let Some(Ok(StreamEvent::Ticks(quotes))) = ticks.next().await else {
                panic!("a tick");
            };
            let (idx, st): (Vec<_>, Vec<_>) = quotes
                .iter()
                .partition(|q| crate::universe::is_index_segment(q.key.segment()));
            assert_eq!(idx.len(), universe.indices().len());
            for q in st {
                assert!(
                    stocks_seen.insert(q.key.clone()),
                    "{} twice in one round",
                    q.symbol
                );
            }
        }
        assert_eq!(stocks_seen.len(), universe.prices().len());
        // Four ticks: the first at once, then every 500 ms of real time.
        assert_eq!(start.elapsed(), Duration::from_millis(1500));
    }

    #[tokio::test(start_paused = true)]
    async fn ticks_follow_the_recorded_bars_as_the_clock_moves() {
        let demo_day = DemoDay::bundled().unwrap();
        let universe = demo_day.universe(&Universe::bundled());
        let reliance = universe.by_symbol("RELIANCE").unwrap().clone();
        let series = demo_day.recording().series(&reliance.key).unwrap().clone();
        for (at, bar) in [
            (datetime!(2026-01-29 09:20 +05:30), 555),
            (datetime!(2026-01-29 14:05 +05:30), 840),
        ] {
            let (indices, stocks) = demo_day.sources(&universe, &MarketClock::fixed(at));
            let stream = ReplayStream::new(indices, stocks).turns(1);
            let mut ticks = stream
                .connect(std::slice::from_ref(&reliance))
                .await
                .unwrap();
            let Some(Ok(StreamEvent::Ticks(q))) = ticks.next().await else {
                panic!()
            };
            let b = series.bars.iter().find(|b| b.start == bar).unwrap();
            assert!(
                q[0].ltp >= b.low && q[0].ltp <= b.high,
                "{} outside bar {b:?}",
                q[0].ltp
            );
        }
    }
}
