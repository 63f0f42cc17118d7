//! The dashboard's fixes from a user trial, each seen in headless Chromium at 1280×900 against
//! the real binary on the simulated source (nine indices, a 60x clock at 11:00 IST):
//!
//! - nine index cards fit in one row on a laptop screen;
//! - a card is coloured by the sign of the day's change (a tick only flashes its value);
//! - search lists the exact symbol first, then symbol prefixes, then other matches;
//! - the stock table shows no rows (no dashes) until the prices snapshot is applied: the test
//!   holds the snapshot back in the page's WebSocket (a script installed before the page's own,
//!   through chromedriver's DevTools command) and looks at the page while LIVE.
//!
//! Availability as in `browser.rs`: without Chromium the tests say so and return, unless
//! `MARKET_FEED_REQUIRE_BROWSER=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/browser.rs"]
mod browser_support;
mod support;

use std::time::Duration;

use browser_support::{
    Driver, browser_required_or_skip, js, save_screenshot, session, table_rows, wait_for,
};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use support::ServerProcess;

/// The simulated source during the session, nine indices, nothing stored.
const SERVER_ARGS: [&str; 4] = [
    "--clock",
    "at:2026-01-29T11:00:00+05:30x60",
    "--store",
    "memory",
];

/// chromedriver's DevTools pass-through: `POST /session/{id}/goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({"cmd": self.cmd, "params": self.params});
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Wraps the page's WebSocket before any of its scripts run: prices snapshots and batches are
/// held until `window.__releasePrices()` is called, everything else passes at once.
const HOLD_PRICES: &str = r#"(() => {
  const Native = window.WebSocket;
  const held = [];
  window.__holding = true;
  window.__releasePrices = () => { window.__holding = false; for (const f of held.splice(0)) f(); };
  function Wrapped(url, protocols) {
    const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    let handler = null;
    Object.defineProperty(ws, 'onmessage', { set(h) { handler = h; }, get() { return handler; } });
    ws.addEventListener('message', (ev) => {
      const deliver = () => { if (handler) handler(ev); };
      const d = String(ev.data);
      const prices = (d.includes('"event":"snapshot"') && d.includes('"topic":"prices"'))
        || d.includes('"event":"prices_batch"');
      if (window.__holding && prices) held.push(deliver); else deliver();
    });
    return ws;
  }
  Wrapped.prototype = Native.prototype;
  for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) Wrapped[k] = Native[k];
  window.WebSocket = Wrapped;
})();"#;

async fn with_browser<F, Fut>(name: &str, hold_prices: bool, check: F)
where
    F: FnOnce(Client, String) -> Fut,
    Fut: std::future::Future<Output = Result<Client, (Client, String)>>,
{
    if !browser_required_or_skip() {
        return;
    }
    let workdir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start_in(Some(workdir.path()), &SERVER_ARGS).await;
    let url = server.url("/");
    let driver = Driver::start().await;
    let profile = tempfile::tempdir().unwrap();
    let client = session(&driver, profile.path()).await;
    if hold_prices {
        client
            .issue_cmd(Cdp {
                cmd: "Page.addScriptToEvaluateOnNewDocument",
                params: json!({ "source": HOLD_PRICES }),
            })
            .await
            .expect("chromedriver runs the DevTools command");
    }
    let (client, outcome) = match check(client, url).await {
        Ok(c) => (c, Ok(())),
        Err((c, message)) => {
            save_screenshot(&c, &format!("{name}-failure.png")).await;
            (c, Err(message))
        }
    };
    let _ = client.close().await;
    drop(driver);
    assert_eq!(server.terminate().await, 0, "the server exits cleanly");
    if let Err(message) = outcome {
        panic!("{message} (screenshot: target/test-artifacts/{name}-failure.png)");
    }
}

/// Index cards as `[symbol, trend, change % text, background colour, top]`.
const CARDS: &str = "return [...document.querySelectorAll('#indices .index')].map(c => [\
    c.querySelector('.name').textContent, c.dataset.trend || '', \
    c.querySelector('.chg span').textContent, getComputedStyle(c).backgroundColor, \
    Math.round(c.getBoundingClientRect().top)]);";

/// `(r, g)` of a CSS `rgb(...)`/`rgba(...)` colour.
fn red_green(css: &str) -> Option<(f64, f64)> {
    let inner = css.split_once('(')?.1.trim_end_matches(')');
    let mut parts = inner.split(',').map(|p| p.trim().parse::<f64>());
    Some((parts.next()?.ok()?, parts.next()?.ok()?))
}

