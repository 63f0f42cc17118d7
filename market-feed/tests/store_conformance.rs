//! Every store shipped with market-feed runs the public conformance suite.

use std::sync::{Arc, Mutex};

use market_feed::store::{MemoryStore, SnapshotStore, SqliteStore, conformance};

#[tokio::test]
async fn memory_store_conforms() {
    conformance::run_all(|| async { Arc::new(MemoryStore::new()) as Arc<dyn SnapshotStore> }).await;
}

#[tokio::test]
async fn sqlite_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let counter = Arc::new(Mutex::new(0_u32));
    conformance::run_all(|| {
        let path = {
            let mut n = counter.lock().unwrap();
            *n += 1;
            dir.path().join(format!("case{n}.db"))
        };
        async move { Arc::new(SqliteStore::open(path).await.unwrap()) as Arc<dyn SnapshotStore> }
    })
    .await;
}

// PostgresStore runs the same suite in `tests/postgres.rs` (its own harness: ignored, not
// passed, when no server is reachable).
