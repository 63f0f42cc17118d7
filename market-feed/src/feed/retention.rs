//! Retention: stored snapshots older than the configured number of days are removed, at
//! start and every 6 hours, while the feed runs ([`FeedBuilder::retention`](super::FeedBuilder::retention)).

use std::{sync::Arc, time::Duration as StdDuration};

use tokio_util::sync::CancellationToken;

use super::Ctx;
use crate::{Report, clock::ist_date};

/// How often the store is pruned (real time).
const PRUNE_EVERY: StdDuration = StdDuration::from_secs(6 * 3600);

/// Prunes the store every [`PRUNE_EVERY`], keeping `days` days before today (IST), until
/// `shutdown`; a prune in flight at shutdown is dropped.
pub(super) async fn run(ctx: Arc<Ctx>, days: u32, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return,
            () = prune_once(&ctx, days) => {}
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(PRUNE_EVERY) => {}
        }
    }
}

/// One prune: removes the closes and checkpoints of days more than `days` before today.
pub(super) async fn prune_once(ctx: &Ctx, days: u32) {
    let cutoff = ist_date(ctx.clock.now()) - time::Duration::days(i64::from(days));
    match ctx.store.prune(cutoff).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, %cutoff, "pruned old closing snapshots"),
        Err(e) => {
            tracing::warn!(error = %Report::new(&e), "pruning old snapshots failed; will retry");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use time::macros::{date, datetime};
    use tokio_util::sync::CancellationToken;

    use crate::{
        clock::MarketClock,
        feed::Feed,
        hub::Hub,
        model::{InstrumentKey, Quote, Topic},
        store::{MemoryStore, SnapshotStore},
    };

    async fn save(store: &MemoryStore, day: time::Date) {
        let key = InstrumentKey::new("NSE_INDEX|Nifty 50").unwrap();
        let quote = Quote::new(key, "NIFTY 50", 25000.0, 1);
        store
            .save_close(Topic::Indices, day, &[quote])
            .await
            .unwrap();
    }

    async fn has(store: &MemoryStore, day: time::Date) -> bool {
        store
            .load_close(Topic::Indices, day)
            .await
            .unwrap()
            .is_some()
    }

    #[tokio::test]
    async fn the_feed_prunes_what_is_older_than_the_retention() {
        let store = Arc::new(MemoryStore::new());
        save(&store, date!(2025 - 12 - 01)).await;
        save(&store, date!(2026 - 01 - 20)).await;
        // A Saturday: no window, so only the retention task touches the store.
        let clock = MarketClock::fixed(datetime!(2026-01-31 10:00 +05:30));
        let feed = Feed::builder(clock, Hub::default(), store.clone())
            .retention(30)
            .build();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(feed.run(shutdown.clone()));
        for _ in 0..1000 {
            if !has(&store, date!(2025 - 12 - 01)).await {
                break;
            }
            tokio::task::yield_now().await;
        }
        shutdown.cancel();
        task.await.unwrap();
        assert!(!has(&store, date!(2025 - 12 - 01)).await, "not pruned");
        assert!(has(&store, date!(2026 - 01 - 20)).await, "pruned too much");
    }

    #[tokio::test]
    async fn without_a_retention_nothing_is_pruned() {
        let store = Arc::new(MemoryStore::new());
        save(&store, date!(2020 - 01 - 01)).await;
        let clock = MarketClock::fixed(datetime!(2026-01-31 10:00 +05:30));
        let feed = Feed::builder(clock, Hub::default(), store.clone()).build();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(feed.run(shutdown.clone()));
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
        shutdown.cancel();
        task.await.unwrap();
        assert!(has(&store, date!(2020 - 01 - 01)).await);
    }
}
