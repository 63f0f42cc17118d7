//! [`IndicesFromStocks`]: index levels derived from a stock source, so that offline indices
//! move with the stocks they summarize (demo mode: the replayed day's stocks drive the 9
//! indices).
//!
//! Each fetch asks the stock source for a basket of stocks and takes the market's move as the
//! mean log-return of the basket against its previous closes, `M = mean(ln(ltp / prev_close))`.
//! An index then stands at `prev_close × exp(beta × M)`, with the same betas the simulated
//! source uses (INDIA VIX moves against the market). The day's open, high and low are tracked
//! per IST date.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
};

use async_trait::async_trait;
use time::{Date, OffsetDateTime};

use super::{Fetched, PriceSource, SourceError, bundled_prev_close, levels::index_beta};
use crate::{
    clock::{MarketClock, ist_date},
    model::{InstrumentKey, Quote, round2},
    universe::Instrument,
};

/// Index quotes computed from a stock source's quotes.
///
/// ```
/// use std::sync::Arc;
/// use market_feed::{clock::MarketClock, source::{IndicesFromStocks, PriceSource, ReplaySource}, universe::Universe};
/// use time::macros::datetime;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let clock = MarketClock::fixed(datetime!(2026-01-29 11:00 +05:30));
/// let universe = Universe::bundled();
/// let stocks = Arc::new(ReplaySource::new(clock.clone()));
/// let indices = IndicesFromStocks::new(stocks, universe.prices().to_vec(), clock);
/// let fetched = indices.fetch(universe.indices()).await.unwrap();
/// assert_eq!(fetched.quotes.len(), 9);
/// # });
/// ```
#[derive(Debug)]
pub struct IndicesFromStocks {
    stocks: std::sync::Arc<dyn PriceSource>,
    basket: Vec<Instrument>,
    clock: MarketClock,
    day: DayRanges,
}

/// Each derived index's open, high and low of the current IST date, started afresh when the
/// date changes. Shared by every source that derives indices.
#[derive(Debug, Default)]
pub(crate) struct DayRanges(Mutex<(Option<Date>, HashMap<InstrumentKey, Range>)>);

/// Open, high, low.
type Range = (f64, f64, f64);

impl DayRanges {
    /// The quote of a derived index at `level` at `now`: today's range widened to it, and the
    /// previous close `prev` it is compared with.
    pub(crate) fn quote(
        &self,
        now: OffsetDateTime,
        i: &Instrument,
        level: f64,
        prev: f64,
    ) -> Quote {
        let today = ist_date(now);
        let mut day = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if day.0 != Some(today) {
            *day = (Some(today), HashMap::new());
        }
        let (open, high, low) = day
            .1
            .entry(i.key.clone())
            .and_modify(|(_, h, l)| {
                *h = h.max(level);
                *l = l.min(level);
            })
            .or_insert((level, level, level));
        Quote::new(
            i.key.clone(),
            i.symbol.clone(),
            level,
            crate::clock::to_ms(now),
        )
        .with_prev_close(Some(prev))
        .with_ohlc(Some(*open), Some(*high), Some(*low))
    }
}

impl IndicesFromStocks {
    /// Indices driven by `stocks` over the `basket` of stock instruments.
    ///
    /// See [`IndicesFromStocks`] for an example.
    pub fn new(
        stocks: std::sync::Arc<dyn PriceSource>,
        basket: Vec<Instrument>,
        clock: MarketClock,
    ) -> Self {
        Self {
            stocks,
            basket,
            clock,
            day: DayRanges::default(),
        }
    }
}

#[async_trait]
impl PriceSource for IndicesFromStocks {
    fn name(&self) -> &str {
        "indices-from-stocks"
    }

