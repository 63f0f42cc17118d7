use super::*;
use time::{Duration, macros::datetime};

fn sample(u: &Universe) -> Vec<Instrument> {
    let mut v = u.indices().to_vec();
    v.extend(u.prices().iter().step_by(20).cloned());
    v
}

/// Fetches every 5 minutes from 09:00 to 15:45 and returns each fetch's quotes.
fn day(seed: u64, u: &Universe) -> Vec<Vec<Quote>> {
    let clock = MarketClock::fixed(datetime!(2026-01-29 09:00 +05:30));
    let sim = SimulatedSource::new(u.clone(), seed, clock.clone());
    let instruments = sample(u);
    let mut out = Vec::new();
    while clock.now() <= datetime!(2026-01-29 15:45 +05:30) {
        out.push(sim.quotes_at(clock.now(), &instruments).quotes);
        clock.advance(Duration::minutes(5)).unwrap();
    }
    out
}

#[test]
fn same_seed_same_day_other_seed_other_day() {
    let u = Universe::bundled();
    let a = day(7, &u);
    assert_eq!(a, day(7, &u));
    assert_ne!(a, day(8, &u));
}

#[test]
fn ticks_ranges_volumes_and_timestamps() {
    let u = Universe::bundled();
    let days = day(3, &u);
    let n = days[0].len();
    for i in 0..n {
        let mut last_volume = 0;
        for (step, quotes) in days.iter().enumerate() {
            let q = &quotes[i];
            assert_eq!(
                q.ts,
                to_ms(datetime!(2026-01-29 09:00 +05:30)) + step as i64 * 300_000
            );
            let is_index = q.key.segment().ends_with("_INDEX");
            if !is_index && q.open.is_some() {
                let ticks = q.ltp / 0.05;
                assert!(
                    (ticks - ticks.round()).abs() < 1e-6,
                    "{} off tick: {}",
                    q.symbol,
                    q.ltp
                );
            }
            if is_index {
                assert_eq!(q.volume, None);
            } else {
                let v = q.volume.unwrap();
                assert!(v >= last_volume, "{} volume fell", q.symbol);
                last_volume = v;
            }
            match (q.open, q.high, q.low) {
                (Some(o), Some(h), Some(l)) => {
                    assert!(l <= q.ltp && q.ltp <= h && l <= o && o <= h, "{q:?}");
                    assert_eq!(o, quotes_open(&days, i), "open is fixed");
                }
                (None, None, None) => assert_eq!(Some(q.ltp), q.prev_close, "before the open"),
                other => panic!("partial ohlc {other:?}"),
            }
        }
        // At the close the whole daily volume has traded.
        let last = &days.last().unwrap()[i];
        if let Some(v) = last.volume {
            let inst = u.resolve(last.key.as_str()).unwrap();
            assert_eq!(v, bundled_daily_volume(inst));
        }
    }
}

fn quotes_open(days: &[Vec<Quote>], i: usize) -> f64 {
    days.iter().find_map(|q| q[i].open).unwrap()
}

#[test]
fn indices_move_with_the_stocks() {
    let u = Universe::bundled();
    let mut up_corr = Vec::new();
    for seed in 0..6 {
        let days = day(seed, &u);
        let ret = |i: usize, a: usize, b: usize| (days[b][i].ltp / days[a][i].ltp).ln();
        let steps = days.len() - 1;
        let n = days[0].len();
        let (mut nifty, mut stocks, mut vix) = (Vec::new(), Vec::new(), Vec::new());
        for s in 0..steps {
            nifty.push(ret(0, s, s + 1));
            vix.push(ret(4, s, s + 1));
            stocks.push((9..n).map(|i| ret(i, s, s + 1)).sum::<f64>() / (n - 9) as f64);
        }
        up_corr.push((corr(&nifty, &stocks), corr(&vix, &stocks)));
    }
    for (c_nifty, c_vix) in up_corr {
        assert!(c_nifty > 0.8, "NIFTY vs stocks {c_nifty}");
        assert!(c_vix < -0.5, "VIX vs stocks {c_vix}");
    }
}

fn corr(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn levels_stay_realistic_and_next_day_starts_from_the_last_price() {
    let u = Universe::bundled();
    let clock = MarketClock::fixed(datetime!(2026-01-29 09:00 +05:30));
    let sim = SimulatedSource::new(u.clone(), 11, clock.clone());
    let idx = u.indices();
    let first = sim.quotes_at(clock.now(), idx).quotes;
    assert_eq!(first[0].ltp, 25_300.0);
    clock.set(datetime!(2026-01-29 15:40 +05:30)).unwrap();
    let close = sim.quotes_at(clock.now(), idx).quotes;
    for q in &close {
        let pct = q.change_pct.unwrap().abs();
        let limit = if &*q.symbol == "INDIA VIX" { 30.0 } else { 6.0 };
        assert!(pct < limit, "{} moved {pct}%", q.symbol);
    }
    clock.set(datetime!(2026-01-30 09:05 +05:30)).unwrap();
    let next = sim.quotes_at(clock.now(), idx).quotes;
    for (c, n) in close.iter().zip(&next) {
        assert_eq!(n.prev_close, Some(c.ltp));
        assert_eq!(n.ltp, c.ltp);
        assert_eq!(n.open, None);
    }
}

#[test]
fn nothing_moves_outside_the_session() {
    let u = Universe::bundled();
    let clock = MarketClock::fixed(datetime!(2026-01-29 15:35 +05:30));
    let sim = SimulatedSource::new(u.clone(), 5, clock.clone());
    let a = sim.quotes_at(clock.now(), u.indices()).quotes;
    clock.advance(Duration::minutes(20)).unwrap();
    let b = sim.quotes_at(clock.now(), u.indices()).quotes;
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.ltp, y.ltp);
    }
}

#[test]
fn profile_is_monotone_from_zero_to_one() {
    assert_eq!(volume_profile(0.0), 0.0);
    assert_eq!(volume_profile(1.0), 1.0);
    let mut last = 0.0;
    for n in 1..=100 {
        let v = volume_profile(f64::from(n) / 100.0);
        assert!(v > last);
        last = v;
    }
    // Busy open: the first 10 % of the session carries more than 10 % of the volume.
    assert!(volume_profile(0.1) > 0.1);
}