async fn laptop(c: &Client, url: &str) -> Result<(), String> {
    c.goto(url).await.map_err(|e| e.to_string())?;
    let cards: Vec<(String, String, String, String, i64)> = wait_for(
        "nine index cards with a change, one of them up or down",
        Duration::from_secs(40),
        || async {
            let v: Vec<(String, String, String, String, i64)> =
                serde_json::from_value(js(c, CARDS).await?).unwrap_or_default();
            let ready = v.len() == 9
                && v.iter().all(|card| card.2 != "—")
                && v.iter().any(|card| card.1 != "flat");
            Ok(ready.then_some(v))
        },
    )
    .await?;
    // Nine cards on one row at 1280 px.
    let top = cards[0].4;
    if let Some(card) = cards.iter().find(|card| card.4 != top) {
        return Err(format!("{} wraps onto another row: {cards:?}", card.0));
    }
    // Each card's colour is the sign of its day's change.
    for (symbol, trend, pct, background, _) in &cards {
        let want = if pct.starts_with('+') {
            "up"
        } else if pct.starts_with('−') {
            "down"
        } else {
            "flat"
        };
        if trend != want {
            return Err(format!("{symbol} at {pct} is marked {trend}, not {want}"));
        }
        let (r, g) = red_green(background).ok_or_else(|| format!("colour {background:?}"))?;
        let ok = match want {
            "up" => g > r,
            "down" => r > g,
            _ => true,
        };
        if !ok {
            return Err(format!("{symbol} at {pct} has the background {background}"));
        }
    }
    // Search: the exact symbol first, then prefixes.
    wait_for("stock rows", Duration::from_secs(30), || async {
        Ok((table_rows(c).await?.len() >= 2).then_some(()))
    })
    .await?;
    let search = c
        .find(Locator::Css("[data-testid=\"search\"]"))
        .await
        .map_err(|e| e.to_string())?;
    // The table is sorted by change % (descending): RELIGARE or another stock may be above
    // RELIANCE there, but not in the search results.
    for (query, first) in [("reli", "RELIANCE"), ("tcs", "TCS")] {
        search.clear().await.map_err(|e| e.to_string())?;
        search.send_keys(query).await.map_err(|e| e.to_string())?;
        wait_for(
            &format!("{first} to lead the results for {query:?}"),
            Duration::from_secs(10),
            || async {
                let rows = table_rows(c).await?;
                let symbols: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
                // The exact symbol or the prefix matches first, then the name matches.
                let ok = symbols.first() == Some(&first)
                    && (query != "reli" || symbols.get(1) == Some(&"RELIGARE"));
                Ok(ok.then_some(()))
            },
        )
        .await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_laptop_nine_cards_coloured_by_the_day_and_search_by_symbol_first() {
    with_browser("laptop", false, |c, url| async move {
        match laptop(&c, &url).await {
            Ok(()) => Ok(c),
            Err(e) => Err((c, e)),
        }
    })
    .await;
}

async fn no_dashes(c: &Client, url: &str) -> Result<(), String> {
    c.goto(url).await.map_err(|e| e.to_string())?;
    // LIVE, the instrument names loaded, the prices snapshot held back.
    wait_for("LIVE and the instrument list", Duration::from_secs(30), || async {
        let v = js(
            c,
            "return !document.querySelector('[data-testid=\"live-badge\"]').hidden \
             && performance.getEntriesByType('resource').some(e => e.name.includes('api/v1/instruments') && e.responseEnd > 0);",
        )
        .await?;
        Ok((v == Value::Bool(true)).then_some(()))
    })
    .await?;
    // The page has had its chance to render rows from the instrument list.
    js(c, "return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))));")
        .await?;
    let rows = table_rows(c).await?;
    let foot = js(
        c,
        "return document.getElementById('table-foot').textContent;",
    )
    .await?;
    if !rows.is_empty() {
        return Err(format!(
            "while LIVE and before the prices snapshot, the table shows {} rows, e.g. {:?}",
            rows.len(),
            rows.first()
        ));
    }
    if foot != Value::String("Loading prices…".into()) {
        return Err(format!(
            "the table foot reads {foot} before the prices snapshot"
        ));
    }
    js(c, "window.__releasePrices(); return true;").await?;
    wait_for("rows with prices", Duration::from_secs(20), || async {
        let v = js(
            c,
            "const r = [...document.querySelectorAll('[data-testid=\"stock-table\"] tbody tr')];\
             return r.length > 1 && r.every(t => t.querySelector('.ltp').textContent !== '—');",
        )
        .await?;
        Ok((v == Value::Bool(true)).then_some(()))
    })
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_shows_no_dashes_before_the_prices_snapshot() {
    with_browser("race", true, |c, url| async move {
        match no_dashes(&c, &url).await {
            Ok(()) => Ok(c),
            Err(e) => Err((c, e)),
        }
    })
    .await;
}
