//! The TypeScript client package (`clients/typescript`, `@market-feed/client`) against this
//! server: `npm ci` (from the lockfile) and `npm test`, which compiles the package with `tsc` and
//! runs its Node test suite (unit tests, the client against this very binary started by the
//! tests, a server restart in the middle, the React hooks in a DOM).
//!
//! The suite gets the server binary cargo built for this test through `MARKET_FEED_SERVER_BIN`,
//! so no release build is needed.
//!
//! Availability (like the browser and PostgreSQL suites): without `node` and `npm` on the `PATH`
//! the test says so in one NOTE line on stderr and passes, unless `MARKET_FEED_REQUIRE_NODE=1`
//! (set by `.ci/run`), which turns the missing tools into a failure.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// The version of `tool` (`node --version`), or why it cannot run.
fn version_of(tool: &str) -> Result<String, String> {
    match Command::new(tool).arg("--version").output() {
        Ok(out) if out.status.success() => {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        }
        Ok(out) => Err(format!("`{tool} --version` exited with {}", out.status)),
        Err(e) => Err(format!("`{tool}` cannot run ({e})")),
    }
}

/// Whether the suite runs: false (with a NOTE) when node or npm is missing and not required; a
/// panic when `MARKET_FEED_REQUIRE_NODE=1` and one is missing.
fn node_required_or_skip() -> bool {
    let missing: Vec<String> = ["node", "npm"]
        .into_iter()
        .filter_map(|tool| version_of(tool).err())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let missing = missing.join("; ");
    if std::env::var("MARKET_FEED_REQUIRE_NODE").as_deref() == Ok("1") {
        panic!(
            "the TypeScript client suite is required (MARKET_FEED_REQUIRE_NODE=1) but {missing}: \
             install Node.js 20 or later with npm"
        );
    }
    let _ = writeln!(
        std::io::stderr(),
        "NOTE: TypeScript client suite did not run: {missing}; install Node.js 20+ with npm to run it"
    );
    false
}

fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/typescript")
}

/// Runs `npm args...` in the package, with the server binary in the environment.
fn npm(args: &[&str]) -> Output {
    Command::new("npm")
        .args(args)
        .current_dir(package_dir())
        .env(
            "MARKET_FEED_SERVER_BIN",
            env!("CARGO_BIN_EXE_market-feed-server"),
        )
        .env("NO_UPDATE_NOTIFIER", "1")
        .env_remove("UPSTOX_ACCESS_TOKEN")
        .output()
        .unwrap_or_else(|e| panic!("npm {args:?} cannot run: {e}"))
}

fn check(step: &str, out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{step} failed ({}) in clients/typescript\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    stdout
}

#[test]
fn the_typescript_client_passes_its_suite_against_this_server() {
    if !node_required_or_skip() {
        return;
    }
    check(
        "npm ci",
        &npm(&["ci", "--no-audit", "--no-fund", "--loglevel=error"]),
    );
    let stdout = check("npm test", &npm(&["test"]));
    // The Node test runner's summary: none failed, and none skipped where Chromium is required
    // (the browser test is the only one that may skip, and says so, where it is not installed).
    let count = |name: &str| -> Option<u64> {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("# {name} ")))
            .and_then(|n| n.trim().parse().ok())
    };
    let (tests, pass, fail, skipped) = (
        count("tests"),
        count("pass"),
        count("fail"),
        count("skipped"),
    );
    let browser_required = std::env::var("MARKET_FEED_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    assert!(
        tests.unwrap_or(0) >= 20
            && fail == Some(0)
            && pass.zip(skipped).map(|(p, s)| p + s) == tests
            && skipped.unwrap_or(0) <= u64::from(!browser_required),
        "unexpected summary: tests {tests:?}, pass {pass:?}, fail {fail:?}, skipped {skipped:?}\n{stdout}"
    );
    let _ = writeln!(
        std::io::stderr(),
        "TypeScript client suite: {} passed, {} skipped",
        pass.unwrap_or(0),
        skipped.unwrap_or(0)
    );
}
