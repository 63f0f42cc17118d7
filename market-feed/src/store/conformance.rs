//! The conformance suite every [`SnapshotStore`] runs: the `# Contract` of the trait as tests.
//!
//! Available with the cargo feature `testing`. Each case takes a fresh, empty store, exercises it
//! through the trait only and panics with a message naming what went wrong. Run them all with
//! [`run_all`], or one by one from [`CASES`] when each case needs set-up and clean-up of its own
//! (a PostgreSQL schema per case, for instance).
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

use std::{future::Future, panic::AssertUnwindSafe, sync::Arc};

use futures::{FutureExt, future::BoxFuture};
use time::{Date, macros::date};

use super::{ReferenceDoc, SnapshotStore, StoreError};
use crate::model::{InstrumentKey, Quote, Topic};

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

/// `count` quotes with distinct keys `NSE_EQ|INE000000`, `NSE_EQ|INE000001`, ... and every
/// field set, except every 7th quote, which has only the always-present fields (like an index).
/// `ts` is `base_ts + i`.
///
/// ```
/// let qs = market_feed::store::conformance::sample_quotes(2200, 1_000);
/// assert_eq!(qs.len(), 2200);
/// assert_eq!(qs[0].volume, None);
/// assert!(qs[1].volume.is_some());
/// ```
pub fn sample_quotes(count: usize, base_ts: i64) -> Vec<Quote> {
    (0..count)
        .map(|i| {
            let key = InstrumentKey::new(&format!("NSE_EQ|INE{i:06}"))
                .unwrap_or_else(|e| panic!("sample key {i}: {e}"));
            let ltp = 100.0 + (i % 1000) as f64 + 0.05;
            let q = Quote::new(key, format!("SYM{i}"), ltp, base_ts + i as i64);
            if i % 7 == 0 {
                q
            } else {
                q.with_prev_close(Some(ltp - 1.5))
                    .with_ohlc(Some(ltp - 1.0), Some(ltp + 2.25), Some(ltp - 3.1))
                    .with_volume(Some(1_000 * i as u64))
            }
        })
        .collect()
}

fn quote(key: &str, ltp: f64, ts: i64) -> Quote {
    let key = InstrumentKey::new(key).unwrap_or_else(|e| panic!("test key {key}: {e}"));
    let symbol = key.id().to_owned();
    Quote::new(key, symbol, ltp, ts)
}

fn keys(quotes: &[Quote]) -> Vec<&str> {
    quotes.iter().map(|q| q.key.as_str()).collect()
}

async fn must<T>(what: &str, fut: impl Future<Output = Result<T, StoreError>>) -> T {
    match fut.await {
        Ok(v) => v,
        Err(e) => panic!("{what} failed: {e}"),
    }
}

const D1: Date = date!(2026 - 01 - 27);
const D2: Date = date!(2026 - 01 - 28);
const D3: Date = date!(2026 - 01 - 29);
const D4: Date = date!(2026 - 01 - 30);

/// Every field survives a save and a load, `None`s included, and loads are ordered by key.
pub fn round_trip_every_field(store: &dyn SnapshotStore) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let full = quote("NSE_EQ|INE002A01018", 1391.2, 1_769_680_800_123)
            .with_prev_close(Some(1402.9))
            .with_ohlc(Some(1402.9), Some(1402.95), Some(1384.0))
            .with_volume(Some(i64::MAX as u64));
        let bare = quote("NSE_INDEX|Nifty 50", 25010.55, 1_769_680_800_000);
        let mut negative = quote("BSE_INDEX|SENSEX", -0.01, -5).with_prev_close(Some(0.0));
        negative.change = Some(-12345.67);
        negative.volume = Some(0);
        let saved = vec![full.clone(), bare.clone(), negative.clone()];
        must("save_close", store.save_close(Topic::Prices, D2, &saved)).await;

        let snap = must("load_close", store.load_close(Topic::Prices, D2))
            .await
            .unwrap_or_else(|| panic!("load_close returned None right after save_close"));
        assert_eq!(
            (snap.topic, snap.trading_day),
            (Topic::Prices, D2),
            "snapshot header"
        );
        assert_eq!(
            snap.as_of, 1_769_680_800_123,
            "as_of must be the largest ts"
        );
        let mut want = vec![negative, full, bare];
        want.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
        assert_eq!(
            snap.quotes, want,
            "loaded quotes differ from saved ones (or key order)"
        );

        let other_topic = must("load_close", store.load_close(Topic::Indices, D2)).await;
        assert!(
            other_topic.is_none(),
            "a close saved for prices appeared under indices"
        );
        let other_day = must("load_close", store.load_close(Topic::Prices, D1)).await;
        assert!(
            other_day.is_none(),
            "a close appeared under a day that was never saved"
        );
    })
}

