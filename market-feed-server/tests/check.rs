//! `market-feed-server check` as an operator runs it, against a fake Upstox that behaves like
//! the real one (docs/protocol.md §7): exit 0 when every instrument is answered, 1 with lines that
//! say what is wrong, 2 for a bad option; the token is never printed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use market_feed::{testing::FakeUpstox, universe::Universe};
use support::run_to_exit;

const TOKEN: &str = "eyJ0eXAiOiJKV1Qi.check-test-token";

struct Setup {
    fake: FakeUpstox,
    _dir: tempfile::TempDir,
    token_file: String,
}

async fn setup(token_in_file: &str) -> Setup {
    let fake = FakeUpstox::with_universe(&Universe::bundled())
        .await
        .unwrap();
    fake.require_token(TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upstox.token");
    std::fs::write(&path, format!("{token_in_file}\n")).unwrap();
    Setup {
        fake,
        token_file: path.to_str().unwrap().to_owned(),
        _dir: dir,
    }
}

async fn check(s: &Setup, extra: &[&str]) -> (i32, String, String) {
    check_source(s, "upstox", extra).await
}

async fn check_source(s: &Setup, source: &str, extra: &[&str]) -> (i32, String, String) {
    let base = s.fake.base_url();
    let mut args = vec![
        "check",
        "--source",
        source,
        "--upstox-base-url",
        &base,
        "--upstox-token-file",
        &s.token_file,
        "--store",
        "memory",
    ];
    if !extra.contains(&"--clock") {
        // A Saturday night: the check calls the broker at any hour.
        args.extend_from_slice(&["--clock", "at:2026-01-31T23:00:00+05:30"]);
    }
    args.extend_from_slice(extra);
    run_to_exit(&args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_good_is_exit_0_with_one_line_per_finding() {
    let s = setup(TOKEN).await;
    let (code, out, err) = check(&s, &[]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let u = Universe::bundled();
    assert!(
        out.contains("ok: Upstox accepted the access token"),
        "{out}"
    );
    assert!(
        out.contains("ok: indices: 9 of 9 instruments answered"),
        "{out}"
    );
    let prices = u.prices().len();
    assert!(
        out.contains(&format!(
            "ok: prices: {prices} of {prices} instruments answered"
        )),
        "{out}"
    );
    assert!(out.contains("market now: closed"), "{out}");
    assert!(!out.contains("problem:"), "{out}");
    assert!(!out.contains(TOKEN) && !err.contains(TOKEN));
    // One full refresh of both topics: ceil(N/500) stock requests and one for the indices.
    assert_eq!(s.fake.request_count(), prices.div_ceil(500) + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_source_also_checks_the_authorize_call_without_opening_the_socket() {
    let s = setup(TOKEN).await;
    let feed = s.fake.start_feed().await.unwrap();
    let (code, out, err) = check_source(&s, "upstox-stream", &[]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("ok: market data feed: the authorize call answered a one-use WebSocket URL"),
        "{out}"
    );
    assert!(
        out.contains("ok: Upstox accepted the access token"),
        "{out}"
    );
    assert_eq!((feed.authorizations(), feed.handshakes()), (1, 0));

    feed.fail_authorize([503]);
    let (code, out, _) = check_source(&s, "upstox-stream", &[]).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("problem: market data feed: the authorize call failed"),
        "{out}"
    );
    assert!(
        !out.contains("ws://"),
        "the one-use URL is never printed: {out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_keys_are_exit_1_and_named_by_symbol() {
    let s = setup(TOKEN).await;
    let u = Universe::bundled();
    let gone = &u.prices()[42];
    s.fake.remove(gone.key.as_str());
    let (code, out, err) = check(&s, &[]).await;
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains(&format!(
            "problem: {} ({}): unknown to the broker",
            gone.symbol, gone.key
        )),
        "{out}"
    );
    let prices = u.prices().len();
    assert!(
        out.contains(&format!(
            "problem: prices: {} of {prices} instruments answered",
            prices - 1
        )),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_exit_1_and_never_printed() {
    let refused = "eyJ0eXAiOiJKV1Qi.expired-token-value";
    let s = setup(refused).await;
    let (code, out, err) = check(&s, &[]).await;
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("problem: Upstox refused the access token"),
        "{out}"
    );
    assert!(out.contains("UDAPI100050"), "{out}");
    assert!(
        !out.contains(refused) && !err.contains(refused),
        "{out}\n{err}"
    );
    assert!(!out.contains("expired-token-value") && !err.contains("expired-token-value"));
    // The refused token is sent once, not once per topic.
    assert_eq!(s.fake.request_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_option_is_exit_2_naming_it() {
    let s = setup(TOKEN).await;
    let (code, out, err) = check(&s, &["--prices-interval", "soon"]).await;
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("--prices-interval"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(s.fake.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_left_out_or_without_a_price_are_exit_1_as_no_price() {
    let s = setup(TOKEN).await;
    // The other behaviour a broker may have: unknown keys silently left out of the answer.
    s.fake.unknown_keys(market_feed::testing::UnknownKeys::Omit);
    let u = Universe::bundled();
    let (left_out, priceless) = (&u.prices()[7], &u.prices()[8]);
    s.fake.remove(left_out.key.as_str());
    s.fake.without_price(priceless.key.as_str());
    let (code, out, err) = check(&s, &[]).await;
    assert_eq!(code, 1, "{out}\n{err}");
    for i in [left_out, priceless] {
        assert!(
            out.contains(&format!("problem: {} ({}): no price", i.symbol, i.key)),
            "{out}"
        );
    }
    // Nothing to split: one full refresh of both topics.
    assert_eq!(s.fake.request_count(), u.prices().len().div_ceil(500) + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_calendar_is_read_from_the_broker_and_its_coverage_and_next_holidays_shown() {
    let s = setup(TOKEN).await;
    // A holiday only the broker knows, two weeks after the check's clock.
    s.fake
        .set_holidays(vec![market_feed::testing::holiday_closed(
            time::macros::date!(2026 - 02 - 13),
            "Broker-only Holiday",
        )]);
    let (code, out, err) = check(&s, &[]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("ok: calendar: the broker's holiday list answered (1 entries)"),
        "{out}"
    );
    assert!(
        out.contains(
            "ok: calendar: next NSE holidays: 2026-02-13 Broker-only Holiday, 2026-03-03 Holi"
        ),
        "{out}"
    );
    assert_eq!(s.fake.holiday_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_holiday_list_is_a_warning_not_a_failure() {
    let s = setup(TOKEN).await;
    s.fake
        .holiday_reply(market_feed::testing::HolidayReply::Html(503));
    let (code, out, err) = check(&s, &[]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("warn: calendar: cannot read the broker's holiday list"),
        "{out}"
    );
    assert!(!out.contains(TOKEN) && !err.contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_current_year_no_calendar_covers_is_a_problem_that_says_what_to_do() {
    let s = setup(TOKEN).await;
    let (code, out, err) = check(
        &s,
        &[
            "--calendar-refresh",
            "off",
            "--clock",
            "at:2029-03-01T08:30:00+05:30",
        ],
    )
    .await;
    assert_eq!(code, 1, "{out}\n{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("problem: calendar:"))
        .unwrap_or_else(|| panic!("no calendar problem line in\n{out}"));
    assert!(line.contains("2029"), "{line}");
    assert_eq!(s.fake.holiday_requests(), 0);
}
