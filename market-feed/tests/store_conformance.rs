//! Every store shipped with market-feed runs the public conformance suite.

mod support;

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

/// Each case runs in a fresh PostgreSQL schema, dropped afterwards even when the case fails.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_store_conforms() {
    use futures::FutureExt;
    use market_feed::store::PostgresStore;

    let Some(admin) = support::pg::admin("postgres_store_conforms").await else {
        return;
    };
    for case in conformance::CASES {
        let schema = support::random_schema();
        let url = support::with_param(&support::postgres_url(), "schema", &schema);
        let outcome = std::panic::AssertUnwindSafe(async {
            let store = PostgresStore::connect(&url).await.unwrap();
            conformance::run_case(case, &store).await;
        })
        .catch_unwind()
        .await;
        support::pg::drop_schema(&admin, &schema).await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}

/// Without the `postgres` feature the suite cannot run: say so plainly, and fail when CI
/// demands it.
#[cfg(not(feature = "postgres"))]
#[tokio::test]
async fn postgres_suite_needs_the_feature() {
    let err = market_feed::store::open(&support::postgres_url())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("--features postgres"), "{err}");
    support::postgres_did_not_run(
        "postgres_store_conforms",
        "market-feed was built without the `postgres` feature (use --all-features)",
    );
}
