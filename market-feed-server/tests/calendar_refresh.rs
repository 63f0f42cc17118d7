//! The broker's holiday list drives the real server (fake Upstox, shifted and scaled clocks):
//! a holiday only the broker knows closes the market with zero quote calls; a weekend session
//! only the broker knows is polled and closed; the broker wins over the bundled calendar and
//! the difference is logged; a restart without the network uses the stored copy; the daily
//! 08:00 IST refresh picks up a newly announced holiday; an uncovered year is loud.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use market_feed::{
    testing::{FakeUpstox, holiday_closed, special_session},
    universe::Universe,
};
use serde_json::Value;
use support::{
    ServerProcess,
    inproc::{TestServer, eventually},
    ws::Client,
};
use time::{
    OffsetDateTime,
    macros::{date, datetime, time},
};

async fn fake_with_universe() -> FakeUpstox {
    FakeUpstox::with_universe(&Universe::bundled())
        .await
        .unwrap()
}

async fn closing_status(server: &TestServer, day: &str) -> u16 {
    reqwest::get(server.url(&format!("/api/v1/closing/{day}?topic=prices")))
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn wait_clock(server: &TestServer, until: OffsetDateTime) {
    let clock = server.state.clock().clone();
    eventually(Duration::from_secs(30), "the clock", || {
        (clock.now() >= until).then_some(())
    })
    .await;
}

async fn wait_closing(server: &TestServer, day: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while closing_status(server, day).await != 200 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no end-of-day snapshot for {day}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn metric(url: &str, name: &str) -> i64 {
    let text = reqwest::get(url).await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holiday_only_the_broker_knows_closes_the_market_with_no_quote_calls() {
    let fake = fake_with_universe().await;
    // Monday 2027-01-25 is a weekday no bundled list knows as a holiday.
    fake.set_holidays(vec![
        holiday_closed(date!(2027 - 01 - 25), "Broker-only holiday"),
        holiday_closed(date!(2027 - 01 - 26), "Republic Day"),
    ]);
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
            "at:2027-01-25T09:11:00+05:30x300",
            "--indices-interval",
            "30s",
            "--prices-interval",
            "60s",
        ],
        Some("fake-token"),
    )
    .await;
    assert_eq!(fake.holiday_requests(), 1, "one fetch at start-up");
    let (_c, welcome) = Client::connect_welcomed(&server.ws_url()).await;
    assert_eq!(welcome["market"]["phase"], "closed");
    assert_eq!(welcome["market"]["live"], false);
    assert_eq!(welcome["market"]["reason"], "holiday: Broker-only holiday");
    assert_eq!(welcome["market"]["trading_day"], "2027-01-27");
    // The start-up catch-up of Friday's close is the only broker call allowed.
    wait_closing(&server, "2027-01-22").await;
    let calls = fake.request_count();
    wait_clock(&server, datetime!(2027-01-25 09:45 +05:30)).await;
    assert_eq!(fake.request_count(), calls, "no quote call on the holiday");
    assert_eq!(
        closing_status(&server, "2027-01-25").await,
        404,
        "no close stored"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weekend_session_only_the_broker_knows_is_polled_and_closed() {
    let fake = fake_with_universe().await;
    // Saturday 2027-02-06, 10:00-10:05 IST: pre-open 09:45, window 09:58, close + 1 min 10:06.
    fake.set_holidays(vec![special_session(
        date!(2027 - 02 - 06),
        "Special DR Trading",
        time!(10:00),
        time!(10:05),
    )]);
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
            "at:2027-02-06T09:56:00+05:30x120",
            "--indices-interval",
            "30s",
            "--prices-interval",
            "60s",
        ],
        Some("fake-token"),
    )
    .await;
    let (mut c, welcome) = Client::connect_welcomed(&server.ws_url()).await;
    assert_eq!(welcome["market"]["phase"], "pre_open");
    assert_eq!(welcome["market"]["trading_day"], "2027-02-06");
    let live = c
        .until_match("the window opening", |v| {
            v["event"] == "market_status" && v["live"] == true
        })
        .await;
    assert_eq!(live["trading_day"], "2027-02-06");
    let before = fake.request_count();
    wait_clock(&server, datetime!(2027-02-06 10:02 +05:30)).await;
    assert!(
        fake.request_count() > before,
        "prices are polled in the session"
    );
    wait_closing(&server, "2027-02-06").await;
    assert!(server.state.clock().now() >= datetime!(2027-02-06 10:06 +05:30));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_wins_over_the_bundled_calendar_and_the_difference_is_logged() {
    let fake = FakeUpstox::start().await.unwrap();
    // The broker has Holi on Tuesday 23 March, not on the provisional Monday 22 March.
    fake.set_holidays(vec![
        holiday_closed(date!(2027 - 01 - 26), "Republic Day"),
        holiday_closed(date!(2027 - 03 - 23), "Holi"),
    ]);
    let base = fake.base_url();
    // A simulated source with --calendar-refresh on: the list only needs the URL.
    let server = ServerProcess::start(&[
        "--source",
        "simulated",
        "--calendar-refresh",
        "on",
        "--upstox-base-url",
        &base,
        "--store",
        "memory",
        "--clock",
        "at:2027-03-22T10:00:00+05:30",
    ])
    .await;
    let log = server.startup_log.join("\n");
    assert!(
        log.contains(r#"2027-03-22: calendar: holiday "Holi" (provisional); broker: trading day"#),
        "{log}"
    );
    assert!(
        log.contains(r#"2027-03-23: calendar: trading day; broker: holiday "Holi""#),
        "{log}"
    );
    assert_eq!(
        log.matches("2027-03-22: calendar:").count(),
        1,
        "logged once"
    );
    let (_c, welcome) = Client::connect_welcomed(&format!("ws://{}/ws", server.addr)).await;
    assert_eq!(welcome["market"]["phase"], "open");
    assert_eq!(
        metric(
            &server.url("/metrics"),
            "market_feed_calendar_confirmed_until"
        )
        .await,
        20271231
    );
    assert_eq!(
        fake.request_count(),
        0,
        "a simulated source makes no quote call"
    );
    assert_eq!(server.terminate().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_without_the_broker_uses_the_stored_copy() {
    let fake = FakeUpstox::start().await.unwrap();
    fake.set_holidays(vec![holiday_closed(
        date!(2027 - 01 - 25),
        "Stored holiday",
    )]);
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("feed.db").display());
    let args = |base: &str| {
        [
            "--source",
            "simulated",
            "--calendar-refresh",
            "on",
            "--upstox-base-url",
            base,
            "--store",
            &store,
            "--clock",
            "at:2027-01-20T20:00:00+05:30",
        ]
        .map(str::to_owned)
    };
    let first = args(&fake.base_url());
    let server = TestServer::start(&first.each_ref().map(String::as_str)).await;
    let calendar = server.state.clock().calendar();
    assert_eq!(
        calendar.holiday_name(date!(2027 - 01 - 25)),
        Some("Stored holiday")
    );
    server.stop().await;
    drop(fake);

    // The broker is unreachable now: the stored copy still knows the holiday.
    let second = args("http://127.0.0.1:9");
    let server = TestServer::start(&second.each_ref().map(String::as_str)).await;
    let calendar = server.state.clock().calendar();
    assert_eq!(
        calendar.holiday_name(date!(2027 - 01 - 25)),
        Some("Stored holiday")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_refresh_at_08_00_ist_picks_up_a_newly_announced_holiday() {
    let fake = FakeUpstox::start().await.unwrap();
    let base = fake.base_url();
    let server = TestServer::start(&[
        "--source",
        "simulated",
        "--calendar-refresh",
        "on",
        "--upstox-base-url",
        &base,
        "--store",
        "memory",
        "--clock",
        "at:2027-01-25T07:58:00+05:30x60",
    ])
    .await;
    let (mut c, welcome) = Client::connect_welcomed(&server.ws_url()).await;
    assert_eq!(welcome["market"]["reason"], "before_hours");
    assert_eq!(welcome["market"]["trading_day"], "2027-01-25");
    assert_eq!(fake.holiday_requests(), 1);
    // Announced overnight: the 08:00 refresh learns it and the status changes at once.
    fake.set_holidays(vec![
        holiday_closed(date!(2027 - 01 - 25), "Announced late"),
        holiday_closed(date!(2027 - 01 - 26), "Republic Day"),
    ]);
    let status: Value = c
        .until_match("the holiday's market_status", |v| {
            v["event"] == "market_status" && v["reason"] == "holiday: Announced late"
        })
        .await;
    assert_eq!(status["trading_day"], "2027-01-27");
    assert_eq!(fake.holiday_requests(), 2);
    assert!(server.state.clock().now() >= datetime!(2027-01-25 08:00 +05:30));
    // No service window opens that day: the next one is Wednesday's.
    let clock = server.state.clock();
    assert_eq!(
        clock.window_at_or_after(clock.now()).trading_day,
        date!(2027 - 01 - 27)
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uncovered_year_is_loud_at_start_up_and_in_metrics() {
    let server = ServerProcess::start(&[
        "--source",
        "simulated",
        "--store",
        "memory",
        "--clock",
        "at:2028-01-04T10:00:00+05:30",
    ])
    .await;
    let log = server.startup_log.join("\n");
    let warn = server
        .startup_log
        .iter()
        .find(|l| l.contains("does not cover 2028"))
        .unwrap_or_else(|| panic!("no coverage warning in\n{log}"));
    assert!(warn.contains("WARN"), "{warn}");
    assert!(
        warn.contains("--calendar-refresh on") && warn.contains("--calendar FILE"),
        "{warn}"
    );
    assert_eq!(
        metric(
            &server.url("/metrics"),
            "market_feed_calendar_covered_until"
        )
        .await,
        0
    );
    assert_eq!(server.terminate().await, 0);
}
