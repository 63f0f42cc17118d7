//! The real `socket.io-client` 4.x (npm, the version locked in `socketio-node/package-lock.json`)
//! against the server's `/socket.io/`, with its default options: long-polling first, then the
//! upgrade to WebSocket (with permessage-deflate, as the Node client offers it). Once with no
//! token, once with `auth: {token}` against a server that requires one.
//!
//! Needs Node.js and npm (`npm ci` runs when `socketio-node/node_modules` is missing). Without
//! them the suite prints one NOTE line and passes, unless `MARKET_FEED_REQUIRE_NODE=1` (set by
//! `.ci/run`), when it fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{
    io::Write as _,
    path::{Path, PathBuf},
    time::Duration,
};

use serde_json::Value;
use support::inproc::TestServer;
use tokio::process::Command;

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/socketio-node")
}

/// Whether the suite can run: Node and npm answer and the client package is installed (by
/// `npm ci` when missing). `Err` says what is missing.
async fn node_ready() -> Result<(), String> {
    for tool in ["node", "npm"] {
        let ok = Command::new(tool).arg("--version").output().await;
        if !ok.is_ok_and(|o| o.status.success()) {
            return Err(format!(
                "`{tool} --version` failed (install Node.js 20 and npm)"
            ));
        }
    }
    if project().join("node_modules/socket.io-client").is_dir() {
        return Ok(());
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(project())
        .output()
        .await
        .map_err(|e| format!("npm ci could not start: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "npm ci failed in {}: {}",
            project().display(),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Runs the client script against `url`; the JSON lines it printed.
async fn run_client(url: &str, token: Option<&str>) -> Vec<Value> {
    let mut command = Command::new("node");
    command
        .arg("client.mjs")
        .arg(url)
        .current_dir(project())
        .kill_on_drop(true);
    if let Some(token) = token {
        command.arg(token);
    }
    let out = tokio::time::timeout(Duration::from_secs(90), command.output())
        .await
        .expect("the client finishes within 90 s")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the client failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn events<'a>(lines: &'a [Value], name: &'a str) -> impl Iterator<Item = &'a Value> {
    lines.iter().filter(move |l| l["event"] == name)
}

fn check(lines: &[Value]) {
    let events = |name| events(lines, name);
    let welcome = events("welcome").next().expect("a welcome");
    assert_eq!(welcome["protocol"], 1);
    assert_eq!(
        lines[0]["initial"], "polling",
        "default options start on long-polling"
    );
    let mut topics: Vec<&str> = events("snapshot")
        .filter_map(|l| l["topic"].as_str())
        .collect();
    topics.sort_unstable();
    topics.dedup();
    assert_eq!(topics, ["indices", "prices"], "{lines:?}");
    assert!(events("snapshot").any(|l| l["topic"] == "prices" && l["n"].as_u64() > Some(100)));
    assert!(
        lines.iter().any(|l| l["upgrade"] == "websocket"),
        "upgraded: {lines:?}"
    );
    assert!(
        events("indices_update")
            .any(|l| l["transport"] == "websocket" && l["n"].as_u64() > Some(0))
    );
    assert!(
        lines.iter().any(|l| l["ack"]["ok"] == true),
        "the subscribe was acknowledged"
    );
    assert_eq!(lines.last().unwrap()["done"], true);
}

#[tokio::test]
async fn the_real_socket_io_client_with_default_options() {
    if let Err(missing) = node_ready().await {
        if std::env::var("MARKET_FEED_REQUIRE_NODE").as_deref() == Ok("1") {
            panic!("the Node suite is required (MARKET_FEED_REQUIRE_NODE=1) but {missing}");
        }
        let _ = writeln!(
            std::io::stderr(),
            "NOTE: socket.io-client suite did not run: {missing}"
        );
        return;
    }
    let open = TestServer::start_live(&[]).await;
    check(&run_client(&format!("http://{}", open.addr), None).await);
    open.stop().await;
    let guarded = TestServer::start_live(&["--auth-token", "n0de-t0ken"]).await;
    check(&run_client(&format!("http://{}", guarded.addr), Some("n0de-t0ken")).await);
    guarded.stop().await;
}