    /// The same indices over the stock source's handle with that deadline, if it has one.
    fn with_deadline(
        &self,
        deadline: std::time::Duration,
    ) -> Option<std::sync::Arc<dyn PriceSource>> {
        let stocks = self.stocks.with_deadline(deadline)?;
        Some(std::sync::Arc::new(IndicesFromStocks::new(
            stocks,
            self.basket.clone(),
            self.clock.clone(),
        )))
    }

    /// The stock source's credentials are this source's: it is unauthorized when they are.
    async fn credentials_usable(&self) -> bool {
        self.stocks.credentials_usable().await
    }

    async fn fetch(&self, instruments: &[Instrument]) -> Result<Fetched, SourceError> {
        if instruments.is_empty() {
            return Ok(Fetched::default());
        }
        let stocks = self.stocks.fetch(&self.basket).await?;
        let returns: Vec<f64> = stocks
            .quotes
            .iter()
            .filter_map(|q| {
                let prev = q.prev_close.filter(|p| *p > 0.0)?;
                (q.ltp > 0.0).then(|| (q.ltp / prev).ln())
            })
            .collect();
        if returns.is_empty() {
            return Err(SourceError::Transient(format!(
                "the stock source ({}) answered no quote with a previous close to derive indices from",
                self.stocks.name()
            )));
        }
        let market = returns.iter().sum::<f64>() / returns.len() as f64;
        let now = self.clock.now();
        let mut fetched = Fetched {
            errors: stocks.errors,
            ..Fetched::default()
        };
        for i in instruments {
            let prev = bundled_prev_close(i);
            let level = round2(prev * (index_beta(&i.symbol) * market).exp());
            fetched.quotes.push(self.day.quote(now, i, level, prev));
        }
        Ok(fetched)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{source::ReplaySource, universe::Universe};
    use time::{Duration, macros::datetime};

    #[tokio::test]
    async fn indices_follow_the_replayed_market() {
        let clock = MarketClock::fixed(datetime!(2026-01-29 09:20 +05:30));
        let universe = Universe::bundled();
        let stocks: Arc<dyn PriceSource> = Arc::new(ReplaySource::new(clock.clone()));
        let source =
            IndicesFromStocks::new(stocks.clone(), universe.prices().to_vec(), clock.clone());
        let mut nifty = Vec::new();
        let mut vix = Vec::new();
        let mut breadth = Vec::new();
        for step in 0..12 {
            clock
                .set(datetime!(2026-01-29 09:20 +05:30) + Duration::minutes(30 * step))
                .unwrap();
            let idx = source.fetch(universe.indices()).await.unwrap();
            let pick = |s: &str| {
                idx.quotes
                    .iter()
                    .find(|q| &*q.symbol == s)
                    .unwrap()
                    .change_pct
                    .unwrap()
            };
            nifty.push(pick("NIFTY 50"));
            vix.push(pick("INDIA VIX"));
            let st = stocks.fetch(universe.prices()).await.unwrap();
            let mean: f64 =
                st.quotes.iter().filter_map(|q| q.change_pct).sum::<f64>() / st.quotes.len() as f64;
            breadth.push(mean);
        }
        for k in 0..12 {
            // Same direction as the stocks' average move; VIX against it.
            if breadth[k].abs() > 0.05 {
                assert_eq!(
                    nifty[k] > 0.0,
                    breadth[k] > 0.0,
                    "step {k}: {nifty:?} vs {breadth:?}"
                );
                assert_eq!(vix[k] < 0.0, breadth[k] > 0.0, "step {k}: {vix:?}");
            }
        }
        assert!(
            nifty.windows(2).any(|w| w[0] != w[1]),
            "indices move through the day"
        );
    }

    #[tokio::test]
    async fn credentials_are_the_stock_sources() {
        let mut stocks = crate::source::MockPriceSource::new();
        stocks
            .expect_credentials_usable()
            .times(1)
            .return_const(true);
        let source = IndicesFromStocks::new(Arc::new(stocks), Vec::new(), MarketClock::system());
        assert!(source.credentials_usable().await);
    }
}
