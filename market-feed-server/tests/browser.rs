//! The dashboard in a real browser: the server in demo mode, headless Chromium driven over
//! WebDriver, and assertions on what a user sees (index values move, LIVE shows while the market
//! is live, search filters the stock table, and Chromium negotiates permessage-deflate and gets
//! the same stocks in compressed snapshots). A screenshot is saved to
//! `target/test-artifacts/dashboard.png` (and `dashboard-failure.png` when an assertion fails).
//!
//! Why WebDriver through `fantoccini` and Debian's `chromedriver`, not CDP (`chromiumoxide`):
//! WebDriver is the W3C standard the browser vendor maintains a driver for, chromedriver comes in
//! the same Debian package set as Chromium (so their versions always match), and fantoccini is a
//! small client with no TLS needed on loopback (we give it hyper-util's plain `HttpConnector`), while
//! chromiumoxide pulls in a generated CDP binding of several hundred thousand lines.
//!
//! Availability (like the PostgreSQL suite): without `/usr/bin/chromium` or `chromedriver` the
//! test says so on stderr and passes, unless `MARKET_FEED_REQUIRE_BROWSER=1` (set by `.ci/run`),
//! which turns the missing browser into a failure.
//!
//! `MARKET_FEED_BROWSER_TEST_URL=http://host:port/` points the test at a server that is already
//! running (a stand-in, a staging deployment, one started by hand with `--demo`) instead of
//! starting the binary; the same assertions apply.
//!
//! The browser runs on its own clock, so this test cannot use tokio's paused time: it polls the
//! page with a deadline for each expectation (no fixed sleeps decide an outcome).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/browser.rs"]
mod browser_support;
mod support;

use std::time::Duration;

use browser_support::{
    Driver, browser_required_or_skip, index_values, save_screenshot, session, table_rows, wait_for,
};
use fantoccini::{Client, Locator};
use support::ServerProcess;

/// Chromium offers permessage-deflate on its own: a socket opened from the page negotiates it
/// (as the dashboard's own socket does), and the compressed snapshots it receives hold every
/// stock the table shows.
async fn deflate_negotiated_with_the_same_data(
    c: &Client,
    rows: &[(String, String)],
) -> Result<(), String> {
    let script = r#"
        const done = arguments[arguments.length - 1];
        const url = new URL('ws', location.href);
        url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
        url.search = '';
        const token = new URLSearchParams(location.search).get('token');
        if (token) url.searchParams.set('token', token);
        const ws = new WebSocket(url.href);
        const out = {extensions: null, indices: null, prices: null};
        ws.onopen = () => {
          out.extensions = ws.extensions;
          ws.send(JSON.stringify({op: 'subscribe', topics: ['indices', 'prices']}));
        };
        ws.onmessage = (ev) => {
          const m = JSON.parse(ev.data);
          if (m.event !== 'snapshot') return;
          out[m.topic] = m.data.map((q) => q.symbol);
          if (out.indices && out.prices) { ws.close(); done(out); }
        };
        ws.onerror = () => done({error: 'the socket failed'});
    "#;
    let probe = c
        .execute_async(script, vec![])
        .await
        .map_err(|e| format!("the deflate probe failed: {e}"))?;
    let extensions = probe["extensions"].as_str().unwrap_or_default();
    if !extensions.contains("permessage-deflate") {
        return Err(format!(
            "Chromium did not negotiate permessage-deflate: extensions {extensions:?}, probe {probe}"
        ));
    }
    let prices: Vec<&str> = probe["prices"]
        .as_array()
        .map(|a| a.iter().filter_map(serde_json::Value::as_str).collect())
        .unwrap_or_default();
    let indices = probe["indices"].as_array().map_or(0, Vec::len);
    if indices == 0 || prices.len() < rows.len() {
        return Err(format!(
            "the compressed snapshots hold {indices} indices and {} stocks, the table {} rows",
            prices.len(),
            rows.len()
        ));
    }
    if let Some((missing, _)) = rows.iter().find(|(s, _)| !prices.contains(&s.as_str())) {
        return Err(format!(
            "the table shows {missing}, absent from the compressed snapshot"
        ));
    }
    Ok(())
}

