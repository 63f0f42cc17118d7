//! Criterion benchmark of permessage-deflate on one `prices_batch` of the bundled universe's
//! stocks (about 2,100 quotes): the backend and level choice in `docs/performance.md`.
//!
//! ```text
//! cargo bench -p market-feed --bench deflate -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! - `deflate/flate2_zlib_rs/L`: the server's encoder (`deflate_with_level`: flate2 on zlib-rs,
//!   raw DEFLATE, sync flush, no context takeover) at level L.
//! - `deflate/miniz_oxide/L`: the same payload through miniz_oxide (flate2's default backend).
//!
//! The compressed sizes of each variant are printed once before the timings.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use market_feed::hub::{Frame, deflate_with_level};
use market_feed::model::{Quote, Topic};
use market_feed::universe::Universe;
use rand::{Rng, SeedableRng, rngs::SmallRng};

/// A realistic stock batch: every stock of the bundled universe, every field known.
fn batch() -> Frame {
    let mut rng = SmallRng::seed_from_u64(7);
    let ts = 1_769_661_334_000;
    let quotes: Vec<Quote> = Universe::bundled()
        .prices()
        .iter()
        .map(|i| {
            let prev: f64 = (rng.gen_range(50.0..5000.0_f64) * 100.0).round() / 100.0;
            let ltp = (prev * rng.gen_range(0.95..1.05) * 20.0).round() / 20.0;
            Quote::new(
                i.key.clone(),
                i.symbol.clone(),
                ltp,
                ts + rng.gen_range(0..1000),
            )
            .with_prev_close(Some(prev))
            .with_ohlc(Some(prev), Some(ltp.max(prev)), Some(ltp.min(prev)))
            .with_volume(Some(rng.gen_range(1_000..10_000_000)))
        })
        .collect();
    Frame::batch(Topic::Prices, 1234, &quotes).expect("serializable")
}

fn deflate(c: &mut Criterion) {
    let frame = batch();
    let json = frame.bytes().clone();
    let quotes = serde_json::from_slice::<serde_json::Value>(&json).expect("JSON")["data"]
        .as_array()
        .map_or(0, Vec::len);
    eprintln!(
        "prices_batch: {quotes} quotes, {} bytes of JSON",
        json.len()
    );
    for level in [1u32, 3, 6] {
        let z = deflate_with_level(&json, level).map_or(0, |z| z.len());
        let m = miniz_oxide::deflate::compress_to_vec(&json, level as u8).len();
        eprintln!(
            "level {level}: flate2/zlib-rs {z} bytes ({:.1}%), miniz_oxide {m} bytes ({:.1}%)",
            100.0 * z as f64 / json.len() as f64,
            100.0 * m as f64 / json.len() as f64
        );
    }
    let mut g = c.benchmark_group("deflate");
    g.throughput(Throughput::Bytes(json.len() as u64));
    for level in [1u32, 3, 6] {
        g.bench_with_input(
            BenchmarkId::new("flate2_zlib_rs", level),
            &level,
            |b, &l| b.iter(|| deflate_with_level(black_box(&json), l)),
        );
        g.bench_with_input(BenchmarkId::new("miniz_oxide", level), &level, |b, &l| {
            b.iter(|| miniz_oxide::deflate::compress_to_vec(black_box(&json), l as u8))
        });
    }
    g.finish();
}

criterion_group!(benches, deflate);
criterion_main!(benches);
