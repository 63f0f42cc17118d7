//! The browser tests' shared parts: chromedriver on a free port, a WebDriver session with
//! headless Chromium, polling with a deadline, scripts in the page, screenshots.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, wd::Capabilities};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The browser's flags: headless, no first-run or background traffic, a fresh profile.
pub fn chromium_args(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--window-size=1280,900",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

/// Where screenshots go: `<workspace>/target/test-artifacts/`.
pub fn artifacts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts")
}

/// Whether the browser suite can run here; `Err` says what is missing.
pub fn browser_available() -> Result<(), String> {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("{} not found", missing.join(" and ")))
    }
}

/// chromedriver on a free loopback port; killed when dropped.
pub struct Driver {
    _child: Child,
    pub url: String,
}

impl Driver {
    pub async fn start() -> Driver {
        // Ask the OS for a free port, release it, and hand it to chromedriver (a tiny race with
        // other processes, acceptable on a test machine).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let mut child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        // It prints "ChromeDriver was started successfully on port N." once it accepts sessions.
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if line.contains("started successfully") {
                    return;
                }
            }
            panic!("chromedriver exited before it was ready");
        })
        .await
        .expect("chromedriver is ready within 30 s");
        // Keep draining its stdout so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Driver {
            _child: child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

/// Polls `probe` every 100 ms until it returns `Some`, or fails after `within`.
pub async fn wait_for<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, String>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = probe().await? {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return Err(format!("timed out after {within:?} waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs a script in the page and returns its result.
pub async fn js(c: &Client, script: &str) -> Result<Value, String> {
    c.execute(script, vec![])
        .await
        .map_err(|e| format!("script failed: {e}"))
}

/// The text of every index value cell, in page order.
pub async fn index_values(c: &Client) -> Result<Vec<String>, String> {
    let v = js(
        c,
        "return [...document.querySelectorAll('[data-testid^=\"index-value-\"]')].map(e => e.textContent);",
    )
    .await?;
    Ok(serde_json::from_value(v).unwrap_or_default())
}

/// `[symbol, row text]` of every row of the stock table.
pub async fn table_rows(c: &Client) -> Result<Vec<(String, String)>, String> {
    let v = js(
        c,
        "return [...document.querySelectorAll('[data-testid=\"stock-table\"] tbody tr[data-symbol]')]\
         .map(r => [r.dataset.symbol, r.textContent]);",
    )
    .await?;
    Ok(serde_json::from_value(v).unwrap_or_default())
}

pub async fn save_screenshot(c: &Client, name: &str) {
    let dir = artifacts_dir();
    match c.screenshot().await {
        Ok(png) => {
            std::fs::create_dir_all(&dir).expect("the artifacts directory can be created");
            std::fs::write(dir.join(name), png).expect("the screenshot can be written");
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "NOTE: no screenshot {name}: {e}");
        }
    }
}

/// A WebDriver session with headless Chromium (window 1280×900) on `driver`.
pub async fn session(driver: &Driver, profile: &Path) -> Client {
    let mut caps = Capabilities::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": CHROMIUM, "args": chromium_args(profile)}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session with headless Chromium")
}

/// Whether the browser suite runs: false (with a NOTE) when Chromium is missing and not
/// required; a panic when `MARKET_FEED_REQUIRE_BROWSER=1` and it is missing.
pub fn browser_required_or_skip() -> bool {
    match browser_available() {
        Ok(()) => true,
        Err(missing) => {
            if std::env::var("MARKET_FEED_REQUIRE_BROWSER").as_deref() == Ok("1") {
                panic!(
                    "the browser suite is required (MARKET_FEED_REQUIRE_BROWSER=1) but {missing}: \
                     install Debian's chromium and chromium-driver packages"
                );
            }
            let _ = writeln!(
                std::io::stderr(),
                "NOTE: browser suite did not run: {missing}; install chromium chromium-driver \
                 (apt-get install chromium chromium-driver) to run it"
            );
            false
        }
    }
}
