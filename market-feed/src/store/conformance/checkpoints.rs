//! Conformance cases about checkpoints, empty saves, retention and reference documents.

use futures::future::BoxFuture;
use time::macros::date;

use super::support::{D1, D2, D3, D4, keys, must, quote};
use crate::{
    model::Topic,
    store::{ReferenceDoc, SnapshotStore, StoreError},
};

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

/// Reference documents round-trip, replace each other by name, and bad names are refused.
pub(super) fn reference_docs(store: &dyn SnapshotStore) -> BoxFuture<'_, ()> {
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
