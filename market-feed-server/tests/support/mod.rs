//! Test support: run the real `market-feed-server` binary on an ephemeral port.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod inproc;
pub mod socketio;
pub mod ws;

use std::{process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// A running server process; killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub addr: String,
    pub log: tokio::sync::mpsc::UnboundedReceiver<String>,
    /// The log lines written before the "listening on" line (start-up).
    pub startup_log: Vec<String>,
}

impl ServerProcess {
    /// Starts the binary with `--listen 127.0.0.1:0` plus `args`, and waits for its
    /// "listening on" line (at most 30 s).
    pub async fn start(args: &[&str]) -> Self {
        Self::start_in(None, args).await
    }

    /// Like [`ServerProcess::start`], with `dir` as the working directory when given (so files
    /// the server creates by default, such as its SQLite store, land there).
    pub async fn start_in(dir: Option<&std::path::Path>, args: &[&str]) -> Self {
        Self::start_with_env(dir, args, &[]).await
    }

    /// Like [`ServerProcess::start_in`], with extra environment variables.
    pub async fn start_with_env(
        dir: Option<&std::path::Path>,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_market-feed-server"));
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        command.envs(envs.iter().copied());
        let mut child = command
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("UPSTOX_ACCESS_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the server binary starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (addr, startup_log) = tokio::time::timeout(Duration::from_secs(30), async {
            let mut seen = Vec::new();
            while let Some(line) = rx.recv().await {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest
                        .trim_end_matches('/')
                        .split('/')
                        .next()
                        .unwrap()
                        .to_owned();
                    return (addr, seen);
                }
                seen.push(line);
            }
            panic!(
                "the server exited before listening; its stderr:\n{}",
                seen.join("\n")
            );
        })
        .await
        .expect("the server listens within 30 s");
        ServerProcess {
            child,
            addr,
            log: rx,
            startup_log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends SIGTERM and waits for the exit code (at most 15 s).
    pub async fn terminate(mut self) -> i32 {
        let pid = self.child.id().unwrap().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .expect("the server exits within 15 s of SIGTERM")
            .unwrap();
        exit.code().expect("exited with a code, not a signal")
    }
}

/// Runs the binary to completion with `args`; returns (exit code, stdout, stderr).
pub async fn run_to_exit(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_market-feed-server"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
