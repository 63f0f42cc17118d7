//! Criterion benchmarks of the broadcast hub (issue 4 targets, figures in `docs/performance.md`).
//!
//! You can run them with:
//!
//! ```text
//! cargo bench -p market-feed --bench hub -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! - `serialize/prices_batch_2200`: building one `prices_batch` frame of 2,200 quotes.
//! - `publish_2200/enqueue_*`: `Hub::publish` of a 2,200-quote batch with N parked subscribers
//!   (their wakers registered), i.e. publish plus enqueue for all of them. Only the publish
//!   call is timed; the subscribers are drained between iterations, untimed.
//! - `publish_2200/deliver_*`: the same publish **plus** every subscriber polling the frame out
//!   of its stream on the same thread: the whole fan-out's CPU cost, including the filtered
//!   frames built at poll time in the `filtered10` case.
//! - `publish_2200/deliver_whole_topic_values`: the same, with subscribers that read the
//!   quotes as values (`frame.event()`) instead of the bytes. Against the same benchmark of a
//!   build before typed events existed, `deliver_whole_topic` shows what the values cost a
//!   subscriber that only wants bytes (`docs/performance.md`, "Typed events").
//! - `memory/idle_subscriber`: printed once (RSS growth over 100,000 idle subscriptions; the
//!   workspace forbids `unsafe`, so no counting global allocator), then the time to
//!   subscribe, read the snapshot and drop.

use std::{
    hint::black_box,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::{Stream, task::noop_waker_ref};
use market_feed::hub::{Filter, Frame, Hub, HubConfig, Subscription};
use market_feed::model::{InstrumentKey, Quote, Topic};
use rand::{Rng, SeedableRng, rngs::SmallRng, seq::SliceRandom};

const STOCKS: usize = 2_200;

fn universe() -> Vec<(InstrumentKey, Arc<str>)> {
    (0..STOCKS)
        .map(|i| {
            let key = InstrumentKey::new(&format!("NSE_EQ|INE{i:06}A01018")).expect("valid key");
            (key, Arc::from(format!("SYM{i}")))
        })
        .collect()
}

/// A realistic stock batch: every field known, prices with 2 decimals.
fn batch(universe: &[(InstrumentKey, Arc<str>)], rng: &mut SmallRng, ts: i64) -> Vec<Quote> {
    universe
        .iter()
        .map(|(key, symbol)| {
            let prev: f64 = rng.gen_range(50.0..5000.0);
            let ltp = prev * rng.gen_range(0.95..1.05);
            Quote::new(
                key.clone(),
                symbol.clone(),
                ltp,
                ts + rng.gen_range(0..1000),
            )
            .with_prev_close(Some(prev))
            .with_ohlc(
                Some(prev),
                Some(ltp.max(prev) * 1.01),
                Some(ltp.min(prev) * 0.99),
            )
            .with_volume(Some(rng.gen_range(1_000..10_000_000)))
        })
        .collect()
}

fn hub_with_universe(universe: &[(InstrumentKey, Arc<str>)]) -> Hub {
    let hub = Hub::new(HubConfig::default());
    hub.set_instruments(Topic::Prices, universe.iter().cloned());
    hub
}

/// Polls a subscription until nothing is ready (leaving its waker registered); returns the
/// bytes received.
fn drain(sub: &mut Subscription) -> usize {
    let mut cx = Context::from_waker(noop_waker_ref());
    let mut bytes = 0;
    while let Poll::Ready(Some(frame)) = Pin::new(&mut *sub).poll_next(&mut cx) {
        bytes += frame.len();
    }
    bytes
}

/// Like [`drain`], for a subscriber that reads values instead of bytes: the number of quotes
/// received and the first one's price of each frame.
fn drain_typed(sub: &mut Subscription) -> (usize, f64) {
    let mut cx = Context::from_waker(noop_waker_ref());
    let (mut quotes, mut first) = (0, 0.0);
    while let Poll::Ready(Some(frame)) = Pin::new(&mut *sub).poll_next(&mut cx) {
        if let Some(q) = frame.event().quotes() {
            quotes += q.len();
            first += q.first().map_or(0.0, |q| q.ltp);
        }
    }
    (quotes, first)
}

/// How the benchmark's subscribers read their frames.
#[derive(Clone, Copy)]
enum Read {
    Bytes,
    Values,
}

fn serialize(c: &mut Criterion) {
    let universe = universe();
    let quotes = batch(
        &universe,
        &mut SmallRng::seed_from_u64(1),
        1_769_680_800_000,
    );
    let size = Frame::batch(Topic::Prices, 1, &quotes)
        .map(|f| f.len())
        .unwrap_or(0);
    println!("prices_batch of {STOCKS} quotes: {size} bytes of JSON");
    let mut g = c.benchmark_group("serialize");
    g.throughput(Throughput::Bytes(size as u64));
    g.bench_function("prices_batch_2200", |b| {
        b.iter(|| Frame::batch(Topic::Prices, black_box(7), black_box(&quotes)))
    });
    g.finish();
}

struct Setup {
    hub: Hub,
    subs: Vec<Subscription>,
    template: Vec<Quote>,
}

fn setup(subscribers: usize, filters: &[Filter], universe: &[(InstrumentKey, Arc<str>)]) -> Setup {
    let hub = hub_with_universe(universe);
    let mut rng = SmallRng::seed_from_u64(2);
    let template = batch(universe, &mut rng, 1_769_680_800_000);
    let mut subs: Vec<Subscription> = (0..subscribers)
        .map(|i| {
            let filter = (!filters.is_empty()).then(|| filters[i % filters.len()].clone());
            hub.subscribe(&[Topic::Prices], filter)
        })
        .collect();
    for s in &mut subs {
        drain(s);
    }
    Setup {
        hub,
        subs,
        template,
    }
}

/// `iters` publishes; times the publish only, or the publish and every subscriber's read.
fn run(setup: &mut Setup, iters: u64, time_delivery: bool) -> Duration {
    run_reading(setup, iters, time_delivery, Read::Bytes)
}

fn run_reading(setup: &mut Setup, iters: u64, time_delivery: bool, read: Read) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let quotes = setup.template.clone();
        let start = Instant::now();
        black_box(setup.hub.publish(Topic::Prices, quotes).ok());
        if !time_delivery {
            total += start.elapsed();
        }
        for s in &mut setup.subs {
            match read {
                Read::Bytes => {
                    black_box(drain(s));
                }
                Read::Values => {
                    black_box(drain_typed(s));
                }
            }
        }
        if time_delivery {
            total += start.elapsed();
        }
    }
    total
}

