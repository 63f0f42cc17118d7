//! [`DemoDay`]: the recorded day as a demo plays it: its universe (exactly the recorded stocks
//! and the indices derived from their members), its clock (closed → pre-open → open →
//! post-close → closed, each phase long enough to see), and the previous session's closes.

use std::sync::Arc;

use time::{Date, Duration, OffsetDateTime};

use super::{IndexMembers, IndicesFromMembers, Recording, ReplaySource};
use crate::{
    clock::{Calendar, Leg, MarketClock, Schedule, at_ist, to_ms},
    model::Quote,
    source::PriceSource,
    universe::{Instrument, Universe},
};

/// Real seconds each phase of the demo day lasts: closed before pre-open, pre-open, open,
/// post-close, closed after post-close (then the clock stops).
///
/// ```
/// let total: f64 = market_feed::source::replay::DEMO_PHASE_SECONDS.iter().sum();
/// assert!(total < 600.0);
/// ```
pub const DEMO_PHASE_SECONDS: [f64; 5] = [20.0, 22.5, 360.0, 20.0, 20.0];

/// Clock minutes of the closed phases shown before pre-open and after post-close.
const CLOSED_MINUTES: i64 = 4;

/// The bundled recorded day (2026-01-29) with the index membership in force on it.
///
/// ```
/// use market_feed::source::replay::DemoDay;
/// let demo = DemoDay::bundled()?;
/// assert_eq!(demo.day(), time::macros::date!(2026 - 01 - 29));
/// assert_eq!(demo.previous_day(), time::macros::date!(2026 - 01 - 28));
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct DemoDay {
    recording: &'static Recording,
    members: &'static IndexMembers,
}

impl DemoDay {
    /// The shipped recording and membership lists.
    ///
    /// See [`DemoDay`] for an example.
    pub fn bundled() -> Result<Self, String> {
        Ok(Self {
            recording: Recording::bundled()?,
            members: IndexMembers::bundled()?,
        })
    }

    /// The recorded trading day.
    ///
    /// See [`DemoDay`] for an example.
    pub fn day(&self) -> Date {
        self.recording.day()
    }

    /// The session before the recorded day (whose closes the recording carries).
    ///
    /// See [`DemoDay`] for an example.
    pub fn previous_day(&self) -> Date {
        Calendar::bundled(crate::clock::Exchange::Nse)
            .previous_trading_day(self.day())
            .map_or(self.day() - Duration::days(1), |s| s.date)
    }

