//! Smoke test of the `watch` example: the program as the docs show it, on a paused tokio clock
//! (the scaled market clock follows it, so a trading hour passes in no real time).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../examples/watch.rs"]
mod watch;

use std::time::Duration;

async fn run(args: &[&str], for_clock_time: Duration) -> Result<String, String> {
    let mut out = Vec::new();
    let args = args.iter().map(|s| s.to_string()).collect();
    watch::watch(args, tokio::time::sleep(for_clock_time), &mut out)
        .await
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8(out).unwrap())
}

#[tokio::test(start_paused = true)]
async fn prints_updates_of_the_given_symbols_and_the_market_status() {
    let text = run(
        &["--clock", "at:2026-01-29T15:20:00+05:30x10", "TCS"],
        Duration::from_secs(120),
    )
    .await
    .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.contains(&"market: open live=true"), "{text}");
    assert!(lines.contains(&"market: post_close live=false"), "{text}");
    let tcs: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("TCS "))
        .collect();
    assert!(tcs.len() >= 2, "a snapshot and batches: {text}");
    for line in &tcs {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 3, "{line}");
        assert!(fields[1].parse::<f64>().is_ok(), "{line}");
        assert!(fields[2] == "-" || fields[2].ends_with('%'), "{line}");
        assert_ne!(fields[2], "-0.00%", "{line}");
    }
    assert!(
        !text.contains("RELIANCE"),
        "only the symbols asked for: {text}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_unknown_symbol_is_an_error_that_names_it() {
    let e = run(&["TCS", "NOSUCH"], Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(e.contains("NOSUCH") && !e.contains("TCS"), "{e}");
}
