//! The server against a fake Upstox that behaves like the real one (docs/protocol.md §6, "the
//! broker as it really is"), on a scaled clock: a replaced token resumes every topic, keys the
//! broker does not know are served around, held back and reported, and a CDN's 403 degrades
//! the feed without stopping it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{collections::HashSet, time::Duration};

use market_feed::{
    hub::FeedState,
    model::Topic,
    testing::{FakeReply, FakeUpstox},
    universe::Universe,
};
use serde_json::{Value, json};
use support::{
    ServerProcess,
    inproc::{TestServer, eventually},
    ws::Client,
};

const LTP: &str = "/v3/market-quote/ltp";

async fn get_json(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_token_file_resumes_every_topic() {
    let fake = FakeUpstox::with_universe(&Universe::bundled())
        .await
        .unwrap();
    fake.require_token("token-two");
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("upstox.token");
    std::fs::write(&token_file, "token-one\n").unwrap();
    let base = fake.base_url();
    let server = TestServer::start(&[
        "--source",
        "upstox",
        "--upstox-base-url",
        &base,
        "--upstox-token-file",
        token_file.to_str().unwrap(),
        "--store",
        "memory",
        "--clock",
        "at:2026-01-29T10:00:00+05:30x10",
        "--indices-interval",
        "1s",
        "--prices-interval",
        "5s",
    ])
    .await;
    let hub = server.state.hub().clone();
    eventually(Duration::from_secs(15), "both topics unauthorized", || {
        Topic::ALL
            .iter()
            .all(|&t| hub.feed_status(t).state == FeedState::Unauthorized)
            .then_some(())
    })
    .await;
    // The refused token is sent again by no topic: 30 s of clock time add no call.
    let calls = fake.request_count();
    assert!(calls <= 2, "{calls} calls before both topics stopped");
    let clock = server.state.clock().clone();
    let later = clock.now() + time::Duration::seconds(30);
    eventually(Duration::from_secs(10), "30 s of clock time", || {
        (clock.now() >= later).then_some(())
    })
    .await;
    assert_eq!(fake.request_count(), calls, "calls with a refused token");

    std::fs::write(&token_file, "token-two\n").unwrap();
    let written = clock.now();
    let (indices_seq, prices_seq) = (hub.seq(Topic::Indices), hub.seq(Topic::Prices));
    eventually(Duration::from_secs(15), "both topics ok again", || {
        (Topic::ALL
            .iter()
            .all(|&t| hub.feed_status(t).state == FeedState::Ok)
            && hub.seq(Topic::Indices) > indices_seq
            && hub.seq(Topic::Prices) > prices_seq)
            .then_some(())
    })
    .await;
    // Within (about) one interval of the slower topic: it looks for a new token every 5 s of
    // clock time, then refreshes. Twice the interval leaves room for a loaded machine.
    let took = clock.now() - written;
    assert!(took <= time::Duration::seconds(10), "took {took}");
    let prices_calls = fake
        .requests()
        .iter()
        .filter(|r| r.path == LTP && r.authorization.as_deref() == Some("Bearer token-two"))
        .count();
    assert!(prices_calls >= 1, "prices asked with the new token");
    server.stop().await;
}

/// Groups the stock requests of the log into refreshes: the requests of one refresh arrive
/// within milliseconds, refreshes are a second (10 s of clock time at 10x) apart. Returns the
/// refreshes that are over (a gap of 400 ms followed them).
/// The quiet time that separates two refreshes: refreshes are 6 s of real time apart (60 s of
/// clock time at x10), while one refresh's requests follow each other within milliseconds,
/// even on a loaded machine.
fn refreshes(fake: &FakeUpstox) -> Vec<Vec<Vec<String>>> {
    let gap = Duration::from_secs(2);
    let mut groups: Vec<Vec<Vec<String>>> = Vec::new();
    let mut last: Option<std::time::Instant> = None;
    for r in fake.requests().into_iter().filter(|r| r.path == LTP) {
        if last.is_none_or(|t| r.received.duration_since(t) > gap) {
            groups.push(Vec::new());
        }
        last = Some(r.received);
        groups.last_mut().unwrap().push(r.keys);
    }
    if last.is_some_and(|t| t.elapsed() <= gap) {
        groups.pop();
    }
    groups
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_keys_are_served_around_held_back_and_reported() {
    let universe = Universe::bundled();
    let fake = FakeUpstox::with_universe(&universe).await.unwrap();
    // The real service refuses a whole request for one unknown key (HTTP 400 UDAPI1087).
    let gone: Vec<_> = [10usize, 1_234]
        .iter()
        .map(|&n| universe.prices()[n].clone())
        .collect();
    for i in &gone {
        fake.remove(i.key.as_str());
    }
    fake.without_price(universe.prices()[20].key.as_str());
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("upstox.token");
    std::fs::write(&token_file, "tok\n").unwrap();
    let base = fake.base_url();
    let mut server = ServerProcess::start(&[
        "--source",
        "upstox",
        "--upstox-base-url",
        &base,
        "--upstox-token-file",
        token_file.to_str().unwrap(),
        "--store",
        "memory",
        "--clock",
        "at:2026-01-29T10:00:00+05:30x10",
        "--prices-interval",
        "60s",
    ])
    .await;
    // Three refreshes: the first finds the unknown keys, the next two leave them out.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while refreshes(&fake).len() < 3 {
        assert!(tokio::time::Instant::now() < deadline, "three refreshes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let groups = refreshes(&fake);
    let every: HashSet<String> = groups[1].iter().flatten().cloned().collect();
    assert_eq!(
        every.len(),
        universe.prices().len() - gone.len(),
        "a whole refresh"
    );
    let limit = universe.prices().len().div_ceil(500) + 1;
    for (n, g) in groups.iter().enumerate().skip(1) {
        assert!(
            g.len() <= limit,
            "refresh {n}: {} requests > {limit}",
            g.len()
        );
        assert!(
            g.iter()
                .flatten()
                .all(|k| gone.iter().all(|i| i.key.as_str() != k)),
            "refresh {n} asked for an unknown key again"
        );
    }

    // Every other stock is served.
    let quotes = get_json(&server.url(&format!(
        "/api/v1/quotes?symbols={},{}",
        universe.prices()[11].symbol,
        gone[0].symbol
    )))
    .await;
    assert_eq!(quotes["data"].as_array().unwrap().len(), 1, "{quotes}");

    let missing = get_json(&server.url("/api/v1/instruments/missing")).await;
    let mut expected: Vec<Value> = gone
        .iter()
        .map(|i| json!({"key": i.key.as_str(), "symbol": &*i.symbol, "reason": "unknown to the broker"}))
        .collect();
    let no_price = &universe.prices()[20];
    expected.push(
        json!({"key": no_price.key.as_str(), "symbol": &*no_price.symbol, "reason": "no price"}),
    );
    expected.sort_by_key(|v| v["symbol"].as_str().unwrap().to_owned());
    assert_eq!(missing, Value::Array(expected));

    let metrics = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("market_feed_instruments_missing{reason=\"unknown\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("market_feed_instruments_missing{reason=\"no_price\"} 1"));

    // Logged once (per day), by symbol, though three refreshes met them.
    let mut log = Vec::new();
    while let Ok(line) = server.log.try_recv() {
        log.push(line);
    }
    let unknown_lines: Vec<_> = log.iter().filter(|l| l.contains("does not know")).collect();
    assert_eq!(unknown_lines.len(), 1, "{log:#?}");
    for i in &gone {
        assert!(
            unknown_lines[0].contains(&*i.symbol),
            "{}",
            unknown_lines[0]
        );
    }
    assert_eq!(server.terminate().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cdn_403_degrades_the_feed_and_never_stops_it() {
    let fake = FakeUpstox::with_universe(&Universe::bundled())
        .await
        .unwrap();
    let base = fake.base_url();
    let server = TestServer::start_with_token(
        &[
            "--source",
            "upstox",
            "--upstox-base-url",
            &base,
            "--store",
            "memory",
            "--clock",
            "at:2026-01-29T10:00:00+05:30x10",
            "--indices-interval",
            "1s",
            "--prices-interval",
            "5s",
        ],
        Some("tok"),
    )
    .await;
    let (mut c, _) = Client::connect_welcomed(&server.ws_url()).await;
    // Both topics: the queued 403 pages go to whichever requests come next, indices or prices.
    c.send(json!({"op": "subscribe", "topics": ["indices", "prices"]}))
        .await;
    c.until("snapshot").await;
    c.until("snapshot").await;
    // Enough 403 pages for several refreshes, retries included.
    for _ in 0..16 {
        fake.push_reply(FakeReply::CdnForbidden);
    }
    let degraded = c
        .until_match("feed_status not ok", |v| {
            v["event"] == "feed_status" && v["state"] != "ok"
        })
        .await;
    assert!(
        degraded["state"] == "degraded" || degraded["state"] == "stale",
        "{degraded}"
    );
    assert!(
        degraded["detail"].as_str().unwrap().contains("403"),
        "{degraded}"
    );
    let topic_name = degraded["topic"].clone();
    let ok = c
        .until_match("the degraded topic ok again", |v| {
            v["event"] == "feed_status" && v["state"] == "ok" && v["topic"] == topic_name
        })
        .await;
    let topic = if ok["topic"] == "indices" {
        Topic::Indices
    } else {
        Topic::Prices
    };
    let hub = server.state.hub().clone();
    let seq = hub.seq(topic);
    eventually(
        Duration::from_secs(15),
        "more refreshes of that topic",
        || (hub.seq(topic) > seq + 1).then_some(()),
    )
    .await;
    for topic in [Topic::Indices, Topic::Prices] {
        assert_ne!(hub.feed_status(topic).state, FeedState::Unauthorized);
    }
    server.stop().await;
}
