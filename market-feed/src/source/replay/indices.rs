//! [`IndicesFromMembers`]: each index derived from its own members' quotes.
//!
//! An index stands at `prev_close × (1 + mean(ltp / prev_close − 1))` over its members that the
//! stock source quotes with a previous close: an equal-weighted average of the members' moves,
//! scaled to the index's previous close. Real indices weight members by free-float market
//! capitalisation, so the derived level follows the real one in direction and rough size, not
//! to the point (`docs/sources.md`, "The demo's indices"). The day's open, high and low are
//! tracked per IST date.

use std::{collections::HashMap, sync::Arc};

use async_trait::async_trait;

use super::members::IndexDef;
use crate::{
    clock::MarketClock,
    model::{InstrumentKey, round2},
    source::{Fetched, PriceSource, SourceError, derived::DayRanges},
    universe::Instrument,
};

/// One derived index: its definition and its member instruments.
#[derive(Debug, Clone)]
struct Derived {
    def: IndexDef,
    members: Vec<Instrument>,
}

/// Index quotes computed from their members' quotes.
///
/// ```
/// use std::sync::Arc;
/// use market_feed::{clock::MarketClock, source::{PriceSource, ReplaySource, replay::{IndexMembers, IndicesFromMembers}}, universe::Universe};
/// use time::macros::datetime;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let clock = MarketClock::fixed(datetime!(2026-01-29 15:45 +05:30));
/// let members = IndexMembers::bundled().unwrap();
/// let stocks = Arc::new(ReplaySource::new(clock.clone()));
/// let indices = IndicesFromMembers::new(stocks, members, &Universe::bundled(), clock);
/// let fetched = indices.fetch(&members.instruments()).await.unwrap();
/// assert_eq!(fetched.quotes.len(), 5);
/// assert_eq!(fetched.quotes[0].prev_close, Some(25_342.75));
/// # });
/// ```
#[derive(Debug)]
pub struct IndicesFromMembers {
    stocks: Arc<dyn PriceSource>,
    derived: Arc<HashMap<InstrumentKey, Derived>>,
    basket: Arc<Vec<Instrument>>,
    clock: MarketClock,
    day: DayRanges,
}

impl IndicesFromMembers {
    /// Indices of `members`, their members looked up by symbol in `universe`, quoted by
    /// `stocks`.
    ///
    /// See [`IndicesFromMembers`] for an example.
    pub fn new(
        stocks: Arc<dyn PriceSource>,
        members: &super::IndexMembers,
        universe: &crate::universe::Universe,
        clock: MarketClock,
    ) -> Self {
        let resolved = members.resolve(universe);
        let mut derived = HashMap::new();
        let mut basket: Vec<Instrument> = Vec::new();
        for (def, found) in members.indices.iter().zip(resolved) {
            let Ok(key) = InstrumentKey::new(&def.key) else {
                continue;
            };
            for m in &found {
                if !basket.iter().any(|b| b.key == m.key) {
                    basket.push(m.clone());
                }
            }
            derived.insert(
                key,
                Derived {
                    def: def.clone(),
                    members: found,
                },
            );
        }
        Self {
            stocks,
            derived: Arc::new(derived),
            basket: Arc::new(basket),
            clock,
            day: DayRanges::default(),
        }
    }

    /// How many of an index's listed members are quoted from the stock source's universe.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use market_feed::{clock::MarketClock, model::InstrumentKey, source::{ReplaySource, replay::{IndexMembers, IndicesFromMembers}}, universe::Universe};
    /// let m = IndexMembers::bundled().unwrap();
    /// let clock = MarketClock::system();
    /// let s = IndicesFromMembers::new(Arc::new(ReplaySource::new(clock.clone())), m, &Universe::bundled(), clock);
    /// assert_eq!(s.members_found(&InstrumentKey::new("BSE_INDEX|SENSEX").unwrap()), Some((30, 30)));
    /// ```
    pub fn members_found(&self, index: &InstrumentKey) -> Option<(usize, usize)> {
        self.derived
            .get(index)
            .map(|d| (d.members.len(), d.def.members.len()))
    }
}

