//! Conformance cases about closing snapshots: round trips, upserts, atomicity, the latest
//! closes and the trading days in a range.

use futures::future::BoxFuture;
use time::macros::date;

use super::support::{D1, D2, D3, D4, keys, must, quote, sample_quotes};
use crate::{
    model::Topic,
    store::{SnapshotStore, StoreError},
};

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
