//! `--source upstox-stream` against the fake Upstox and its Market Data Feed V3, on a scaled
//! clock (docs/protocol.md, streaming source): one connection in the window only, every
//! instrument subscribed in ltpc mode, coalesced batches of the changed instruments (filtered
//! per client), index polls only while the stream is down, `degraded` while it is down,
//! reconnects after a drop, a silence and refused handshakes, `unauthorized` on a refused
//! token, and the connection closed at the end of the window.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use market_feed::{
    hub::FeedState,
    model::Topic,
    testing::{FakeFeed, FakeUpstox},
    universe::Universe,
};
use serde_json::json;
use support::{
    inproc::{TestServer, eventually},
    ws::Client,
};

const TOKEN: &str = "stream-test-token";

async fn fake() -> (FakeUpstox, FakeFeed) {
    let fake = FakeUpstox::with_universe(&Universe::bundled())
        .await
        .unwrap();
    fake.require_token(TOKEN);
    let feed = fake.start_feed().await.unwrap();
    (fake, feed)
}

async fn server(fake: &FakeUpstox, clock: &str, extra: &[&str]) -> TestServer {
    let base = fake.base_url();
    let mut args = vec![
        "--source",
        "upstox-stream",
        "--upstox-base-url",
        &base,
        "--store",
        "memory",
        "--calendar-refresh",
        "off",
        "--clock",
        clock,
    ];
    args.extend_from_slice(extra);
    TestServer::start_with_token(&args, Some(TOKEN)).await
}

