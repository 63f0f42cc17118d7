//! The accept loop: hyper 1.x HTTP/1.1 connections with upgrades and graceful shutdown.
//!
//! [`serve`] runs until its `shutdown` future completes, then stops accepting, lets in-flight
//! HTTP requests finish (at most [`DRAIN_TIMEOUT`]) and returns. Upgraded WebSocket connections
//! are not hyper's any more: they watch the state's shutdown token themselves. The binary
//! passes a SIGINT/SIGTERM future ([`shutdown_signal`]); tests pass their own.
//!
//! Limits ([`HttpSettings`]): a connection that has not completed a request's headers within
//! the header timeout is closed, whatever bytes it sent (HTTP/1.1 only, so there is no version
//! sniffing without a timer); at most `max_connections` connections are in their HTTP phase at
//! once (a WebSocket connection leaves it at the upgrade and counts against the WebSocket
//! limit instead); one more gets a JSON 503 and is closed.

use std::{future::Future, time::Duration};

use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpStream},
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::ServiceExt;
use tracing::Instrument;

use crate::{error::ApiError, router::router, state::AppState};
pub use crate::{settings::HttpSettings, stats::HttpStats};

/// How long shutdown waits for open HTTP requests before it gives up on them.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// hyper's read buffer limit: above the largest head [`crate::request_limits`] allows, so
/// oversized heads normally get its JSON 414/431 (beyond this, [`crate::head_guard`] turns
/// hyper's own bodiless answers into JSON).
const MAX_BUF: usize = 64 * 1024;

/// Serves HTTP and WebSocket on `listener` until `shutdown` completes.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use market_feed_server::{server::serve, state::AppState};
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let state = AppState::for_tests(market_feed::clock::MarketClock::system());
/// serve(listener, state, async { tokio::signal::ctrl_c().await.ok(); }).await;
/// # Ok(()) }
/// ```
pub async fn serve(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()>) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(state.http().header_timeout)
        .max_buf_size(MAX_BUF);
    let limit = state.http_connections().clone();
    let app = router(state.clone());
    let draining = CancellationToken::new();
    let tasks = TaskTracker::new();
    tokio::pin!(shutdown);
    let mut accept_backoff = Duration::from_millis(10);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(ok) => {
                    accept_backoff = Duration::from_millis(10);
                    ok
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed; retrying in {accept_backoff:?}");
                    tokio::time::sleep(accept_backoff).await;
                    accept_backoff = (accept_backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            state.http_stats().refused_over_limit();
            tasks.spawn(refuse_over_limit(stream));
            continue;
        };
        let conn_state = state.clone();
        let app = app.clone();
        // The peer address is on the connection's span (below), not in each request.
        let service = service_fn(move |req: http::Request<Incoming>| app.clone().oneshot(req));
        let io = TokioIo::new(crate::head_guard::HeadGuard::new(stream));
        let conn = builder.serve_connection(io, service).with_upgrades();
        let draining = draining.clone();
        let span = tracing::debug_span!("connection", %peer);
        let task = async move {
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                () = draining.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            drop(permit);
            if let Err(e) = result {
                if e.is_timeout() {
                    conn_state.http_stats().timed_out();
                }
                tracing::debug!(error = %e, "connection ended with an error");
            }
        };
        tasks.spawn(task.instrument(span));
    }
    drop(listener);
    state.shutdown().cancel();
    draining.cancel();
    tasks.close();
    tracing::info!("shutting down: closing WebSocket clients with 1001 and draining HTTP requests");
    if tokio::time::timeout(DRAIN_TIMEOUT, tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("HTTP connections still open after {DRAIN_TIMEOUT:?}; closing anyway");
    }
}

/// Answers a connection over the HTTP connection limit with a JSON 503 and closes it (at
/// most one second spent on it).
async fn refuse_over_limit(mut stream: TcpStream) {
    let response =
        ApiError::too_many_connections("HTTP connection limit").raw_response("retry-after: 1\r\n");
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(&response).await?;
        stream.shutdown().await
    })
    .await;
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
///
/// ```no_run
/// # async fn run() {
/// market_feed_server::server::shutdown_signal().await;
/// # }
/// ```
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("received SIGINT"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}
