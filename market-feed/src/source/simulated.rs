//! [`SimulatedSource`]: a seeded random walk around realistic levels, for running everything
//! without a broker account.
//!
//! Every price is `prev_close × exp(beta × M + e)`: `M` is one market factor shared by all
//! instruments and `e` each instrument's own walk, both Brownian in session time (they only
//! move between the session's open and close). Stocks have betas between 0.6 and 1.4 and daily
//! volatilities of 1.2 % to 3 %; indices follow the market closely (INDIA VIX moves against
//! it), so indices and stocks move coherently. Stock prices sit on the 0.05 tick; volume grows
//! through the day along a U-shaped intraday profile up to a per-stock daily volume. On a new
//! IST date the previous day's last price becomes the previous close.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;
use rand::{Rng, SeedableRng, rngs::SmallRng};
use time::{Date, OffsetDateTime, Time};

use super::{
    Fetched, PriceSource, SourceError, bundled_prev_close,
    levels::{bundled_daily_volume, index_beta, round_tick, unit},
};
use crate::{
    clock::{MarketClock, SessionTimes, ist_date, ist_time, to_ms},
    model::{InstrumentKey, Quote},
    universe::{Instrument, Universe},
};

/// Daily volatility of the market factor (0.9 %).
const MARKET_DAILY_VOL: f64 = 0.009;

/// A deterministic simulated market.
///
/// The same seed, clock readings and sequence of fetches give the same quotes.
///
/// ```
/// use market_feed::{clock::MarketClock, source::{PriceSource, SimulatedSource}, universe::Universe};
/// use time::{macros::datetime, Duration};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let clock = MarketClock::fixed(datetime!(2026-01-29 09:10 +05:30));
/// let u = Universe::bundled();
/// let sim = SimulatedSource::new(u.clone(), 42, clock.clone());
/// let before = sim.fetch(u.indices()).await?;
/// assert_eq!(before.quotes[0].ltp, 25_300.0); // before the open: the previous close
/// clock.advance(Duration::hours(2)).unwrap();
/// let later = sim.fetch(u.indices()).await?;
/// assert_ne!(later.quotes[0].ltp, 25_300.0);
/// assert!(later.quotes[0].open.is_some());
/// # Ok::<(), market_feed::source::SourceError>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct SimulatedSource {
    clock: MarketClock,
    universe: Universe,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    rng: SmallRng,
    day: Option<Date>,
    /// The market factor (a log-return) and the session minute it was last moved to.
    market: f64,
    market_minute: f64,
    walks: HashMap<InstrumentKey, Walk>,
}

#[derive(Debug)]
struct Walk {
    prev_close: f64,
    beta: f64,
    /// Own volatility per square root of a session minute.
    sigma: f64,
    idio: f64,
    minute: f64,
    last: f64,
    open: Option<f64>,
    high: f64,
    low: f64,
    daily_volume: Option<u64>,
    tick: f64,
}

impl SimulatedSource {
    /// A simulated market over `universe` (its instruments start from the bundled levels; see
    /// [`bundled_prev_close`]), seeded with `seed`, stamping quotes with `clock`.
    ///
    /// Instruments outside `universe` are simulated too.
    ///
    /// ```
    /// # use market_feed::{clock::MarketClock, source::{PriceSource, SimulatedSource}, universe::Universe};
    /// let sim = SimulatedSource::new(Universe::bundled(), 1, MarketClock::system());
    /// assert_eq!(sim.name(), "simulated");
    /// ```
    pub fn new(universe: Universe, seed: u64, clock: MarketClock) -> Self {
        Self {
            clock,
            universe,
            state: Mutex::new(State {
                rng: SmallRng::seed_from_u64(seed),
                day: None,
                market: 0.0,
                market_minute: 0.0,
                walks: HashMap::new(),
            }),
        }
    }

    /// The universe the source was made for.
    ///
    /// ```
    /// # use market_feed::{clock::MarketClock, source::SimulatedSource, universe::Universe};
    /// let sim = SimulatedSource::new(Universe::bundled(), 1, MarketClock::system());
    /// assert_eq!(sim.universe().indices().len(), 9);
    /// ```
    pub fn universe(&self) -> &Universe {
        &self.universe
    }

