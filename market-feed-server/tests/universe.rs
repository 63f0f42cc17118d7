//! `--universe upstox` against the fake Upstox's instrument file, on shifted and scaled clocks:
//! the universe comes from the file; a listing and a delisting staged by the 08:00 refresh take
//! effect when the next session opens (instruments, quote requests, a fresh snapshot); at
//! start-up an unreachable file falls back to the stored copy, then to the bundled list; a
//! truncated file keeps the last good universe.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{process::Stdio, time::Duration};

use market_feed::{
    model::InstrumentKey,
    testing::{FakeUpstox, FileReply},
    universe::{Instrument, Universe, UniverseOrigin},
};
use serde_json::{Value, json};
use support::{
    inproc::{TestServer, eventually},
    ws::Client,
};
use tokio::io::{AsyncBufReadExt, BufReader};

const RELIANCE: &str = "NSE_EQ|INE002A01018";
const NEWCO: &str = "NSE_EQ|INE0NEW01012";

fn newco() -> Instrument {
    Instrument::new(
        InstrumentKey::new(NEWCO).unwrap(),
        "NEWCO",
        "NewCo Limited",
        Some("INE0NEW01012"),
    )
}

async fn get(url: String) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

async fn metrics(server: &TestServer) -> String {
    reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn keys(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_owned())
        .collect()
}

