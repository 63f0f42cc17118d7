//! `cargo run -p market-feed --example watch -- [--clock SPEC] [SYMBOL...]`: prints `SYMBOL LTP
//! CHANGE_PCT` per update, `market: PHASE live=BOOL` per status change (docs/embedding.md).
use std::{error::Error, future::Future, io::Write};

use market_feed::prelude::*;
type Res = Result<(), Box<dyn Error>>;

pub(crate) async fn watch(mut args: Vec<String>, stop: impl Future, out: &mut impl Write) -> Res {
    let spec = match args.iter().position(|a| a == "--clock") {
        Some(i) if i + 1 < args.len() => args.drain(i..i + 2).next_back().unwrap_or_default(),
        Some(_) => return Err("--clock needs a value, e.g. real".into()),
        None => "at:2026-01-29T10:00:00+05:30x10".into(),
    };
    if args.is_empty() {
        args = vec!["RELIANCE".into(), "TCS".into()];
    }
    let clock = MarketClock::from_spec(spec.parse()?);
    let (universe, hub) = (Universe::bundled(), Hub::default());
    let source = Arc::new(SimulatedSource::new(universe.clone(), 7, clock.clone()));
    let stocks = universe.prices().to_vec();
    let feed = Feed::builder(clock, hub.clone(), Arc::new(MemoryStore::new()))
        .job(Job::new(
            Topic::Prices,
            stocks,
            Duration::seconds(30),
            source,
        ))
        .build();
    let mut updates = hub.subscribe_symbols(&args)?; // an unknown symbol is an error
    let running = feed.spawn();
    tokio::pin!(stop);
    while let Some(frame) = tokio::select! { f = updates.next() => f, _ = &mut stop => None } {
        match frame.event() {
            FeedEvent::Snapshot { quotes, .. } | FeedEvent::Batch { quotes, .. } => {
                for q in quotes.iter() {
                    let pct = q.change_pct.map(|p| if p.abs() < 0.005 { 0.0 } else { p });
                    let pct = pct.map_or("-".into(), |p| format!("{p:+.2}%"));
                    writeln!(out, "{} {:.2} {pct}", q.symbol, q.ltp)?;
                }
            }
            FeedEvent::MarketStatus(s) => writeln!(out, "market: {} live={}", s.phase, s.live)?,
            _ => {}
        }
    }
    running.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Res {
    let seconds = std::env::var("EXAMPLE_RUN_SECONDS").map_or(Ok(u64::MAX / 4), |s| s.parse());
    let seconds = seconds.map_err(|e| format!("EXAMPLE_RUN_SECONDS: {e}"))?;
    let timer = tokio::time::sleep(std::time::Duration::from_secs(seconds));
    let stop = async {
        tokio::select! { _ = tokio::signal::ctrl_c() => {}, () = timer => {} }
    };
    let args = std::env::args().skip(1).collect();
    watch(args, stop, &mut std::io::stdout()).await
}
