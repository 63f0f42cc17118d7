//! The accept loop: hyper 1.x connections with upgrades and graceful shutdown.
//!
//! [`serve`] runs until its `shutdown` future completes, then stops accepting, lets in-flight
//! HTTP requests finish (at most [`DRAIN_TIMEOUT`]) and returns. Upgraded WebSocket connections
//! are not hyper's any more: they watch the state's shutdown token themselves. The binary
//! passes a SIGINT/SIGTERM future ([`shutdown_signal`]); tests pass their own.

use std::{future::Future, time::Duration};

use hyper::service::service_fn;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::{conn::auto, graceful::GracefulShutdown},
};
use tokio::net::TcpListener;

use crate::{http::handle, state::AppState};

/// How long shutdown waits for open HTTP requests before it gives up on them.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

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
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10));
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
        let state = state.clone();
        let service = service_fn(move |req| handle(state.clone(), req));
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    state.shutdown().cancel();
    tracing::info!("shutting down: closing WebSocket clients with 1001 and draining HTTP requests");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!("HTTP connections still open after {DRAIN_TIMEOUT:?}; closing anyway")
        }
    }
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
