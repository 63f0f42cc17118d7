//! `kill -9` in the middle of a save: the SQLite file stays intact, and every save is either
//! complete or absent.
//!
//! The test re-runs its own binary as a child process (the ignored `kill9_child_writer` test,
//! enabled by an environment variable) that saves 2,200-quote closes and checkpoints in a loop,
//! printing `begin N` / `saved N`. The parent SIGKILLs it right after a `begin`, while a
//! transaction is being written, then checks the file.
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use market_feed::model::Topic;
use market_feed::store::{SnapshotStore, SqliteStore, conformance::sample_quotes};
use time::{Date, Duration, macros::date};

const CHILD_ENV: &str = "MARKET_FEED_KILL9_DB";
const QUOTES: usize = 2_200;
const FIRST_DAY: Date = date!(2020 - 01 - 01);

fn day(i: i64) -> Date {
    FIRST_DAY + Duration::days(i)
}

#[test]
#[ignore = "child process of sqlite_survives_kill_9; does nothing unless started by it"]
fn kill9_child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = SqliteStore::open(&path).await.unwrap();
        let start = store
            .trading_days(Topic::Prices, FIRST_DAY, Date::MAX)
            .await
            .unwrap()
            .len();
        for i in start as i64.. {
            let quotes = sample_quotes(QUOTES, i * 10_000);
            println!("begin {i}");
            store
                .save_close(Topic::Prices, day(i), &quotes)
                .await
                .unwrap();
            store
                .save_checkpoint(Topic::Prices, day(i), &quotes)
                .await
                .unwrap();
            println!("saved {i}");
        }
    });
}

#[tokio::test]
async fn sqlite_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.db");
    let exe = std::env::current_exe().unwrap();
    let mut confirmed: Vec<i64> = Vec::new();
    for round in 0..4_i64 {
        let mut child = Command::new(&exe)
            .args([
                "kill9_child_writer",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        // Each round lets a few saves complete, then kills during the next one.
        let target = format!("begin {}", confirmed.len() as i64 + 2 + round % 2);
        let mut lines = stdout.lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("saved ") {
                confirmed.push(n.parse().unwrap());
            }
            if line == target {
                break;
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Saves the child confirmed after our last read still count: drain what it printed.
        for line in lines.map_while(Result::ok) {
            if let Some(n) = line.strip_prefix("saved ") {
                confirmed.push(n.parse().unwrap());
            }
        }
        check_file(&path, &confirmed).await;
    }
    assert!(
        confirmed.len() >= 8,
        "the child saved too little: {confirmed:?}"
    );
}

// A test helper: its unwraps are assertions.
#[allow(clippy::unwrap_used)]
async fn check_file(path: &std::path::Path, confirmed: &[i64]) {
    {
        let conn = rusqlite::Connection::open(path).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "integrity_check after kill -9");
    }
    let store = SqliteStore::open(path).await.unwrap();
    let days = store
        .trading_days(Topic::Prices, FIRST_DAY, Date::MAX)
        .await
        .unwrap();
    for i in confirmed {
        assert!(
            days.contains(&day(*i)),
            "confirmed save {i} is missing after kill -9"
        );
    }
    for (i, d) in days.iter().enumerate() {
        assert_eq!(
            *d,
            day(i as i64),
            "stored days must be consecutive from the first"
        );
        let snap = store.load_close(Topic::Prices, *d).await.unwrap().unwrap();
        assert_eq!(
            snap.quotes,
            sample_quotes(QUOTES, i as i64 * 10_000),
            "day {d} is partial"
        );
    }
    if let Some(cp) = store.load_checkpoint(Topic::Prices).await.unwrap() {
        let i = (cp.trading_day - FIRST_DAY).whole_days();
        assert_eq!(
            cp.quotes,
            sample_quotes(QUOTES, i * 10_000),
            "checkpoint is partial"
        );
    }
}
