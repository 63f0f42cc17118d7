//! The server in the test's own process: built from command-line options through the library
//! API, on an ephemeral port, with its state open to inspection.

use std::{net::SocketAddr, time::Duration};

use clap::Parser;
use market_feed_server::{
    app::App,
    config::{Cli, Config},
    state::AppState,
};
use tokio::{sync::oneshot, task::JoinHandle};

/// A running in-process server; stopped (like SIGTERM) by [`TestServer::stop`] or on drop.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// A trading morning at 10x on simulated prices: indices every 0.1 s real, prices every 0.5 s.
pub const OPEN_FAST: &[&str] = &[
    "--store",
    "memory",
    "--source",
    "simulated",
    "--clock",
    "at:2026-01-29T10:00:00+05:30x10",
    "--indices-interval",
    "1s",
    "--prices-interval",
    "5s",
];

impl TestServer {
    /// Starts on [`OPEN_FAST`] plus `extra`, and waits until both topics have live data.
    pub async fn start_live(extra: &[&str]) -> Self {
        let args: Vec<&str> = OPEN_FAST.iter().chain(extra).copied().collect();
        let server = Self::start(&args).await;
        let hub = server.state.hub().clone();
        eventually(Duration::from_secs(15), "the first refreshes", || {
            use market_feed::model::Topic;
            (hub.seq(Topic::Indices) >= 1 && hub.seq(Topic::Prices) >= 1).then_some(())
        })
        .await;
        server
    }

    /// Starts with `--listen 127.0.0.1:0` plus `args` (no Upstox token).
    pub async fn start(args: &[&str]) -> Self {
        Self::start_with_token(args, None).await
    }

    /// Starts with `args` and `upstox_token` as the value of `UPSTOX_ACCESS_TOKEN`.
    pub async fn start_with_token(args: &[&str], upstox_token: Option<&str>) -> Self {
        let argv = ["market-feed-server", "--listen", "127.0.0.1:0"]
            .into_iter()
            .chain(args.iter().copied());
        let cli = Cli::try_parse_from(argv).expect("valid test options");
        let config = Config::from_cli(cli, true, upstox_token.map(str::to_owned))
            .expect("a valid test configuration");
        let app = App::build(&config).await.expect("the server builds");
        let addr = app.local_addr().unwrap();
        let state = app.state().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run(async move {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            state,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Shuts down like SIGTERM and waits for `App::run` to return (at most 15 s).
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(15), task)
                .await
                .expect("the server stops within 15 s")
                .expect("the server task did not panic");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Polls `check` every 20 ms until it returns `Some`, for at most `within`.
pub async fn eventually<T>(
    within: Duration,
    what: &str,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