/// The dashboard's socket drops (closed under it, as a tunnel or a flaky Wi-Fi would): it
/// reconnects and resumes (`resume` with the epoch and last `seq` it saw), and the server replays
/// the missed batches instead of sending the indices' snapshot again.
async fn resumes_after_a_dropped_socket(c: &Client) -> Result<(), String> {
    // Record what the page sends and what its next socket receives, and catch the socket.
    browser_support::js(
        c,
        r#"
        const mf = window.__mf = {sent: [], got: [], sock: null};
        const send = WebSocket.prototype.send;
        WebSocket.prototype.send = function (d) { mf.sock = this; mf.sent.push(String(d)); return send.call(this, d); };
        const on = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage');
        Object.defineProperty(WebSocket.prototype, 'onmessage', {
          configurable: true,
          get: on.get,
          set(fn) {
            on.set.call(this, (ev) => {
              try { const m = JSON.parse(ev.data); mf.got.push({event: m.event, topic: m.topic || null, seq: m.seq}); } catch (e) {}
              return fn(ev);
            });
          },
        });
        return true;
        "#,
    )
    .await?;
    // The dashboard pings every 15 s: its next send hands us the socket.
    wait_for(
        "the dashboard's socket to send (a ping)",
        Duration::from_secs(25),
        || async {
            let v = browser_support::js(c, "return window.__mf.sock !== null;").await?;
            Ok((v.as_bool() == Some(true)).then_some(()))
        },
    )
    .await?;
    browser_support::js(
        c,
        "window.__mf.sent = []; window.__mf.sock.close(); return true;",
    )
    .await?;
    let resume = wait_for(
        "a subscribe with resume after the reconnect",
        Duration::from_secs(20),
        || async {
            let v = browser_support::js(
                c,
                "return window.__mf.sent.map(JSON.parse).find((m) => m.op === 'subscribe' && m.resume && m.resume.indices) || null;",
            )
            .await?;
            Ok((!v.is_null()).then_some(v))
        },
    )
    .await?;
    let from = resume["resume"]["indices"]["seq"]
        .as_u64()
        .ok_or_else(|| format!("resume without a seq: {resume}"))?;
    if resume["resume"]["indices"]["epoch"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        return Err(format!("resume without an epoch: {resume}"));
    }
    let got = wait_for(
        "index batches on the new socket",
        Duration::from_secs(20),
        || async {
            let v = browser_support::js(
                c,
                "const g = window.__mf.got; return g.filter((m) => m.event === 'indices_update').length >= 2 ? g : null;",
            )
            .await?;
            Ok((!v.is_null()).then_some(v))
        },
    )
    .await?;
    let got = got.as_array().cloned().unwrap_or_default();
    if got
        .iter()
        .any(|m| m["event"] == "snapshot" && m["topic"] == "indices")
    {
        return Err(format!(
            "the indices were snapshotted again instead of resumed: {got:?}"
        ));
    }
    let seqs: Vec<u64> = got
        .iter()
        .filter(|m| m["event"] == "indices_update")
        .filter_map(|m| m["seq"].as_u64())
        .collect();
    // The replayed batches continue right after the resumed seq, in order.
    if seqs.first() != Some(&(from + 1)) || seqs.windows(2).any(|w| w[1] != w[0] + 1) {
        return Err(format!(
            "after resuming from seq {from} the page got {seqs:?}"
        ));
    }
    Ok(())
}