#[async_trait]
impl PriceSource for IndicesFromMembers {
    fn name(&self) -> &str {
        "indices-from-members"
    }

    async fn credentials_usable(&self) -> bool {
        self.stocks.credentials_usable().await
    }

    async fn fetch(&self, instruments: &[Instrument]) -> Result<Fetched, SourceError> {
        if instruments.is_empty() {
            return Ok(Fetched::default());
        }
        let stocks = self.stocks.fetch(&self.basket).await?;
        let moves: HashMap<&InstrumentKey, f64> = stocks
            .quotes
            .iter()
            .filter_map(|q| {
                let prev = q.prev_close.filter(|p| *p > 0.0)?;
                (q.ltp > 0.0).then(|| (&q.key, q.ltp / prev - 1.0))
            })
            .collect();
        let now = self.clock.now();
        let mut fetched = Fetched {
            errors: stocks.errors,
            ..Fetched::default()
        };
        for i in instruments {
            let Some(d) = self.derived.get(&i.key) else {
                fetched.missing.push(i.key.clone());
                continue;
            };
            let found: Vec<f64> = d
                .members
                .iter()
                .filter_map(|m| moves.get(&m.key).copied())
                .collect();
            if found.is_empty() {
                fetched.missing.push(i.key.clone());
                continue;
            }
            let mean = found.iter().sum::<f64>() / found.len() as f64;
            let prev = d.def.prev_close;
            let level = round2(prev * (1.0 + mean));
            fetched.quotes.push(self.day.quote(now, i, level, prev));
        }
        Ok(fetched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        source::{ReplaySource, replay::IndexMembers},
        universe::Universe,
    };
    use time::macros::datetime;

    async fn at(t: time::OffsetDateTime) -> HashMap<String, f64> {
        let clock = MarketClock::fixed(t);
        let m = IndexMembers::bundled().unwrap();
        let s = IndicesFromMembers::new(
            Arc::new(ReplaySource::new(clock.clone())),
            m,
            &Universe::bundled(),
            clock,
        );
        let f = s.fetch(&m.instruments()).await.unwrap();
        f.quotes
            .iter()
            .map(|q| (q.symbol.to_string(), q.change_pct.unwrap()))
            .collect()
    }

    #[tokio::test]
    async fn each_index_moves_with_its_own_members() {
        // Before the first bar every member stands at its previous close: no move at all.
        let early = at(datetime!(2026-01-29 09:05 +05:30)).await;
        assert!(early.values().all(|c| *c == 0.0), "{early:?}");
        // At the close, pairs over different members differ (they moved identically before).
        let close = at(datetime!(2026-01-29 15:45 +05:30)).await;
        assert_eq!(close.len(), 5);
        assert_ne!(close["NIFTY 50"], close["SENSEX"]);
        assert_ne!(close["NIFTY BANK"], close["BANKEX"]);
        // The real NIFTY 50 closed +0.30% and SENSEX +0.27% that day: the derived levels
        // agree in direction and lie within a percentage point.
        for s in ["NIFTY 50", "SENSEX"] {
            assert!(close[s] > 0.0 && close[s] < 1.3, "{s}: {}", close[s]);
        }
    }

    #[tokio::test]
    async fn an_index_without_quoted_members_is_missing() {
        let clock = MarketClock::fixed(datetime!(2026-01-29 10:00 +05:30));
        let m = IndexMembers::parse(
            "t",
            "as_of = \"2026-01-29\"\n[[index]]\nsymbol = \"X\"\nkey = \"NSE_INDEX|X\"\nname = \"X\"\nprev_close = 100.0\nprev_close_known = false\nmembers = [\"NOSUCHSTOCK\"]\n",
        )
        .unwrap();
        let s = IndicesFromMembers::new(
            Arc::new(ReplaySource::new(clock.clone())),
            &m,
            &Universe::bundled(),
            clock,
        );
        let f = s.fetch(&m.instruments()).await.unwrap();
        assert!(f.quotes.is_empty());
        assert_eq!(f.missing.len(), 1);
    }
}