/// Saving the same close twice changes nothing; a later save updates and adds per key.
pub fn idempotent_upsert(store: &dyn SnapshotStore) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let first = sample_quotes(50, 1_000);
        must("save_close", store.save_close(Topic::Prices, D3, &first)).await;
        must(
            "save_close again",
            store.save_close(Topic::Prices, D3, &first),
        )
        .await;
        let snap = must("load_close", store.load_close(Topic::Prices, D3)).await;
        assert_eq!(
            snap.map(|s| s.quotes),
            Some(first.clone()),
            "saving twice changed the close"
        );

        let mut changed = first[10].clone();
        changed.ltp = 999.95;
        changed.volume = None;
        let added = quote("NSE_EQ|ZZZ", 1.0, 7);
        let second = [changed.clone(), added.clone()];
        must(
            "save_close upsert",
            store.save_close(Topic::Prices, D3, &second),
        )
        .await;
        let snap = must("load_close", store.load_close(Topic::Prices, D3))
            .await
            .unwrap_or_else(|| panic!("the close vanished after an upsert"));
        let mut want = first;
        want[10] = changed;
        want.push(added);
        assert_eq!(
            snap.quotes, want,
            "an upsert must replace same keys and keep the others"
        );
        let days = must("trading_days", store.trading_days(Topic::Prices, D1, D4)).await;
        assert_eq!(days, vec![D3], "upserts of one day must list that day once");
    })
}

/// Within one save, the last quote of a key wins.
pub fn duplicate_keys_last_wins(store: &dyn SnapshotStore) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let quotes = [
            quote("NSE_EQ|A", 1.0, 1),
            quote("NSE_EQ|B", 2.0, 2),
            quote("NSE_EQ|A", 3.0, 3),
        ];
        must("save_close", store.save_close(Topic::Prices, D1, &quotes)).await;
        must(
            "save_checkpoint",
            store.save_checkpoint(Topic::Prices, D1, &quotes),
        )
        .await;
        let close = must("load_close", store.load_close(Topic::Prices, D1)).await;
        let cp = must("load_checkpoint", store.load_checkpoint(Topic::Prices)).await;
        let want = vec![quotes[2].clone(), quotes[1].clone()];
        assert_eq!(
            close.map(|s| s.quotes),
            Some(want.clone()),
            "close: last duplicate must win"
        );
        assert_eq!(
            cp.map(|c| c.quotes),
            Some(want),
            "checkpoint: last duplicate must win"
        );
    })
}

