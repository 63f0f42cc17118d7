//! The server as a user runs it: a real process on an ephemeral port, driven over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{run_to_exit, ServerProcess};

async fn get_json(url: &str) -> (u16, serde_json::Value) {
    let resp = reqwest::get(url).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn market_status_is_open_and_live_on_a_trading_morning() {
    let server = ServerProcess::start(&[
        "--store",
        "memory",
        "--clock",
        "at:2026-01-29T10:00:00+05:30",
    ])
    .await;
    let (status, body) = get_json(&server.url("/api/v1/market/status")).await;
    assert_eq!(status, 200);
    assert_eq!(body["phase"], "open");
    assert_eq!(body["live"], true);
    assert_eq!(body["exchange"], "NSE");
    assert_eq!(body["trading_day"], "2026-01-29");
    assert_eq!(body["next_phase"], "post_close");
    assert!(body["reason"].is_null());
    let (status, _) = get_json(&server.url("/healthz")).await;
    assert_eq!(status, 200);
    assert_eq!(server.terminate().await, 0, "SIGTERM is a clean exit");
}

#[tokio::test]
async fn every_2026_holiday_is_closed_with_its_name() {
    // One process per holiday would be slow; the clock is exercised per holiday in the library's
    // tests. Here: two holidays through the real binary, one of them an added-late holiday.
    for (at, name) in [
        ("at:2026-01-26T11:00:00+05:30", "Republic Day"),
        (
            "at:2026-01-15T11:00:00+05:30",
            "Municipal Corporation Elections, Maharashtra",
        ),
    ] {
        let server = ServerProcess::start(&["--store", "memory", "--clock", at]).await;
        let (_, body) = get_json(&server.url("/api/v1/market/status")).await;
        assert_eq!(body["phase"], "closed");
        assert_eq!(body["live"], false);
        assert_eq!(body["reason"], format!("holiday: {name}"));
        assert_eq!(server.terminate().await, 0);
    }
}

#[tokio::test]
async fn a_user_calendar_extends_the_bundled_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("extra.toml");
    std::fs::write(
        &path,
        "extends = \"bundled\"\n[[special_session]]\ndate = \"2026-11-08\"\nname = \"Muhurat trading\"\npre_open = \"13:30\"\nopen = \"13:45\"\nclose = \"14:45\"\n",
    )
    .unwrap();
    let server = ServerProcess::start(&[
        "--store",
        "memory",
        "--clock",
        "at:2026-11-08T14:00:00+05:30",
        "--calendar",
        path.to_str().unwrap(),
    ])
    .await;
    let (_, body) = get_json(&server.url("/api/v1/market/status")).await;
    assert_eq!(body["phase"], "open");
    assert_eq!(body["live"], true);
    assert_eq!(server.terminate().await, 0);
}

#[tokio::test]
async fn bad_options_exit_2_with_one_line() {
    for args in [
        &["--clock", "tomorrow"][..],
        &["--listen", "not-an-address"][..],
        &["--calendar", "/nonexistent/calendar.toml"][..],
        &["--frobnicate"][..],
    ] {
        let (code, _, stderr) = run_to_exit(args).await;
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(args[0]), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn help_lists_every_option_and_exits_0() {
    let (code, stdout, _) = run_to_exit(&["--help"]).await;
    assert_eq!(code, 0);
    for opt in ["--listen", "--clock", "--calendar", "--log-format"] {
        assert!(stdout.contains(opt), "{opt} missing from --help");
    }
}
