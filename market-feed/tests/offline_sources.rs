//! The offline sources through the `PriceSource` trait, on the bundled universe and a manual
//! market clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use market_feed::{
    clock::MarketClock,
    model::Topic,
    source::{PriceSource, ReplaySource, SimulatedSource, replay::Recording},
    universe::Universe,
};
use time::{Duration, macros::datetime};

#[tokio::test]
async fn replay_follows_the_recorded_bars_through_the_day() {
    let u = Universe::bundled();
    let rec = Recording::bundled().unwrap();
    // The session of another date: only the time of day matters.
    let clock = MarketClock::fixed(datetime!(2026-02-05 09:00 +05:30));
    let source: Arc<dyn PriceSource> = Arc::new(ReplaySource::new(clock.clone()));
    let stocks = u.prices();

    // TC0: before the open every recorded stock stands at its previous close.
    let f = source.fetch(stocks).await.unwrap();
    let recorded = stocks
        .iter()
        .filter(|i| rec.series(&i.key).is_some())
        .count();
    assert_eq!(f.quotes.len(), recorded);
    assert_eq!(f.missing.len(), stocks.len() - recorded);
    for q in &f.quotes {
        assert_eq!(Some(q.ltp), q.prev_close);
        assert_eq!(q.change, Some(0.0));
        assert_eq!(q.ts, clock.now_ms());
    }

    // TC1: at 10:07 each quote lies within its 10:00 bar's range.
    clock.set(datetime!(2026-02-05 10:07 +05:30)).unwrap();
    let f = source.fetch(stocks).await.unwrap();
    for q in &f.quotes {
        let s = rec.series(&q.key).unwrap();
        let bar = s.bars.iter().find(|b| b.start == 600).unwrap();
        assert!(
            bar.low <= q.ltp && q.ltp <= bar.high,
            "{} {} not in [{}, {}]",
            q.symbol,
            q.ltp,
            bar.low,
            bar.high
        );
        assert!(q.low.unwrap() <= q.ltp && q.ltp <= q.high.unwrap());
        assert_eq!(q.prev_close, Some(s.prev_close));
    }

    // TC2: volume only grows as the day advances.
    let mut last: Vec<u64> = f.quotes.iter().map(|q| q.volume.unwrap()).collect();
    for minutes in [13, 90, 200, 320] {
        clock.advance(Duration::minutes(minutes)).unwrap();
        let f = source.fetch(stocks).await.unwrap();
        let now: Vec<u64> = f.quotes.iter().map(|q| q.volume.unwrap()).collect();
        assert!(now.iter().zip(&last).all(|(n, l)| n >= l));
        last = now;
    }

    // TC3: at and after 15:30 the price is the 15:15 bar's close, the day's close.
    for at in [
        datetime!(2026-02-05 15:30 +05:30),
        datetime!(2026-02-05 23:00 +05:30),
    ] {
        clock.set(at).unwrap();
        let f = source.fetch(stocks).await.unwrap();
        for q in &f.quotes {
            let s = rec.series(&q.key).unwrap();
            let closing = s.bars.last().unwrap();
            assert_eq!(closing.start, 15 * 60 + 15);
            assert_eq!(
                q.ltp,
                market_feed::model::round2(closing.close),
                "{}",
                q.symbol
            );
            assert_eq!(q.volume, Some(s.bars.iter().map(|b| b.volume).sum::<u64>()));
        }
    }

    // TC4: indices are not recorded.
    let f = source.fetch(u.instruments(Topic::Indices)).await.unwrap();
    assert!(f.quotes.is_empty());
    assert_eq!(f.missing.len(), 9);
}

#[tokio::test]
async fn simulated_serves_the_whole_bundled_universe() {
    let u = Universe::bundled();
    let clock = MarketClock::fixed(datetime!(2026-01-29 09:13 +05:30));
    let source: Arc<dyn PriceSource> =
        Arc::new(SimulatedSource::new(u.clone(), 2026, clock.clone()));
    for step in 0..4 {
        for topic in Topic::ALL {
            let f = source.fetch(u.instruments(topic)).await.unwrap();
            assert_eq!(f.quotes.len(), u.instruments(topic).len());
            assert!(f.missing.is_empty() && f.errors.is_empty());
            for (q, i) in f.quotes.iter().zip(u.instruments(topic)) {
                assert_eq!((&q.key, &q.symbol), (&i.key, &i.symbol));
                assert!(q.ltp > 0.0 && q.prev_close.unwrap() > 0.0);
                assert_eq!(q.ts, clock.now_ms());
                if step > 0 {
                    assert!(q.open.is_some(), "trading has started");
                }
            }
        }
        clock.advance(Duration::minutes(45)).unwrap();
    }
}