/// The assertions, in the order a user would notice them. Returns a message on failure.
async fn check_dashboard(c: &Client, url: &str) -> Result<(), String> {
    c.goto(url)
        .await
        .map_err(|e| format!("cannot open {url}: {e}"))?;

    // The demo says what it plays.
    wait_for(
        "the page to say it replays 2026-01-29",
        Duration::from_secs(10),
        || async {
            let v = browser_support::js(
                c,
                "const e = document.querySelector('[data-testid=\"replay\"]'); return e && !e.hidden ? e.textContent : '';",
            )
            .await?;
            Ok(v.as_str()
                .filter(|t| t.starts_with("Replay of Thu 29 Jan 2026"))
                .map(|_| ()))
        },
    )
    .await?;

    // The socket connects and the page says so.
    let conn = c
        .find(Locator::Css("[data-testid=\"conn-status\"]"))
        .await
        .map_err(|e| format!("no conn-status element: {e}"))?;
    wait_for(
        "conn-status to read \"connected\"",
        Duration::from_secs(20),
        || async { Ok(conn.text().await.ok().filter(|t| t == "connected")) },
    )
    .await?;

    // (b) LIVE shows while market_status.live is true: demo mode starts just before the session.
    let badge = c
        .find(Locator::Css("[data-testid=\"live-badge\"]"))
        .await
        .map_err(|e| format!("no live-badge element: {e}"))?;
    wait_for(
        "the LIVE badge to show",
        Duration::from_secs(60),
        || async { Ok(badge.is_displayed().await.ok().filter(|shown| *shown)) },
    )
    .await?;
    let phase = c
        .find(Locator::Css("[data-testid=\"phase\"]"))
        .await
        .map_err(|e| format!("no phase element: {e}"))?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    if phase.is_empty() {
        return Err("the market phase is not shown while live".into());
    }

    // (a) Index values change: 60x clock, indices every 5 s of clock time.
    let first = wait_for(
        "index values to appear",
        Duration::from_secs(30),
        || async {
            let v = index_values(c).await?;
            Ok((!v.is_empty() && v.iter().all(|t| !t.is_empty() && t != "—")).then_some(v))
        },
    )
    .await?;
    wait_for(
        "an index value to change",
        Duration::from_secs(30),
        || async {
            let v = index_values(c).await?;
            Ok((v.len() == first.len() && v != first).then_some(()))
        },
    )
    .await?;
    if !badge.is_displayed().await.unwrap_or(false) {
        return Err("the LIVE badge disappeared while index values were updating".into());
    }
    // Live values are not labelled as the previous day's closes (the page opened before the
    // session, on the closes of Wed 28 Jan).
    wait_for(
        "the indices note to stop saying \"Closing prices\" while live",
        Duration::from_secs(10),
        || async {
            let v = browser_support::js(
                c,
                "return document.getElementById('indices-note').textContent;",
            )
            .await?;
            Ok((v.as_str() == Some("")).then_some(()))
        },
    )
    .await?;
    let last = c
        .find(Locator::Css("[data-testid=\"last-update\"]"))
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    if !last.contains("IST") {
        return Err(format!(
            "the last update time is not shown in IST: {last:?}"
        ));
    }

    // The full table, for the artifact.
    let before = wait_for(
        "stock rows with prices",
        Duration::from_secs(30),
        || async {
            let rows = table_rows(c).await?;
            Ok((rows.len() >= 2).then_some(rows))
        },
    )
    .await?;
    save_screenshot(c, "dashboard.png").await;
    deflate_negotiated_with_the_same_data(c, &before).await?;
    resumes_after_a_dropped_socket(c).await?;

    // (c) Typing a symbol prefix filters the rows to matching ones.
    let symbol = &before[0].0;
    let prefix: String = symbol.chars().take(3).collect();
    let needle = prefix.to_uppercase();
    let matching = |sym: &str, text: &str| {
        sym.to_uppercase().contains(&needle) || text.to_uppercase().contains(&needle)
    };
    // Only a table with rows that do not match can show that the search filters.
    if before.iter().all(|(s, t)| matching(s, t)) {
        return Err(format!(
            "every row already matches {prefix:?}: nothing to filter"
        ));
    }
    let search = c
        .find(Locator::Css("[data-testid=\"search\"]"))
        .await
        .map_err(|e| format!("no search input: {e}"))?;
    search
        .send_keys(&prefix)
        .await
        .map_err(|e| format!("cannot type into search: {e}"))?;
    let after = wait_for(
        &format!("the table to show only rows matching {prefix:?}"),
        Duration::from_secs(10),
        || async {
            let rows = table_rows(c).await?;
            let all_match = rows.iter().all(|(sym, text)| matching(sym, text));
            Ok((all_match && !rows.is_empty()).then_some(rows))
        },
    )
    .await?;
    if !after.iter().any(|(s, _)| s == symbol) {
        return Err(format!(
            "searching {prefix:?} lost the row {symbol} it was taken from"
        ));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_shows_live_indices_and_filters_stocks() {
    if !browser_required_or_skip() {
        return;
    }

    // The server under test: one given by URL, else the real binary in demo mode, run in a
    // temporary directory so its default store file does not land in the source tree.
    let workdir = tempfile::tempdir().unwrap();
    let (server, url) = match std::env::var("MARKET_FEED_BROWSER_TEST_URL") {
        Ok(url) if !url.is_empty() => (None, url),
        _ => {
            let s = ServerProcess::start_in(Some(workdir.path()), &["--demo"]).await;
            let url = s.url("/");
            (Some(s), url)
        }
    };

    let driver = Driver::start().await;
    let profile = tempfile::tempdir().unwrap();
    let client = session(&driver, profile.path()).await;

    let outcome = check_dashboard(&client, &url).await;
    if outcome.is_err() {
        save_screenshot(&client, "dashboard-failure.png").await;
    }
    let _ = client.close().await;
    drop(driver);
    if let Some(server) = server {
        assert_eq!(server.terminate().await, 0, "the server exits cleanly");
    }
    if let Err(message) = outcome {
        panic!("{message} (screenshot: target/test-artifacts/dashboard-failure.png)");
    }
}
