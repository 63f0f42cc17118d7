//! Saving one 2,200-quote closing snapshot (the NSE universe of the `prices` topic).
//! Target: ≤ 50 ms for SQLite and PostgreSQL.
//!
//! ```text
//! cargo bench -p market-feed --bench store --all-features -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! `new_day` inserts a day not stored yet (the end-of-day job); `same_day` re-saves a stored day
//! (the idempotent re-run, every row updated). PostgreSQL uses `MARKET_FEED_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`) in a scratch schema, and is skipped with
//! a notice when the server cannot be reached.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use market_feed::model::Topic;
use market_feed::store::{SnapshotStore, SqliteStore, conformance::sample_quotes};
use time::{Date, macros::date};
use tokio::runtime::Runtime;

const QUOTES: usize = 2_200;

/// Times `iters` saves of fresh days; every 64 days the old ones are pruned (not timed), so the
/// file stays the size of a few months of closes.
fn new_days(rt: &Runtime, store: &dyn SnapshotStore, iters: u64) -> Duration {
    let quotes = sample_quotes(QUOTES, 1_769_680_800_000);
    let first = date!(2000 - 01 - 01);
    let mut total = Duration::ZERO;
    for i in 0..iters {
        let day = first + time::Duration::days(i as i64);
        let start = Instant::now();
        rt.block_on(store.save_close(Topic::Prices, day, &quotes))
            .expect("save_close");
        total += start.elapsed();
        if i % 64 == 63 {
            rt.block_on(store.prune(day)).expect("prune");
        }
    }
    rt.block_on(store.prune(Date::MAX)).expect("prune");
    total
}

fn bench_store(c: &mut Criterion, name: &str, rt: &Runtime, store: &dyn SnapshotStore) {
    let mut group = c.benchmark_group(format!("{name}_save_close_2200"));
    group.bench_function("new_day", |b| {
        b.iter_custom(|iters| new_days(rt, store, iters))
    });
    let quotes = sample_quotes(QUOTES, 1_769_680_800_000);
    let day = date!(2026 - 01 - 29);
    group.bench_function("same_day", |b| {
        b.iter(|| {
            rt.block_on(store.save_close(Topic::Prices, day, &quotes))
                .expect("save_close")
        })
    });
    group.finish();
    rt.block_on(store.prune(Date::MAX)).expect("prune");
}

fn sqlite(c: &mut Criterion) {
    let rt = Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = rt
        .block_on(SqliteStore::open(dir.path().join("bench.db")))
        .expect("open");
    bench_store(c, "sqlite", &rt, &store);
}

#[cfg(feature = "postgres")]
fn postgres(c: &mut Criterion) {
    use market_feed::store::PostgresStore;
    let rt = Runtime::new().expect("runtime");
    let base = std::env::var("MARKET_FEED_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("mf_bench_{:08x}", rand::random::<u32>());
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}schema={schema}");
    let store = match rt.block_on(PostgresStore::connect(&url)) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("NOTE: PostgreSQL benchmark skipped: {e}");
            return;
        }
    };
    bench_store(c, "postgres", &rt, &store);
    // Drop the scratch schema through a plain connection.
    let drop_schema = async {
        let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .await
    };
    if let Err(e) = rt.block_on(drop_schema) {
        eprintln!("NOTE: could not drop benchmark schema {schema}: {e}");
    }
}

#[cfg(not(feature = "postgres"))]
fn postgres(_: &mut Criterion) {
    eprintln!(
        "NOTE: PostgreSQL benchmark skipped: build with --features postgres (or --all-features)"
    );
}

criterion_group!(benches, sqlite, postgres);
criterion_main!(benches);
