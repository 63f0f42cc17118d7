//! Benchmark of the Upstox market data feed decoder.
//!
//! Run with `cargo bench -p market-feed --bench stream_decode -- --warm-up-time 1 --measurement-time 3`.
//!
//! - `upstox_stream/initial_feed_2110`: decode an `initial_feed` frame carrying 2,110
//!   instruments (`ltpc` mode) into quotes (target ≤ 2 ms);
//! - `upstox_stream/live_feed_40`: a typical `live_feed` frame of 40 ticks.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use market_feed::{
    model::InstrumentKey,
    source::upstox::stream::{
        Decoder,
        proto::{Feed, FeedResponse, FeedType, FeedUnion, Ltpc, RequestMode},
    },
    universe::Instrument,
};
use prost::Message;

fn instruments(n: usize) -> Vec<Instrument> {
    (0..n)
        .map(|i| {
            let key = InstrumentKey::new(&format!("NSE_EQ|INE{i:05}A0101")).unwrap();
            Instrument::new(key, format!("STOCK{i}"), "", None)
        })
        .collect()
}

fn frame(instruments: &[Instrument], kind: FeedType) -> Vec<u8> {
    let feeds = instruments
        .iter()
        .enumerate()
        .map(|(n, i)| {
            let ltpc = Ltpc {
                ltp: 1000.0 + n as f64 * 0.35,
                ltt: 1_769_680_800_000 + n as i64,
                ltq: (n % 50 + 1) as i64,
                cp: 995.0 + n as f64 * 0.35,
            };
            let feed = Feed {
                feed_union: Some(FeedUnion::Ltpc(ltpc)),
                request_mode: RequestMode::Ltpc as i32,
            };
            (i.key.as_str().to_owned(), feed)
        })
        .collect();
    FeedResponse {
        r#type: kind as i32,
        feeds,
        current_ts: 1_769_680_800_000,
        market_info: None,
    }
    .encode_to_vec()
}

fn bench(c: &mut Criterion) {
    let all = instruments(2_110);
    let decoder = Decoder::new(&all);
    let initial = frame(&all, FeedType::InitialFeed);
    let live = frame(&all[..40], FeedType::LiveFeed);
    let mut g = c.benchmark_group("upstox_stream");
    g.bench_function("initial_feed_2110", |b| {
        b.iter(|| decoder.decode(&initial, 1).unwrap().quotes.len())
    });
    g.bench_function("live_feed_40", |b| {
        b.iter(|| decoder.decode(&live, 1).unwrap().quotes.len())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
