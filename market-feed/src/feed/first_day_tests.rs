//! `FeedBuilder::first_day`: a feed that starts before the first day it serves stores nothing
//! for the session before it (the start-up catch-up would snapshot prices it never saw).

use std::sync::Arc;

use time::macros::{date, datetime};
use tokio_util::sync::CancellationToken;

use crate::{
    clock::{Calendar, Exchange, MarketClock, TimeSource},
    feed::{Feed, Job},
    hub::Hub,
    model::Topic,
    source::{PriceSource, SimulatedSource},
    store::{MemoryStore, SnapshotStore},
    universe::Universe,
};

/// Runs a feed from 08:56 to 09:20 IST on 2026-01-29 (a 1x clock under paused time) and returns
/// whether the close of 2026-01-28 got stored.
async fn stores_the_day_before(first_day: Option<time::Date>) -> bool {
    let clock = MarketClock::new(
        Arc::new(Calendar::bundled(Exchange::Nse)),
        TimeSource::scaled(datetime!(2026-01-29 08:56 +05:30), 1.0),
    );
    let store = Arc::new(MemoryStore::new());
    let u = Universe::bundled();
    let source: Arc<dyn PriceSource> = Arc::new(SimulatedSource::new(u.clone(), 1, clock.clone()));
    let mut builder = Feed::builder(clock.clone(), Hub::default(), store.clone()).job(Job::new(
        Topic::Indices,
        u.indices().to_vec(),
        time::Duration::seconds(5),
        source,
    ));
    if let Some(day) = first_day {
        builder = builder.first_day(day);
    }
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(builder.build().run(shutdown.clone()));
    clock.sleep_until(datetime!(2026-01-29 09:20 +05:30)).await;
    shutdown.cancel();
    task.await.unwrap();
    store
        .load_close(Topic::Indices, date!(2026 - 01 - 28))
        .await
        .unwrap()
        .is_some()
}

#[tokio::test(start_paused = true)]
async fn without_first_day_the_missed_close_is_caught_up() {
    assert!(stores_the_day_before(None).await);
}

#[tokio::test(start_paused = true)]
async fn with_first_day_nothing_is_stored_for_the_day_before() {
    assert!(!stores_the_day_before(Some(date!(2026 - 01 - 29))).await);
}

/// A store written by a clock that ran ahead (an earlier replay of the same day) holds the close
/// of a session that, on this clock, has not closed yet: it is not shown before that close.
#[tokio::test]
async fn a_stored_close_of_a_session_still_to_come_is_not_loaded() {
    use crate::model::{InstrumentKey, Quote};
    let store = Arc::new(MemoryStore::new());
    let key = InstrumentKey::new("NSE_INDEX|Nifty 50").unwrap();
    let quote = Quote::new(key, "NIFTY 50", 25_418.9, 1_769_681_460_000);
    store
        .save_close(Topic::Indices, date!(2026 - 01 - 29), &[quote])
        .await
        .unwrap();
    let loaded_at = |at: time::OffsetDateTime| {
        let store = store.clone();
        async move {
            let (hub, u, clock) = (Hub::default(), Universe::bundled(), MarketClock::fixed(at));
            let source = Arc::new(SimulatedSource::new(u.clone(), 1, clock.clone()));
            let job = Job::new(
                Topic::Indices,
                u.indices().to_vec(),
                time::Duration::seconds(5),
                source,
            );
            let feed = Feed::builder(clock, hub.clone(), store).job(job).build();
            feed.prepare().await;
            hub.meta(Topic::Indices).trading_day
        }
    };
    assert_eq!(loaded_at(datetime!(2026-01-29 09:00 +05:30)).await, None);
    assert_eq!(loaded_at(datetime!(2026-01-28 18:00 +05:30)).await, None);
    assert_eq!(
        loaded_at(datetime!(2026-01-29 15:45 +05:30)).await,
        Some(date!(2026 - 01 - 29))
    );
}