    fn quotes_at(&self, now: OffsetDateTime, instruments: &[Instrument]) -> Fetched {
        let ts = to_ms(now);
        let date = ist_date(now);
        let times = self
            .clock
            .session(date)
            .map_or(SessionTimes::REGULAR, |s| s.times);
        let minute = session_minute(ist_time(now), &times);
        let length = session_minute(times.close, &times).max(1.0);
        // A poisoned lock only means another fetch panicked mid-update: keep simulating.
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let state = &mut *guard;
        if state.day != Some(date) {
            state.new_day(date);
        }
        if minute > state.market_minute {
            let dt = minute - state.market_minute;
            let sigma = MARKET_DAILY_VOL / length.sqrt();
            state.market += sigma * dt.sqrt() * gaussian(&mut state.rng);
            state.market_minute = minute;
        }
        let mut fetched = Fetched::default();
        let mut seen = std::collections::HashSet::with_capacity(instruments.len());
        for i in instruments {
            if !seen.insert(&i.key) {
                continue;
            }
            let market = state.market;
            let walk = state
                .walks
                .entry(i.key.clone())
                .or_insert_with(|| Walk::new(i, length));
            if minute > walk.minute {
                walk.idio += walk.sigma * (minute - walk.minute).sqrt() * gaussian(&mut state.rng);
                walk.minute = minute;
            }
            let started = ist_time(now) >= times.open;
            let price = if started {
                round_tick(
                    walk.prev_close * (walk.beta * market + walk.idio).exp(),
                    walk.tick,
                )
            } else {
                walk.prev_close
            };
            walk.last = price;
            let mut quote = Quote::new(i.key.clone(), i.symbol.clone(), price, ts)
                .with_prev_close(Some(walk.prev_close));
            if started {
                let open = *walk.open.get_or_insert(price);
                walk.high = walk.high.max(price).max(open);
                walk.low = walk.low.min(price).min(open);
                quote = quote.with_ohlc(Some(open), Some(walk.high), Some(walk.low));
            }
            let volume = walk
                .daily_volume
                .map(|v| (v as f64 * volume_profile(minute / length)).floor() as u64);
            fetched.quotes.push(quote.with_volume(volume));
        }
        fetched
    }
}

impl State {
    fn new_day(&mut self, date: Date) {
        let carry = self.day.is_some();
        self.day = Some(date);
        self.market = 0.0;
        self.market_minute = 0.0;
        for w in self.walks.values_mut() {
            if carry && w.open.is_some() {
                w.prev_close = w.last;
            }
            w.idio = 0.0;
            w.minute = 0.0;
            w.open = None;
            w.high = f64::MIN;
            w.low = f64::MAX;
        }
    }
}

impl Walk {
    fn new(i: &Instrument, session_minutes: f64) -> Self {
        let seed = i.key.as_str();
        let (beta, daily_vol, daily_volume, tick) = if i.is_index() {
            let beta = index_beta(&i.symbol);
            let own = if beta < 0.0 { 0.03 } else { 0.0015 };
            (beta, own, None, 0.01)
        } else {
            let beta = 0.6 + 0.8 * unit(&format!("beta:{seed}"));
            let vol = 0.012 + 0.018 * unit(&format!("vol:{seed}"));
            (beta, vol, Some(bundled_daily_volume(i)), 0.05)
        };
        let prev_close = bundled_prev_close(i);
        Self {
            prev_close,
            beta,
            sigma: daily_vol / session_minutes.sqrt(),
            idio: 0.0,
            minute: 0.0,
            last: prev_close,
            open: None,
            high: f64::MIN,
            low: f64::MAX,
            daily_volume,
            tick,
        }
    }
}

/// Minutes of continuous trading elapsed at `t` (0 before the open, the session's length after
/// the close).
fn session_minute(t: Time, times: &SessionTimes) -> f64 {
    let secs = |t: Time| {
        f64::from(t.hour()) * 3600.0 + f64::from(t.minute()) * 60.0 + f64::from(t.second())
    };
    let (open, close) = (secs(times.open), secs(times.close));
    (secs(t).clamp(open, close.max(open)) - open) / 60.0
}

/// The share of a day's volume traded by fraction `x` of the session: the integral of a
/// U-shaped intensity `1 + 3(2x-1)²` (busy open and close), normalised to 1 at the close.
fn volume_profile(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    (x + 0.5 * ((2.0 * x - 1.0).powi(3) + 1.0)) / 2.0
}

/// A standard normal draw (Box-Muller).
fn gaussian(rng: &mut SmallRng) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.r#gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[async_trait]
impl PriceSource for SimulatedSource {
    fn name(&self) -> &str {
        "simulated"
    }

    async fn fetch(&self, instruments: &[Instrument]) -> Result<Fetched, SourceError> {
        Ok(self.quotes_at(self.clock.now(), instruments))
    }
}

#[cfg(test)]
mod tests;
