//! Integration tests of the broadcast hub: real `Hub`s and `Subscription`s driven as streams.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{sync::Arc, time::Duration};

use futures::{FutureExt, StreamExt};
use market_feed::hub::{
    FeedState, FeedStatus, Frame, FrameKind, Hub, HubConfig, ResumeFrom, SnapshotMeta, Source,
    Subscription,
};
use market_feed::model::{InstrumentKey, Quote, Topic};
use serde_json::Value;
use time::macros::date;

fn key(i: usize) -> InstrumentKey {
    InstrumentKey::new(&format!("NSE_EQ|INE{i:07}")).unwrap()
}

fn symbol(i: usize) -> String {
    format!("STK{i}")
}

fn index_key(i: usize) -> InstrumentKey {
    InstrumentKey::new(&format!("NSE_INDEX|Index {i}")).unwrap()
}

/// A hub with `stocks` prices instruments and 3 indices in its directory.
fn hub_with(stocks: usize, buffer: usize) -> Hub {
    let hub = Hub::new(HubConfig::with_buffer(buffer));
    hub.set_instruments(
        Topic::Prices,
        (0..stocks).map(|i| (key(i), Arc::from(symbol(i)))),
    );
    hub.set_instruments(
        Topic::Indices,
        (0..3).map(|i| (index_key(i), Arc::from(format!("INDEX {i}")))),
    );
    hub
}

fn prices(ids: impl IntoIterator<Item = usize>, ltp: f64, ts: i64) -> Vec<Quote> {
    ids.into_iter()
        .map(|i| Quote::new(key(i), symbol(i), ltp + i as f64, ts).with_prev_close(Some(100.0)))
        .collect()
}

fn indices(ltp: f64, ts: i64) -> Vec<Quote> {
    (0..3)
        .map(|i| Quote::new(index_key(i), format!("INDEX {i}"), ltp + i as f64, ts))
        .collect()
}

fn json(frame: &Frame) -> Value {
    serde_json::from_slice(frame.bytes()).unwrap()
}

