//! A fake Upstox (REST API and Market Data Feed V3) on loopback, for trying
//! `market-feed-server --source upstox-stream` without an account, and for the streaming
//! measurements in `docs/performance.md`.
//!
//! ```text
//! cargo run --release -p market-feed --example fake_upstox -- --port 9400 --ticks 2000 --skew 1
//! UPSTOX_ACCESS_TOKEN=fake market-feed-server --source upstox-stream \
//!     --upstox-base-url http://127.0.0.1:9400 --calendar-refresh off
//! ```
//!
//! `--ticks N`: ticks per second over all subscribed instruments (default 2000); `--skew S`:
//! 0 ticks instruments in turn, 1 (default) lets a few liquid ones trade most, like a market.
//! Runs until interrupted.

use std::time::Duration;

use market_feed::{testing::FakeUpstox, universe::Universe};

fn arg(name: &str, default: f64) -> Result<f64, String> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} needs a number, e.g. {name} {default}")),
        None => Ok(default),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = arg("--port", 9400.0)? as u16;
    let ticks = arg("--ticks", 2000.0)?;
    let skew = arg("--skew", 1.0)?;
    let fake = FakeUpstox::with_universe_on(&Universe::bundled(), port).await?;
    let feed = fake.start_feed().await?;
    feed.set_tick_rate(ticks);
    feed.set_tick_skew(skew);
    println!(
        "fake Upstox at {} (market data feed at ws://{}), {ticks} ticks/s, skew {skew}",
        fake.base_url(),
        feed.addr()
    );
    let mut last = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let sent = feed.ticks_sent();
        println!(
            "connections {}, ticks sent in the last 10 s: {}",
            feed.open_connections(),
            sent - last
        );
        last = sent;
    }
}
