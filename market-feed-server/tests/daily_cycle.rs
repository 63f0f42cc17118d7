//! The Upstox source against a local fake Upstox, on a scaled clock: live prices from the
//! broker reach WebSocket clients, the close and the end-of-day snapshot happen within the
//! test and the snapshot is served by `/api/v1/closing`, and a token file replaced while the
//! feed is `unauthorized` recovers it (docs/protocol.md §2, §3, §5, §6).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use market_feed::{model::Topic, testing::FakeUpstox, universe::Universe};
use serde_json::{Value, json};
use support::{
    inproc::{TestServer, eventually},
    ws::Client,
};
use time::macros::datetime;

const NIFTY: &str = "NSE_INDEX|Nifty 50";

fn nifty_ltp(update: &Value) -> Option<f64> {
    update["data"]
        .as_array()?
        .iter()
        .find(|q| q["key"] == NIFTY)?["ltp"]
        .as_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_closes_and_its_end_of_day_snapshot_is_stored_and_served() {
    let fake = FakeUpstox::with_universe(&Universe::bundled())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("closes.db").display());
    let base = fake.base_url();
    // One clock minute per real second: the close (15:30) after ~1 s, the end-of-day
    // snapshot (15:31) after ~2 s.
    let server = TestServer::start_with_token(
        &[
            "--source",
            "upstox",
            "--upstox-base-url",
            &base,
            "--store",
            &store,
            "--clock",
            "at:2026-01-29T15:29:00+05:30x60",
            "--indices-interval",
            "1s",
            "--prices-interval",
            "5s",
        ],
        Some("fake-token"),
    )
    .await;
    let (mut c, welcome) = Client::connect_welcomed(&server.ws_url()).await;
    assert_eq!(welcome["market"]["phase"], "open");
    c.send(json!({"op": "subscribe", "topics": ["indices", "prices"]}))
        .await;

    // Live values come from the broker: the fake's Nifty level, then a changed one.
    let first = c
        .until_match("an index update", |v| v["event"] == "indices_update")
        .await;
    let served = fake.instrument(NIFTY).unwrap().last_price;
    assert_eq!(nifty_ltp(&first), Some(served));
    fake.set_last_price(NIFTY, 31_234.55);
    c.until_match("the new Nifty level", |v| {
        v["event"] == "indices_update" && nifty_ltp(v) == Some(31_234.55)
    })
    .await;

    // 15:30: the market_status change (post-close, not live).
    let status = c.until("market_status").await;
    assert_eq!(status["phase"], "post_close");
    assert_eq!(status["live"], false);
    assert_eq!(status["trading_day"], "2026-01-29");
    assert!(status["next_change"].is_i64());

    // 15:31: the end-of-day snapshot is stored and served.
    let url = server.url("/api/v1/closing/2026-01-29?topic=prices");
    let closing: Value = {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let resp = reqwest::get(&url).await.unwrap();
            if resp.status() == 200 {
                break resp.json().await.unwrap();
            }
            assert_eq!(resp.status(), 404, "before it is taken");
            assert!(
                tokio::time::Instant::now() < deadline,
                "no end-of-day snapshot"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    assert_eq!(closing["trading_day"], "2026-01-29");
    assert_eq!(closing["topic"], "prices");
    assert!(closing["as_of"].is_i64());
    let universe = server.state.universe();
    assert_eq!(
        closing["data"].as_array().unwrap().len(),
        universe.prices().len()
    );
    let indices: Value = reqwest::get(server.url("/api/v1/closing/2026-01-29?topic=indices"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        nifty_ltp(&indices),
        Some(31_234.55),
        "the closing level is the last one"
    );

    // After the snapshot no broker calls (outside the service window), up to 15:34.
    let calls = fake.request_count();
    let clock = server.state.clock().clone();
    eventually(Duration::from_secs(10), "the clock to reach 15:34", || {
        (clock.now() >= datetime!(2026-01-29 15:34 +05:30)).then_some(())
    })
    .await;
    assert_eq!(
        fake.request_count(),
        calls,
        "no calls outside the service window"
    );

    // The REST views agree: not live any more, the values kept.
    let body: Value = reqwest::get(server.url("/api/v1/indices"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["live"], false);
    assert_eq!(nifty_ltp(&body), Some(31_234.55));
    server.stop().await;

    // A restart on the same store serves the stored closes to a new client.
    let server = TestServer::start(&[
        "--source",
        "simulated",
        "--store",
        &store,
        "--clock",
        "at:2026-01-29T20:00:00+05:30",
    ])
    .await;
    // Ready (/readyz 200) once the latest closes are loaded; a load balancer waits for it.
    let state = server.state.clone();
    eventually(Duration::from_secs(10), "readiness", || {
        state.feed().is_ready().then_some(())
    })
    .await;
    assert_eq!(
        reqwest::get(server.url("/readyz")).await.unwrap().status(),
        200
    );
    let (mut c, welcome) = Client::connect_welcomed(&server.ws_url()).await;
    assert_eq!(welcome["market"]["phase"], "closed");
    assert_eq!(welcome["market"]["reason"], "after_hours");
    c.send(json!({"op": "subscribe", "topics": ["indices"]}))
        .await;
    let snap = c.until("snapshot").await;
    assert_eq!(snap["live"], false);
    assert_eq!(snap["source"], "close");
    assert_eq!(snap["trading_day"], "2026-01-29");
    assert_eq!(nifty_ltp(&snap), Some(31_234.55));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_token_file_recovers_an_unauthorized_feed() {
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
    let (mut c, _) = Client::connect_welcomed(&server.ws_url()).await;
    c.send(json!({"op": "subscribe", "topics": ["indices"]}))
        .await;
    let refused = c
        .until_match("feed_status unauthorized", |v| {
            v["event"] == "feed_status" && v["state"] == "unauthorized"
        })
        .await;
    assert_eq!(refused["topic"], "indices");
    assert!(refused["detail"].as_str().is_some_and(|d| !d.is_empty()));
    assert!(
        !refused.to_string().contains("token-one"),
        "the token is never echoed"
    );
    let hub = server.state.hub().clone();
    let seq = hub.seq(Topic::Indices);

    // While unauthorized, the feed does not hammer the broker with the refused token.
    let calls = fake.request_count();
    let clock = server.state.clock().clone();
    let later = clock.now() + time::Duration::seconds(30);
    eventually(Duration::from_secs(10), "30 s of clock time", || {
        (clock.now() >= later).then_some(())
    })
    .await;
    assert!(
        fake.request_count() <= calls + 2,
        "{} calls with a refused token",
        fake.request_count() - calls
    );

    std::fs::write(&token_file, "token-two\n").unwrap();
    let ok = c
        .until_match("feed_status ok", |v| {
            v["event"] == "feed_status" && v["state"] == "ok"
        })
        .await;
    assert_eq!(ok["topic"], "indices");
    assert!(ok["last_success"].is_i64());
    let update = c.until("indices_update").await;
    assert!(update["seq"].as_u64().unwrap() > seq);
    let last = fake.requests().last().cloned().unwrap();
    assert_eq!(last.authorization.as_deref(), Some("Bearer token-two"));
    server.stop().await;
}
