//! The conformance suite every [`SnapshotStore`] runs: the `# Contract` of the trait as tests.
//!
//! Available with the cargo feature `testing`. Each case takes a fresh, empty store, exercises it
//! through the trait only and panics with a message naming what went wrong. Run them all with
//! [`run_all`], or one by one from [`CASES`] when each case needs set-up and clean-up of its own
//! (a PostgreSQL schema per case, for instance).
//!
//! The cases are grouped by what they exercise: closing snapshots (`closes`), checkpoints,
//! retention and reference documents (`checkpoints`); `support` holds the sample data.
//!
//! ```
//! use std::sync::Arc;
//! use market_feed::store::{conformance, MemoryStore, SnapshotStore};
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! conformance::run_all(|| async { Arc::new(MemoryStore::new()) as Arc<dyn SnapshotStore> }).await;
//! # });
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod checkpoints;
mod closes;
mod support;

use std::{future::Future, panic::AssertUnwindSafe, sync::Arc};

use futures::{FutureExt, future::BoxFuture};

use super::SnapshotStore;

use checkpoints::reference_docs;
pub use checkpoints::{checkpoints_replace_whole, empty_saves_are_noops, prune_retention};
pub use closes::{
    all_or_nothing, duplicate_keys_last_wins, idempotent_upsert, latest_closes_across_days,
    round_trip_every_field, trading_days_in_range,
};
pub use support::sample_quotes;

/// One named conformance case.
///
/// ```
/// let names: Vec<_> = market_feed::store::conformance::CASES.iter().map(|c| c.name).collect();
/// assert!(names.contains(&"all_or_nothing"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// The case's name, as in failure messages.
    pub name: &'static str,
    /// Runs the case against a fresh, empty store; panics on a contract violation.
    pub run: for<'a> fn(&'a dyn SnapshotStore) -> BoxFuture<'a, ()>,
}

/// Every case of the suite.
pub const CASES: &[Case] = &[
    Case {
        name: "round_trip_every_field",
        run: round_trip_every_field,
    },
    Case {
        name: "idempotent_upsert",
        run: idempotent_upsert,
    },
    Case {
        name: "duplicate_keys_last_wins",
        run: duplicate_keys_last_wins,
    },
    Case {
        name: "all_or_nothing",
        run: all_or_nothing,
    },
    Case {
        name: "latest_closes_across_days",
        run: latest_closes_across_days,
    },
    Case {
        name: "trading_days_in_range",
        run: trading_days_in_range,
    },
    Case {
        name: "checkpoints_replace_whole",
        run: checkpoints_replace_whole,
    },
    Case {
        name: "empty_saves_are_noops",
        run: empty_saves_are_noops,
    },
    Case {
        name: "prune_retention",
        run: prune_retention,
    },
    Case {
        name: "reference_docs",
        run: reference_docs,
    },
];

/// Runs every case in [`CASES`], each against a new store from `make_store`.
///
/// # Panics
///
/// When a case fails, with the case's name and the failed assertion.
///
/// ```
/// # use std::sync::Arc;
/// # use market_feed::store::{conformance, MemoryStore, SnapshotStore};
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// conformance::run_all(|| async { Arc::new(MemoryStore::new()) as Arc<dyn SnapshotStore> }).await;
/// # });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn run_all<F, Fut>(mut make_store: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Arc<dyn SnapshotStore>>,
{
    for case in CASES {
        let store = make_store().await;
        run_case(case, store.as_ref()).await;
    }
}

/// Runs one case, re-raising a failure with the case's name and the store's `Debug` form.
///
/// # Panics
///
/// When the case fails.
///
/// ```
/// # use market_feed::store::{conformance, MemoryStore};
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// conformance::run_case(&conformance::CASES[0], &MemoryStore::new()).await;
/// # });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn run_case(case: &Case, store: &dyn SnapshotStore) {
    if let Err(panic) = AssertUnwindSafe((case.run)(store)).catch_unwind().await {
        let msg = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("(non-string panic)");
        panic!(
            "conformance case `{}` failed for {store:?}: {msg}",
            case.name
        );
    }
}