/// The keys of every quote request the fake received from request number `from` on.
fn requested_since(fake: &FakeUpstox, from: usize) -> Vec<String> {
    fake.requests()
        .into_iter()
        .filter(|r| r.number > from)
        .flat_map(|r| r.keys)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_and_a_delisting_take_effect_at_the_next_session() {
    let fake = FakeUpstox::with_universe(&Universe::bundled())
        .await
        .unwrap();
    let base = fake.base_url();
    // Friday 07:10 at 600x: the 08:00 refresh after ~5 s (start-up must end before it), the
    // service window (09:13) after ~12 s. The memory store has no close of Thursday, so the start-up catch-up refresh asks
    // for every stock of the start-up universe once.
    let server = TestServer::start_with_token(
        &[
            "--source",
            "upstox",
            "--upstox-base-url",
            &base,
            "--universe",
            "upstox",
            "--upstox-assets-url",
            &base,
            "--store",
            "memory",
            "--clock",
            "at:2026-01-30T07:10:00+05:30x600",
            "--indices-interval",
            "1m",
            "--prices-interval",
            "5m",
        ],
        Some("fake-token"),
    )
    .await;
    let live = server.state.live_universe().clone();
    assert_eq!(live.origin(), UniverseOrigin::Upstox);
    assert_eq!(
        live.current().prices().len(),
        Universe::bundled().prices().len()
    );
    assert_eq!(fake.file_requests().len(), 1);

    // Overnight at the broker: NEWCO lists, RELIANCE delists.
    fake.list_stock(newco());
    assert!(fake.delist_stock(RELIANCE));
    let (mut c, _) = Client::connect_welcomed(&server.ws_url()).await;
    c.send(json!({"op": "subscribe", "topics": ["prices"], "symbols": ["RELIANCE", "TCS"]}))
        .await;
    let first = c.until("snapshot").await;
    assert_eq!(first["topic"], "prices");

    // 08:00: the refresh stages the changes; the served list does not change yet.
    let pending = eventually(Duration::from_secs(20), "the 08:00 refresh", || {
        live.pending()
    })
    .await;
    assert_eq!(
        pending.to_string(),
        "universe: +1 listed (NEWCO), -1 delisted (RELIANCE)"
    );
    let before = get(server.url("/api/v1/instruments?topic=prices")).await;
    assert!(keys(&before).contains(&RELIANCE.to_owned()));
    assert!(!keys(&before).contains(&NEWCO.to_owned()));
    assert!(
        metrics(&server)
            .await
            .contains("market_feed_universe_pending_changes 2")
    );
    // The catch-up refresh of Thursday's close asked for RELIANCE (the old universe).
    let hub = server.state.hub().clone();
    eventually(Duration::from_secs(15), "the catch-up refresh", || {
        requested_since(&fake, 0)
            .contains(&RELIANCE.to_owned())
            .then_some(())
    })
    .await;
    let calls_before_session = fake.request_count();

    // 09:13: the session opens with the new universe.
    eventually(Duration::from_secs(25), "the first live prices", || {
        hub.quote_by_key(&InstrumentKey::new(NEWCO).unwrap())
    })
    .await;
    assert!(live.pending().is_none());
    let after = get(server.url("/api/v1/instruments?topic=prices")).await;
    assert!(keys(&after).contains(&NEWCO.to_owned()));
    assert!(!keys(&after).contains(&RELIANCE.to_owned()));
    let session_keys = requested_since(&fake, calls_before_session);
    assert!(session_keys.contains(&NEWCO.to_owned()));
    assert!(
        !session_keys.contains(&RELIANCE.to_owned()),
        "the delisted stock is not requested any more"
    );
    let quote = get(server.url("/api/v1/quotes/NEWCO")).await;
    assert_eq!(quote["key"], NEWCO);
    assert_eq!(
        reqwest::get(server.url("/api/v1/quotes/RELIANCE"))
            .await
            .unwrap()
            .status(),
        404,
        "the delisted stock is gone from the snapshots"
    );

    // The subscriber that named RELIANCE gets a fresh snapshot without it.
    let fresh = c
        .until_match("a fresh snapshot without RELIANCE", |v| {
            v["event"] == "snapshot" && !v["data"].to_string().contains("RELIANCE")
        })
        .await;
    assert_eq!(fresh["topic"], "prices");
    // Naming it again is refused like any unknown symbol.
    c.send(json!({"op": "subscribe", "topics": ["prices"], "symbols": ["RELIANCE", "NEWCO"]}))
        .await;
    let refused = c.until("error").await;
    assert_eq!(refused["code"], "unknown_symbol");
    assert!(refused["message"].as_str().unwrap().contains("RELIANCE"));
    let text = metrics(&server).await;
    assert!(text.contains("market_feed_universe_source{source=\"upstox\"} 1"));
    assert!(text.contains("market_feed_universe_pending_changes 0"));
    let stocks = Universe::bundled().prices().len();
    assert!(text.contains(&format!(
        "market_feed_universe_instruments{{topic=\"prices\"}} {stocks}"
    )));
    assert!(text.contains("market_feed_universe_age_seconds "));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_file_at_start_up_uses_the_stored_copy_then_the_bundled_list() {
    let fake = FakeUpstox::start().await.unwrap();
    fake.list_stock(newco());
    let base = fake.base_url();
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("feed.db").display());
    // A Saturday: no session, no quote calls.
    let args = |store: &str| -> Vec<String> {
        [
            "--source",
            "simulated",
            "--universe",
            "upstox",
            "--upstox-assets-url",
            &base,
            "--store",
            store,
            "--clock",
            "at:2026-01-31T10:00:00+05:30",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let argv = args(&store);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();

    // First run: the file is fetched and kept in the store.
    let server = TestServer::start(&argv).await;
    assert_eq!(
        server.state.live_universe().origin(),
        UniverseOrigin::Upstox
    );
    server.stop().await;

    // Second run on the same SQLite file, the file unreachable: the stored copy.
    fake.set_file_reply(FileReply::Status(500));
    let server = TestServer::start(&argv).await;
    assert_eq!(
        server.state.live_universe().origin(),
        UniverseOrigin::Stored
    );
    let list = get(server.url("/api/v1/instruments?topic=prices")).await;
    assert!(keys(&list).contains(&NEWCO.to_owned()));
    let text = metrics(&server).await;
    assert!(text.contains("market_feed_universe_source{source=\"stored\"} 1"));
    assert!(text.contains("market_feed_universe_refresh_failed 1"));
    let report = server.state.live_universe().report().to_string();
    assert!(
        report.starts_with("universe: stored, 9 indices"),
        "{report}"
    );
    assert!(report.contains("HTTP 500"), "{report}");
    server.stop().await;

    // A fresh store and a 404: the bundled list.
    fake.set_file_reply(FileReply::Status(404));
    let argv = args("memory");
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let server = TestServer::start(&argv).await;
    assert_eq!(
        server.state.live_universe().origin(),
        UniverseOrigin::Bundled
    );
    let list = get(server.url("/api/v1/instruments?topic=prices")).await;
    assert!(!keys(&list).contains(&NEWCO.to_owned()));
    assert_eq!(keys(&list).len(), Universe::bundled().prices().len());
    let text = metrics(&server).await;
    assert!(text.contains("market_feed_universe_source{source=\"bundled\"} 1"));
    assert!(!text.contains("market_feed_universe_age_seconds"));
    server.stop().await;
    assert_eq!(fake.request_count(), 0, "no quote calls on a Saturday");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_file_at_the_daily_refresh_keeps_the_last_good_universe() {
    let fake = FakeUpstox::start().await.unwrap();
    fake.list_stock(newco());
    let base = fake.base_url();
    // Saturday 07:55 at 60x: the 08:00 refresh five seconds after the start.
    let server = TestServer::start(&[
        "--source",
        "simulated",
        "--universe",
        "upstox",
        "--upstox-assets-url",
        &base,
        "--store",
        "memory",
        "--clock",
        "at:2026-01-31T07:55:00+05:30x60",
    ])
    .await;
    fake.set_file_reply(FileReply::TruncatedGzip);
    fake.delist_stock(NEWCO);
    let live = server.state.live_universe().clone();
    let report = eventually(Duration::from_secs(20), "the refused refresh", || {
        let r = live.report();
        r.last_error.is_some().then_some(r)
    })
    .await;
    assert!(
        report.last_error.as_deref().unwrap().contains("corrupt"),
        "{report}"
    );
    assert!(report.pending.is_none());
    assert_eq!(report.origin, UniverseOrigin::Upstox);
    assert_eq!(fake.file_requests().len(), 2);
    let list = get(server.url("/api/v1/instruments?topic=prices")).await;
    assert!(
        keys(&list).contains(&NEWCO.to_owned()),
        "the last good list"
    );
    assert!(
        metrics(&server)
            .await
            .contains("market_feed_universe_refresh_failed 1")
    );
    server.stop().await;
}

/// Runs the binary until it listens; returns every stderr line up to then.
async fn start_up_log(args: &[&str]) -> Vec<String> {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_market-feed-server"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "info")
        .env_remove("UPSTOX_ACCESS_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = line.contains("listening on");
            seen.push(line);
            if done {
                return;
            }
        }
        panic!("the server exited:\n{}", seen.join("\n"));
    })
    .await
    .expect("the server listens within 30 s");
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_says_which_universe_is_used_and_why() {
    let fake = FakeUpstox::start().await.unwrap();
    let base = fake.base_url();
    let args = [
        "--source",
        "simulated",
        "--universe",
        "upstox",
        "--upstox-assets-url",
        &base,
        "--store",
        "memory",
        "--clock",
        "at:2026-01-31T10:00:00+05:30",
    ];
    let log = start_up_log(&args).await.join("\n");
    assert!(
        log.contains("universe: 2099 stocks and 9 indices from Upstox's instrument file"),
        "{log}"
    );
    assert!(log.contains("bad rows skipped"), "{log}");

    fake.set_file_reply(FileReply::HtmlPage);
    let log = start_up_log(&args).await.join("\n");
    assert!(
        log.contains(
            "universe: using the bundled list (NSE, early 2026), because the download failed"
        ),
        "{log}"
    );
    assert!(log.contains("not gzip-compressed JSON"), "{log}");
}