fn symbols_of(frame: &Frame) -> Vec<String> {
    json(frame)["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["symbol"].as_str().unwrap().to_owned())
        .collect()
}

async fn next(sub: &mut Subscription) -> Frame {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("a frame within 5 s of clock time")
        .expect("the stream has not ended")
}

/// Asserts that no frame is ready now (every publish in these tests is synchronous, so a frame
/// that is due is ready at once).
fn assert_idle(sub: &mut Subscription) {
    if let Some(frame) = sub.next().now_or_never() {
        panic!("expected no frame, got {:?}", frame.map(|f| json(&f)));
    }
}

#[tokio::test(start_paused = true)]
async fn snapshot_carries_loaded_closes_then_updates_follow_in_seq_order() {
    let hub = hub_with(5, 16);
    hub.load(
        Topic::Prices,
        prices(0..5, 200.0, 1_769_594_400_000),
        SnapshotMeta::new(Source::Close, date!(2026 - 01 - 28), 1_769_594_400_000),
    );
    let mut sub = hub.subscribe(&[Topic::Indices, Topic::Prices], None);

    let s1 = next(&mut sub).await;
    assert_eq!(
        (s1.kind(), s1.topic()),
        (FrameKind::Snapshot, Some(Topic::Indices))
    );
    assert_eq!(json(&s1)["data"], Value::Array(vec![]));
    let s2 = next(&mut sub).await;
    let v = json(&s2);
    assert_eq!(s2.topic(), Some(Topic::Prices));
    assert_eq!(v["event"], "snapshot");
    assert_eq!(v["topic"], "prices");
    assert_eq!(v["seq"], 0);
    assert_eq!(v["live"], false);
    assert_eq!(v["source"], "close");
    assert_eq!(v["trading_day"], "2026-01-28");
    assert_eq!(v["as_of"], 1_769_594_400_000_i64);
    assert_eq!(symbols_of(&s2), (0..5).map(symbol).collect::<Vec<_>>());
    assert_eq!(
        v["data"][0],
        serde_json::to_value(&prices([0], 200.0, 1_769_594_400_000)[0]).unwrap()
    );
    assert_idle(&mut sub);

    for n in 1..=5u64 {
        hub.publish(
            Topic::Prices,
            prices(0..5, 300.0 + n as f64, 1_769_680_800_000 + n as i64),
        )
        .unwrap();
        hub.publish(
            Topic::Indices,
            indices(25_000.0 + n as f64, 1_769_680_800_000 + n as i64),
        )
        .unwrap();
    }
    for n in 1..=5u64 {
        let p = next(&mut sub).await;
        assert_eq!((p.kind(), p.seq()), (FrameKind::PricesBatch, Some(n)));
        assert_eq!(json(&p)["data"][0]["ltp"], 300.0 + n as f64);
        let i = next(&mut sub).await;
        assert_eq!((i.kind(), i.seq()), (FrameKind::IndicesUpdate, Some(n)));
        assert_eq!(json(&i)["event"], "indices_update");
    }
    assert_idle(&mut sub);
    let meta = hub.meta(Topic::Prices);
    assert_eq!(
        (meta.source, meta.as_of),
        (Source::Live, Some(1_769_680_800_005))
    );
    assert_eq!(meta.trading_day, Some(date!(2026 - 01 - 28)));
    assert_eq!(hub.quote("STK4").unwrap().ltp, 309.0);
    assert_eq!(hub.view(Topic::Prices).seq, 5);
}

#[tokio::test(start_paused = true)]
async fn whole_topic_subscribers_share_one_serialized_frame() {
    let hub = hub_with(50, 16);
    let mut a = hub.subscribe(&[Topic::Prices], None);
    let mut b = hub.subscribe(&[Topic::Prices], None);
    let (sa, sb) = (next(&mut a).await, next(&mut b).await);
    assert_eq!(
        sa.bytes().as_ptr(),
        sb.bytes().as_ptr(),
        "the snapshot is cached and shared"
    );

    hub.publish(Topic::Prices, prices(0..50, 10.0, 1)).unwrap();
    let (fa, fb) = (next(&mut a).await, next(&mut b).await);
    assert_eq!(fa, fb);
    assert_eq!(
        fa.bytes().as_ptr(),
        fb.bytes().as_ptr(),
        "one buffer for every subscriber"
    );
    let stats = hub.stats();
    assert_eq!(stats.frames_published, 1);
    assert_eq!(stats.bytes_published, fa.len() as u64);
    assert_eq!(stats.snapshots_sent, 2);
}

#[tokio::test(start_paused = true)]
async fn filters_by_symbol_and_key_and_skip_batches_without_their_instruments() {
    let hub = hub_with(10, 16);
    let r = hub.resolve_filter([
        "STK1",
        "NSE_EQ|INE0000003",
        "stk5",
        "NOPE",
        "NSE_EQ|INE9999999",
    ]);
    assert_eq!(r.unknown, ["NOPE", "NSE_EQ|INE9999999"]);
    assert_eq!(r.filter.len(), 3);
    hub.publish(Topic::Prices, prices(0..10, 50.0, 1)).unwrap();

    let mut sub = hub.subscribe(&[Topic::Indices, Topic::Prices], Some(r.filter));
    let _indices_snapshot = next(&mut sub).await;
    let snap = next(&mut sub).await;
    assert_eq!((snap.kind(), snap.seq()), (FrameKind::Snapshot, Some(1)));
    assert_eq!(symbols_of(&snap), ["STK1", "STK3", "STK5"]);

    // Batch 2 holds none of the filter's instruments: no frame at all.
    hub.publish(Topic::Prices, prices([0, 2, 4], 60.0, 2))
        .unwrap();
    assert_idle(&mut sub);
    // Indices are never filtered.
    hub.publish(Topic::Indices, indices(100.0, 2)).unwrap();
    let i = next(&mut sub).await;
    assert_eq!(
        (i.kind(), symbols_of(&i).len()),
        (FrameKind::IndicesUpdate, 3)
    );
    // Batch 3 holds two of them, in batch order.
    hub.publish(Topic::Prices, prices([5, 0, 1], 70.0, 3))
        .unwrap();
    let p = next(&mut sub).await;
    assert_eq!((p.kind(), p.seq()), (FrameKind::PricesBatch, Some(3)));
    assert_eq!(symbols_of(&p), ["STK5", "STK1"]);
    assert_eq!(json(&p)["event"], "prices_batch");
    assert_idle(&mut sub);
}

#[tokio::test(start_paused = true)]
async fn identical_filters_share_one_filtered_frame_per_batch() {
    let hub = hub_with(10, 16);
    let f1 = hub.resolve_filter(["STK1", "STK2"]).filter;
    let f2 = hub.resolve_filter(["NSE_EQ|INE0000002", "stk1"]).filter;
    let other = hub.resolve_filter(["STK7"]).filter;
    assert_eq!(f1.id(), f2.id());
    assert_ne!(f1.id(), other.id());

    let mut subs: Vec<Subscription> = (0..6)
        .map(|i| {
            let f = [&f1, &f2, &other][i % 3].clone();
            hub.subscribe(&[Topic::Prices], Some(f))
        })
        .collect();
    for s in &mut subs {
        assert_eq!(next(s).await.kind(), FrameKind::Snapshot);
    }
    hub.publish(Topic::Prices, prices(0..10, 1.0, 1)).unwrap();
    let mut frames = Vec::new();
    for s in &mut subs {
        frames.push(next(s).await);
    }
    assert_eq!(frames[0].bytes().as_ptr(), frames[1].bytes().as_ptr());
    assert_eq!(frames[0].bytes().as_ptr(), frames[4].bytes().as_ptr());
    assert_eq!(frames[2].bytes().as_ptr(), frames[5].bytes().as_ptr());
    assert_eq!(symbols_of(&frames[0]), ["STK1", "STK2"]);
    assert_eq!(symbols_of(&frames[2]), ["STK7"]);
    assert_eq!(
        hub.stats().filtered_frames_built,
        2,
        "one build per distinct filter"
    );
}

#[tokio::test(start_paused = true)]
async fn a_replaced_filter_applies_from_the_next_frame_with_a_new_snapshot() {
    let hub = hub_with(10, 16);
    hub.publish(Topic::Prices, prices(0..10, 1.0, 1)).unwrap();
    let mut sub = hub.subscribe(&[Topic::Prices], Some(hub.resolve_filter(["STK1"]).filter));
    assert_eq!(symbols_of(&next(&mut sub).await), ["STK1"]);

    hub.publish(Topic::Prices, prices(0..10, 2.0, 2)).unwrap();
    // Replaced before batch 2 was read: the next frame is a snapshot with the new filter, and
    // batch 2 (covered by it) is not sent again.
    sub.subscribe(
        &[Topic::Prices],
        Some(hub.resolve_filter(["STK8", "STK9"]).filter),
    );
    let snap = next(&mut sub).await;
    assert_eq!((snap.kind(), snap.seq()), (FrameKind::Snapshot, Some(2)));
    assert_eq!(symbols_of(&snap), ["STK8", "STK9"]);
    assert_idle(&mut sub);

    hub.publish(Topic::Prices, prices(0..10, 3.0, 3)).unwrap();
    let p = next(&mut sub).await;
    assert_eq!(
        (p.seq(), symbols_of(&p)),
        (Some(3), vec!["STK8".to_owned(), "STK9".to_owned()])
    );

    // Back to the whole topic.
    sub.subscribe(&[Topic::Prices], None);
    assert_eq!(symbols_of(&next(&mut sub).await).len(), 10);
    hub.publish(Topic::Prices, prices(0..10, 4.0, 4)).unwrap();
    assert_eq!(symbols_of(&next(&mut sub).await).len(), 10);
    assert!(sub.prices_filter().is_none());
}

#[tokio::test(start_paused = true)]
async fn unsubscribe_stops_a_topic_and_resubscribing_gives_a_fresh_snapshot() {
    let hub = hub_with(3, 16);
    let mut sub = hub.subscribe(&[Topic::Indices, Topic::Prices], None);
    next(&mut sub).await;
    next(&mut sub).await;
    hub.publish(Topic::Prices, prices(0..3, 1.0, 1)).unwrap();
    sub.unsubscribe(&[Topic::Prices]);
    hub.publish(Topic::Indices, indices(1.0, 1)).unwrap();
    hub.publish(Topic::Prices, prices(0..3, 2.0, 2)).unwrap();
    let i = next(&mut sub).await;
    assert_eq!((i.kind(), i.seq()), (FrameKind::IndicesUpdate, Some(1)));
    assert_idle(&mut sub);
    assert_eq!(sub.topics(), [Topic::Indices]);

    sub.subscribe(&[Topic::Prices, Topic::Indices], None);
    let a = next(&mut sub).await;
    let b = next(&mut sub).await;
    assert_eq!(
        (a.kind(), a.topic(), a.seq()),
        (FrameKind::Snapshot, Some(Topic::Prices), Some(2))
    );
    assert_eq!(
        (b.kind(), b.topic(), b.seq()),
        (FrameKind::Snapshot, Some(Topic::Indices), Some(1))
    );
    assert_idle(&mut sub);
}

#[tokio::test(start_paused = true)]
async fn a_lagging_subscriber_gets_one_snapshot_then_only_newer_data() {
    let hub = hub_with(20, 4);
    let mut slow = hub.subscribe(&[Topic::Prices], None);
    let mut fast = hub.subscribe(&[Topic::Prices], None);
    assert_eq!(next(&mut slow).await.seq(), Some(0));
    assert_eq!(next(&mut fast).await.seq(), Some(0));

    for n in 1..=10u64 {
        hub.publish(Topic::Prices, prices(0..20, n as f64, n as i64))
            .unwrap();
        // The other subscriber is not held up by the slow one.
        assert_eq!(next(&mut fast).await.seq(), Some(n));
    }
    let snap = next(&mut slow).await;
    assert_eq!((snap.kind(), snap.seq()), (FrameKind::Snapshot, Some(10)));
    assert_eq!(json(&snap)["data"][0]["ltp"], 10.0);
    assert_eq!(json(&snap)["source"], "live");
    assert_idle(&mut slow);

    hub.publish(Topic::Prices, prices(0..20, 11.0, 11)).unwrap();
    let p = next(&mut slow).await;
    assert_eq!((p.kind(), p.seq()), (FrameKind::PricesBatch, Some(11)));
    assert_idle(&mut slow);

    let stats = hub.stats();
    assert_eq!((stats.lagged, stats.laggard_snapshots), (1, 1));
    assert!(stats.frames_discarded >= 6, "{stats:?}");
}

#[tokio::test(start_paused = true)]
async fn a_lagging_subscriber_also_hears_status_changes_it_missed() {
    let hub = hub_with(3, 2);
    let mut sub = hub.subscribe(&[Topic::Indices, Topic::Prices], None);
    next(&mut sub).await;
    next(&mut sub).await;
    assert_idle(&mut sub);
    hub.publish_market_status(
        &serde_json::json!({"exchange": "NSE", "phase": "open", "live": true}),
    )
    .unwrap();
    hub.publish_feed_status(FeedStatus::new(
        Topic::Prices,
        FeedState::Degraded,
        "1 of 5 failed",
    ))
    .unwrap();
    for n in 1..=5 {
        hub.publish(Topic::Indices, indices(n as f64, n)).unwrap();
    }
    let kinds: Vec<(FrameKind, Option<Topic>)> = {
        let mut v = Vec::new();
        while let Some(Some(f)) = sub.next().now_or_never() {
            v.push((f.kind(), f.topic()));
        }
        v
    };
    assert_eq!(
        kinds,
        [
            (FrameKind::Snapshot, Some(Topic::Indices)),
            (FrameKind::Snapshot, Some(Topic::Prices)),
            (FrameKind::FeedStatus, Some(Topic::Prices)),
            (FrameKind::MarketStatus, None),
        ]
    );
    // The resync snapshot reflects the new live flag.
    assert_eq!(
        json(&hub.snapshot_frame(Topic::Indices, None).unwrap())["live"],
        true
    );
}

#[tokio::test(start_paused = true)]
async fn feed_status_goes_to_its_topic_and_follows_the_snapshot_of_a_new_subscriber() {
    let hub = hub_with(3, 16);
    let mut idx = hub.subscribe(&[Topic::Indices], None);
    let mut px = hub.subscribe(&[Topic::Prices], None);
    next(&mut idx).await;
    next(&mut px).await;

    let degraded = FeedStatus::new(
        Topic::Prices,
        FeedState::Unauthorized,
        "token expired: replace it",
    )
    .with_last_success(Some(1_769_680_800_000));
    hub.publish_feed_status(degraded.clone()).unwrap();
    let f = next(&mut px).await;
    assert_eq!(
        json(&f),
        serde_json::json!({"event":"feed_status","topic":"prices","state":"unauthorized",
            "detail":"token expired: replace it","last_success":1_769_680_800_000_i64})
    );
    assert_idle(&mut idx);

    let mut late = hub.subscribe(&[Topic::Prices], None);
    assert_eq!(next(&mut late).await.kind(), FrameKind::Snapshot);
    assert_eq!(next(&mut late).await, f);
    assert_idle(&mut late);

    hub.publish_feed_status(FeedStatus::ok(Topic::Prices))
        .unwrap();
    assert_eq!(json(&next(&mut late).await)["state"], "ok");
    assert_eq!(json(&next(&mut px).await)["state"], "ok");
    assert_eq!(
        hub.feed_status(Topic::Prices),
        FeedStatus::ok(Topic::Prices)
    );

    // Subscribing while ok: no feed_status after the snapshot.
    let mut fresh = hub.subscribe(&[Topic::Prices], None);
    assert_eq!(next(&mut fresh).await.kind(), FrameKind::Snapshot);
    assert_idle(&mut fresh);
}

#[tokio::test(start_paused = true)]
async fn market_status_goes_to_every_subscriber_even_without_topics() {
    let hub = hub_with(3, 16);
    let mut none = hub.subscribe(&[], None);
    let mut px = hub.subscribe(&[Topic::Prices], None);
    next(&mut px).await;
    assert_idle(&mut none);

    #[derive(serde::Serialize)]
    struct Status {
        exchange: &'static str,
        phase: &'static str,
        live: bool,
        reason: Option<&'static str>,
    }
    let status = Status {
        exchange: "NSE",
        phase: "closed",
        live: false,
        reason: Some("after_hours"),
    };
    hub.publish_market_status(&status).unwrap();
    let a = next(&mut none).await;
    let b = next(&mut px).await;
    assert_eq!(
        &a.bytes()[..],
        br#"{"event":"market_status","exchange":"NSE","phase":"closed","live":false,"reason":"after_hours"}"#
    );
    assert_eq!(a, b);
    assert_eq!(hub.market_status().unwrap()["reason"], "after_hours");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_subscribers_each_get_every_frame_in_order() {
    const SUBS: usize = 10_000;
    const BATCHES: u64 = 3;
    let hub = hub_with(100, 16);
    hub.publish(Topic::Prices, prices(0..100, 1.0, 0)).unwrap();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(SUBS);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..SUBS {
        let mut sub = hub.subscribe(&[Topic::Prices], None);
        let ready = ready_tx.clone();
        tasks.spawn(async move {
            let snap = sub.next().await.unwrap();
            assert_eq!((snap.kind(), snap.seq()), (FrameKind::Snapshot, Some(1)));
            ready.send(()).await.unwrap();
            for n in 2..=BATCHES + 1 {
                let f = sub.next().await.unwrap();
                assert_eq!((f.kind(), f.seq()), (FrameKind::PricesBatch, Some(n)));
            }
        });
    }
    drop(ready_tx);
    for _ in 0..SUBS {
        ready_rx.recv().await.unwrap();
    }
    assert_eq!(hub.stats().subscribers, SUBS as u64);
    for n in 0..BATCHES {
        hub.publish(Topic::Prices, prices(0..100, 2.0 + n as f64, 1 + n as i64))
            .unwrap();
    }
    let mut done = 0;
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
        done += 1;
    }
    assert_eq!(done, SUBS);
    let stats = hub.stats();
    assert_eq!(stats.subscribers, 0);
    assert_eq!(stats.lagged, 0);
    assert_eq!(stats.frames_published, 1 + BATCHES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_subscribers_mid_publish_frees_them_and_disturbs_nobody() {
    let hub = hub_with(50, 64);
    let mut keep = hub.subscribe(&[Topic::Prices], None);
    assert_eq!(next(&mut keep).await.kind(), FrameKind::Snapshot);
    let doomed: Vec<Subscription> = (0..1000)
        .map(|_| hub.subscribe(&[Topic::Prices], None))
        .collect();
    assert_eq!(hub.stats().subscribers, 1001);

    let publisher = {
        let hub = hub.clone();
        tokio::spawn(async move {
            for n in 1..=40u64 {
                hub.publish(Topic::Prices, prices(0..50, n as f64, n as i64))
                    .unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    let dropper = tokio::spawn(async move {
        let mut doomed = doomed;
        while let Some(mut sub) = doomed.pop() {
            // Some are dropped mid-stream after reading a frame or two, some unread.
            if doomed.len() % 3 == 0 {
                let _ = sub.next().await;
            }
            drop(sub);
            tokio::task::yield_now().await;
        }
    });
    for n in 1..=40u64 {
        let f = next(&mut keep).await;
        assert_eq!((f.kind(), f.seq()), (FrameKind::PricesBatch, Some(n)));
    }
    publisher.await.unwrap();
    dropper.await.unwrap();
    let stats = hub.stats();
    assert_eq!(stats.subscribers, 1);
    assert_eq!(stats.lagged, 0);
    drop(keep);
    assert_eq!(hub.stats().subscribers, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishers_on_both_topics_keep_per_topic_order() {
    const N: u64 = 300;
    let hub = hub_with(200, 1024);
    let mut sub = hub.subscribe(&[Topic::Indices, Topic::Prices], None);
    next(&mut sub).await;
    next(&mut sub).await;

    let mut publishers = Vec::new();
    for topic in Topic::ALL {
        // Two publishers per topic: seq stays dense and ordered in the ring.
        for half in 0..2 {
            let hub = hub.clone();
            publishers.push(tokio::spawn(async move {
                for n in 0..N / 2 {
                    let ltp = (half * 1000 + n) as f64;
                    let q = match topic {
                        Topic::Indices => indices(ltp, n as i64),
                        Topic::Prices => prices(0..200, ltp, n as i64),
                    };
                    hub.publish(topic, q).unwrap();
                    tokio::task::yield_now().await;
                }
            }));
        }
    }
    let mut last = [0u64; 2];
    for _ in 0..2 * N {
        let f = next(&mut sub).await;
        let t = f.topic().unwrap();
        assert_eq!(f.seq(), Some(last[t.index()] + 1), "{t} out of order");
        last[t.index()] += 1;
    }
    for p in publishers {
        p.await.unwrap();
    }
    assert_eq!(last, [N, N]);
    assert_eq!((hub.seq(Topic::Indices), hub.seq(Topic::Prices)), (N, N));
    assert_idle(&mut sub);
}

#[tokio::test(start_paused = true)]
async fn close_ends_every_subscription_after_the_frames_already_published() {
    let hub = hub_with(3, 16);
    let mut sub = hub.subscribe(&[Topic::Prices], None);
    next(&mut sub).await;
    hub.publish(Topic::Prices, prices(0..3, 1.0, 1)).unwrap();
    hub.close();
    assert_eq!(next(&mut sub).await.seq(), Some(1));
    assert!(sub.next().await.is_none());
    let mut late = hub.subscribe(&[Topic::Prices], None);
    assert!(late.next().await.is_none());
}

/// A prices batch large enough to be held back behind small frames (50 quotes, over 4 KiB).
fn large_prices(ltp: f64, ts: i64) -> Vec<Quote> {
    prices(0..50, ltp, ts)
}

#[tokio::test(start_paused = true)]
async fn an_index_update_published_after_a_large_prices_batch_is_handed_out_first() {
    let hub = hub_with(50, 16);
    let mut sub = hub.subscribe(&[Topic::Indices, Topic::Prices], None);
    next(&mut sub).await;
    next(&mut sub).await;
    // Both published before the subscriber reads: prices first, then indices.
    hub.publish(Topic::Prices, large_prices(1.0, 1)).unwrap();
    hub.publish(Topic::Indices, indices(1.0, 1)).unwrap();
    let first = next(&mut sub).await;
    assert_eq!(
        (first.kind(), first.seq()),
        (FrameKind::IndicesUpdate, Some(1))
    );
    let second = next(&mut sub).await;
    assert_eq!(
        (second.kind(), second.seq()),
        (FrameKind::PricesBatch, Some(1))
    );
    assert!(second.len() >= 4096, "the test batch must count as large");
    assert_idle(&mut sub);
}

#[tokio::test(start_paused = true)]
async fn a_small_frame_published_while_the_subscriber_holds_a_large_one_still_goes_first() {
    let hub = hub_with(50, 16);
    let mut sub = hub.subscribe(&[Topic::Indices, Topic::Prices], None);
    next(&mut sub).await;
    next(&mut sub).await;
    hub.publish(Topic::Prices, large_prices(1.0, 1)).unwrap();
    // The subscriber takes the batch from the ring but yields once before handing it out ...
    assert!(futures::poll!(sub.next()).is_pending());
    // ... so an index update (and a status change) published meanwhile overtake it.
    hub.publish(Topic::Indices, indices(1.0, 1)).unwrap();
    hub.publish_market_status(&serde_json::json!({"phase": "open", "live": true}))
        .unwrap();
    assert_eq!(next(&mut sub).await.kind(), FrameKind::IndicesUpdate);
    assert_eq!(next(&mut sub).await.kind(), FrameKind::MarketStatus);
    assert_eq!(next(&mut sub).await.kind(), FrameKind::PricesBatch);
    assert_idle(&mut sub);
}

#[tokio::test(start_paused = true)]
async fn held_large_batches_keep_their_seq_order_and_small_prices_batches_are_not_held() {
    let hub = hub_with(50, 16);
    let mut sub = hub.subscribe(&[Topic::Indices, Topic::Prices], None);
    next(&mut sub).await;
    next(&mut sub).await;
    hub.publish(Topic::Prices, large_prices(1.0, 1)).unwrap();
    hub.publish(Topic::Indices, indices(1.0, 1)).unwrap();
    hub.publish(Topic::Prices, large_prices(2.0, 2)).unwrap();
    hub.publish(Topic::Indices, indices(2.0, 2)).unwrap();
    let mut got = Vec::new();
    for _ in 0..4 {
        let f = next(&mut sub).await;
        got.push((f.kind(), f.seq().unwrap()));
    }
    assert_eq!(
        got,
        [
            (FrameKind::IndicesUpdate, 1),
            (FrameKind::PricesBatch, 1),
            (FrameKind::IndicesUpdate, 2),
            (FrameKind::PricesBatch, 2),
        ]
    );
    // A small prices batch (one quote) is not held: it comes in ring order.
    hub.publish(Topic::Prices, prices(0..1, 3.0, 3)).unwrap();
    hub.publish(Topic::Indices, indices(3.0, 3)).unwrap();
    assert_eq!(next(&mut sub).await.kind(), FrameKind::PricesBatch);
    assert_eq!(next(&mut sub).await.kind(), FrameKind::IndicesUpdate);
}

#[tokio::test(start_paused = true)]
async fn a_held_batch_is_delivered_before_the_stream_ends_and_dropped_on_unsubscribe() {
    let hub = hub_with(50, 16);
    let mut sub = hub.subscribe(&[Topic::Prices], None);
    next(&mut sub).await;
    hub.publish(Topic::Prices, large_prices(1.0, 1)).unwrap();
    assert!(futures::poll!(sub.next()).is_pending());
    sub.unsubscribe(&[Topic::Prices]);
    assert_idle(&mut sub);

    let mut sub = hub.subscribe(&[Topic::Prices], None);
    next(&mut sub).await;
    hub.publish(Topic::Prices, large_prices(2.0, 2)).unwrap();
    assert!(futures::poll!(sub.next()).is_pending());
    hub.close();
    assert_eq!(next(&mut sub).await.seq(), Some(2));
    assert!(sub.next().await.is_none());
}

/// A subscription of `topics` resuming each from `seq` in the hub's own epoch.
fn resumed(
    hub: &Hub,
    topics: &[Topic],
    filter: Option<market_feed::hub::Filter>,
    seq: u64,
) -> Subscription {
    let mut sub = hub.subscribe(&[], None);
    let from: Vec<_> = topics
        .iter()
        .map(|&t| ResumeFrom::new(t, hub.epoch(), seq))
        .collect();
    sub.subscribe_resuming(topics, filter, &from);
    sub
}

#[tokio::test(start_paused = true)]
async fn resume_replays_the_missed_batches_in_order_then_carries_on_live() {
    let hub = hub_with(3, 16);
    let mut seen = hub.subscribe(&[Topic::Indices], None);
    let snap = next(&mut seen).await;
    assert_eq!(
        json(&snap)["epoch"],
        hub.epoch(),
        "snapshots carry the epoch"
    );
    for n in 1..=5 {
        hub.publish(Topic::Indices, indices(n as f64, n)).unwrap();
    }
    // The client saw up to seq 2, then dropped.
    let mut sub = resumed(&hub, &[Topic::Indices], None, 2);
    // Published after the resume was asked, before it was served: delivered once.
    hub.publish(Topic::Indices, indices(6.0, 6)).unwrap();
    let mut got = Vec::new();
    for _ in 0..4 {
        let f = next(&mut sub).await;
        assert_eq!(f.kind(), FrameKind::IndicesUpdate, "no snapshot");
        got.push(f.seq().unwrap());
    }
    assert_eq!(got, [3, 4, 5, 6]);
    assert_idle(&mut sub);
    hub.publish(Topic::Indices, indices(7.0, 7)).unwrap();
    assert_eq!(next(&mut sub).await.seq(), Some(7));
    let stats = hub.stats();
    assert_eq!(
        (
            stats.resumes,
            stats.resume_fallbacks,
            stats.batches_replayed
        ),
        (1, 0, 4)
    );
    // The replayed frames are the batches' own shared bytes.
    let mut again = resumed(&hub, &[Topic::Indices], None, 6);
    let replayed = next(&mut again).await;
    assert_eq!(replayed.seq(), Some(7));
    assert_eq!(replayed.bytes().as_ptr(), {
        let mut live = resumed(&hub, &[Topic::Indices], None, 6);
        next(&mut live).await.bytes().as_ptr()
    });
}

#[tokio::test(start_paused = true)]
async fn an_up_to_date_resume_sends_nothing_and_every_other_case_gets_a_snapshot() {
    let hub = Hub::new(HubConfig::with_buffer(16).with_resume_window(3));
    hub.set_instruments(
        Topic::Prices,
        (0..3).map(|i| (key(i), Arc::from(symbol(i)))),
    );
    for n in 1..=6 {
        hub.publish(Topic::Prices, prices(0..3, n as f64, n))
            .unwrap();
    }
    // Up to date: nothing until the next batch.
    let mut sub = resumed(&hub, &[Topic::Prices], None, 6);
    assert_idle(&mut sub);
    hub.publish(Topic::Prices, prices(0..3, 7.0, 7)).unwrap();
    assert_eq!(next(&mut sub).await.seq(), Some(7));
    // Within the window of 3 (5, 6, 7 kept): a client at 4 is served.
    let mut sub = resumed(&hub, &[Topic::Prices], None, 4);
    assert_eq!(next(&mut sub).await.kind(), FrameKind::PricesBatch);
    // Too old, from the future, another epoch: a snapshot at the latest seq.
    for seq in [3, 8] {
        let mut sub = resumed(&hub, &[Topic::Prices], None, seq);
        let f = next(&mut sub).await;
        assert_eq!(
            (f.kind(), f.seq()),
            (FrameKind::Snapshot, Some(7)),
            "from {seq}"
        );
    }
    let mut sub = hub.subscribe(&[], None);
    sub.subscribe_resuming(
        &[Topic::Prices],
        None,
        &[ResumeFrom::new(Topic::Prices, "another", 6)],
    );
    assert_eq!(next(&mut sub).await.kind(), FrameKind::Snapshot);
    // A resume for a topic not subscribed in the same message is ignored.
    let mut sub = hub.subscribe(&[], None);
    sub.subscribe_resuming(
        &[Topic::Prices],
        None,
        &[ResumeFrom::new(Topic::Indices, hub.epoch(), 0)],
    );
    assert_eq!(next(&mut sub).await.kind(), FrameKind::Snapshot);
    // A new instrument list: old batches no longer describe the topic.
    hub.replace_instruments(
        Topic::Prices,
        (0..2).map(|i| (key(i), Arc::from(symbol(i)))),
    );
    let mut sub = resumed(&hub, &[Topic::Prices], None, 6);
    assert_eq!(next(&mut sub).await.kind(), FrameKind::Snapshot);
    assert_eq!(hub.stats().resume_fallbacks, 3);
}

#[tokio::test(start_paused = true)]
async fn a_filtered_resume_replays_only_its_instruments_and_the_byte_bound_limits_the_window() {
    let hub = hub_with(5, 16);
    hub.publish(Topic::Prices, prices(0..5, 1.0, 1)).unwrap();
    hub.publish(Topic::Prices, prices(3..5, 2.0, 2)).unwrap(); // nothing for STK0/STK1
    hub.publish(Topic::Prices, prices(0..2, 3.0, 3)).unwrap();
    let filter = hub.resolve_filter(["STK0", "STK1"]).filter;
    let mut sub = resumed(&hub, &[Topic::Prices], Some(filter), 0);
    let a = next(&mut sub).await;
    let b = next(&mut sub).await;
    assert_eq!((a.seq(), b.seq()), (Some(1), Some(3)));
    assert_eq!(symbols_of(&a), ["STK0", "STK1"]);
    assert_idle(&mut sub);

    // Kept batches are bounded in bytes too: with room for about one batch, older resumes
    // fall back to a snapshot.
    let mut config = HubConfig::with_buffer(16);
    let one = Frame::batch(Topic::Prices, 1, &prices(0..5, 1.0, 1))
        .unwrap()
        .len();
    config.resume_bytes = 3 * one;
    let hub = Hub::new(config);
    for n in 1..=4 {
        hub.publish(Topic::Prices, prices(0..5, n as f64, n))
            .unwrap();
    }
    assert_eq!(
        next(&mut resumed(&hub, &[Topic::Prices], None, 3))
            .await
            .seq(),
        Some(4)
    );
    assert_eq!(
        next(&mut resumed(&hub, &[Topic::Prices], None, 2))
            .await
            .kind(),
        FrameKind::Snapshot
    );
}

fn ltp_of(frame: &Frame, symbol: &str) -> Option<f64> {
    json(frame)["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["symbol"] == symbol)
        .and_then(|q| q["ltp"].as_f64())
}

#[tokio::test(start_paused = true)]
async fn a_metered_topic_gets_one_merged_update_per_period_with_the_latest_values() {
    let hub = hub_with(3, 64);
    let mut sub = hub.subscribe(&[Topic::Prices, Topic::Indices], None);
    sub.set_max_rate(&[Topic::Prices], Some(Duration::from_secs(2)));
    assert_eq!(next(&mut sub).await.kind(), FrameKind::Snapshot);
    assert_eq!(next(&mut sub).await.kind(), FrameKind::Snapshot);
    // The first batch goes at once (snapshots do not count).
    hub.publish(Topic::Prices, prices(0..3, 10.0, 1)).unwrap();
    assert_eq!(next(&mut sub).await.seq(), Some(1));
    // Two more within the period, touching different instruments: held back ...
    tokio::time::advance(Duration::from_millis(500)).await;
    hub.publish(Topic::Prices, prices(0..2, 20.0, 2)).unwrap();
    tokio::time::advance(Duration::from_millis(500)).await;
    hub.publish(Topic::Prices, prices(1..2, 30.0, 3)).unwrap();
    // ... while an unmetered topic carries on.
    hub.publish(Topic::Indices, indices(1.0, 3)).unwrap();
    assert_eq!(next(&mut sub).await.kind(), FrameKind::IndicesUpdate);
    assert_idle(&mut sub);
    tokio::time::advance(Duration::from_millis(999)).await;
    assert_idle(&mut sub);
    tokio::time::advance(Duration::from_millis(1)).await;
    // 2 s after the first: one update, seq of the newest batch, latest value of each.
    let merged = next(&mut sub).await;
    assert_eq!(
        (merged.kind(), merged.seq()),
        (FrameKind::PricesBatch, Some(3))
    );
    assert_eq!(
        symbols_of(&merged).len(),
        2,
        "only instruments updated since the last update"
    );
    assert_eq!(ltp_of(&merged, "STK0"), Some(20.0));
    assert_eq!(ltp_of(&merged, "STK1"), Some(31.0));
    assert_idle(&mut sub);
    // Quiet for a period: the next batch goes at once again.
    tokio::time::advance(Duration::from_secs(5)).await;
    hub.publish(Topic::Prices, prices(2..3, 40.0, 4)).unwrap();
    assert_eq!(next(&mut sub).await.seq(), Some(4));
    // Lifting the limit delivers every batch.
    sub.set_max_rate(&[Topic::Prices], None);
    hub.publish(Topic::Prices, prices(0..1, 50.0, 5)).unwrap();
    hub.publish(Topic::Prices, prices(0..1, 60.0, 6)).unwrap();
    assert_eq!(next(&mut sub).await.seq(), Some(5));
    assert_eq!(next(&mut sub).await.seq(), Some(6));
}

#[tokio::test(start_paused = true)]
async fn a_metered_filtered_subscriber_gets_only_its_instruments_and_a_snapshot_resets_the_merge() {
    let hub = hub_with(4, 64);
    let filter = hub.resolve_filter(["STK3"]).filter;
    let mut sub = hub.subscribe(&[Topic::Prices], Some(filter.clone()));
    sub.set_max_rate(&[Topic::Prices], Some(Duration::from_secs(1)));
    next(&mut sub).await;
    hub.publish(Topic::Prices, prices(0..4, 1.0, 1)).unwrap();
    assert_eq!(symbols_of(&next(&mut sub).await), ["STK3"]);
    hub.publish(Topic::Prices, prices(0..3, 2.0, 2)).unwrap(); // nothing for STK3
    hub.publish(Topic::Prices, prices(3..4, 3.0, 3)).unwrap();
    let merged = next(&mut sub).await; // the timer fires at 1 s of paused time
    assert_eq!(
        (merged.seq(), symbols_of(&merged)),
        (Some(3), vec!["STK3".to_owned()])
    );
    assert_eq!(ltp_of(&merged, "STK3"), Some(6.0));
    // Batches waiting when the client subscribes again are covered by its new snapshot.
    hub.publish(Topic::Prices, prices(3..4, 4.0, 4)).unwrap();
    sub.subscribe(&[Topic::Prices], Some(filter));
    sub.set_max_rate(&[Topic::Prices], Some(Duration::from_secs(1)));
    let snap = next(&mut sub).await;
    assert_eq!((snap.kind(), snap.seq()), (FrameKind::Snapshot, Some(4)));
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_idle(&mut sub);
}