fn publish(c: &mut Criterion) {
    let universe = universe();
    let mut g = c.benchmark_group("publish_2200");
    g.sample_size(10);
    for n in [1usize, 100, 10_000] {
        let mut s = setup(n, &[], &universe);
        g.bench_function(BenchmarkId::new("enqueue_whole_topic", n), |b| {
            b.iter_custom(|iters| run(&mut s, iters, false))
        });
        g.bench_function(BenchmarkId::new("deliver_whole_topic", n), |b| {
            b.iter_custom(|iters| run(&mut s, iters, true))
        });
        // The same subscribers reading `frame.event()` (typed quotes) instead of bytes.
        g.bench_function(BenchmarkId::new("deliver_whole_topic_values", n), |b| {
            b.iter_custom(|iters| run_reading(&mut s, iters, true, Read::Values))
        });
    }

    // 10,000 subscribers over 10 distinct filters of 50 symbols each.
    let hub_for_filters = hub_with_universe(&universe);
    let mut rng = SmallRng::seed_from_u64(3);
    let symbols: Vec<String> = universe.iter().map(|(_, s)| s.to_string()).collect();
    let filters: Vec<Filter> = (0..10)
        .map(|_| {
            let pick: Vec<&String> = symbols.choose_multiple(&mut rng, 50).collect();
            hub_for_filters.resolve_filter(pick).filter
        })
        .collect();
    // Filters are interned per hub: resolve them again on the hub under test.
    let mut s = setup(0, &[], &universe);
    let filters: Vec<Filter> = filters
        .iter()
        .map(|f| {
            s.hub
                .resolve_filter(f.keys().iter().map(|k| k.as_str()))
                .filter
        })
        .collect();
    s.subs = (0..10_000)
        .map(|i| {
            s.hub
                .subscribe(&[Topic::Prices], Some(filters[i % 10].clone()))
        })
        .collect();
    for sub in &mut s.subs {
        drain(sub);
    }
    g.bench_function(BenchmarkId::new("enqueue_filtered10", 10_000), |b| {
        b.iter_custom(|iters| run(&mut s, iters, false))
    });
    g.bench_function(BenchmarkId::new("deliver_filtered10", 10_000), |b| {
        b.iter_custom(|iters| run(&mut s, iters, true))
    });
    g.finish();
}

/// The process's resident set size in bytes (Linux `/proc/self/status`).
fn rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn memory(c: &mut Criterion) {
    const N: usize = 100_000;
    let universe = universe();
    let hub = hub_with_universe(&universe);
    hub.publish(
        Topic::Prices,
        batch(
            &universe,
            &mut SmallRng::seed_from_u64(4),
            1_769_680_800_000,
        ),
    )
    .ok();
    // Warm the snapshot cache and the allocator before the baseline.
    drop(hub.subscribe(&[Topic::Prices], None));
    let mut subs: Vec<Subscription> = Vec::with_capacity(N);
    let before = rss();
    for _ in 0..N {
        let mut s = hub.subscribe(&[Topic::Indices, Topic::Prices], None);
        drain(&mut s);
        subs.push(s);
    }
    let after = rss();
    if let (Some(before), Some(after)) = (before, after) {
        println!(
            "memory/idle_subscriber: {} bytes per idle subscription (RSS +{} KiB over {N}; \
             size_of::<Subscription>() = {} bytes inline)",
            after.saturating_sub(before) / N as u64,
            after.saturating_sub(before) / 1024,
            std::mem::size_of::<Subscription>()
        );
    }
    drop(subs);

    c.bench_function("memory/subscribe_snapshot_drop", |b| {
        b.iter(|| {
            let mut s = hub.subscribe(&[Topic::Indices, Topic::Prices], None);
            black_box(drain(&mut s));
        })
    });
}

criterion_group!(benches, memory, serialize, publish);
criterion_main!(benches);