/// Quote requests for index keys so far (any endpoint).
fn index_polls(fake: &FakeUpstox) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.keys.iter().any(|k| k.starts_with("NSE_INDEX|")))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_opens_the_one_connection_and_changed_instruments_stream_out_until_the_close() {
    let (fake, feed) = fake().await;
    feed.set_tick_rate(1000.0);
    let server = server(
        &fake,
        "at:2026-01-29T09:12:50+05:30x10",
        &["--stream-interval", "250ms"],
    )
    .await;
    let hub = server.state.hub().clone();
    let clock = server.state.clock().clone();
    assert_eq!(
        feed.authorizations(),
        0,
        "no authorize call before the window"
    );
    eventually(Duration::from_secs(15), "one connection", || {
        (feed.open_connections() == 1).then_some(())
    })
    .await;
    assert!(
        clock.now() >= time::macros::datetime!(2026-01-29 09:13 +05:30),
        "connected only in the window"
    );
    let subs = eventually(Duration::from_secs(5), "the subscription", || {
        let subs = feed.subscriptions();
        (!subs.is_empty()).then_some(subs)
    })
    .await;
    let universe = Universe::bundled();
    assert_eq!(subs.len(), 1);
    assert!(subs[0].binary && subs[0].method == "sub" && subs[0].mode.as_deref() == Some("ltpc"));
    assert_eq!(
        subs[0].keys.len(),
        universe.len(),
        "every instrument of both topics"
    );

    // A whole-topic client gets batches of only the changed instruments.
    let mut all = Client::connect(&server.ws_url()).await;
    all.until("welcome").await;
    all.send(json!({"op": "subscribe", "topics": ["prices"]}))
        .await;
    let snapshot = all.until("snapshot").await;
    // The first batches may carry everything (the first poll, the initial feed's values).
    let stocks = universe.prices().len();
    let first = all
        .until_match("a streamed batch", |v| {
            v["event"] == "prices_batch" && v["data"].as_array().is_some_and(|d| d.len() < stocks)
        })
        .await;
    assert!(!first["data"].as_array().unwrap().is_empty());
    assert!(first["seq"].as_u64().unwrap() > snapshot["seq"].as_u64().unwrap());
    let q = &first["data"][0];
    assert!(
        q["prev_close"].is_number() && q["change"].is_number(),
        "{q}"
    );

    // A filtered client gets only its symbols, and only when they changed.
    let symbol = universe.prices()[5].symbol.to_string();
    let mut one = Client::connect(&server.ws_url()).await;
    one.until("welcome").await;
    one.send(json!({"op": "subscribe", "topics": ["prices"], "symbols": [symbol]}))
        .await;
    one.until("snapshot").await;
    let batch = one.until("prices_batch").await;
    let data = batch["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["symbol"], symbol.as_str());

    // Indices come from the stream: no index poll while it is up (after the first refresh).
    let polls = index_polls(&fake);
    let later = clock.now() + time::Duration::seconds(30);
    eventually(Duration::from_secs(15), "30 s of clock time", || {
        (clock.now() >= later).then_some(())
    })
    .await;
    assert_eq!(
        index_polls(&fake),
        polls,
        "index polls while the stream is up"
    );
    assert!(hub.seq(Topic::Indices) >= 2, "streamed index updates");
    assert_eq!(hub.feed_status(Topic::Prices).state, FeedState::Ok);
    let metrics = metrics(&server).await;
    assert!(
        metrics.contains("market_feed_stream_connected 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("market_feed_stream_connects_total 1"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("market_feed_stream_ticks_total 0"),
        "{metrics}"
    );
    server.stop().await;
}

async fn metrics(server: &TestServer) -> String {
    reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_a_silence_and_refused_handshakes_degrade_the_feed_and_it_reconnects() {
    let (fake, feed) = fake().await;
    let server = server(&fake, "at:2026-01-29T10:00:00+05:30x10", &[]).await;
    let hub = server.state.hub().clone();
    eventually(Duration::from_secs(15), "connected", || {
        (feed.open_connections() == 1 && feed.ticks_sent() > 0).then_some(())
    })
    .await;
    let mut client = Client::connect(&server.ws_url()).await;
    client.until("welcome").await;
    client
        .send(json!({"op": "subscribe", "topics": ["indices", "prices"]}))
        .await;

    // A drop, then five handshakes refused with 403 (retried, not unauthorized): down for
    // at least 0.5 + 1 + 2 + 4 + 8 s of backoff, longer than the 5 s index interval.
    let polls = index_polls(&fake);
    let authorizations = feed.authorizations();
    feed.refuse_handshakes(5);
    feed.drop_connections();
    let status = client
        .until_match("feed_status degraded", |v| {
            v["event"] == "feed_status" && v["state"] == "degraded"
        })
        .await;
    assert!(
        status["detail"]
            .as_str()
            .unwrap()
            .contains("stream is down"),
        "{status}"
    );
    eventually(
        Duration::from_secs(20),
        "reconnected after the refusals",
        || (feed.open_connections() == 1 && feed.refused_handshakes() == 5).then_some(()),
    )
    .await;
    assert!(
        feed.authorizations() >= authorizations + 6,
        "a fresh authorize call for every attempt"
    );
    client
        .until_match("feed_status ok", |v| {
            v["event"] == "feed_status" && v["topic"] == "prices" && v["state"] == "ok"
        })
        .await;
    assert!(
        index_polls(&fake) > polls,
        "index polls while the stream was down"
    );

    // Silence while the market is open: the watchdog reconnects within ~10 s of clock time.
    let handshakes = feed.handshakes();
    feed.set_silent(true);
    eventually(Duration::from_secs(15), "the watchdog's reconnect", || {
        (feed.handshakes() > handshakes).then_some(())
    })
    .await;
    feed.set_silent(false);

    // A refused token: both topics unauthorized, and no authorize call on it.
    fake.require_token("another-token");
    feed.drop_connections();
    eventually(Duration::from_secs(15), "unauthorized", || {
        Topic::ALL
            .iter()
            .all(|&t| hub.feed_status(t).state == FeedState::Unauthorized)
            .then_some(())
    })
    .await;
    assert_eq!(feed.open_connections(), 0);
    let metrics = metrics(&server).await;
    assert!(
        metrics.contains("market_feed_stream_connected 0"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("market_feed_stream_disconnects_total 0"),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_close_ends_the_connection_and_no_call_follows_until_the_next_window() {
    let (fake, feed) = fake().await;
    let server = server(&fake, "at:2026-01-29T15:29:30+05:30x10", &[]).await;
    let hub = server.state.hub().clone();
    let clock = server.state.clock().clone();
    eventually(Duration::from_secs(15), "connected", || {
        (feed.open_connections() == 1).then_some(())
    })
    .await;
    eventually(Duration::from_secs(15), "the close", || {
        (clock.now() >= time::macros::datetime!(2026-01-29 15:30:05 +05:30)).then_some(())
    })
    .await;
    eventually(Duration::from_secs(5), "disconnected", || {
        (feed.open_connections() == 0).then_some(())
    })
    .await;
    let authorizations = feed.authorizations();
    let later = clock.now() + time::Duration::seconds(60);
    eventually(Duration::from_secs(15), "a minute after the close", || {
        (clock.now() >= later).then_some(())
    })
    .await;
    assert_eq!(
        feed.authorizations(),
        authorizations,
        "no authorize call outside the window"
    );
    assert_eq!(feed.open_connections(), 0);
    assert_eq!(hub.feed_status(Topic::Prices).state, FeedState::Ok);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_universe_over_the_stream_limit_is_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "t\n").unwrap();
    let path = dir.path().join("big.csv");
    let mut csv = String::from("key,symbol\n");
    for n in 0..5_001 {
        csv.push_str(&format!("NSE_EQ|INE{n:06}01,S{n}\n"));
    }
    std::fs::write(&path, csv).unwrap();
    let (code, out, err) = support::run_to_exit(&[
        "--source",
        "upstox-stream",
        "--universe",
        path.to_str().unwrap(),
        "--store",
        "memory",
        "--calendar-refresh",
        "off",
        "--upstox-base-url",
        "http://127.0.0.1:9",
        "--upstox-token-file",
        token.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ])
    .await;
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("at most 5000") && err.contains("--source upstox"),
        "{err}"
    );
}