/// A save with an unstorable quote in the middle fails and stores none of its quotes.
pub fn all_or_nothing(store: &dyn SnapshotStore) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let before = sample_quotes(20, 1_000);
        must("save_close", store.save_close(Topic::Prices, D2, &before)).await;
        must(
            "save_checkpoint",
            store.save_checkpoint(Topic::Prices, D2, &before),
        )
        .await;

        // Valid quotes before and after the bad one: a store that writes row by row must roll
        // back the rows it already wrote.
        let mut bad_batch = sample_quotes(30, 5_000);
        bad_batch.push(quote("NSE_EQ|NEW", 5.0, 9_000));
        bad_batch[15].ltp = f64::NAN;
        let err = store.save_close(Topic::Prices, D2, &bad_batch).await;
        assert!(
            matches!(err, Err(StoreError::InvalidQuote { .. })),
            "a NaN ltp must be refused with InvalidQuote, got {err:?}"
        );
        let err = store.save_close(Topic::Prices, D3, &bad_batch).await;
        assert!(err.is_err(), "a NaN ltp on a new day must be refused");
        let err = store.save_checkpoint(Topic::Prices, D3, &bad_batch).await;
        assert!(err.is_err(), "a NaN ltp in a checkpoint must be refused");
        let mut huge = quote("NSE_EQ|HUGE", 1.0, 1);
        huge.volume = Some(u64::MAX);
        let err = store
            .save_close(Topic::Prices, D2, &[quote("NSE_EQ|OK", 1.0, 1), huge])
            .await;
        assert!(err.is_err(), "a volume above i64::MAX must be refused");

        let close = must("load_close", store.load_close(Topic::Prices, D2)).await;
        assert_eq!(
            close.map(|s| s.quotes),
            Some(before.clone()),
            "a failed save changed the close"
        );
        let days = must("trading_days", store.trading_days(Topic::Prices, D1, D4)).await;
        assert_eq!(days, vec![D2], "a failed save of a new day left a trace");
        let cp = must("load_checkpoint", store.load_checkpoint(Topic::Prices))
            .await
            .unwrap_or_else(|| panic!("a failed checkpoint save removed the previous checkpoint"));
        assert_eq!(
            (cp.trading_day, cp.quotes),
            (D2, before),
            "a failed save changed the checkpoint"
        );
    })
}

/// `latest_closes` gives every instrument's newest close, the newest day, per topic.
pub fn latest_closes_across_days(store: &dyn SnapshotStore) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let none = must("latest_closes", store.latest_closes(Topic::Prices)).await;
        assert!(
            none.is_none(),
            "latest_closes of an empty store must be None"
        );

        let a1 = quote("NSE_EQ|A", 10.0, 100);
        let b1 = quote("NSE_EQ|B", 20.0, 110);
        let a2 = quote("NSE_EQ|A", 11.0, 200);
        let c2 = quote("NSE_EQ|C", 30.0, 190);
        let x3 = quote("NSE_INDEX|X", 1000.0, 300);
        // Saved out of day order on purpose.
        must(
            "save_close",
            store.save_close(Topic::Prices, D2, &[a2.clone(), c2.clone()]),
        )
        .await;
        must(
            "save_close",
            store.save_close(Topic::Prices, D1, &[a1, b1.clone()]),
        )
        .await;
        must(
            "save_close",
            store.save_close(Topic::Indices, D3, std::slice::from_ref(&x3)),
        )
        .await;

        let latest = must("latest_closes", store.latest_closes(Topic::Prices))
            .await
            .unwrap_or_else(|| panic!("latest_closes(prices) returned None after saves"));
        assert_eq!(
            latest.trading_day, D2,
            "trading_day must be the newest day of the topic"
        );
        assert_eq!(
            latest.quotes,
            vec![a2, b1, c2],
            "each instrument's newest close (B keeps its older close), ordered by key"
        );
        assert_eq!(
            latest.as_of, 200,
            "as_of must be the largest ts among the quotes"
        );

        let idx = must("latest_closes", store.latest_closes(Topic::Indices))
            .await
            .unwrap_or_else(|| panic!("latest_closes(indices) returned None"));
        assert_eq!(
            (idx.trading_day, keys(&idx.quotes)),
            (D3, vec!["NSE_INDEX|X"]),
            "topics mix"
        );
    })
}

