//! The WebSocket endpoint `GET /ws` (PROTOCOL.md §3).
//!
//! [`upgrade`] checks the request (client token → 401, origin → 403, connection limit → 503,
//! each with a JSON error body), answers `101 Switching Protocols`, and spawns the connection
//! ([`connection`]): a reader task and a writer task per client. Writes use `fastwebsockets`:
//! it writes a large frame with one vectored write straight from the hub's shared bytes, so a
//! 450 KB `prices_batch` is never copied per client (see docs/architecture.md for the
//! measurement behind the choice). Client frames are read by a small buffer-less reader
//! (`reader`), since clients only send small messages.

mod connection;
mod progress;
pub mod protocol;
pub mod rate;
mod reader;
mod stats;

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;

pub use stats::{CloseReason, Event, Rejection, WsStats};

use crate::{
    http::{Body, error},
    state::AppState,
};

/// WebSocket limits and timers.
///
/// ```
/// use market_feed_server::ws::WsSettings;
/// let s = WsSettings::default();
/// assert_eq!((s.max_connections, s.max_message), (10_000, 16 * 1024));
/// ```
#[derive(Debug, Clone)]
pub struct WsSettings {
    /// Connections at once; more get 503.
    pub max_connections: usize,
    /// WebSocket ping period (real time).
    pub heartbeat: Duration,
    /// A socket that accepts no bytes this long is closed (1008 "slow consumer").
    pub slow_consumer_timeout: Duration,
    /// Largest inbound message; larger closes with 1009.
    pub max_message: usize,
}

impl Default for WsSettings {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            heartbeat: Duration::from_secs(20),
            slow_consumer_timeout: Duration::from_secs(30),
            max_message: 16 * 1024,
        }
    }
}

/// Handles `GET /ws`: refuses or upgrades.
///
/// ```
/// # use market_feed_server::{state::AppState, ws::upgrade};
/// let state = AppState::for_tests(market_feed::clock::MarketClock::system());
/// // Not an upgrade request: 400 with a JSON error.
/// let resp = upgrade(&state, http::Request::get("/ws").body(()).unwrap());
/// assert_eq!(resp.status(), 400);
/// ```
pub fn upgrade<B>(state: &AppState, mut req: Request<B>) -> Response<Body> {
    let stats = state.ws_stats();
    if !state.access().token_ok(req.headers(), req.uri()) {
        stats.rejected(Rejection::Unauthorized);
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a client token is required: send Authorization: Bearer <token> or ?token=<token>",
        );
    }
    if !state.access().origin_ok(req.headers()) {
        stats.rejected(Rejection::Origin);
        return error(
            StatusCode::FORBIDDEN,
            "forbidden_origin",
            "this Origin is not allowed to open the feed: ask the operator to add it (--allowed-origin)",
        );
    }
    if !fastwebsockets::upgrade::is_upgrade_request(&req) {
        stats.rejected(Rejection::BadUpgrade);
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "GET /ws is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)",
        );
    }
    let Ok(permit) = state.connections().clone().try_acquire_owned() else {
        stats.rejected(Rejection::Limit);
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_connections",
            "the server is at its connection limit: retry later with backoff",
        );
    };
    let (response, fut) = match fastwebsockets::upgrade::upgrade(&mut req) {
        Ok(ok) => ok,
        Err(e) => {
            stats.rejected(Rejection::BadUpgrade);
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                &format!("bad WebSocket upgrade: {e}"),
            );
        }
    };
    let state2 = state.clone();
    state.tasks().spawn(async move {
        match fut.await {
            Ok(ws) => connection::run(state2, ws.into_inner(), permit).await,
            Err(e) => tracing::debug!(error = %e, "WebSocket upgrade did not complete"),
        }
    });
    let (parts, _) = response.into_parts();
    Response::from_parts(parts, Full::new(Bytes::new()))
}
