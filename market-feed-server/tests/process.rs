//! The server as a user runs it: a real process on an ephemeral port, driven over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{ServerProcess, run_to_exit, ws::Client};

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
        &["--slow-consumer-timeout", "0s"][..],
        &["--heartbeat-interval", "often"][..],
        &["--max-connections", "many"][..],
        &["--source", "upstox"][..],
        &["--auth-token", ""][..],
        &["--auth-token", "ok", "--auth-token", " "][..],
        &["--max-connections", "0"][..],
        &["--max-connections", "18446744073709551615"][..],
        &["--max-http-connections", "0"][..],
        &["--header-timeout", "never"][..],
    ] {
        let (code, _, stderr) = run_to_exit(args).await;
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(args[0]), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn an_empty_token_variable_exits_2_and_auth_is_logged_without_tokens() {
    for value in ["", ",", " , "] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_market-feed-server"))
            .args(["--store", "memory", "--listen", "127.0.0.1:0"])
            .env("MARKET_FEED_AUTH_TOKENS", value)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{value:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("MARKET_FEED_AUTH_TOKENS"), "{stderr}");
    }
    for (args, expected) in [
        (
            &["--store", "memory", "--auth-token", "t0p-s3cret"][..],
            "client auth: on",
        ),
        (&["--store", "memory"][..], "client auth: off"),
    ] {
        let mut server = ServerProcess::start(args).await;
        let mut lines = Vec::new();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while let Some(line) = server.log.recv().await {
                let done = line.contains("client auth");
                lines.push(line);
                if done {
                    return;
                }
            }
        })
        .await;
        drop(server);
        let text = lines.join("\n");
        assert!(!text.contains("t0p-s3cret"), "a token in the log: {text}");
        assert!(text.contains(expected), "{expected} missing from {text}");
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

#[tokio::test]
async fn sigterm_closes_every_websocket_with_1001_then_exits_0() {
    let server = ServerProcess::start(&[
        "--store",
        "memory",
        "--clock",
        "at:2026-01-29T10:00:00+05:30",
    ])
    .await;
    let url = format!("ws://{}/ws", server.addr);
    let mut clients = Vec::new();
    for _ in 0..3 {
        let (mut c, _) = Client::connect_welcomed(&url).await;
        c.send(serde_json::json!({"op":"subscribe","topics":["indices"]}))
            .await;
        c.until("snapshot").await;
        clients.push(tokio::spawn(async move { c.closed().await }));
    }
    assert_eq!(server.terminate().await, 0, "SIGTERM is a clean exit");
    for c in clients {
        assert_eq!(c.await.unwrap(), Some(1001));
    }
}

#[tokio::test]
async fn options_come_from_the_environment_and_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    // A Saturday; one connection at most; the command line overrides the file's store.
    std::fs::write(
        &config,
        "clock = \"at:2026-01-31T11:00:00+05:30\"\nmax-connections = 1\nstore = \"sqlite:///nonexistent/dir/x.db\"\n",
    )
    .unwrap();
    let server = ServerProcess::start_with_env(
        Some(dir.path()),
        &["--config", config.to_str().unwrap(), "--store", "memory"],
        &[("MARKET_FEED_AUTH_TOKENS", "tok-a,tok-b")],
    )
    .await;
    let resp = reqwest::get(server.url("/api/v1/market/status"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "tokens from the environment");
    let (status, body) = get_json(&server.url("/api/v1/market/status?token=tok-b")).await;
    assert_eq!(status, 200);
    assert_eq!(body["phase"], "closed", "the clock from the file");
    assert_eq!(body["reason"], "weekend");
    let url = format!("ws://{}/ws?token=tok-a", server.addr);
    let (_first, _) = Client::connect_welcomed(&url).await;
    let refused = Client::try_connect(&url, &[]).await.err().unwrap();
    assert_eq!(refused.status, 503, "max-connections from the file");
    assert_eq!(server.terminate().await, 0);

    // The listen address from its variable.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_market-feed-server"))
        .args(["--store", "memory"])
        .env("MARKET_FEED_LISTEN", &listen)
        .env_remove("UPSTOX_ACCESS_TOKEN")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://{listen}/healthz");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(&url).await {
            assert_eq!(r.status(), 200);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not listening on {listen}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    drop(out);
}

#[tokio::test]
async fn a_bad_config_file_exits_2_naming_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "prices-interval = \"soon\"\n").unwrap();
    let (code, _, stderr) = run_to_exit(&["--config", config.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("prices-interval"), "{stderr}");
    std::fs::write(&config, "colour = \"blue\"\n").unwrap();
    let (code, _, stderr) = run_to_exit(&["--config", config.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("bad.toml") && stderr.contains("colour"),
        "{stderr}"
    );
}

/// `--demo` plays the recorded day as a stream: every index ticks, the stocks in turns, so
/// each `prices_batch` carries only the stocks that changed since the one before, while the
/// snapshot has them all.
#[tokio::test]
async fn the_demo_streams_the_recorded_day_as_coalesced_changes() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start_in(
        Some(dir.path()),
        &["--demo", "--clock", "at:2026-01-29T11:00:00+05:30"],
    )
    .await;
    assert!(
        server
            .startup_log
            .iter()
            .any(|l| l.contains("replay-stream") && l.contains("played as a stream")),
        "the log says what plays: {:?}",
        server.startup_log
    );
    let (mut client, _) = Client::connect_welcomed(&format!("ws://{}/ws", server.addr)).await;
    client
        .send(serde_json::json!({"op": "subscribe", "topics": ["indices", "prices"]}))
        .await;
    let snapshot = client
        .until_match("a prices snapshot", |v| {
            v["event"] == "snapshot" && v["topic"] == "prices"
        })
        .await;
    const RECORDED: usize = 1402;
    let mut last_seq = snapshot["seq"].as_u64().unwrap();
    let mut sizes = Vec::new();
    let mut seen = std::collections::HashSet::new();
    while sizes.len() < 6 {
        let batch = client.until("prices_batch").await;
        let seq = batch["seq"].as_u64().unwrap();
        assert!(seq > last_seq, "seq {seq} after {last_seq}");
        last_seq = seq;
        let data = batch["data"].as_array().unwrap();
        sizes.push(data.len());
        seen.extend(
            data.iter()
                .map(|q| q["symbol"].as_str().unwrap().to_owned()),
        );
    }
    // The start-up poll, when it runs before the stream is up, publishes every stock once (one
    // full batch at most); from then on the polls wait and each batch carries only what changed.
    assert!(
        sizes.iter().all(|&n| n > 0) && sizes.iter().filter(|&&n| n >= RECORDED).count() <= 1,
        "each batch carries only what changed: {sizes:?} of {RECORDED}"
    );
    // A stock whose price did not move between two flushes is not in a batch (on this 1x
    // clock many do not), so not every stock shows up; but the turns rotate: the batches
    // together carry more stocks than one turn (a quarter) holds.
    assert!(
        seen.len() > RECORDED / 4,
        "the stocks tick in turns: {} distinct in {sizes:?}",
        seen.len()
    );
    let indices = client.until("indices_update").await;
    assert!(!indices["data"].as_array().unwrap().is_empty());
    assert_eq!(server.terminate().await, 0);
}