/// `trading_days` lists days of one topic in an inclusive range, ascending.
pub fn trading_days_in_range(store: &dyn SnapshotStore) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let q = [quote("NSE_EQ|A", 1.0, 1)];
        for day in [D4, D1, D3] {
            must("save_close", store.save_close(Topic::Prices, day, &q)).await;
        }
        must("save_close", store.save_close(Topic::Indices, D2, &q)).await;
        let cases = [
            (D1, D4, vec![D1, D3, D4]),
            (D2, D3, vec![D3]),
            (D3, D3, vec![D3]),
            (D4, D1, vec![]),
            (date!(2025 - 01 - 01), date!(2025 - 12 - 31), vec![]),
        ];
        for (from, to, want) in cases {
            let got = must("trading_days", store.trading_days(Topic::Prices, from, to)).await;
            assert_eq!(got, want, "trading_days(prices, {from}, {to})");
        }
        let idx = must("trading_days", store.trading_days(Topic::Indices, D1, D4)).await;
        assert_eq!(
            idx,
            vec![D2],
            "trading_days(indices) must not list days of prices"
        );
    })
}

/// A checkpoint replaces the previous one of its topic as a whole, independently of closes.
pub fn checkpoints_replace_whole(store: &dyn SnapshotStore) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let none = must("load_checkpoint", store.load_checkpoint(Topic::Prices)).await;
        assert!(none.is_none(), "a new store must have no checkpoint");

        let (a, b) = (quote("NSE_EQ|A", 1.0, 10), quote("NSE_EQ|B", 2.0, 20));
        must(
            "save_checkpoint",
            store.save_checkpoint(Topic::Prices, D1, &[b.clone(), a]),
        )
        .await;
        let b2 = quote("NSE_EQ|B", 2.5, 40).with_volume(Some(3));
        let c = quote("NSE_EQ|C", 3.0, 30);
        must(
            "save_checkpoint",
            store.save_checkpoint(Topic::Prices, D2, &[c.clone(), b2.clone()]),
        )
        .await;
        let idx = [quote("NSE_INDEX|X", 9.0, 5)];
        must(
            "save_checkpoint",
            store.save_checkpoint(Topic::Indices, D1, &idx),
        )
        .await;

        let cp = must("load_checkpoint", store.load_checkpoint(Topic::Prices))
            .await
            .unwrap_or_else(|| panic!("load_checkpoint returned None after a save"));
        assert_eq!(cp.topic, Topic::Prices, "checkpoint topic");
        assert_eq!(
            cp.trading_day, D2,
            "the checkpoint's trading day is the latest save's"
        );
        assert_eq!(
            cp.quotes,
            vec![b2, c],
            "the old checkpoint's quotes must be gone (A)"
        );
        assert_eq!(cp.as_of, 40, "as_of must be the largest ts");
        let cp_idx = must("load_checkpoint", store.load_checkpoint(Topic::Indices)).await;
        assert_eq!(
            cp_idx.map(|c| c.quotes),
            Some(idx.to_vec()),
            "checkpoints of topics mix"
        );

        let closes = must("latest_closes", store.latest_closes(Topic::Prices)).await;
        assert!(closes.is_none(), "a checkpoint must not count as a close");
    })
}

/// Saving no quotes changes nothing.
pub fn empty_saves_are_noops(store: &dyn SnapshotStore) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let q = [quote("NSE_EQ|A", 1.0, 1)];
        must(
            "save_checkpoint",
            store.save_checkpoint(Topic::Prices, D1, &q),
        )
        .await;
        must("save_close []", store.save_close(Topic::Prices, D2, &[])).await;
        must(
            "save_checkpoint []",
            store.save_checkpoint(Topic::Prices, D2, &[]),
        )
        .await;
        let close = must("load_close", store.load_close(Topic::Prices, D2)).await;
        assert!(close.is_none(), "an empty save_close must not create a day");
        let cp = must("load_checkpoint", store.load_checkpoint(Topic::Prices)).await;
        assert_eq!(
            cp.map(|c| (c.trading_day, c.quotes)),
            Some((D1, q.to_vec())),
            "empty checkpoint"
        );
    })
}

