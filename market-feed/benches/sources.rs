//! Benchmarks of the price sources.
//!
//! Run with `cargo bench -p market-feed --bench sources -- --warm-up-time 1 --measurement-time 3`.
//!
//! - `upstox/parse_ltp_500`: decode a 500-instrument v3 LTP response into quotes (target ≤ 1 ms);
//! - `upstox/parse_full_quote_500`: the same for the v2 full quote, for comparison;
//! - `upstox/refresh_2200`: a whole 2,200-stock refresh against `FakeUpstox` on loopback, 5
//!   requests of at most 500 keys (target ≤ 50 ms wall);
//! - `simulated/2108` and `replay/1397`: one fetch of the offline sources over the bundled
//!   universe (all of it; its stocks that are in the recording).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{sync::Arc, time::Duration};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use market_feed::{
    clock::MarketClock,
    model::InstrumentKey,
    source::{
        PriceSource, ReplaySource, SimulatedSource,
        replay::Recording,
        upstox::{
            QuoteEndpoint, RateLimiter, TokenProvider, UpstoxConfig, UpstoxSource, decode_quotes,
        },
    },
    testing::{FakeInstrument, FakeUpstox},
    universe::{Instrument, Universe},
};
use time::macros::datetime;

fn instruments(n: usize) -> Vec<Instrument> {
    (0..n)
        .map(|i| {
            let key = InstrumentKey::new(&format!("NSE_EQ|INE{i:05}A0101")).unwrap();
            Instrument::new(key, format!("STOCK{i}"), "", None)
        })
        .collect()
}

fn ltp_body(instruments: &[Instrument]) -> String {
    let entries: Vec<String> = instruments
        .iter()
        .enumerate()
        .map(|(n, i)| {
            format!(
                r#""NSE_EQ:{sym}":{{"last_price":{lp},"instrument_token":"{key}","ltq":{ltq},"volume":{vol},"cp":{cp}}}"#,
                sym = i.symbol,
                lp = 1000.0 + n as f64 * 0.35,
                key = i.key,
                ltq = n % 50 + 1,
                vol = 100_000 + n * 37,
                cp = 1001.25 + n as f64 * 0.3,
            )
        })
        .collect();
    format!(r#"{{"status":"success","data":{{{}}}}}"#, entries.join(","))
}

fn full_body(instruments: &[Instrument]) -> String {
    let level = r#"{"quantity":0,"price":0,"orders":0}"#;
    let depth = format!(
        r#"{{"buy":[{level},{level},{level},{level},{level}],"sell":[{level},{level},{level},{level},{level}]}}"#
    );
    let entries: Vec<String> = instruments
        .iter()
        .enumerate()
        .map(|(n, i)| {
            let lp = 1000.0 + n as f64 * 0.35;
            format!(
                r#""NSE_EQ:{sym}":{{"ohlc":{{"open":{o},"high":{h},"low":{l},"close":{lp}}},"depth":{depth},"timestamp":"2026-01-29T10:00:00.000+05:30","instrument_token":"{key}","symbol":"{sym}","last_price":{lp},"volume":{vol},"average_price":{lp},"oi":0,"net_change":-1.25,"total_buy_quantity":6917,"total_sell_quantity":0,"lower_circuit_limit":800.5,"upper_circuit_limit":1200.5,"last_trade_time":"1769661000000","oi_day_high":0,"oi_day_low":0}}"#,
                sym = i.symbol,
                key = i.key,
                o = lp - 2.0,
                h = lp + 3.0,
                l = lp - 4.0,
                vol = 100_000 + n * 37,
            )
        })
        .collect();
    format!(r#"{{"status":"success","data":{{{}}}}}"#, entries.join(","))
}

fn parsing(c: &mut Criterion) {
    let batch = instruments(500);
    let ltp = ltp_body(&batch);
    let full = full_body(&batch);
    assert_eq!(
        decode_quotes(QuoteEndpoint::LtpV3, ltp.as_bytes(), &batch, 0)
            .unwrap()
            .quotes
            .len(),
        500
    );
    assert_eq!(
        decode_quotes(QuoteEndpoint::FullQuoteV2, full.as_bytes(), &batch, 0)
            .unwrap()
            .quotes
            .len(),
        500
    );
    let mut g = c.benchmark_group("upstox");
    g.bench_function("parse_ltp_500", |b| {
        b.iter(|| decode_quotes(QuoteEndpoint::LtpV3, ltp.as_bytes(), &batch, 0).unwrap())
    });
    g.bench_function("parse_full_quote_500", |b| {
        b.iter(|| decode_quotes(QuoteEndpoint::FullQuoteV2, full.as_bytes(), &batch, 0).unwrap())
    });
    g.finish();
}

fn refresh(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let all = instruments(2_200);
    let fake = rt.block_on(FakeUpstox::start()).unwrap();
    fake.add_all(all.iter().enumerate().map(|(n, i)| {
        FakeInstrument::stock(
            i.key.as_str(),
            &i.symbol,
            1000.0 + n as f64 * 0.35,
            1001.25,
            100_000,
        )
    }));
    let config = UpstoxConfig {
        base_url: fake.base_url(),
        refresh_deadline: Duration::from_secs(10),
        ..UpstoxConfig::default()
    };
    // The benchmark sends far more than Upstox's 45/s: give it a limiter that never waits.
    let source = UpstoxSource::new(
        config,
        TokenProvider::fixed("bench-token").unwrap(),
        MarketClock::system(),
    )
    .unwrap()
    .with_rate_limiter(Arc::new(RateLimiter::new(&[(
        1_000_000,
        Duration::from_secs(1),
    )])));
    let before = fake.request_count();
    let f = rt.block_on(source.fetch(&all)).unwrap();
    assert_eq!((f.quotes.len(), fake.request_count() - before), (2_200, 5));
    c.benchmark_group("upstox")
        .bench_function("refresh_2200", |b| {
            b.iter(|| rt.block_on(source.fetch(&all)).unwrap())
        });

    let u = Universe::bundled();
    let everything: Vec<Instrument> = u.iter().map(|(_, i)| i.clone()).collect();
    let clock = MarketClock::fixed(datetime!(2026-01-29 11:00 +05:30));
    let sim = SimulatedSource::new(u.clone(), 1, clock.clone());
    c.bench_function("simulated/2108", |b| {
        b.iter_batched(
            || clock.advance(time::Duration::seconds(5)).unwrap(),
            |()| rt.block_on(sim.fetch(&everything)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    let recorded: Vec<Instrument> = u
        .prices()
        .iter()
        .filter(|i| Recording::bundled().unwrap().series(&i.key).is_some())
        .cloned()
        .collect();
    let replay = ReplaySource::new(clock);
    c.bench_function("replay/1397", |b| {
        b.iter(|| rt.block_on(replay.fetch(&recorded)).unwrap())
    });
}

criterion_group!(benches, parsing, refresh);
criterion_main!(benches);
