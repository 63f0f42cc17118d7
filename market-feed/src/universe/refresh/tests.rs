//! The refresher against the fake Upstox's instrument file, on a fixed clock.

use time::macros::datetime;

use super::*;
use crate::{
    model::InstrumentKey,
    store::MemoryStore,
    testing::{FakeUpstox, FileReply},
    universe::{Instrument, upstox::InstrumentFileConfig},
};

fn file(fake: &FakeUpstox) -> InstrumentFile {
    InstrumentFile::new(InstrumentFileConfig {
        assets_url: fake.base_url(),
        ..InstrumentFileConfig::default()
    })
    .unwrap()
}

fn ipo() -> Instrument {
    Instrument::new(
        InstrumentKey::new("NSE_EQ|INE0NEW01012").unwrap(),
        "NEWCO",
        "NewCo Limited",
        Some("INE0NEW01012"),
    )
}

#[tokio::test]
async fn start_up_fetches_stores_and_the_next_day_stages_changes() {
    let fake = FakeUpstox::start().await.unwrap();
    let store = Arc::new(MemoryStore::new());
    let clock = MarketClock::fixed(datetime!(2026-01-29 08:00 +05:30));
    let r = UniverseRefresher::start_up(file(&fake), store.clone(), clock.clone()).await;
    let live = r.live().clone();
    assert_eq!(live.origin(), UniverseOrigin::Upstox);
    assert_eq!(live.fetched_at(), Some(clock.now_ms()));
    // Bundled indices, and exactly the bundled EQ stocks: the index, F&O, BE, bond and bad
    // rows of the file are not taken.
    let bundled = Universe::bundled();
    assert_eq!(live.current().indices(), bundled.indices());
    assert_eq!(live.current().prices().len(), bundled.prices().len());
    let requests = fake.file_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].user_agent.as_deref(),
        Some(concat!("market-feed/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(
        requests[0].authorization, None,
        "no token to the assets host"
    );
    assert_eq!(fake.request_count(), 0, "not counted as quote calls");
    let doc = store.load_reference(REFERENCE_NAME).await.unwrap().unwrap();
    assert_eq!(doc.fetched_at, clock.now_ms());
    assert!(
        doc.body.len() < 300_000,
        "compact: {} bytes",
        doc.body.len()
    );

    // The next day: one listing, one delisting, staged for the next session.
    clock.set(datetime!(2026-01-30 08:00 +05:30)).unwrap();
    fake.list_stock(ipo());
    assert!(fake.delist_stock("NSE_EQ|INE002A01018"));
    let diff = r.refresh_once().await.unwrap();
    assert_eq!(
        diff.to_string(),
        "universe: +1 listed (NEWCO), -1 delisted (RELIANCE)"
    );
    assert!(
        live.current().by_symbol("RELIANCE").is_some(),
        "not before the session"
    );
    assert_eq!(live.pending(), Some(diff));
    let (applied, _) = live.apply_staged().unwrap();
    assert!(applied.by_symbol("NEWCO").is_some());
    assert!(applied.by_symbol("RELIANCE").is_none());
    let stored = stored::decode(
        &store
            .load_reference(REFERENCE_NAME)
            .await
            .unwrap()
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(stored.fetched_at, clock.now_ms());
    assert!(stored.universe.by_symbol("NEWCO").is_some());

    // The same file again: nothing staged; nor when only the row order changes.
    assert!(r.refresh_once().await.unwrap().is_empty());
    assert!(live.pending().is_none());
    let first = fake.file_stocks()[0].clone();
    fake.delist_stock(first.key.as_str());
    fake.list_stock(first.clone());
    assert_eq!(fake.file_stocks().last(), Some(&first));
    assert!(r.refresh_once().await.unwrap().is_empty());
    assert!(live.pending().is_none());
}

#[tokio::test]
async fn bad_files_are_refused_and_the_last_good_universe_kept() {
    let fake = FakeUpstox::start().await.unwrap();
    let store = Arc::new(MemoryStore::new());
    let clock = MarketClock::fixed(datetime!(2026-01-29 08:00 +05:30));
    let r = UniverseRefresher::start_up(file(&fake), store.clone(), clock.clone()).await;
    let good = store.load_reference(REFERENCE_NAME).await.unwrap();
    let cases = [
        (FileReply::Status(404), "HTTP 404"),
        (FileReply::Status(500), "HTTP 500"),
        (FileReply::HtmlPage, "not gzip-compressed JSON"),
        (FileReply::TruncatedGzip, "corrupt"),
        (FileReply::FirstStocks(100), "implausible"),
        (FileReply::FirstStocks(0), "implausible"),
    ];
    for (reply, says) in cases {
        fake.set_file_reply(reply.clone());
        let e = r.refresh_once().await.unwrap_err();
        assert!(e.to_string().contains(says), "{reply:?}: {e}");
        assert!(r.live().pending().is_none(), "{reply:?}");
        assert!(r.live().report().to_string().contains(says), "{reply:?}");
        assert_eq!(store.load_reference(REFERENCE_NAME).await.unwrap(), good);
    }
    assert_eq!(
        r.live().current().prices().len(),
        Universe::bundled().prices().len()
    );
}

#[tokio::test]
async fn start_up_falls_back_to_the_stored_copy_then_the_bundled_list() {
    let fake = FakeUpstox::start().await.unwrap();
    fake.set_file_reply(FileReply::Status(503));
    let store = Arc::new(MemoryStore::new());
    let clock = MarketClock::fixed(datetime!(2026-01-29 08:00 +05:30));
    // No stored copy: the bundled list.
    let r = UniverseRefresher::start_up(file(&fake), store.clone(), clock.clone()).await;
    assert_eq!(r.live().origin(), UniverseOrigin::Bundled);
    assert!(r.live().report().to_string().contains("HTTP 503"));

    // A stored copy (with a listing the bundle lacks): it is used.
    let mut stocks = Universe::bundled().prices().to_vec();
    stocks.push(ipo());
    let u = super::super::upstox::universe_from_stocks(stocks).unwrap();
    let at = datetime!(2026-01-28 08:00 +05:30);
    let doc = ReferenceDoc::new(
        crate::clock::to_ms(at),
        stored::encode(&u, crate::clock::to_ms(at)),
    );
    store.save_reference(REFERENCE_NAME, &doc).await.unwrap();
    let r = UniverseRefresher::start_up(file(&fake), store.clone(), clock.clone()).await;
    assert_eq!(r.live().origin(), UniverseOrigin::Stored);
    assert_eq!(r.live().fetched_at(), Some(crate::clock::to_ms(at)));
    assert!(r.live().current().by_symbol("NEWCO").is_some());

    // A stored copy that does not decode counts as none.
    store
        .save_reference(REFERENCE_NAME, &ReferenceDoc::new(1, b"{}".to_vec()))
        .await
        .unwrap();
    let r = UniverseRefresher::start_up(file(&fake), store.clone(), clock).await;
    assert_eq!(r.live().origin(), UniverseOrigin::Bundled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_start_up_download_is_retried_before_the_next_morning() {
    let fake = FakeUpstox::start().await.unwrap();
    fake.set_file_reply(FileReply::Status(500));
    let store = Arc::new(MemoryStore::new());
    // 600x: the retry 15 clock minutes later is 1.5 s away.
    let clock = MarketClock::scaled(datetime!(2026-01-29 10:00 +05:30), 600.0);
    let r = UniverseRefresher::start_up(file(&fake), store.clone(), clock.clone()).await;
    let live = r.live().clone();
    assert_eq!(live.origin(), UniverseOrigin::Bundled);
    fake.set_file_reply(FileReply::Normal);
    fake.list_stock(ipo());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(r.run(shutdown.clone()));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while live.pending().is_none() {
        assert!(tokio::time::Instant::now() < deadline, "no retry");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        live.pending().unwrap().to_string(),
        "universe: +1 listed (NEWCO)"
    );
    assert!(clock.now() >= datetime!(2026-01-29 10:15 +05:30));
    assert!(live.report().last_error.is_none());
    assert!(
        store
            .load_reference(REFERENCE_NAME)
            .await
            .unwrap()
            .is_some()
    );
    shutdown.cancel();
    task.await.unwrap();
}