/// `prune` removes closes and checkpoints of days before the cut-off, and nothing else.
pub fn prune_retention(store: &dyn SnapshotStore) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        for (i, day) in [D1, D2, D3, D4].into_iter().enumerate() {
            let q = [quote("NSE_EQ|A", 1.0 + i as f64, i as i64)];
            must("save_close", store.save_close(Topic::Prices, day, &q)).await;
            must("save_close", store.save_close(Topic::Indices, day, &q)).await;
        }
        let only_old = [quote("NSE_EQ|OLD", 5.0, 0)];
        must("save_close", store.save_close(Topic::Prices, D1, &only_old)).await;
        let q = [quote("NSE_EQ|A", 1.0, 1)];
        must(
            "save_checkpoint",
            store.save_checkpoint(Topic::Indices, D2, &q),
        )
        .await;
        must(
            "save_checkpoint",
            store.save_checkpoint(Topic::Prices, D3, &q),
        )
        .await;

        let removed = must("prune", store.prune(D3)).await;
        assert_eq!(
            removed, 4,
            "prune(D3) must remove D1 and D2 of both topics: 4 snapshots"
        );
        for topic in Topic::ALL {
            let days = must("trading_days", store.trading_days(topic, D1, D4)).await;
            assert_eq!(days, vec![D3, D4], "days left for {topic} after prune");
        }
        let old = must("load_close", store.load_close(Topic::Prices, D1)).await;
        assert!(old.is_none(), "a pruned day can still be loaded");
        let latest = must("latest_closes", store.latest_closes(Topic::Prices)).await;
        let latest_keys = latest.map(|s| keys(&s.quotes).join(","));
        assert_eq!(
            latest_keys.as_deref(),
            Some("NSE_EQ|A"),
            "a pruned instrument is still latest"
        );
        let cp = must("load_checkpoint", store.load_checkpoint(Topic::Indices)).await;
        assert!(cp.is_none(), "a checkpoint of a pruned day must go");
        let cp = must("load_checkpoint", store.load_checkpoint(Topic::Prices)).await;
        assert!(cp.is_some(), "a checkpoint on the cut-off day must stay");
        assert_eq!(
            must("prune", store.prune(D3)).await,
            0,
            "pruning twice removed more"
        );
    })
}

fn reference_docs(store: &dyn SnapshotStore) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let none = must("load_reference", store.load_reference("calendar:upstox")).await;
        assert_eq!(none, None, "a new store holds no reference document");
        // Bytes that are not UTF-8 round-trip too: the body is opaque.
        let first = ReferenceDoc::new(1_764_547_200_000, vec![0x1f, 0x8b, 0, 255, b'{']);
        must(
            "save_reference",
            store.save_reference("calendar:upstox", &first),
        )
        .await;
        let other = ReferenceDoc::new(7, b"[]".to_vec());
        must(
            "save_reference",
            store.save_reference("universe:upstox", &other),
        )
        .await;
        let got = must("load_reference", store.load_reference("calendar:upstox")).await;
        assert_eq!(
            got.as_ref(),
            Some(&first),
            "the saved document comes back exactly"
        );
        let second = ReferenceDoc::new(1_764_633_600_000, b"{\"v\":2}".to_vec());
        must(
            "save_reference",
            store.save_reference("calendar:upstox", &second),
        )
        .await;
        let got = must("load_reference", store.load_reference("calendar:upstox")).await;
        assert_eq!(
            got,
            Some(second),
            "a save replaces the document of that name"
        );
        let got = must("load_reference", store.load_reference("universe:upstox")).await;
        assert_eq!(
            got.as_ref(),
            Some(&other),
            "documents of other names are untouched"
        );
        must("prune", store.prune(date!(2100 - 01 - 01))).await;
        let kept = must("load_reference", store.load_reference("universe:upstox")).await;
        assert!(kept.is_some(), "prune never removes reference documents");
        for bad in ["", "Has Upper", "a/b"] {
            match store.save_reference(bad, &other).await {
                Err(StoreError::InvalidName { .. }) => {}
                r => panic!("save_reference({bad:?}) must be refused as InvalidName, got {r:?}"),
            }
        }
    })
}