    /// The recording.
    ///
    /// ```
    /// # use market_feed::source::replay::DemoDay;
    /// assert_eq!(DemoDay::bundled().unwrap().recording().len(), 1402);
    /// ```
    pub fn recording(&self) -> &'static Recording {
        self.recording
    }

    /// The index membership lists.
    ///
    /// ```
    /// # use market_feed::source::replay::DemoDay;
    /// assert_eq!(DemoDay::bundled().unwrap().members().indices.len(), 5);
    /// ```
    pub fn members(&self) -> &'static IndexMembers {
        self.members
    }

    /// The demo's universe: the derived indices and exactly the recorded stocks (names from
    /// `base` where it lists them; the few it does not, under the recording's symbol).
    ///
    /// ```
    /// # use market_feed::{source::replay::DemoDay, universe::Universe};
    /// let u = DemoDay::bundled().unwrap().universe(&Universe::bundled());
    /// assert_eq!((u.indices().len(), u.prices().len()), (5, 1402));
    /// assert!(u.by_symbol("RPOWER").is_none()); // listed, but not recorded that day
    /// ```
    pub fn universe(&self, base: &Universe) -> Universe {
        let mut stocks: Vec<Instrument> = base
            .prices()
            .iter()
            .filter(|i| self.recording.series(&i.key).is_some())
            .cloned()
            .collect();
        // Recorded stocks that `base` does not list (a changed ISIN) keep the recording's
        // symbol, which is also their name.
        let mut extra: Vec<Instrument> = self
            .recording
            .keys()
            .filter(|k| base.get(k).is_none())
            .filter_map(|k| {
                let s = self.recording.series(k)?;
                Some(Instrument::new(
                    k.clone(),
                    s.symbol.clone(),
                    s.symbol.clone(),
                    None,
                ))
            })
            .collect();
        extra.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        stocks.extend(extra);
        let indices = self.members.instruments();
        // Keys are unique in both lists by construction; fall back to the stocks alone.
        Universe::new(indices, stocks.clone())
            .or_else(|_| Universe::new(Vec::new(), stocks))
            .unwrap_or_else(|_| base.clone())
    }

    /// The price sources of the demo: (indices derived from their members, the replayed
    /// stocks), on `clock`, members looked up in `universe`.
    ///
    /// ```
    /// # use market_feed::{clock::MarketClock, source::replay::DemoDay, universe::Universe};
    /// let demo = DemoDay::bundled().unwrap();
    /// let (indices, stocks) = demo.sources(&demo.universe(&Universe::bundled()), &MarketClock::system());
    /// assert_eq!((indices.name(), stocks.name()), ("indices-from-members", "replay"));
    /// ```
    pub fn sources(
        &self,
        universe: &Universe,
        clock: &MarketClock,
    ) -> (Arc<dyn PriceSource>, Arc<dyn PriceSource>) {
        let stocks: Arc<dyn PriceSource> = Arc::new(ReplaySource::new(clock.clone()));
        let indices =
            IndicesFromMembers::new(stocks.clone(), self.members, universe, clock.clone());
        (Arc::new(indices), stocks)
    }

    /// The demo clock's schedule on `calendar`: [`DEMO_PHASE_SECONDS`] for closed (the last
    /// 4 minutes before pre-open), pre-open, open, post-close and closed (4 minutes after
    /// post-close); then the clock stops.
    ///
    /// ```
    /// # use market_feed::{clock::{Calendar, Exchange}, source::replay::DemoDay};
    /// let demo = DemoDay::bundled().unwrap();
    /// let s = demo.schedule(&Calendar::bundled(Exchange::Nse)).unwrap();
    /// assert_eq!(s.start(), time::macros::datetime!(2026-01-29 08:56 +05:30));
    /// assert!(s.real_length() < std::time::Duration::from_secs(600));
    /// ```
    pub fn schedule(&self, calendar: &Calendar) -> Result<Schedule, String> {
        let session = calendar
            .session(self.day())
            .ok_or_else(|| format!("{} is not a trading day in the calendar", self.day()))?;
        let closed = Duration::minutes(CLOSED_MINUTES);
        let bounds = [
            session.pre_open(),
            session.open(),
            session.close(),
            session.post_close_end(),
            session.post_close_end() + closed,
        ];
        let mut from = session.pre_open() - closed;
        let start = from;
        let mut legs = Vec::with_capacity(bounds.len());
        for (until, secs) in bounds.into_iter().zip(DEMO_PHASE_SECONDS) {
            legs.push(Leg {
                until,
                speed: (until - from).as_seconds_f64() / secs,
            });
            from = until;
        }
        Schedule::new(start, legs).map_err(|e| e.to_string())
    }

    /// The closes of the session before the recorded day, as the recording has them: each
    /// recorded stock of `universe` at its previous close, each index at its previous close
    /// (`prev_close` unset: the session before that is not recorded). Returns (indices, stocks)
    /// and the instant they are as of (that session's close).
    ///
    /// ```
    /// # use market_feed::{source::replay::DemoDay, universe::Universe};
    /// let demo = DemoDay::bundled().unwrap();
    /// let (indices, stocks, _) = demo.previous_closes(&demo.universe(&Universe::bundled()));
    /// assert_eq!((indices.len(), stocks.len()), (5, 1402));
    /// assert_eq!(indices[0].ltp, 25_342.75);
    /// ```
    pub fn previous_closes(&self, universe: &Universe) -> (Vec<Quote>, Vec<Quote>, i64) {
        let as_of: OffsetDateTime = at_ist(self.previous_day(), time::macros::time!(15:30));
        let ts = to_ms(as_of);
        let indices = self
            .members
            .indices
            .iter()
            .filter_map(|d| {
                let i = universe.by_symbol(&d.symbol)?;
                Some(Quote::new(
                    i.key.clone(),
                    i.symbol.clone(),
                    d.prev_close,
                    ts,
                ))
            })
            .collect();
        let stocks = universe
            .prices()
            .iter()
            .filter_map(|i| {
                let s = self.recording.series(&i.key)?;
                Some(Quote::new(
                    i.key.clone(),
                    i.symbol.clone(),
                    s.prev_close,
                    ts,
                ))
            })
            .collect();
        (indices, stocks, ts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Exchange, Phase, TimeSource};

    #[test]
    fn every_phase_is_on_screen_for_fifteen_seconds_and_the_day_takes_under_ten_minutes() {
        let demo = DemoDay::bundled().unwrap();
        let calendar = Arc::new(Calendar::bundled(Exchange::Nse));
        let schedule = demo.schedule(&calendar).unwrap();
        let clock = MarketClock::new(calendar, TimeSource::System);
        // Walk the schedule in steps of 0.25 s and measure how long each phase shows.
        let mut runs: Vec<(Phase, f64)> = Vec::new();
        let mut t = 0.0;
        while t <= schedule.real_length().as_secs_f64() {
            let at = schedule.at(std::time::Duration::from_secs_f64(t));
            let phase = clock.status_at(at).phase;
            match runs.last_mut() {
                Some((p, secs)) if *p == phase => *secs += 0.25,
                _ => runs.push((phase, 0.25)),
            }
            t += 0.25;
        }
        let phases: Vec<Phase> = runs.iter().map(|(p, _)| *p).collect();
        assert_eq!(
            phases,
            [
                Phase::Closed,
                Phase::PreOpen,
                Phase::Open,
                Phase::PostClose,
                Phase::Closed
            ]
        );
        assert!(runs.iter().all(|(_, secs)| *secs >= 15.0), "{runs:?}");
        assert!(schedule.real_length().as_secs_f64() < 600.0);
        // The whole demo is on the recorded date.
        assert_eq!(crate::clock::ist_date(schedule.start()), demo.day());
        assert_eq!(crate::clock::ist_date(schedule.end()), demo.day());
    }

    #[test]
    fn the_universe_is_exactly_the_recording() {
        let demo = DemoDay::bundled().unwrap();
        let u = demo.universe(&Universe::bundled());
        assert_eq!(u.prices().len(), demo.recording().len());
        assert!(
            u.prices()
                .iter()
                .all(|i| demo.recording().series(&i.key).is_some())
        );
        let symbols: Vec<&str> = u.indices().iter().map(|i| &*i.symbol).collect();
        assert_eq!(
            symbols,
            ["NIFTY 50", "SENSEX", "NIFTY BANK", "NIFTY IT", "BANKEX"]
        );
    }
}
